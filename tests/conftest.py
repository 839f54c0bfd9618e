import pytest
from django.core.cache import cache
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import ApiScope, User
from accounts.roles import Role
from accounts.services import api_key_create, customer_profile_claim, user_set_role
from tests.factories import CustomerProfileFactory, UserFactory
from tests.mfa import totp_enrol

# Fixtures that test modules in more than one folder request by name (never import them).
pytest_plugins = ["tests.shared_fixtures"]


@pytest.fixture
def make_user(db):
    """A signed-up person with `role`; customers get a linked profile.

    Owners have an authenticator app set up (tests/mfa.py), as the owner console and
    the admin require; pass `mfa=False` for one who has not set it up yet.
    """

    def make(role: Role = Role.CUSTOMER, *, mfa: bool = True, **kwargs) -> User:
        user = UserFactory.create(**kwargs)
        if role is Role.CUSTOMER:
            CustomerProfileFactory(email=user.email, user=None)
            customer_profile_claim(user=user, emails=[user.email])
        else:
            user_set_role(user=user, role=role)
        if role is Role.OWNER and mfa:
            totp_enrol(user)
        return user

    return make


@pytest.fixture(scope="session", autouse=True)
def _german_catalogue_compiled():
    """locale/de's .mo, compiled when the .po is newer (it is not committed), so German
    pages read the current catalogue however the tests were started."""
    call_command("compile_translations", verbosity=0)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """allauth counts mails and sign-in attempts in the cache; each test starts from zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(db):
    """An API client holding a key with the given scopes (all by default)."""

    def make(*scopes: str, name: str = "till") -> APIClient:
        _api_key, key = api_key_create(name=name, scopes=scopes or ApiScope.values)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        return client

    return make
