"""Data requests under concurrency: three real PostgreSQL sessions file the same request
for one customer at once (a triple click, or the page and the shop's systems together).

The customer's row lock (the first lock of the one order, consent/locking.py) makes the
second and third wait and then see the first one's request: one request, the others
refused with `already_requested`.
"""

from __future__ import annotations

import importlib
import io
import threading

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection, connections

from accounts.models import CustomerProfile, PersonalizationMode
from core.errors import ApplicationError
from personalization.consent import notices
from personalization.consent.services import ConsentChange, consent_set
from personalization.datarights import services
from personalization.models import Consent, ConsentEvent, DataRequest
from tests.factories import CustomerProfileFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only(settings, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("DATABASE_URL does not point at PostgreSQL: locks need several sessions")
    settings.MEDIA_ROOT = tmp_path / "media"
    # A transactional test starts from an empty database: the registry rows and the
    # first notice are written again.
    importlib.import_module("personalization.migrations.0002_registry").load_registry(apps, None)
    notices.notice_ensure_initial()


def file_at_once(customer_id: int, kind: str, sessions: int = 3) -> list[str]:
    """`sessions` threads file the same request at one barrier; each one's outcome."""
    start = threading.Barrier(sessions)
    outcomes: list[str] = []

    def customer_asks():
        try:
            customer = CustomerProfile.objects.get(pk=customer_id)
            start.wait(30)
            services.data_request_create(customer=customer, kind=kind, method="api")
            outcomes.append("filed")
        except ApplicationError as error:
            outcomes.append(error.code)
        except BaseException as error:  # reported below
            outcomes.append(f"{type(error).__name__}: {error}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=customer_asks) for _ in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "a session never finished"
    return sorted(outcomes)


def ledger_intact() -> bool:
    try:
        call_command("verify_consent_ledger", stdout=io.StringIO(), stderr=io.StringIO())
    except SystemExit as exc:
        return exc.code == 0
    return True


@pytest.mark.parametrize("kind", ["export", "erasure"])
def test_the_same_request_three_times_at_once_is_filed_once(kind):
    customer = CustomerProfileFactory()

    outcomes = file_at_once(customer.pk, kind)

    assert outcomes == ["already_requested", "already_requested", "filed"], outcomes
    assert DataRequest.objects.filter(customer=customer, kind=kind).count() == 1


def test_three_objections_at_once_are_one_objection_and_withdraw_each_consent_once():
    # given: personalization on and offer emails allowed for two kinds of data
    customer = CustomerProfileFactory(personalization_mode=PersonalizationMode.ON)
    consent_set(
        customer=customer,
        changes=[
            ConsentChange("marketing", "purchase_history", True),
            ConsentChange("marketing", "browsing_history", True),
        ],
        method="ui",
        actor="customer",
        notice_version=1,
    )

    # when
    outcomes = file_at_once(customer.pk, "objection")

    # then: one objection, done; the others are told it already holds
    assert outcomes == ["already_requested", "already_requested", "filed"], outcomes
    (objection,) = DataRequest.objects.filter(customer=customer, kind="objection")
    assert objection.status == "completed"
    customer.refresh_from_db()
    assert customer.personalization_mode == PersonalizationMode.OFF
    assert not Consent.objects.filter(customer=customer, purpose="marketing", granted=True)
    withdrawals = ConsentEvent.objects.filter(customer=customer, method="objection", granted=False)
    # one "no" per marketing cell, recorded once (not once per click)
    categories = list(withdrawals.values_list("data_category", flat=True))
    assert len(categories) == len(set(categories))
    assert withdrawals.filter(data_category="purchase_history").count() == 1
    assert ledger_intact()


def test_an_objection_after_marketing_was_switched_on_again_is_a_new_request():
    customer = CustomerProfileFactory(personalization_mode=PersonalizationMode.ON)
    services.data_request_create(customer=customer, kind="objection")
    consent_set(
        customer=customer,
        changes=[ConsentChange("marketing", "purchase_history", True)],
        method="ui",
        actor="customer",
        notice_version=1,
    )

    services.data_request_create(customer=customer, kind="objection")

    assert DataRequest.objects.filter(customer=customer, kind="objection").count() == 2
    assert not Consent.objects.filter(customer=customer, purpose="marketing", granted=True)
