"""The owner makes, reads and revokes API keys in the console."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import ApiKey, ApiScope
from accounts.roles import Role
from accounts.services import api_key_create

pytestmark = pytest.mark.django_db
URL = "/owner/api-keys/"


@pytest.fixture
def owner_client(make_user, client):
    owner = make_user(Role.OWNER)
    client.force_login(owner)
    return client


def api_status(key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client.get("/api/v1/customers/nobody/consents/").status_code


def test_a_new_key_is_shown_once_works_and_is_stored_only_as_a_hash(owner_client):
    response = owner_client.post(URL, {"name": "till", "scopes": [ApiScope.CONSENTS_READ]})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    key = re.search(r'<textarea id="new-key"[^>]*>([^<]+)</textarea>', html).group(1)
    stored = ApiKey.objects.get(name="till")
    assert stored.scopes == [ApiScope.CONSENTS_READ]
    assert key not in (stored.key_hash, stored.prefix) and key.startswith(stored.prefix)
    # Unknown customer: the key is accepted (404), not refused (401/403).
    assert api_status(key) == 404
    listing = owner_client.get(URL).content.decode()
    assert "till" in listing and stored.prefix in listing and key not in listing


def test_revoking_a_key_refuses_it_at_once(owner_client):
    api_key, key = api_key_create(name="web shop", scopes=[ApiScope.CONSENTS_READ])
    assert api_status(key) == 404
    # one click only asks: the key still works until the owner confirms
    question = owner_client.get(f"{URL}{api_key.pk}/revoke/").content.decode()
    assert "Revoke the key “web shop”?" in question
    owner_client.post(f"{URL}{api_key.pk}/revoke/")
    api_key.refresh_from_db()
    assert api_key.revoked_at is None and api_status(key) == 404

    response = owner_client.post(f"{URL}{api_key.pk}/revoke/", {"confirm": "yes"}, follow=True)
    assert "revoked" in response.content.decode()
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert api_status(key) == 401


def test_bad_input_is_explained_and_makes_nothing(owner_client):
    api_key_create(name="till", scopes=[ApiScope.EVENTS_WRITE])
    html = owner_client.post(URL, {"name": "till", "scopes": [ApiScope.EVENTS_WRITE]}).content
    assert "already" in html.decode()
    html = owner_client.post(URL, {"name": "email tool", "scopes": ["everything"]}).content
    assert "Select a valid choice" in html.decode()
    html = owner_client.post(URL, {"name": "email tool"}).content
    assert "This field is required" in html.decode()
    assert list(ApiKey.objects.values_list("name", flat=True)) == ["till"]


@pytest.mark.parametrize("role", [Role.STAFF, Role.CUSTOMER])
def test_only_the_owner_sees_or_makes_keys(make_user, client, role):
    api_key, _key = api_key_create(name="till", scopes=[ApiScope.EVENTS_WRITE])
    client.force_login(make_user(role))
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"name": "x", "scopes": [ApiScope.EVENTS_WRITE]}).status_code == 403
    assert client.post(f"{URL}{api_key.pk}/revoke/").status_code == 403
    assert ApiKey.objects.get().revoked_at is None and ApiKey.objects.count() == 1


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_revoking_needs_the_csrf_token(make_user):
    api_key, _key = api_key_create(name="till", scopes=[ApiScope.EVENTS_WRITE])
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user(Role.OWNER))
    assert client.post(f"{URL}{api_key.pk}/revoke/").status_code == 403
    api_key.refresh_from_db()
    assert api_key.revoked_at is None
