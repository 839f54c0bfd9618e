"""GET /api/v1/customers/<id>/recommendations/ and POST .../data-requests/."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import ApiScope, PersonalizationMode
from accounts.services import customer_profile_set_mode
from personalization.models import DataRequest, Recommendation, RecommendationStatus
from personalization.recommending import services
from tests.factories import CustomerProfileFactory
from tests.personalization.test_recommendations_services import ALL, Shop, bought, grant

pytestmark = pytest.mark.django_db
URL = "/api/v1/customers/C1/recommendations/"


@pytest.fixture
def customer():
    shop = Shop()
    profile = CustomerProfileFactory(external_id="C1")
    grant(profile, *ALL)
    bought(profile, shop.wheat, times=5)
    bought(profile, shop.croissant, times=3)
    services.model_version_train(model_version=services.model_version_create(), with_metrics=False)
    return profile


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
