"""Consent writes under concurrency: real PostgreSQL sessions, one thread each.

Every path that writes a customer's consent takes the customer's row first and the
ledger's lock second (personalization/consent/locking.py), so an objection and consent
writes for the same customer queue up instead of deadlocking; a deadlock or
serialization failure that still happens is retried by the service that owns the
whole transaction.
"""

from __future__ import annotations

import importlib
import io
import threading

import pytest
from django.apps import apps
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.db import DatabaseError, connection, connections, transaction
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import ApiScope, CustomerProfile
from accounts.roles import Role
from accounts.services import api_key_create, customer_profile_lock
from core.errors import ApplicationError
from personalization.consent import notices
from personalization.consent.locking import atomic_retrying
from personalization.consent.services import ConsentChange, consent_set
from personalization.models import Consent, ConsentEvent
from tests.factories import CustomerProfileFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("DATABASE_URL does not point at PostgreSQL: locks need several sessions")
    # A transactional test starts from an empty database: the registry rows and the
    # first notice are written again.
    importlib.import_module("personalization.migrations.0002_registry").load_registry(apps, None)
    notices.notice_ensure_initial()


def verify_ledger() -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_consent_ledger", stdout=out, stderr=err)
        return 0, out.getvalue()
    except SystemExit as exc:
        assert isinstance(exc.code, int)
        return exc.code, err.getvalue()


def run_together(*jobs):
    """Run each job in its own thread (its own connection), started at one barrier.

    Returns each job's result; an exception in a job is returned as a failure record.
    """
    start = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def runner(index, job):
        try:
            start.wait(30)
            results[index] = job()
        except BaseException as error:  # reported by the caller
            results[index] = ("raised", f"{type(error).__name__}: {error}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not any(thread.is_alive() for thread in threads), "a session never finished"
    return results


def answer(response) -> tuple[int, str]:
    """The status and the envelope's error code ("" on success, "page" for a 500 page)."""
    if response.status_code >= 500:
        return response.status_code, "page"
    return response.status_code, response.json().get("error", {}).get("code", "")


def ledger_matches_current_table(customer_id: int) -> bool:
    """Each current row points at the newest ledger event of its cell, with its answer."""
    newest: dict[tuple[str, str], ConsentEvent] = {}
    for event in ConsentEvent.objects.filter(customer_id=customer_id).order_by("pk"):
        newest[(event.purpose, event.data_category)] = event
    current = {
        (c.purpose, c.data_category): c for c in Consent.objects.filter(customer_id=customer_id)
    }
    return set(newest) == set(current) and all(
        current[cell].event_id == event.pk and current[cell].granted == event.granted
        for cell, event in newest.items()
    )


ROUNDS = 20


def test_an_objection_and_two_consent_writers_for_one_customer_all_get_answers(caplog):
    # given: the shop's systems file an objection while two tills write the customer's
    # consent, all through the API, for the same customer
    CustomerProfileFactory(external_id="C1")
    _key, key = api_key_create(name="till", scopes=ApiScope.values)

    def client() -> APIClient:
        api = APIClient(raise_request_exception=False)
        api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        return api

    def objector():
        api = client()
        return [
            answer(
                api.post(
                    "/api/v1/customers/C1/data-requests/", {"kind": "objection"}, format="json"
                )
            )
            for _ in range(ROUNDS)
        ]

    def consent_writer(categories: tuple[str, ...]):
        def write():
            api = client()
            answers = []
            for round_ in range(ROUNDS):
                granted = round_ % 2 == 0
                body = {
                    "consents": [
                        {"purpose": purpose, "data_category": category, "granted": granted}
                        for purpose in ("marketing", "personalization")
                        for category in categories
                    ],
                    "notice_version": 1,
                }
                answers.append(
                    answer(api.put("/api/v1/customers/C1/consents/", body, format="json"))
                )
            return answers

        return write

    # when
    objections, first, second = run_together(
        objector,
        consent_writer(("purchase_history", "browsing_history")),
        consent_writer(("browsing_history", "purchase_history")),
    )

    # then: every request got an answer a client can act on; none failed, and none
    # needed a second try (the lock order, not the retry, keeps them apart)
    assert isinstance(objections, list), objections
    assert isinstance(first, list), first
    assert isinstance(second, list), second
    assert set(first) | set(second) == {(200, "")}, (first, second)
    assert set(objections) <= {(201, ""), (400, "already_requested")}, objections
    assert objections[0] == (201, "")
    # and the ledger is one unbroken chain that the current table follows
    assert verify_ledger()[0] == 0
    assert ledger_matches_current_table(CustomerProfile.objects.get(external_id="C1").pk)
    assert "trying again" not in caplog.text


# --- Two or three saves of one customer at once -----------------------------------

# Each save changes a cell of its own (so it always leaves an event that dates it) and
# the one cell they share, to different answers.
SAVES = {
    "save:a": [
        ("personalization", "purchase_history", True),
        ("marketing", "purchase_history", True),
    ],
    "save:b": [
        ("personalization", "browsing_history", True),
        ("marketing", "purchase_history", False),
    ],
    "save:c": [
        ("personalization", "stated_preferences", True),
        ("marketing", "purchase_history", True),
    ],
}


def save(customer_id: int, actor: str) -> int:
    events = consent_set(
        customer=CustomerProfile.objects.get(pk=customer_id),
        changes=[ConsentChange(*cell) for cell in SAVES[actor]],
        method="ui",
        actor=actor,
        notice_version=1,
    )
    return len(events)


def ledger_of(customer_id: int) -> list[tuple[str, str, str, bool]]:
    return list(
        ConsentEvent.objects.filter(customer_id=customer_id)
        .order_by("pk")
        .values_list("actor", "purpose", "data_category", "granted")
    )


def current_of(customer_id: int) -> dict[tuple[str, str], bool]:
    return {
        (c.purpose, c.data_category): c.granted
        for c in Consent.objects.filter(customer_id=customer_id)
    }


@pytest.mark.parametrize("round_", range(5))
def test_saves_at_once_leave_the_ledger_and_table_of_saves_one_after_the_other(round_):
    # given
    together = CustomerProfileFactory().pk

    # when: three saves of the same customer at once
    counts = run_together(*[lambda actor=actor: save(together, actor) for actor in SAVES])

    # then: the same ledger and current table as the saves one after the other, in the
    # order they were recorded
    assert all(isinstance(n, int) for n in counts), counts
    order = list(dict.fromkeys(actor for actor, *_cell in ledger_of(together)))
    assert sorted(order) == sorted(SAVES)
    one_by_one = CustomerProfileFactory().pk
    for actor in order:
        save(one_by_one, actor)
    assert ledger_of(together) == ledger_of(one_by_one)
    assert current_of(together) == current_of(one_by_one)
    assert ledger_matches_current_table(together)
    assert verify_ledger()[0] == 0


def test_a_save_for_a_customer_erased_meanwhile_is_refused_and_writes_nothing():
    customer = CustomerProfileFactory()
    CustomerProfile.objects.filter(pk=customer.pk).delete()
    with pytest.raises(ApplicationError) as refused:
        consent_set(
            customer=customer,
            changes=[ConsentChange("marketing", "purchase_history", True)],
            method="api",
            actor="api:till",
            notice_version=1,
        )
    assert refused.value.code == "customer_erased"
    assert not ConsentEvent.objects.exists()


def test_a_page_save_waiting_for_an_erasure_that_then_completes_says_nothing_was_saved(
    make_user,
):
    # given: a signed-in customer opens their consent page; erasure holds their row
    user = make_user(Role.CUSTOMER)
    profile = CustomerProfile.objects.get(user=user)
    notices.notice_acknowledge(profile=profile, version=1)
    page = Client()
    page.force_login(user)
    erasing = threading.Event()
    outcome: dict = {}

    def erasure_finishes_once_the_save_waits():
        try:
            with transaction.atomic():
                customer_profile_lock(profile_id=profile.pk, for_delete=True)
                erasing.set()
                # Commit only once the page's save waits for this row.
                while not sessions_waiting_for_a_lock():
                    threading.Event().wait(0.05)
                CustomerProfile.objects.filter(pk=profile.pk).delete()
            outcome["erased"] = True
        except BaseException as error:  # reported below
            outcome["error"] = error
        finally:
            connections.close_all()

    eraser = threading.Thread(target=erasure_finishes_once_the_save_waits)
    eraser.start()
    assert erasing.wait(30)

    # when: the save arrives while the erasure is finishing
    response = page.post("/me/consent/", {"notice_version": 1, "marketing__purchase_history": "on"})
    eraser.join(60)

    # then: a message, not an error page, and nothing written for the erased customer
    assert outcome == {"erased": True}, outcome
    assert response.status_code == 302
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said == ["Nothing was saved: This customer's data was erased."]
    assert not ConsentEvent.objects.exists()


def sessions_waiting_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


# --- The retry -------------------------------------------------------------------


def raise_sqlstate(condition: str) -> None:
    """Make the server raise a real error with this condition name (e.g. deadlock_detected)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DO $$ BEGIN RAISE EXCEPTION 'test' USING ERRCODE = '{condition}'; END $$")


def rename(customer_id: int, mark: str) -> None:
    customer = CustomerProfile.objects.get(pk=customer_id)
    CustomerProfile.objects.filter(pk=customer_id).update(name=f"{customer.name}{mark}")


def test_both_sides_of_a_real_deadlock_succeed_the_loser_on_its_second_try(caplog):
    # given: two services that lock two customers in opposite orders (what the lock
    # order prevents between consent paths), both waiting for the other on their first try
    first, second = CustomerProfileFactory(name="").pk, CustomerProfileFactory(name="").pk
    both_hold_one = threading.Barrier(2)
    tries = {"forward": 0, "backward": 0}

    def locking(name: str, one: int, other: int):
        @atomic_retrying
        def service() -> None:
            tries[name] += 1
            customer_profile_lock(profile_id=one)
            if tries[name] == 1:
                both_hold_one.wait(30)
            customer_profile_lock(profile_id=other)
            rename(one, name[0])
            rename(other, name[0])

        return service

    # when
    results = run_together(locking("forward", first, second), locking("backward", second, first))

    # then: both services' writes are there, once each
    assert results == [None, None], results
    names = set(
        CustomerProfile.objects.filter(pk__in=[first, second]).values_list("name", flat=True)
    )
    assert names <= {"fb", "bf"} and len(names) == 1
    assert sorted(tries.values()) == [1, 2]
    assert "deadlock detected; trying again (2 of 3)" in caplog.text


def make_service(condition: str, customer_id: int, tries: list):
    @atomic_retrying
    def service() -> None:
        tries.append(1)
        rename(customer_id, "!")
        raise_sqlstate(condition)

    return service


@pytest.mark.parametrize("condition", ["deadlock_detected", "serialization_failure"])
def test_the_retry_gives_up_after_three_tries_and_keeps_nothing(condition):
    customer = CustomerProfileFactory(name="Ada")
    tries: list = []
    with pytest.raises(DatabaseError):
        make_service(condition, customer.pk, tries)()
    assert len(tries) == 3
    customer.refresh_from_db()
    assert customer.name == "Ada"


def test_other_errors_are_not_tried_again():
    customer = CustomerProfileFactory(name="Ada")
    tries: list = []
    with pytest.raises(DatabaseError):
        make_service("unique_violation", customer.pk, tries)()
    assert len(tries) == 1


def test_inside_a_callers_transaction_the_service_runs_once_and_the_caller_decides():
    customer = CustomerProfileFactory(name="Ada")
    tries: list = []
    with pytest.raises(DatabaseError), transaction.atomic():
        make_service("deadlock_detected", customer.pk, tries)()
    assert len(tries) == 1
    customer.refresh_from_db()
    assert customer.name == "Ada"
