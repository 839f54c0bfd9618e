"""Two imports of overlapping exports at the same moment (two real PostgreSQL sessions):
the second waits for the first, then stores only what the first did not; each event and
each guest line is stored once, and each import's summary says rightly what it added."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection, transaction

from accounts.models import CustomerProfile
from personalization.importing import import_profile, writers
from personalization.models import GuestSale, Interaction
from tests.factories import CustomerProfileFactory, ItemFactory
from tests.personalization.sessions import (
    holding,
    in_own_session,
    release_held_sessions,  # noqa: F401
    waits_for_a_lock,
)

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "samples" / "online-retail.csv"

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("seeded_codes")]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("DATABASE_URL does not point at PostgreSQL: the race needs two sessions")


@pytest.fixture
def halves(tmp_path):
    """Two exports of the sample that share a cancellation and three guest lines."""
    header, *lines = SAMPLE.read_text().splitlines(keepends=True)
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(header + "".join(lines[:10]))
    second.write_text(header + "".join(lines[5:]))
    return str(first), str(second)


def test_overlapping_imports_at_once_store_each_line_once(halves):
    first, second = halves
    held, release = holding(lambda: import_profile("online-retail", [first]))
    other = in_own_session(lambda: import_profile("online-retail", [second]))

    # The second import waits for the first's lock instead of reading around it.
    assert waits_for_a_lock(other)
    release.set()
    a, b = held.value, other.value

    assert a.ok and b.ok, (a.errors, b.errors)
    assert Interaction.objects.count() == 6
    assert GuestSale.objects.count() == 3
    assert CustomerProfile.objects.count() == 3
    assert a.counts["events_created"] + b.counts.get("events_created", 0) == 6
    assert a.counts["guest_lines_created"] + b.counts.get("guest_lines_created", 0) == 3
    assert b.counts["events_already_imported"] == 1  # the cancellation, in both files
    assert b.counts["guest_lines_already_imported"] == 3


def test_an_import_that_fails_while_another_waits_leaves_the_other_whole(halves):
    first, second = halves
    held, release = holding(lambda: import_profile("online-retail", [first]), roll_back=True)
    other = in_own_session(lambda: import_profile("online-retail", [second]))

    assert waits_for_a_lock(other)
    release.set()
    held.join()
    b = other.value

    assert b.ok
    # Only the second file's lines: the first import's were rolled back.
    assert Interaction.objects.count() == b.counts["events_created"] == 2
    assert GuestSale.objects.count() == b.counts["guest_lines_created"] == 3


def test_a_line_an_api_batch_stored_meanwhile_is_stored_once_and_counted_once():
    # given the import has checked which lines are new, and then an API batch (another
    # writer, without the import lock) stores one of them before the import's COPY
    customer, item = CustomerProfileFactory(), ItemFactory()
    when = datetime(2026, 3, 4, 9, 15, tzinfo=UTC)

    def row(event_id: str) -> tuple:
        return (event_id, customer.pk, item.pk, "purchase", "purchase_history", 1, 2, when, when)

    with transaction.atomic():
        writers.event_values_write([row("api-1")])
        copier = writers.BackgroundCopy()
        try:
            # when the import's background COPY meets the stored line
            copier.start("events", [row("api-1"), row("imp-2"), row("imp-3")])
            done = copier.settle()
        finally:
            copier.close()

    # then its rows went the careful way: each stored once, only the new ones counted
    assert done == [("events", 2)]
    assert sorted(Interaction.objects.values_list("event_id", flat=True)) == [
        "api-1",
        "imp-2",
        "imp-3",
    ]
