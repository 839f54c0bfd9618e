import pytest
from allauth.account.models import EmailAddress

from accounts.models import User


@pytest.fixture
def verified_user(db):
    """A person who can sign in with a password (their address is verified)."""

    def make(user: User) -> User:
        EmailAddress.objects.update_or_create(
            user=user, email=user.email, defaults={"verified": True, "primary": True}
        )
        return user

    return make
