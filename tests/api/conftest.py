import pytest
from rest_framework.test import APIClient

from accounts.models import ApiScope
from accounts.services import api_key_create


@pytest.fixture
def api(db):
    """An API client holding a key with the given scopes (all by default)."""

    def make(*scopes: str, name: str = "till") -> APIClient:
        _api_key, key = api_key_create(name=name, scopes=scopes or ApiScope.values)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        return client

    return make
