"""The import_data contract: FILE:LINE errors, all or nothing, idempotent, streaming."""

from __future__ import annotations

import os
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import AuditAttribute, CustomerProfile
from core.services import tables_analyze
from personalization.importing import import_files
from personalization.models import Interaction, Item

CATALOG = """sku,name,category,price,attributes,active
WS-1,Wheat sourdough,breads,4.20,contains:gluten,true
GF-1,Gluten-free seeded loaf,Breads,5.10,gluten-free;contains:none,true
CR-1,Butter croissant,pastries,1.90,contains:gluten;contains:milk,false
MY-1,Mystery bun,pastries,2.00,,true
"""
CUSTOMERS = """external_id,email,name,audit:age_band
C1,Gable@Example.com,Mrs. Gable,55+
C2,,Walk-in,
"""
EVENTS_HEADER = "event_id,customer_external_id,sku,kind,occurred_at,quantity,value\n"
EVENTS = EVENTS_HEADER + (
    "e1,C1,WS-1,purchase,2026-03-04T09:15:00+00:00,2,8.40\n"
    "e2,C1,WS-1,view,2026-03-05T10:00:00+01:00,1,\n"
    "e3,C2,GF-1,rating,2026-03-06T10:00:00-05:00,1,4\n"
)


def write(tmp_path: Path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def run_import(*args: str) -> tuple[int, str, str]:
    """Run the command as the CLI does; return (exit status, stdout, stderr)."""
    import io

    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_data", *args, stdout=out, stderr=err)
        status = 0
    except SystemExit as exc:
        status = int(exc.code or 0)
    return status, out.getvalue(), err.getvalue()


def snapshot() -> tuple[int, int, int, int]:
    return (
        Item.objects.count(),
        CustomerProfile.objects.count(),
        Interaction.objects.count(),
        AuditAttribute.objects.count(),
    )


@pytest.fixture
def base_files(tmp_path):
    return {
        "catalog": write(tmp_path, "catalog.csv", CATALOG),
        "customers": write(tmp_path, "customers.csv", CUSTOMERS),
        "events": write(tmp_path, "events.csv", EVENTS),
    }


@pytest.fixture
def imported(db, base_files):
    status, _, err = run_import(
        "--catalog",
        base_files["catalog"],
        "--customers",
        base_files["customers"],
        "--events",
        base_files["events"],
    )
    assert status == 0, err
    return base_files


def test_import_stores_catalog_customers_and_events(imported):
    wheat = Item.objects.get(sku="WS-1")
    assert wheat.category.slug == "breads"
    assert [a.code for a in wheat.attributes.all()] == ["contains:gluten"]
    assert wheat.allergens_declared is True
    assert Item.objects.get(sku="GF-1").category == wheat.category  # "Breads" == "breads"
    assert Item.objects.get(sku="CR-1").active is False
    # No contains:* token at all: the shop has not said which allergens it has.
    assert Item.objects.get(sku="MY-1").allergens_declared is False

    gable = CustomerProfile.objects.get(external_id="C1")
    assert gable.email == "gable@example.com"
    assert gable.user is None
    assert {(a.name, a.value) for a in gable.audit_attributes.all()} == {("age_band", "55+")}

    e1 = Interaction.objects.get(event_id="e1")
    assert (e1.customer, e1.item, e1.quantity, e1.value) == (gable, wheat, 2, Decimal("8.40"))
    assert e1.data_category == "purchase_history"
    assert Interaction.objects.get(event_id="e2").data_category == "browsing_history"
    rating = Interaction.objects.get(event_id="e3")
    assert rating.data_category == "stated_preferences"
    assert rating.occurred_at.isoformat() == "2026-03-06T15:00:00+00:00"


def test_reimport_adds_nothing_and_updates_catalog(imported, tmp_path):
    before = snapshot()
    cheaper = write(tmp_path, "catalog2.csv", CATALOG.replace("4.20", "3.95"))
    status, out, _ = run_import(
        "--catalog", cheaper, "--customers", imported["customers"], "--events", imported["events"]
    )
    assert status == 0
    assert snapshot() == before
    assert Item.objects.get(sku="WS-1").price == Decimal("3.95")
    assert "3 rows, 0 new, 0 updated, 3 already imported" in out


BAD_EVENT_CASES = {
    "unknown sku": (
        "e9,C1,NOPE,purchase,2026-03-04T09:15:00+00:00,1,1.00\n",
        "events.csv:3: unknown sku 'NOPE'",
    ),
    "unknown customer": (
        "e9,C404,WS-1,purchase,2026-03-04T09:15:00+00:00,1,1.00\n",
        "events.csv:3: unknown customer_external_id 'C404'",
    ),
    "bad date": (
        "e9,C1,WS-1,purchase,04/03/2026 09:15,1,1.00\n",
        "events.csv:3: occurred_at '04/03/2026 09:15' is not an ISO 8601 date-time",
    ),
    "date without offset": (
        "e9,C1,WS-1,purchase,2026-03-04T09:15:00,1,1.00\n",
        "events.csv:3: occurred_at '2026-03-04T09:15:00' has no UTC offset",
    ),
    "negative quantity": (
        "e9,C1,WS-1,purchase,2026-03-04T09:15:00+00:00,-2,1.00\n",
        "events.csv:3: quantity must be at least 1, got -2",
    ),
    "negative value": (
        "e9,C1,WS-1,purchase,2026-03-04T09:15:00+00:00,1,-1.00\n",
        "events.csv:3: value must not be negative, got -1.00",
    ),
    "unknown kind": (
        "e9,C1,WS-1,buy,2026-03-04T09:15:00+00:00,1,1.00\n",
        "events.csv:3: kind must be one of purchase, view, cart, rating, return, got 'buy'",
    ),
    "duplicate event_id in file": (
        "e8,C1,WS-1,purchase,2026-03-04T09:15:00+00:00,1,1.00\n",
        "events.csv:3: duplicate event_id 'e8' (first on line 2)",
    ),
    "wrong field count": (
        "e9,C1,WS-1,purchase,2026-03-04T09:15:00+00:00,1\n",
        "events.csv:3: expected 7 fields, found 6",
    ),
    "future date": (
        "e9,C1,WS-1,purchase,2999-03-04T09:15:00+00:00,1,1.00\n",
        "events.csv:3: occurred_at '2999-03-04T09:15:00+00:00' is in the future",
    ),
    # Year 1 at +14:00 is year 0 in UTC: stored as a BC date, it broke every later read.
    "year 1": (
        "e9,C1,WS-1,purchase,0001-01-01T00:00:00+14:00,1,1.00\n",
        "events.csv:3: occurred_at '0001-01-01T00:00:00+14:00' is before 1970",
    ),
    "year 9999 at -14:00": (
        "e9,C1,WS-1,purchase,9999-12-31T23:59:59-14:00,1,1.00\n",
        "events.csv:3: occurred_at '9999-12-31T23:59:59-14:00' is in the future",
    ),
    # Measured before quantizing: these used to end the import with a traceback.
    "value 1e27": (
        "e9,C1,WS-1,purchase,2026-03-04T09:15:00+00:00,1,1e27\n",
        "events.csv:3: value is too large: 1e27 (at most 10 digits)",
    ),
    "value 1e400": (
        "e9,C1,WS-1,purchase,2026-03-04T09:15:00+00:00,1,1e400\n",
        "events.csv:3: value is too large: 1e400 (at most 10 digits)",
    ),
    "value NaN": (
        "e9,C1,WS-1,purchase,2026-03-04T09:15:00+00:00,1,NaN\n",
        "events.csv:3: value must be a number like 3.50, got 'NaN'",
    ),
    "NUL in a cell": (
        "e9,C1\x00,WS-1,purchase,2026-03-04T09:15:00+00:00,1,1.00\n",
        "events.csv:3: customer_external_id contains a NUL character",
    ),
}


@pytest.mark.parametrize("case", BAD_EVENT_CASES, ids=list(BAD_EVENT_CASES))
def test_bad_event_row_is_reported_and_nothing_is_written(imported, tmp_path, case):
    # given a file whose first row is fine and whose second row is bad
    bad_row, expected = BAD_EVENT_CASES[case]
    good_row = "e8,C1,WS-1,purchase,2026-03-07T09:15:00+00:00,1,4.20\n"
    path = write(tmp_path, "events.csv", EVENTS_HEADER + good_row + bad_row)
    before = snapshot()
    # when
    status, _, err = run_import("--events", path)
    # then
    assert status == 1
    assert f"{tmp_path}/{expected}" in err
    assert "nothing was imported" in err
    assert snapshot() == before
    assert not Interaction.objects.filter(event_id="e8").exists()


def test_wrong_encoding_names_the_line(imported, tmp_path):
    body = (EVENTS_HEADER + "e8,C1,WS-1,purchase,2026-03-07T09:15:00+00:00,1,4.20\n").encode()
    body += "e9,C1,WS-1,purchase,2026-03-07T09:15:00+00:00,1,caf\xe9\n".encode("latin-1")
    path = write(tmp_path, "events.csv", body)
    before = snapshot()
    status, _, err = run_import("--events", path)
    assert status == 1
    assert f"{path}:3: not valid UTF-8 text" in err
    assert snapshot() == before


def test_missing_column_is_reported_on_the_header_line(db, tmp_path):
    path = write(tmp_path, "catalog.csv", "sku,name,price,attributes,active\nA,B,1.00,,true\n")
    status, _, err = run_import("--catalog", path)
    assert status == 1
    assert f"{path}:1: missing column 'category'" in err
    assert Item.objects.count() == 0


def test_unknown_column_is_reported(db, tmp_path):
    path = write(tmp_path, "customers.csv", "external_id,emial,name\nC1,a@example.com,A\n")
    status, _, err = run_import("--customers", path)
    assert status == 1
    assert f"{path}:1: unknown column 'emial'" in err
    assert f"{path}:1: missing column 'email'" in err


def test_every_error_in_every_file_is_reported_and_nothing_is_written(db, tmp_path):
    catalog = write(
        tmp_path,
        "catalog.csv",
        CATALOG + "WS-1,Again,breads,1.00,,true\nX-1,Bad,breads,abc,,true\n",
    )
    customers = write(tmp_path, "customers.csv", CUSTOMERS + "C3,not-an-email,Someone,\n")
    status, _, err = run_import("--catalog", catalog, "--customers", customers)
    assert status == 1
    assert f"{catalog}:6: duplicate sku 'WS-1' (first on line 2)" in err
    assert f"{catalog}:7: price must be a number like 3.50, got 'abc'" in err
    assert f"{customers}:4: email 'not-an-email' is not an email address" in err
    assert "3 error(s); nothing was imported." in err
    assert snapshot() == (0, 0, 0, 0)


@pytest.mark.parametrize("price", ["1e27", "1e400", "-Infinity"])
def test_catalog_prices_beyond_the_field_name_the_line(db, tmp_path, price):
    catalog = write(tmp_path, "catalog.csv", CATALOG + f"X-1,Gold loaf,breads,{price},,true\n")
    status, _, err = run_import("--catalog", catalog)
    assert status == 1
    assert f"{catalog}:6: price " in err
    assert "Traceback" not in err
    assert snapshot() == (0, 0, 0, 0)


def test_email_of_another_customer_is_refused(imported, tmp_path):
    path = write(
        tmp_path, "customers.csv", "external_id,email,name\nC9,GABLE@example.com,Imposter\n"
    )
    status, _, err = run_import("--customers", path)
    assert status == 1
    assert f"{path}:2: email 'gable@example.com' already belongs to customer 'C1'" in err
    assert not CustomerProfile.objects.filter(external_id="C9").exists()


def test_broken_quote_stops_with_a_clear_message(db, tmp_path):
    path = write(
        tmp_path, "catalog.csv", 'sku,name,category,price,attributes,active\nA,"Open,b,1,,true\n'
    )
    status, _, err = run_import("--catalog", path)
    assert status == 1
    assert f"{path}:2: malformed CSV" in err


def test_missing_file_is_a_clear_error(db, tmp_path):
    status, _, err = run_import("--events", str(tmp_path / "nope.csv"))
    assert status == 1
    assert f"{tmp_path}/nope.csv: cannot open the file: No such file or directory" in err


def test_dry_run_checks_everything_and_writes_nothing(db, base_files):
    status, out, _ = run_import(
        "--catalog",
        base_files["catalog"],
        "--customers",
        base_files["customers"],
        "--events",
        base_files["events"],
        "--dry-run",
    )
    assert status == 0
    assert "Dry run: every row is valid; nothing was written." in out
    assert "3 rows, 3 new" in out
    assert snapshot() == (0, 0, 0, 0)


def test_dry_run_reports_errors_with_exit_status_1(imported, tmp_path):
    path = write(
        tmp_path, "events.csv", EVENTS_HEADER + "e9,C1,NOPE,view,2026-03-04T09:15:00Z,1,0\n"
    )
    status, _, err = run_import("--events", path, "--dry-run")
    assert status == 1
    assert f"{path}:2: unknown sku 'NOPE'" in err


def test_events_may_reference_rows_of_the_same_import(db, base_files):
    report = import_files(**base_files)
    assert report.ok, report.errors
    assert Interaction.objects.count() == 3


def test_byte_order_mark_is_accepted(db, tmp_path):
    path = write(tmp_path, "catalog.csv", "\ufeff" + CATALOG)
    status, _, err = run_import("--catalog", path)
    assert status == 0, err
    assert Item.objects.count() == 4


@pytest.mark.django_db(transaction=True)
def test_large_file_is_streamed_not_loaded_whole(tmp_path):
    """The importer must work on rows before the file is complete.

    The rows arrive through a pipe in two halves; the second half is written only once
    the importer has reported progress on the first. An importer that read the whole
    file before processing would never report, and the writer would give up.
    """
    # given
    write(tmp_path, "catalog.csv", CATALOG)
    write(tmp_path, "customers.csv", CUSTOMERS)
    assert import_files(
        catalog=str(tmp_path / "catalog.csv"), customers=str(tmp_path / "customers.csv")
    ).ok
    fifo = tmp_path / "events.pipe"
    os.mkfifo(fifo)
    half = 25_000
    progressed = threading.Event()
    timed_out = []

    def writer() -> None:
        with open(fifo, "w", encoding="utf-8") as pipe:
            pipe.write(EVENTS_HEADER)
            for i in range(2 * half):
                if i == half:
                    pipe.flush()
                    if not progressed.wait(timeout=60):
                        timed_out.append(True)
                        return
                pipe.write(f"big-{i},C1,WS-1,view,2026-01-01T00:00:00+00:00,1,0\n")

    thread = threading.Thread(target=writer)
    thread.start()
    # when
    report = import_files(events=str(fifo), on_progress=lambda file, done, total: progressed.set())
    thread.join()
    # then
    assert not timed_out, "the importer did not report progress before the file ended"
    assert report.ok, report.errors[:3]
    assert report.files[0].rows == 2 * half
    assert Interaction.objects.filter(event_id__startswith="big-").count() == 2 * half


def _planner_rows(table: str) -> int | None:
    """How many rows the query planner believes `table` has (None: no statistics)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # -1 until the table is first analyzed (PostgreSQL 14+).
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
            rows = cursor.fetchone()[0]
            return None if rows < 0 else int(rows)
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone() is None:
            return None
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = %s", [table])
        found = cursor.fetchone()
        return int(found[0].split()[0]) if found else None


def test_an_import_refreshes_the_planners_statistics(
    db, base_files, tmp_path, django_capture_on_commit_callbacks
):
    """After a bulk load the planner must not plan for the old, smaller tables."""
    table = Interaction._meta.db_table
    # A known starting point, whatever autovacuum did to this table before: empty.
    tables_analyze(Interaction)
    before = _planner_rows(table)
    assert before in (None, 0)
    bad = write(tmp_path, "bad.csv", EVENTS_HEADER + "e9,C1,NOPE,view,2026-03-04T09:15:00Z,1,0\n")
    with django_capture_on_commit_callbacks(execute=True):
        assert not import_files(events=bad).ok
    assert _planner_rows(table) == before
    with django_capture_on_commit_callbacks(execute=True):
        assert import_files(**base_files).ok
    assert _planner_rows(table) == Interaction.objects.count() == 3
