"""POST /api/v1/events/, PUT /api/v1/items/ and /api/v1/customers/."""

from decimal import Decimal

import pytest

from accounts.models import AuditAttribute, CustomerProfile
from personalization.models import Interaction, Item
from tests.factories import CustomerProfileFactory, ItemFactory

pytestmark = pytest.mark.django_db


def event(event_id="e1", customer="C1", sku="WS-1", **overrides):
    body = {
        "event_id": event_id,
        "customer_external_id": customer,
        "sku": sku,
        "kind": "purchase",
        "occurred_at": "2026-11-14T08:05:00+00:00",
        "quantity": 1,
        "value": "4.20",
    }
    body.update(overrides)
    return body


@pytest.fixture
def shop():
    return CustomerProfileFactory(external_id="C1"), ItemFactory(sku="WS-1")


def test_events_are_stored_tagged_and_idempotent(api, shop):
    client = api("events:write")
    batch = {"events": [event("e1"), event("e2", kind="view", value=0)]}
    first = client.post("/api/v1/events/", batch, format="json")
    assert first.status_code == 200
    assert first.json() | {"rejected": []} == {
        "received": 2,
        "created": 2,
        "updated": 0,
        "already_stored": 0,
        "rejected": [],
        "stored": True,
    }
    assert Interaction.objects.get(event_id="e2").data_category == "browsing_history"
    assert Interaction.objects.get(event_id="e1").value == Decimal("4.20")
    again = client.post("/api/v1/events/", batch, format="json")
    assert again.json()["already_stored"] == 2 and again.json()["created"] == 0
    assert Interaction.objects.count() == 2


def test_invalid_events_are_reported_by_index_and_valid_ones_stored(api, shop):
    client = api("events:write")
    batch = {
        "events": [
            event("e1"),
            event("e2", sku="NOPE"),
            event("e3", quantity=-1),
            event("e4", occurred_at="yesterday"),
            event("e1"),
        ]
    }
    response = client.post("/api/v1/events/", batch, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["created"] == 1
    assert body["rejected"] == [
        {"index": 1, "field": "sku", "message": "unknown sku 'NOPE'"},
        {"index": 2, "field": "quantity", "message": "quantity must be at least 1, got -1"},
        {
            "index": 3,
            "field": "occurred_at",
            "message": "occurred_at 'yesterday' is not an ISO 8601 date-time like "
            "2026-03-04T09:15:00+00:00",
        },
        {"index": 4, "field": "event_id", "message": "duplicate event_id 'e1' (first at index 0)"},
    ]
    assert list(Interaction.objects.values_list("event_id", flat=True)) == ["e1"]


def test_all_or_nothing_refuses_the_whole_batch(api, shop):
    client = api("events:write")
    batch = {"events": [event("e1"), event("e2", customer="C404")], "all_or_nothing": True}
    response = client.post("/api/v1/events/", batch, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_batch"
    assert "nothing was stored" in error["message"]
    assert error["details"] == [
        {
            "index": 1,
            "field": "customer_external_id",
            "message": "unknown customer_external_id 'C404'",
        }
    ]
    assert Interaction.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [({"evnts": []}, "events"), ({"events": "nope"}, "events"), ("just text", "events")],
)
def test_malformed_body_is_a_400_naming_the_field(api, shop, body, field):
    response = api("events:write").post("/api/v1/events/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


def test_broken_json_is_a_400(api, shop):
    response = api("events:write").post(
        "/api/v1/events/", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_batches_over_10000_are_refused(api, shop):
    batch = {"events": [event(f"e{i}") for i in range(10_001)]}
    response = api("events:write").post("/api/v1/events/", batch, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "batch_too_large"
    assert Interaction.objects.count() == 0


def test_items_are_upserted_by_sku(api):
    client = api("catalog:write")
    item = {
        "sku": "GF-1",
        "name": "Gluten-free loaf",
        "category": "breads",
        "price": "5.10",
        "attributes": ["gluten-free", "contains:none"],
        "active": True,
    }
    assert client.put("/api/v1/items/", {"items": [item]}, format="json").json()["created"] == 1
    item["price"] = "4.90"
    response = client.put("/api/v1/items/", {"items": [item]}, format="json")
    assert response.json()["updated"] == 1
    stored = Item.objects.get(sku="GF-1")
    assert stored.price == Decimal("4.90")
    assert stored.allergens_declared is True
    assert sorted(a.code for a in stored.attributes.all()) == ["contains:none", "gluten-free"]


def test_item_with_a_negative_price_is_rejected(api):
    item = {
        "sku": "X",
        "name": "X",
        "category": "b",
        "price": "-1",
        "attributes": [],
        "active": True,
    }
    response = api("catalog:write").put("/api/v1/items/", {"items": [item]}, format="json")
    assert response.json()["rejected"] == [
        {"index": 0, "field": "price", "message": "price must not be negative, got -1"}
    ]
    assert not Item.objects.exists()


def test_customers_are_upserted_with_declared_attributes(api):
    client = api("customers:write")
    rows = [
        {"external_id": "C9", "email": "Nine@example.com", "name": "Nine", "audit:age_band": "55+"},
        {"external_id": "C10", "email": "nine@example.com", "name": "Ten"},
    ]
    response = client.put("/api/v1/customers/", {"customers": rows}, format="json")
    body = response.json()
    assert body["created"] == 1
    assert body["rejected"][0]["index"] == 1 and body["rejected"][0]["field"] == "email"
    nine = CustomerProfile.objects.get(external_id="C9")
    assert nine.email == "nine@example.com"
    assert AuditAttribute.objects.get(customer=nine).value == "55+"


def test_a_nul_character_is_refused_not_a_server_error(api):
    rows = [
        {"external_id": "C\x001", "email": "", "name": "x"},
        {"external_id": "C2", "email": "", "name": "ok\x00"},
    ]
    response = api("customers:write").put("/api/v1/customers/", {"customers": rows}, format="json")
    assert response.status_code == 200
    assert [r["message"] for r in response.json()["rejected"]] == [
        "external_id contains a NUL character",
        "name contains a NUL character",
    ]
    assert not CustomerProfile.objects.exists()


def test_a_lone_surrogate_is_refused_not_a_server_error(api):
    body = '{"customers": [{"external_id": "C1", "email": "", "name": "\\ud83d"}]}'
    response = api("customers:write").put(
        "/api/v1/customers/", body, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["rejected"] == [
        {"index": 0, "field": "name", "message": "name is not valid text"}
    ]


def test_a_return_is_stored_as_a_return_and_takes_the_purchase_back(api, shop):
    from personalization import engine
    from personalization.recommending import loading
    from tests.builders import grant

    customer, _item = shop
    grant(customer, "purchase_history")
    client = api("events:write")
    batch = {
        "events": [
            event("buy-1", quantity=2, value="8.40"),
            event("back-1", kind="return", occurred_at="2026-11-15T09:00:00+00:00", quantity=2),
        ]
    }

    response = client.post("/api/v1/events/", batch, format="json")

    assert response.status_code == 200
    assert response.json()["created"] == 2 and response.json()["rejected"] == []
    stored = Interaction.objects.get(event_id="back-1")
    assert (stored.kind, stored.data_category, stored.quantity) == ("return", "purchase_history", 2)
    # Both loaves came back: nothing left for the engine to read as liking them.
    catalog = loading.catalog_load()
    loaded = loading.events_load(position=catalog.position, customer_ids=[customer.pk])
    assert len(loaded.item) == 0
    assert engine.data.PURCHASE not in set(loaded.kind.tolist())
