"""Who may call what: no key 401, wrong scope 403, unknown customer 404, never data."""

import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import ApiKey, ApiScope
from accounts.roles import Role
from accounts.services import api_key_create, api_key_revoke
from tests.factories import CustomerProfileFactory

pytestmark = pytest.mark.django_db

ENDPOINTS: list[tuple[str, str, str, dict | None]] = [
    ("get", "/api/v1/customers/C1/recommendations/", ApiScope.RECOMMENDATIONS_READ, None),
    ("post", "/api/v1/customers/C1/data-requests/", ApiScope.REQUESTS_WRITE, {"kind": "export"}),
    ("post", "/api/v1/events/", ApiScope.EVENTS_WRITE, {"events": []}),
    ("put", "/api/v1/items/", ApiScope.CATALOG_WRITE, {"items": []}),
    ("put", "/api/v1/customers/", ApiScope.CUSTOMERS_WRITE, {"customers": []}),
    ("get", "/api/v1/customers/C1/consents/", ApiScope.CONSENTS_READ, None),
    ("get", "/api/v1/audits/", ApiScope.AUDITS_READ, None),
    (
        "put",
        "/api/v1/customers/C1/consents/",
        ApiScope.CONSENTS_WRITE,
        {
            "consents": [
                {"purpose": "marketing", "data_category": "purchase_history", "granted": True}
            ]
        },
    ),
]


@pytest.fixture(autouse=True)
def customer():
    return CustomerProfileFactory(external_id="C1")


def call(client, method, url, body):
    return (
        getattr(client, method)(url, body, format="json") if body is not None else client.get(url)
    )


@pytest.mark.parametrize(("method", "url", "scope", "body"), ENDPOINTS)
def test_without_a_key_is_401(method, url, scope, body):
    response = call(APIClient(), method, url, body)
    assert response.status_code in (401, 403)
    assert response.status_code == 401, "an API client without credentials must get 401"
    assert response["WWW-Authenticate"] == "Api-Key"
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize(("method", "url", "scope", "body"), ENDPOINTS)
def test_a_wrong_or_unknown_key_is_401(method, url, scope, body):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key fs_not-a-real-key")
    response = call(client, method, url, body)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Unknown or revoked API key."


@pytest.mark.parametrize(("method", "url", "scope", "body"), ENDPOINTS)
def test_every_other_scope_is_403_and_the_right_one_passes(api, method, url, scope, body):
    for index, other in enumerate(s for s in ApiScope.values if s != scope):
        response = call(api(other, name=f"other-{index}"), method, url, body)
        assert response.status_code == 403, (other, response.content)
        assert response.json()["error"]["message"] == f"This key lacks the scope '{scope}'."
    response = call(api(scope, name="right"), method, url, body)
    assert response.status_code in (200, 201), response.content


def test_revoked_key_stops_working(db):
    api_key, key = api_key_create(name="old till", scopes=[ApiScope.CONSENTS_READ])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert client.get("/api/v1/customers/C1/consents/").status_code == 200
    api_key_revoke(api_key=api_key)
    assert client.get("/api/v1/customers/C1/consents/").status_code == 401


def test_unknown_customer_is_404_in_the_envelope(api):
    response = api(ApiScope.CONSENTS_READ).get("/api/v1/customers/NOPE/consents/")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.STAFF, Role.OWNER])
def test_a_browser_session_gets_no_api_access(make_user, role):
    # The API is keys only (every operation: tests/security/test_probes_api.py).
    client = APIClient()
    client.force_login(make_user(role))
    response = client.get("/api/v1/customers/C1/consents/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"


def test_create_api_key_prints_the_key_once_and_stores_a_hash(db):
    out = io.StringIO()
    call_command(
        "create_api_key", "web shop", "--scopes", "events:write", "consents:read", stdout=out
    )
    key = out.getvalue().strip().splitlines()[-1]
    stored = ApiKey.objects.get(name="web shop")
    assert key.startswith(stored.prefix)
    assert stored.key_hash != key and key not in stored.key_hash
    assert stored.scopes == ["events:write", "consents:read"]


def test_create_api_key_refuses_unknown_scopes(db):
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("create_api_key", "x", "--scopes", "everything", stderr=err)
    assert exit_.value.code == 1
    assert "Unknown scope(s): everything" in err.getvalue()
    assert not ApiKey.objects.exists()


def test_last_use_is_recorded(api):
    client = api(ApiScope.CONSENTS_READ)
    client.get("/api/v1/customers/C1/consents/")
    assert ApiKey.objects.get().last_used_at is not None
