"""The consent centre without JavaScript: "Allow all" and "Refuse all" save every box at
once through the ledger, and each box says where its current answer came from."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import CustomerProfile
from accounts.roles import Role
from personalization.consent import notices
from personalization.consent.selectors import consent_grid, consent_page_rows
from personalization.consent.services import ConsentChange, consent_set
from personalization.models import ConsentEvent
from personalization.registry import MARKETING, PERSONALIZATION, PURCHASE_HISTORY

pytestmark = pytest.mark.django_db
CONSENT = "/me/consent/"


@pytest.fixture
def customer(make_user, client):
    notices.notice_ensure_initial()
    user = make_user(Role.CUSTOMER, email="c@example.com")
    profile = CustomerProfile.objects.get(user=user)
    notices.notice_acknowledge(profile=profile, version=1)
    client.force_login(user)
    return profile


def cells(profile) -> int:
    return sum(1 for row in consent_page_rows(customer=profile) for c in row.cells if c.applies)


def test_refuse_all_and_allow_all_save_every_box_at_once(client, customer):
    client.post(CONSENT, {"notice_version": 1, "everything": "allow"})
    grid = consent_grid(customer=customer)
    assert len(grid) == cells(customer) and all(grid.values())

    # refuse all, even with a box ticked in the same form: every box goes off
    response = client.post(
        CONSENT,
        {"notice_version": 1, "everything": "refuse", "marketing__purchase_history": "on"},
        follow=True,
    )
    assert not any(consent_grid(customer=customer).values())
    assert "Your choices are saved." in response.content.decode()
    events = ConsentEvent.objects.filter(customer=customer)
    assert events.count() == 2 * cells(customer)
    assert set(events.values_list("method", flat=True)) == {"ui"}


def test_an_unknown_everything_value_is_an_ordinary_save(client, customer):
    client.post(
        CONSENT,
        {"notice_version": 1, "everything": "sideways", "marketing__purchase_history": "on"},
    )
    assert consent_grid(customer=customer) == {(MARKETING, PURCHASE_HISTORY): True}


def test_each_box_says_where_its_answer_came_from(client, customer):
    # the choices are recorded at a fixed noon, so the page's dates are known
    moment = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        _record_choices(customer)

    page = client.get(CONSENT).content.decode()

    day = date_format(timezone.localtime(moment), "DATE_FORMAT")
    assert f"Set by the shop&#x27;s import on {day}." in page
    assert f"You chose this on {day}." in page
    assert "Not decided yet: off until you tick it." in page
    assert "Some boxes are already ticked" in page
    assert "Nothing is used unless you tick it" not in page


def _record_choices(customer) -> None:
    consent_set(
        customer=customer,
        changes=[ConsentChange(PERSONALIZATION, PURCHASE_HISTORY, True)],
        method="import",
        actor="system:import",
        notice_version=1,
    )
    consent_set(
        customer=customer,
        changes=[ConsentChange(MARKETING, PURCHASE_HISTORY, False)],
        method="ui",
        actor="customer",
        notice_version=1,
    )
