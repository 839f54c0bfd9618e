import pytest
from django.test import Client

from accounts.roles import Role


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
