import html
import re

import pytest
from django.test import Client
from django.utils.html import strip_tags

from accounts.roles import Role


def text_of(response) -> str:
    """The page's text with whitespace collapsed (assert on what a person reads); table
    cells, list items and blocks are separated by a space, as a browser shows them."""
    markup = _BLOCK_END.sub(r"\g<0> ", response.content.decode())
    return " ".join(html.unescape(strip_tags(markup)).split())


_BLOCK_END = re.compile(r"</(td|th|li|p|div|tr|h[1-6]|dt|dd|summary|span)>")


def waiting_fields(model) -> list[str]:
    """Where a review item's waiting starts (also `waiting_since` when the queue has it)."""
    names = {field.name for field in model._meta.get_fields()}
    return [name for name in ("created_at", "waiting_since") if name in names]


@pytest.fixture
def owner(make_user):
    return make_user(Role.OWNER, email="owner@example.com")


@pytest.fixture
def owner_client(owner):
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def staff(make_user):
    return make_user(Role.STAFF, email="staff@example.com")


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client
