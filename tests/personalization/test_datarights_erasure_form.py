"""The erasure form checks its confirmation box before asking for the password again."""

from __future__ import annotations

import pytest

from accounts.models import CustomerProfile
from accounts.roles import Role
from personalization.consent import notices
from personalization.models import DataRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer_client(client, make_user):
    notices.notice_ensure_initial()
    user = make_user(Role.CUSTOMER, email="erase@example.com")
    notices.notice_acknowledge(profile=CustomerProfile.objects.get(user=user), version=1)
    client.force_login(user)
    return client


def test_an_unticked_box_is_refused_before_the_password_is_asked_for(customer_client):
    response = customer_client.post("/me/requests/erasure/")

    # the page itself, not allauth's password page, with the error at the box
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="erasure-confirm-error"' in page
    assert "Tick the box to confirm that you want your data erased." in page
    assert 'aria-invalid="true" aria-describedby="erasure-confirm-error" autofocus' in page
    assert not DataRequest.objects.exists()


def test_a_ticked_box_then_asks_for_the_password(customer_client):
    response = customer_client.post("/me/requests/erasure/", {"confirm": "on"})

    assert response.status_code == 302
    assert "/accounts/reauthenticate/" in response["Location"]
    assert not DataRequest.objects.exists()
