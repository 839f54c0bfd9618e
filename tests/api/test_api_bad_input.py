"""Bad input to the API gets its error envelope (or a per-entry rejection), never a 500,
and stores nothing: out-of-range times and money, NUL characters, deep JSON, loose
booleans, bodies over the limit or of the wrong type; and a full documented batch fits."""

import json
from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from accounts.models import ApiScope, CustomerProfile
from accounts.roles import Role
from core import inputs
from personalization.datarights.export import export_write
from personalization.models import Consent, Interaction, Item
from tests.factories import CustomerProfileFactory, ItemFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fixed_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def event(event_id="e1", customer="C1", sku="WS-1", **overrides):
    return {
        "event_id": event_id,
        "customer_external_id": customer,
        "sku": sku,
        "kind": "purchase",
        "occurred_at": "2026-11-14T08:05:00+00:00",
        "quantity": 1,
        "value": "4.20",
        **overrides,
    }


@pytest.fixture
def shop():
    return CustomerProfileFactory(external_id="C1"), ItemFactory(sku="WS-1")


def post_events(client, events, **body):
    return client.post("/api/v1/events/", {"events": events, **body}, format="json")


def test_a_year_1_event_is_refused_and_the_customer_stays_readable(api, make_user, client):
    # given a signed-in customer the shop knows as C7
    user = make_user(Role.CUSTOMER)
    profile = CustomerProfile.objects.get(user=user)
    profile.external_id = "C7"
    profile.save(update_fields=["external_id"])
    ItemFactory(sku="WS-1")
    client.force_login(user)
    # when the shop sends events stamped in year 1 (year 0 once converted to UTC)
    response = post_events(
        api(ApiScope.EVENTS_WRITE),
        [
            event("e1", "C7", occurred_at="0001-01-01T00:00:00+14:00"),
            event("e2", "C7", occurred_at="1969-12-31T23:59:59+00:00"),
        ],
    )
    # then each is refused by index, nothing is stored
    assert response.status_code == 200
    assert response.json()["rejected"] == [
        {
            "index": 0,
            "field": "occurred_at",
            "message": "occurred_at '0001-01-01T00:00:00+14:00' is before 1970",
        },
        {
            "index": 1,
            "field": "occurred_at",
            "message": "occurred_at '1969-12-31T23:59:59+00:00' is before 1970",
        },
    ]
    assert not Interaction.objects.exists()
    # and the customer's own pages and export still work
    assert client.get(reverse("me:history")).status_code == 200
    assert client.get("/me/").status_code == 200
    assert export_write(customer=profile)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1e27, "value is too large: 1e+27 (at most 10 digits)"),
        ("1e27", "value is too large: 1e27 (at most 10 digits)"),
        ("1e400", "value is too large: 1e400 (at most 10 digits)"),
        ("NaN", "value must be a number like 3.50, got 'NaN'"),
        ("Infinity", "value must be a number like 3.50, got 'Infinity'"),
        (12345678901, "value is too large: 12345678901 (at most 10 digits)"),
    ],
)
def test_event_values_beyond_the_field_are_refused_by_index(api, shop, value, message):
    response = post_events(api(ApiScope.EVENTS_WRITE), [event("e1"), event("e2", value=value)])
    assert response.status_code == 200
    assert response.json()["rejected"] == [{"index": 1, "field": "value", "message": message}]
    assert list(Interaction.objects.values_list("event_id", flat=True)) == ["e1"]


@pytest.mark.parametrize("price", [1e27, "1e27", "1e400", "NaN"])
def test_item_prices_beyond_the_field_are_refused_by_index(api, price):
    item = {
        "sku": "BIG",
        "name": "Gold loaf",
        "category": "breads",
        "price": price,
        "attributes": [],
        "active": True,
    }
    response = api(ApiScope.CATALOG_WRITE).put("/api/v1/items/", {"items": [item]}, format="json")
    assert response.status_code == 200
    [rejected] = response.json()["rejected"]
    assert rejected["field"] == "price"
    assert not Item.objects.exists()


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("1e400", "JSON refused: the number 1e400 is out of range."),
        ("NaN", "JSON refused: NaN is not a JSON number."),
        ("-Infinity", "JSON refused: -Infinity is not a JSON number."),
    ],
)
def test_json_numbers_no_float_holds_are_refused_in_the_envelope(api, shop, number, message):
    body = json.dumps({"events": [event()]}).replace('"4.20"', number)
    response = api(ApiScope.EVENTS_WRITE).post(
        "/api/v1/events/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "parse_error", "message": message}}
    assert not Interaction.objects.exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/customers/C%001/recommendations/"),
        ("get", "/api/v1/customers/C%001/consents/"),
        ("put", "/api/v1/customers/C%001/consents/"),
        ("post", "/api/v1/customers/C%001/data-requests/"),
    ],
)
def test_a_nul_in_the_customer_id_of_the_url_is_refused(api, shop, method, path):
    response = getattr(api(), method)(path, {}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid",
            "message": "path contains a NUL character, which is never valid input.",
            "field": "path",
        }
    }


def test_a_nul_in_a_query_parameter_is_refused(api, shop):
    response = api().get("/api/v1/customers/C1/recommendations/", {"channel": "onsite\x00"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "channel contains a NUL character, which is never valid input.",
        "field": "channel",
    }


def test_a_nul_in_a_consent_body_is_refused(api, shop):
    body = {"consents": [{"purpose": "personalization\x00", "data_category": "x", "granted": True}]}
    response = api().put("/api/v1/customers/C1/consents/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "consents[0].purpose"
    assert not Consent.objects.exists()


def test_a_nul_in_a_page_query_or_form_field_is_refused(client):
    page = client.get("/transparency/", {"q": "a\x00"})
    assert page.status_code == 400
    assert page.content.decode() == "q contains a NUL character, which is never valid input."
    form = client.post("/accounts/login/", {"login": "gable@example.com\x00", "password": "x"})
    assert form.status_code == 400
    assert "login contains a NUL character" in form.content.decode()


@pytest.mark.parametrize("depth", [33, 1_000, 50_000])
def test_deeply_nested_json_is_refused_in_the_envelope(api, shop, depth):
    body = '{"events": ' + "[" * depth + "]" * depth + "}"
    response = api(ApiScope.EVENTS_WRITE).post(
        "/api/v1/events/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "parse_error",
            "message": "JSON refused: the body nests deeper than 32 levels.",
        }
    }


@pytest.mark.parametrize("flag", ["true", 1, "yes", {}, None])
def test_all_or_nothing_takes_only_a_json_boolean(api, shop, flag):
    response = post_events(
        api(ApiScope.EVENTS_WRITE), [event("e1"), event("e2", sku="NOPE")], all_or_nothing=flag
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid",
            "message": "all_or_nothing must be true or false (a JSON boolean).",
            "field": "all_or_nothing",
        }
    }
    assert not Interaction.objects.exists()


@pytest.mark.parametrize(
    ("path", "name"), [("/api/v1/items/", "items"), ("/api/v1/customers/", "customers")]
)
def test_upserts_take_only_a_json_boolean_flag(api, path, name):
    response = api().put(path, {name: [], "all_or_nothing": "true"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "all_or_nothing"


def test_unknown_keys_of_a_batch_body_are_refused(api, shop):
    response = post_events(api(ApiScope.EVENTS_WRITE), [event()], all_or_nothin=True)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "Unknown field 'all_or_nothin'.",
        "field": "all_or_nothin",
    }
    assert not Interaction.objects.exists()


def test_a_bare_list_is_not_a_batch_body(api, shop):
    response = api(ApiScope.EVENTS_WRITE).post("/api/v1/events/", [event()], format="json")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "events"
    assert not Interaction.objects.exists()


@pytest.mark.parametrize("granted", [0, 1, "true", "yes"])
def test_consent_decisions_take_only_json_booleans(api, shop, granted):
    body = {
        "consents": [
            {"purpose": "personalization", "data_category": "purchase_history", "granted": granted}
        ]
    }
    response = api().put("/api/v1/customers/C1/consents/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Must be true or false (a JSON boolean)."
    assert response.json()["error"]["field"] == "consents[0].granted"
    assert not Consent.objects.exists()


def test_a_full_batch_at_the_documented_maximum_sizes_is_stored(api):
    # given a customer and an item whose ids are as long as the API allows
    customer_id = "C" * inputs.EXTERNAL_ID_MAX_LENGTH
    sku = "S" * inputs.SKU_MAX_LENGTH
    CustomerProfileFactory(external_id=customer_id)
    ItemFactory(sku=sku)
    events = [
        event(f"{n:0{inputs.EVENT_ID_MAX_LENGTH}d}", customer_id, sku)
        for n in range(inputs.BATCH_MAX_ENTRIES)
    ]
    body = json.dumps({"events": events, "all_or_nothing": True})
    # (over Django's 2.5 MiB page limit, which the API used to answer in HTML)
    assert len(body) > 2.5 * 2**20
    # when
    response = api(ApiScope.EVENTS_WRITE).post(
        "/api/v1/events/", body, content_type="application/json"
    )
    # then
    assert response.status_code == 200, response.content[:200]
    assert response.json()["created"] == inputs.BATCH_MAX_ENTRIES
    assert Interaction.objects.count() == inputs.BATCH_MAX_ENTRIES


def test_a_body_over_the_api_limit_gets_the_envelope(api, shop):
    limit = inputs.max_event_batch_bytes()
    body = '{"events": [], "padding": "' + "x" * limit + '"}'
    response = api(ApiScope.EVENTS_WRITE).post(
        "/api/v1/events/", body, content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json() == {
        "error": {
            "code": "too_large",
            "message": f"The body is {len(body):,} bytes; the API takes at most {limit:,}.",
        }
    }


def test_pages_keep_djangos_body_limit(client):
    response = client.post("/accounts/login/", {"login": "x" * (3 * 2**20), "password": "x"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ("{not json", "application/json", 400, "parse_error"),
        ('{"events": []}', "text/plain", 415, "unsupported_media_type"),
        ("events=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b"\xff\xfe{}", "application/json", 400, "parse_error"),
    ],
)
def test_unreadable_bodies_get_the_envelope(api, body, content_type, status, code):
    response = api(ApiScope.EVENTS_WRITE).post("/api/v1/events/", body, content_type=content_type)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def test_a_category_too_long_for_its_slug_is_refused_by_index(api):
    # found by schemathesis: 99 digits passed the name's 100 and broke the slug's 50
    item = {
        "sku": "X-1",
        "name": "Loaf",
        "category": "0" * 99,
        "price": "1.00",
        "attributes": [],
        "active": True,
    }
    response = api(ApiScope.CATALOG_WRITE).put("/api/v1/items/", {"items": [item]}, format="json")
    assert response.status_code == 200
    assert response.json()["rejected"] == [
        {
            "index": 0,
            "field": "category",
            "message": f"category '{'0' * 99}' is too long: at most 50 letters, digits and dashes",
        }
    ]
    assert not Item.objects.exists()


@pytest.mark.parametrize("page_size", ["null", "0", "101", "2.5", "\u00b2", ""])
def test_audit_page_sizes_outside_1_to_100_are_refused(api, page_size):
    response = api(ApiScope.AUDITS_READ).get("/api/v1/audits/", {"page_size": page_size})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "page_size must be a whole number from 1 to 100.",
        "field": "page_size",
    }


@pytest.mark.parametrize(
    ("entry", "field", "message"),
    [
        ({"quantity": "2"}, "quantity", "quantity must be a whole number (a JSON integer)"),
        ({"quantity": True}, "quantity", "quantity must be a whole number (a JSON integer)"),
        ({"event_id": 5}, "event_id", "event_id must be a string"),
        ({"kind": "Purchase"}, "kind", "kind must be one of purchase, view, cart, rating, return"),
        ({"value": True}, "value", 'value must be a number or a decimal string like "3.50"'),
    ],
)
def test_event_values_of_the_wrong_json_type_are_refused_by_index(api, shop, entry, field, message):
    response = post_events(api(ApiScope.EVENTS_WRITE), [event("e1"), {**event("e2"), **entry}])
    assert response.status_code == 200
    assert response.json()["rejected"] == [{"index": 1, "field": field, "message": message}]
    assert list(Interaction.objects.values_list("event_id", flat=True)) == ["e1"]


def test_a_wrongly_typed_entry_refuses_an_all_or_nothing_batch_with_every_problem(api, shop):
    events = [event("e1"), event("e2", quantity="2"), event("e3", sku="NOPE")]
    response = post_events(api(ApiScope.EVENTS_WRITE), events, all_or_nothing=True)
    assert response.status_code == 400
    assert response.json()["error"]["details"] == [
        {
            "index": 1,
            "field": "quantity",
            "message": "quantity must be a whole number (a JSON integer)",
        },
        {"index": 2, "field": "sku", "message": "unknown sku 'NOPE'"},
    ]
    assert not Interaction.objects.exists()


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"active": "true"}, "active"),
        ({"consumable": 1}, "consumable"),
        ({"attributes": "vegan"}, "attributes"),
        ({"attributes": [" " * 61]}, "attributes"),
    ],
)
def test_item_values_of_the_wrong_json_type_are_refused_by_index(api, entry, field):
    item = {
        "sku": "X-1",
        "name": "Loaf",
        "category": "breads",
        "price": "1.00",
        "attributes": [],
        "active": True,
        **entry,
    }
    response = api(ApiScope.CATALOG_WRITE).put("/api/v1/items/", {"items": [item]}, format="json")
    assert response.status_code == 200
    assert [r["field"] for r in response.json()["rejected"]] == [field]
    assert not Item.objects.exists()


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/v1/customers/C1/recommendations/?limt=5", "limt"),
        ("/api/v1/customers/C1/consents/?x=1", "x"),
        ("/api/v1/audits/?page=1&sort=id", "sort"),
        ("/api/v1/audits/1/?download=csv", "download"),
    ],
)
def test_unknown_query_parameters_are_refused(api, shop, path, parameter):
    response = api().get(path)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": f"Unknown query parameter '{parameter}'.",
        "field": parameter,
    }


def test_query_parameters_are_checked_after_the_key(client, shop):
    assert client.get("/api/v1/customers/C1/recommendations/?limt=5").status_code == 401


@pytest.mark.parametrize("page", ["", "0", "-1", "abc", "1.0"])
def test_audit_pages_that_are_not_whole_numbers_from_1_are_refused(api, page):
    response = api(ApiScope.AUDITS_READ).get("/api/v1/audits/", {"page": page})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "page must be a whole number from 1.",
        "field": "page",
    }
