import pytest

from accounts.models import ApiScope
from personalization.consent import notices
from personalization.models import Consent, ConsentEvent
from tests.factories import CustomerProfileFactory

pytestmark = pytest.mark.django_db


def test_consent_written_through_the_api_is_a_ledger_event_and_readable(api):
    customer = CustomerProfileFactory(external_id="C1")
    notices.notice_ensure_initial()
    notices.notice_publish(
        notice=notices.notice_draft_create(
            author=None, title="Privacy notice", body="What we hold.", ai_statement="Our AI."
        )
    )
    client = api(ApiScope.CONSENTS_READ, ApiScope.CONSENTS_WRITE, name="web shop")
    body = {
        "consents": [
            {"purpose": "marketing", "data_category": "purchase_history", "granted": True},
            {"purpose": "personalization", "data_category": "browsing_history", "granted": False},
        ],
        "notice_version": 2,
    }
    response = client.put(
        "/api/v1/customers/C1/consents/", body, format="json", REMOTE_ADDR="203.0.113.9"
    )
    assert response.status_code == 200
    consents = {(c["purpose"], c["data_category"]): c for c in response.json()["consents"]}
    assert consents[("marketing", "purchase_history")]["granted"] is True
    assert consents[("marketing", "purchase_history")]["method"] == "api"
    assert consents[("marketing", "purchase_history")]["notice_version"] == 2
    events = ConsentEvent.objects.filter(customer=customer)
    assert {e.method for e in events} == {"api"}
    assert {e.actor for e in events} == {"api:web shop"}
    assert all(e.ip_hash and "203.0.113.9" not in e.ip_hash for e in events)
    assert client.get("/api/v1/customers/C1/consents/").json() == response.json()


@pytest.mark.parametrize(
    ("consent", "field"),
    [
        (
            {"purpose": "resale", "data_category": "purchase_history", "granted": True},
            "consents[0].purpose",
        ),
        (
            {"purpose": "marketing", "data_category": "dna", "granted": True},
            "consents[0].data_category",
        ),
        ({"purpose": "marketing", "data_category": "purchase_history"}, "consents[0].granted"),
    ],
)
def test_invalid_consent_is_a_400_naming_the_field_and_changes_nothing(api, consent, field):
    CustomerProfileFactory(external_id="C1")
    response = api(ApiScope.CONSENTS_WRITE).put(
        "/api/v1/customers/C1/consents/", {"consents": [consent]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field
    assert not ConsentEvent.objects.exists()


def test_a_notice_version_that_does_not_exist_is_a_400_naming_it_and_writes_nothing(api):
    CustomerProfileFactory(external_id="C1")
    body = {
        "consents": [
            {"purpose": "marketing", "data_category": "purchase_history", "granted": True}
        ],
        "notice_version": 999,
    }
    response = api(ApiScope.CONSENTS_WRITE).put(
        "/api/v1/customers/C1/consents/", body, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "unknown_notice_version",
            "message": "There is no published privacy notice with version 999.",
            "field": "notice_version",
        }
    }
    assert not ConsentEvent.objects.exists()
    assert not Consent.objects.exists()


def test_consents_read_is_a_fixed_number_of_queries(api, django_assert_max_num_queries):
    from personalization.consent.services import ConsentChange, consent_set

    customer = CustomerProfileFactory(external_id="C1")
    consent_set(
        customer=customer,
        changes=[
            ConsentChange("personalization", c, True)
            for c in ("purchase_history", "browsing_history", "stated_preferences")
        ],
        method="ui",
        actor="customer",
        notice_version=1,
    )
    client = api(ApiScope.CONSENTS_READ)
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/customers/C1/consents/")
    assert len(response.json()["consents"]) == 3
