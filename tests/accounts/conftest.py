import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from accounts.models import User

PASSWORD = "a-long-sourdough-passphrase"


def last_mail_to(address: str):
    """The newest message in the locmem outbox addressed to `address`."""
    for message in reversed(mail.outbox):
        if address.lower() in (to.lower() for to in message.to):
            return message
    raise AssertionError(f"no mail to {address}; outbox: {[m.subject for m in mail.outbox]}")


def confirmation_link(message) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def login_code(message) -> str:
    match = re.search(r"^\s*([A-Z0-9]{3,5}-[A-Z0-9]{3,5})\s*$", message.body, re.MULTILINE)
    assert match, message.body
    return match.group(1)


def signed_in_user(client) -> User | None:
    user = client.session.get("_auth_user_id")
    return User.objects.get(pk=user) if user else None


@pytest.fixture
def verified_user(db):
    """A person who can sign in with a password (their address is verified)."""

    def make(user: User) -> User:
        EmailAddress.objects.update_or_create(
            user=user, email=user.email, defaults={"verified": True, "primary": True}
        )
        return user

    return make
