"""GET /api/v1/customers/<id>/recommendations/ and POST .../data-requests/."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import ApiScope, PersonalizationMode
from accounts.services import customer_profile_set_mode
from personalization.models import DataRequest, Recommendation, RecommendationStatus
from personalization.recommending import services
from tests.builders import email_offers as _email_offers

pytestmark = pytest.mark.django_db
URL = "/api/v1/customers/C1/recommendations/"


@pytest.fixture
def customer(shop_customer):
    return shop_customer


def test_items_come_with_score_model_version_and_reasons_that_add_up(api, customer):
    response = api(ApiScope.RECOMMENDATIONS_READ).get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["customer"] == "C1" and body["mode"] == "on" and body["personalized"] is True
    assert body["items"], body
    for rank, item in enumerate(body["items"], start=1):
        assert item["rank"] == rank
        assert item["model_version"] is not None
        assert item["reason"]
        assert sum(r["contribution"] for r in item["reasons"]) == pytest.approx(item["score"])


def test_reasons_name_the_evidence_by_sku_never_by_an_internal_key(api, customer):
    from personalization.models import Item

    body = api(ApiScope.RECOMMENDATIONS_READ).get(URL).json()
    reasons = [r for item in body["items"] for r in item["reasons"]]
    cited = {r["item_sku"] for r in reasons if "item_sku" in r}
    assert not any("item" in r for r in reasons)
    # Her own purchases carry her list: the loaf and the croissant, by their SKUs.
    bought = set(Item.objects.filter(interactions__customer=customer).values_list("sku", flat=True))
    assert cited and cited <= bought


def test_limit_is_respected_and_validated(api, customer):
    client = api(ApiScope.RECOMMENDATIONS_READ)
    assert len(client.get(URL, {"limit": 2}).json()["items"]) == 2
    response = client.get(URL, {"limit": "lots"})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "limit"


def test_mode_none_gives_nothing_and_off_gives_the_anonymous_list(api, customer):
    client = api(ApiScope.RECOMMENDATIONS_READ)
    customer_profile_set_mode(profile=customer, mode=PersonalizationMode.NONE)
    assert client.get(URL).json()["items"] == []
    customer_profile_set_mode(profile=customer, mode=PersonalizationMode.OFF)
    body = client.get(URL).json()
    assert body["personalized"] is False
    assert body["items"] and all(item["score"] is None for item in body["items"])


def test_held_recommendations_never_leave_through_the_api(api, customer):
    client = api(ApiScope.RECOMMENDATIONS_READ)
    first = client.get(URL).json()["items"]
    held_sku = first[0]["sku"]
    Recommendation.objects.filter(customer=customer, item__sku=held_sku).update(
        status=RecommendationStatus.HELD
    )
    assert held_sku not in [item["sku"] for item in client.get(URL).json()["items"]]


def test_data_request_through_the_api(api, customer):
    client = api(ApiScope.REQUESTS_WRITE, name="till")
    response = client.post(
        "/api/v1/customers/C1/data-requests/", {"kind": "erasure"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["status"] == "scheduled"
    request = DataRequest.objects.get(customer=customer)
    assert (request.kind, request.method) == ("erasure", "api")
    again = client.post("/api/v1/customers/C1/data-requests/", {"kind": "erasure"}, format="json")
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "already_requested"
    bad = client.post("/api/v1/customers/C1/data-requests/", {"kind": "delete-all"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "kind"


def test_objection_through_the_api_switches_personalization_off(api, customer):
    client = api(ApiScope.REQUESTS_WRITE)
    response = client.post(
        "/api/v1/customers/C1/data-requests/", {"kind": "objection"}, format="json"
    )
    assert response.status_code == 201 and response.json()["status"] == "completed"
    customer.refresh_from_db()
    assert customer.personalization_mode == "off"


def test_recommendations_read_costs_the_same_queries_for_two_items_or_ten(api, customer):
    """No query per item: a long list costs what a short one does (stored list served)."""
    client = api(ApiScope.RECOMMENDATIONS_READ)
    assert len(client.get(URL, {"limit": 10}).json()["items"]) >= 5  # list stored now
    with CaptureQueriesContext(connection) as short:
        assert len(client.get(URL, {"limit": 2}).json()["items"]) == 2
    with CaptureQueriesContext(connection) as long:
        assert len(client.get(URL, {"limit": 10}).json()["items"]) >= 5
    assert len(long.captured_queries) == len(short.captured_queries)
    assert len(long.captured_queries) <= 8, [q["sql"][:90] for q in long.captured_queries]


def test_an_unknown_channel_is_a_clear_error(api, customer):
    response = api(ApiScope.RECOMMENDATIONS_READ).get(URL, {"channel": "sms"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == "channel" and "onsite, email" in error["message"]


def test_onsite_is_the_default_channel(api, customer):
    client = api(ApiScope.RECOMMENDATIONS_READ)
    default, onsite = client.get(URL).json(), client.get(URL, {"channel": "onsite"}).json()
    assert default["channel"] == onsite["channel"] == "onsite"
    assert default["items"] == onsite["items"] and default["marketing_consent"] is None


def test_the_email_channel_gives_only_what_a_person_approved_with_marketing_consent(api, customer):
    from personalization.registry import PURCHASE_HISTORY
    from tests.builders import allow_marketing

    client = api(ApiScope.RECOMMENDATIONS_READ)
    offers = _email_offers(customer)
    # No marketing consent: nothing, and the answer says why.
    body = client.get(URL, {"channel": "email"}).json()
    assert (body["channel"], body["marketing_consent"], body["items"]) == ("email", False, [])
    # Consent, but every offer still waits for a person.
    allow_marketing(customer)
    body = client.get(URL, {"channel": "email"}).json()
    assert body["items"] == [] and body["under_review"] is True
    # A person approves one offer: that one, with its reasons, and nothing held.
    approved = offers[0]
    Recommendation.objects.filter(pk=approved.pk).update(status=RecommendationStatus.APPROVED)
    body = client.get(URL, {"channel": "email"}).json()
    assert [i["sku"] for i in body["items"]] == [approved.item.sku]
    assert body["personalized"] is True and body["under_review"] is False
    item = body["items"][0]
    assert sum(r["contribution"] for r in item["reasons"]) == pytest.approx(item["score"])
    # Reading changes nothing: the offer stays approved for the campaign's own email.
    assert Recommendation.objects.get(pk=approved.pk).status == RecommendationStatus.APPROVED
    # Marketing consent that does not cover what the offer rests on: not sent.
    assert any(r.get("data_category") == PURCHASE_HISTORY for r in approved.reasons)
    allow_marketing(customer, PURCHASE_HISTORY, granted=False)
    assert client.get(URL, {"channel": "email"}).json()["items"] == []


def test_the_email_channel_stops_with_the_kill_switch_the_feature_and_the_mode(
    api, customer, make_user
):
    from accounts.roles import Role
    from governance.features import OFFER_EMAILS
    from governance.models import PersonalizationFeature
    from governance.services import feature_set_enabled, kill_switch_set
    from tests.builders import allow_marketing

    client = api(ApiScope.RECOMMENDATIONS_READ)
    allow_marketing(customer)
    offer = _email_offers(customer)[0]
    Recommendation.objects.filter(pk=offer.pk).update(status=RecommendationStatus.APPROVED)
    assert client.get(URL, {"channel": "email"}).json()["items"]
    owner = make_user(Role.OWNER)

    kill_switch_set(engaged=True, reason="Allergen labels wrong", actor=owner)
    body = client.get(URL, {"channel": "email"}).json()
    assert body["shop_paused"] is True and body["items"] == []
    kill_switch_set(engaged=False, reason="Fixed", actor=owner)

    feature, _created = PersonalizationFeature.objects.get_or_create(
        code=OFFER_EMAILS, defaults={"name": "Offer emails", "enabled": True, "built_in": True}
    )
    feature_set_enabled(feature=feature, enabled=False, reason="Reassessing", actor=owner)
    assert client.get(URL, {"channel": "email"}).json()["items"] == []
    feature_set_enabled(feature=feature, enabled=True, reason="Assessed", actor=owner)
    assert client.get(URL, {"channel": "email"}).json()["items"]

    customer_profile_set_mode(profile=customer, mode=PersonalizationMode.OFF)
    body = client.get(URL, {"channel": "email"}).json()
    assert body["mode"] == "off" and body["items"] == []


def test_the_one_statement_read_equals_the_customer_and_state_read_apart(customer, make_user):
    """The API reads the customer and the serving state together; the page reads them
    apart: the same answer, whatever the switches say."""
    from accounts.models import CustomerProfile
    from accounts.roles import Role
    from governance.features import API_RECOMMENDATIONS, MODEL_ITEM_KNN
    from governance.services import kill_switch_set
    from personalization.models import FeedbackKind
    from personalization.recommending import serving
    from personalization.registry import PERSONALIZATION

    features = (API_RECOMMENDATIONS, MODEL_ITEM_KNN)
    rows = services.recommendations_generate_for_customer(customer=customer)
    services.feedback_record(
        customer=customer, recommendation_id=rows[-1].pk, kind=FeedbackKind.NOT_FOR_ME
    )
    kill_switch_set(engaged=True, reason="Checking labels", actor=make_user(Role.OWNER))
    together, state = serving.customer_serving_state(
        external_id="C1", purpose=PERSONALIZATION, features=features
    )
    apart = serving.serving_state(
        customer_id=customer.pk, purpose=PERSONALIZATION, features=features
    )
    assert state == apart and state.shop_paused and state.changed_at is not None
    fields = [f.attname for f in CustomerProfile._meta.concrete_fields]
    stored = CustomerProfile.objects.get(pk=customer.pk)
    assert {f: getattr(together, f) for f in fields} == {f: getattr(stored, f) for f in fields}
    assert (
        serving.customer_serving_state(
            external_id="NOBODY", purpose=PERSONALIZATION, features=features
        )
        is None
    )
