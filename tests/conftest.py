import pytest
from django.core.cache import cache

from accounts.models import User
from accounts.roles import Role
from accounts.services import customer_profile_claim, user_set_role
from tests.factories import CustomerProfileFactory, UserFactory


@pytest.fixture
def make_user(db):
    """A signed-up person with `role`; customers get a linked profile."""

    def make(role: Role = Role.CUSTOMER, **kwargs) -> User:
        user = UserFactory(**kwargs)
        if role is Role.CUSTOMER:
            CustomerProfileFactory(email=user.email, user=None)
            customer_profile_claim(user=user, emails=[user.email])
        else:
            user_set_role(user=user, role=role)
        return user

    return make


@pytest.fixture(autouse=True)
def _fresh_cache():
    """allauth counts mails and sign-in attempts in the cache; each test starts from zero."""
    cache.clear()
    yield
    cache.clear()
