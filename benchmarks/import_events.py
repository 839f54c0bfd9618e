"""Events/s of `import_data` against a plain bulk load of the same rows, in one run.

    python benchmarks/import_events.py [--events 1000000] [--customers 5000] [--items 200]

Uses the database configured by DATABASE_URL (SQLite under var/ when unset) but
creates a throwaway test database on it, so nothing of the shop's data is touched.
Baseline: psycopg COPY of the same rows on PostgreSQL, sqlite3 executemany on SQLite,
with the id look-ups done and no validation.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")


def write_files(folder: Path, n_events: int, n_customers: int, n_items: int) -> dict[str, Path]:
    rng = random.Random(20261127)
    paths = {name: folder / f"{name}.csv" for name in ("catalog", "customers", "events")}
    with paths["catalog"].open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["sku", "name", "category", "price", "attributes", "active"])
        for i in range(n_items):
            w.writerow(
                [f"SKU{i:05d}", f"Item {i}", f"cat-{i % 8}", "3.50", "contains:gluten", "true"]
            )
    with paths["customers"].open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["external_id", "email", "name"])
        for i in range(n_customers):
            w.writerow([f"C{i:07d}", f"c{i}@example.com", f"Customer {i}"])
    start = datetime(2025, 11, 1, tzinfo=UTC)
    kinds = ["purchase"] * 6 + ["view"] * 3 + ["cart"]
    with paths["events"].open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["event_id", "customer_external_id", "sku", "kind", "occurred_at", "quantity", "value"]
        )
        for i in range(n_events):
            kind = rng.choice(kinds)
            when = start + timedelta(seconds=rng.randrange(365 * 86400))
            w.writerow(
                [
                    f"bench-{i:09d}",
                    f"C{rng.randrange(n_customers):07d}",
                    f"SKU{rng.randrange(n_items):05d}",
                    kind,
                    when.isoformat(),
                    rng.randint(1, 3),
                    "3.50" if kind == "purchase" else "0",
                ]
            )
    return paths


def baseline_load(events_path: Path) -> float:
    """Load the same rows with the database driver alone; return seconds."""
    from django.db import connection

    from accounts.models import CustomerProfile
    from personalization.models import Interaction, Item
    from personalization.registry import INTERACTION_KIND_CATEGORY

    customers = dict(CustomerProfile.objects.values_list("external_id", "id"))
    items = dict(Item.objects.values_list("sku", "id"))
    now = datetime.now(UTC)
    table = Interaction._meta.db_table
    columns = (
        "event_id, customer_id, item_id, kind, data_category, quantity, value, occurred_at, "
        "imported_at"
    )

    def rows():
        with events_path.open(newline="") as f:
            reader = csv.reader(f)
            next(reader)
            for event_id, customer, sku, kind, occurred_at, quantity, value in reader:
                yield (
                    event_id,
                    customers[customer],
                    items[sku],
                    kind,
                    INTERACTION_KIND_CATEGORY[kind],
                    int(quantity),
                    value,
                    occurred_at,
                    now,
                )

    started = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows():
                    copy.write_row(row)
        else:
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows(),
            )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--items", type=int, default=200)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from personalization.importing import import_files
    from personalization.models import Interaction

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        with tempfile.TemporaryDirectory() as folder:
            paths = write_files(Path(folder), args.events, args.customers, args.items)
            size_mb = paths["events"].stat().st_size / 1e6
            print(f"database: {connection.vendor}; events: {args.events:,} rows, {size_mb:,.0f} MB")
            import_files(catalog=str(paths["catalog"]), customers=str(paths["customers"]))

            started = time.perf_counter()
            report = import_files(events=str(paths["events"]))
            importer_s = time.perf_counter() - started
            if not report.ok:
                sys.exit("import failed: " + "; ".join(report.errors[:5]))
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            assert Interaction.objects.count() == args.events

            started = time.perf_counter()
            again = import_files(events=str(paths["events"]))
            reimport_s = time.perf_counter() - started
            assert again.files[0].already_imported == args.events

            Interaction.objects.all().delete()
            baseline_s = baseline_load(paths["events"])
            assert Interaction.objects.count() == args.events

            baseline_name = "psycopg COPY" if connection.vendor == "postgresql" else "executemany"
            for label, seconds in [
                ("import_data", importer_s),
                ("re-import (all skipped)", reimport_s),
                (f"baseline {baseline_name}", baseline_s),
            ]:
                rate = args.events / seconds
                print(f"{label + ':':<26}{rate:>10,.0f} events/s ({seconds:.1f} s)")
            print(f"ratio importer/baseline: {baseline_s / importer_s:.2f}")
            print(f"peak RSS of this process: {peak_mb:,.0f} MB")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
