"""Overlapping batches of events written at the same moment (two or three real
PostgreSQL sessions): each event is stored once, nobody gets an error, and every caller
is told rightly how many it stored and how many were there already."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction

from accounts.models import CustomerProfile
from personalization.importing import batches, import_files, loader
from personalization.importing import rows as R
from personalization.importing import writers as W
from personalization.models import Interaction
from tests.factories import CustomerProfileFactory, ItemFactory
from tests.personalization.sessions import (
    holding,
    in_own_session,
    release_held_sessions,  # noqa: F401
    waits_for_a_lock,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("DATABASE_URL does not point at PostgreSQL: row locks need two sessions")


@pytest.fixture
def shop():
    CustomerProfileFactory(external_id="C1")
    CustomerProfileFactory(external_id="C2")
    ItemFactory(sku="WS-1")


def event(event_id: str, customer: str = "C1") -> dict:
    return {
        "event_id": event_id,
        "customer_external_id": customer,
        "sku": "WS-1",
        "kind": "purchase",
        "occurred_at": "2026-11-14T08:05:00+00:00",
        "quantity": 1,
        "value": "4.20",
    }


def batch(*ids: str) -> dict:
    return {"events": [event(i) for i in ids]}


def stored_ids() -> list[str]:
    return sorted(Interaction.objects.values_list("event_id", flat=True))


def test_two_overlapping_api_batches_in_flight_store_each_event_once(shop, api):
    first_client, second_client = api("events:write", name="till"), api("events:write", name="web")

    def post(client, body):
        def send():
            response = client.post("/api/v1/events/", body, format="json")
            return response.status_code, response.json()

        return send

    # given: the first batch is stored but its transaction has not committed yet
    first, release = holding(post(first_client, batch("e1", "e2", "e3", "e4")))
    # when: a batch sharing two of its events arrives
    second = in_own_session(post(second_client, batch("e3", "e4", "e5", "e6")))
    assert waits_for_a_lock(second)
    release.set()
    # then: both answered 200, each counting what it stored itself
    assert first.value == (
        200,
        {
            "received": 4,
            "created": 4,
            "updated": 0,
            "already_stored": 0,
            "rejected": [],
            "stored": True,
        },
    )
    status, body = second.value
    assert status == 200, body
    assert (body["created"], body["already_stored"]) == (2, 2)
    assert stored_ids() == ["e1", "e2", "e3", "e4", "e5", "e6"]


def test_a_batch_waiting_for_one_that_rolls_back_stores_the_events_itself(shop):
    first, release = holding(
        lambda: batches.events_ingest(events=batch("e1", "e2", "e3")["events"]), roll_back=True
    )
    second = in_own_session(lambda: batches.events_ingest(events=batch("e2", "e3")["events"]))
    assert waits_for_a_lock(second)
    release.set()
    assert first.value.created == 3
    assert (second.value.created, second.value.already_stored) == (2, 0)
    assert stored_ids() == ["e2", "e3"]


def test_three_batches_in_reverse_orders_at_once_never_deadlock(shop):
    ids = [f"e{n:02d}" for n in range(40)]
    orders = [ids, list(reversed(ids)), ids[20:] + ids[:20]]
    start = threading.Barrier(len(orders))

    def ingest(order):
        def run():
            start.wait(30)
            return batches.events_ingest(events=batch(*order)["events"])

        return run

    runs = [in_own_session(ingest(order)) for order in orders]
    results = [run.value for run in runs]
    assert sum(result.created for result in results) == 40
    assert all(result.created + result.already_stored == 40 for result in results)
    assert stored_ids() == sorted(ids)


EVENTS_HEADER = "event_id,customer_external_id,sku,kind,occurred_at,quantity,value\n"


def events_file(folder: Path, name: str, ids: list[str]) -> str:
    path = folder / name
    path.write_text(
        EVENTS_HEADER
        + "".join(f"{i},C2,WS-1,purchase,2026-03-04T09:15:00+00:00,2,8.40\n" for i in ids)
    )
    return str(path)


def test_two_imports_of_overlapping_files_at_once_store_each_event_once(shop, tmp_path):
    one = events_file(tmp_path, "one.csv", ["a1", "a2", "a3", "shared1", "shared2"])
    two = events_file(tmp_path, "two.csv", ["shared2", "shared1", "b1"])
    first, release = holding(lambda: import_files(events=one))
    second = in_own_session(lambda: import_files(events=two))
    assert waits_for_a_lock(second)
    release.set()
    first_report, second_report = first.value, second.value
    assert first_report.errors == [] and second_report.errors == [], second_report.errors
    (first_file,), (second_file,) = first_report.files, second_report.files
    assert (first_file.created, first_file.already_imported) == (5, 0)
    assert (second_file.created, second_file.already_imported) == (1, 2)
    assert stored_ids() == ["a1", "a2", "a3", "b1", "shared1", "shared2"]


def test_imports_whose_chunks_cross_never_deadlock(shop, tmp_path, monkeypatch):
    # Chunks of two rows; each import pauses after its first chunk until the other has
    # written its own (or could not start), so their second chunks would cross.
    monkeypatch.setattr(loader, "CHUNK", 2)
    real_chunks, real_write = loader._chunks, W.events_write
    monkeypatch.setattr(loader, "_chunks", lambda items, size=2: real_chunks(items, 2))
    both_wrote_one = threading.Barrier(2)
    calls = threading.local()

    def write(rows, **kwargs):
        created = real_write(rows, **kwargs)
        calls.n = getattr(calls, "n", 0) + 1
        if calls.n == 1:
            try:
                both_wrote_one.wait(3)
            except threading.BrokenBarrierError:
                pass  # the other import waits for this one to finish
        return created

    monkeypatch.setattr(W, "events_write", write)
    one = events_file(tmp_path, "one.csv", ["x1", "x2", "y1", "y2"])
    two = events_file(tmp_path, "two.csv", ["y1", "y2", "x1", "x2"])
    runs = [in_own_session(lambda path=path: import_files(events=path)) for path in (one, two)]
    reports = [run.value for run in runs]
    assert [report.errors for report in reports] == [[], []]
    files = [report.files[0] for report in reports]
    assert sorted((f.created, f.already_imported) for f in files) == [(0, 4), (4, 0)]
    assert stored_ids() == ["x1", "x2", "y1", "y2"]


def test_a_value_the_database_refuses_in_copy_is_a_django_database_error(shop):
    row = R.EventRow(
        event_id="e1",
        customer_external_id="C1",
        sku="WS-1",
        kind="purchase",
        occurred_at=datetime(2026, 11, 14, 8, 5, tzinfo=UTC),
        quantity=1,
        value=Decimal("4.20"),
    )
    # An id that is not a number reaches COPY (the callers never pass one): the importer
    # and the API catch Django's DatabaseError, not psycopg's own.
    with pytest.raises(DatabaseError), transaction.atomic():
        W.events_write(
            [row], customer_ids={"C1": "not a number"}, sku_ids={"WS-1": 1}, now=row.occurred_at
        )
    assert stored_ids() == []


def test_customer_batches_in_crossing_orders_at_once_never_deadlock(shop, api):
    ids = [f"K{n:03d}" for n in range(300)]
    for external_id in ids:
        CustomerProfileFactory(external_id=external_id)
    orders = [ids, list(reversed(ids)), ids[150:] + ids[:150]]
    clients = [api("customers:write", name=f"crm {n}") for n in range(len(orders))]
    start = threading.Barrier(len(orders))

    def put(client, order):
        def send():
            body = {
                "customers": [{"external_id": i, "email": "", "name": "Renamed"} for i in order]
            }
            start.wait(30)
            return client.put("/api/v1/customers/", body, format="json").status_code

        return send

    runs = [in_own_session(put(c, o)) for c, o in zip(clients, orders, strict=True)]
    assert [run.value for run in runs] == [200, 200, 200]
    assert set(
        CustomerProfile.objects.filter(external_id__in=ids).values_list("name", flat=True)
    ) == {"Renamed"}


def test_a_batch_the_database_aborts_in_a_deadlock_is_stored_on_its_second_try(
    shop, api, monkeypatch
):
    # An import whose chunks cross an API batch can deadlock with it (both wait for the
    # other's event ids); the database aborts one. The batch is its own transaction and
    # runs again.
    real_write = W.events_write
    tries: list[int] = []

    def write_after_a_deadlock(*args, **kwargs):
        tries.append(1)
        if len(tries) == 1:
            with connection.cursor() as cursor:
                cursor.execute(
                    "DO $$ BEGIN RAISE EXCEPTION 'test' USING ERRCODE = 'deadlock_detected'; END $$"
                )
        return real_write(*args, **kwargs)

    monkeypatch.setattr(W, "events_write", write_after_a_deadlock)

    response = api("events:write").post("/api/v1/events/", batch("e1", "e2"), format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["created"], len(tries)) == (2, 2)
    assert stored_ids() == ["e1", "e2"]
