"""Builders for the concurrency tests: requests in their own PostgreSQL sessions, a way
to see that one of them waits for another's lock, and a small trained shop.

Each thread has its own database connection (Django opens one per thread), so these are
separate sessions of one server, as two requests of two gunicorn workers would be.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from accounts.models import CustomerProfile
from personalization.consent.services import ConsentChange, consent_set
from personalization.models import Item
from personalization.recommending import services
from personalization.registry import (
    BROWSING_HISTORY,
    PERSONALIZATION,
    PURCHASE_HISTORY,
    STATED_PREFERENCES,
)
from tests.factories import CategoryFactory, CustomerProfileFactory, InteractionFactory, ItemFactory

# How long a test waits for a thread to reach a point it must reach (never a sleep).
PATIENCE = 30


@dataclass
class Session:
    """One request running in its own thread and database session."""

    thread: threading.Thread
    out: dict = field(default_factory=dict)

    def join(self) -> Session:
        self.thread.join(PATIENCE)
        assert not self.thread.is_alive(), "the request did not finish"
        return self

    @property
    def value(self):
        self.join()
        if "error" in self.out:
            raise self.out["error"]
        return self.out["value"]

    @property
    def error(self) -> BaseException | None:
        self.join()
        return self.out.get("error")


def in_own_session(fn: Callable[[], object]) -> Session:
    """Run `fn` in a thread with its own connection; its result or error is kept."""
    session = Session(thread=threading.Thread(target=lambda: None))

    def run():
        try:
            session.out["value"] = fn()
        except BaseException as error:  # re-raised by Session.value
            session.out["error"] = error
        finally:
            connections.close_all()

    session.thread = threading.Thread(target=run)
    session.thread.start()
    return session


# Sessions a test holds open, released (and waited for) when it ends, even on failure,
# so the next test's flush never waits for their locks.
_HELD: list[tuple[threading.Event, Session]] = []


@pytest.fixture(autouse=True)
def release_held_sessions():
    """Import into a test module that uses `holding`."""
    yield
    while _HELD:
        release, session = _HELD.pop()
        release.set()
        session.thread.join(PATIENCE)


def holding(
    fn: Callable[[], object], *, roll_back: bool = False
) -> tuple[Session, threading.Event]:
    """Run `fn` in its own session inside a transaction that stays open (its locks
    held) until the returned event is set, then commits (or rolls back); returns once
    `fn` has returned."""
    inside, release = threading.Event(), threading.Event()

    def run():
        with transaction.atomic():
            value = fn()
            inside.set()
            assert release.wait(PATIENCE)
            if roll_back:
                transaction.set_rollback(True)
        return value

    session = in_own_session(run)
    _HELD.append((release, session))
    while not inside.wait(0.05):
        if not session.thread.is_alive():
            raise AssertionError(f"the first request failed: {session.out}")
    return session, release


def waits_for_a_lock(session: Session) -> bool:
    """Wait until another session of this test database waits for a lock (True), or
    `session` finished without waiting (False)."""
    give_up = time.monotonic() + PATIENCE
    with connection.cursor() as cursor:
        while time.monotonic() < give_up:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
            if not session.thread.is_alive():
                return False
            time.sleep(0.02)
    raise AssertionError("the second request neither waited nor finished")


ALL = (PURCHASE_HISTORY, BROWSING_HISTORY, STATED_PREFERENCES)


def grant(customer: CustomerProfile) -> None:
    consent_set(
        customer=customer,
        changes=[ConsentChange(PERSONALIZATION, c, True) for c in ALL],
        method="ui",
        actor="customer",
        notice_version=None,
    )


def bought(customer: CustomerProfile, item: Item, times: int) -> None:
    for n in range(times):
        InteractionFactory(
            customer=customer,
            item=item,
            kind="purchase",
            value=item.price,
            occurred_at=timezone.now() - timedelta(days=3 + 7 * n),
        )


@dataclass
class SmallShop:
    items: list[Item]
    crowd: list[CustomerProfile]
    customer: CustomerProfile


def small_shop() -> SmallShop:
    """Twelve items in two categories, a crowd that buys them, one customer (C1) with a
    history and full consent, and a trained model; nobody has a stored list yet."""
    breads = CategoryFactory(slug="breads", name="Breads")
    drinks = CategoryFactory(slug="drinks", name="Drinks")
    items = [
        ItemFactory.create(
            name=f"Loaf {n}", category=breads if n < 6 else drinks, price=Decimal("3.20")
        )
        for n in range(12)
    ]
    crowd = []
    for n in range(8):
        shopper = CustomerProfileFactory.create()
        grant(shopper)
        for offset in range(4):
            bought(shopper, items[(n + offset) % 12], times=2)
        crowd.append(shopper)
    customer = CustomerProfileFactory.create(external_id="C1")
    grant(customer)
    bought(customer, items[0], times=4)
    bought(customer, items[7], times=2)
    services.model_version_train(model_version=services.model_version_create(), with_metrics=False)
    return SmallShop(items=items, crowd=crowd, customer=customer)
