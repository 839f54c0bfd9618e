"""The Online Retail export through `import_profile`, against a plain COPY of the same rows.

    python benchmarks/import_export.py [--file ../shared/data/online-retail/online_retail.csv.gz]
                                       [--rows N] [--cprofile out.prof]

Uses the database configured by DATABASE_URL (PostgreSQL for the targets) but creates a
throwaway test database on it, so nothing of the shop's data is touched. In one run:

1. the importer on an empty database (every row parsed, checked and counted; customers,
   items, purchases, returns and guest lines written; one transaction), timed, with the
   process's peak RSS after it;
2. the same file again (must add nothing), timed;
3. the baseline: the stored purchases, returns and guest lines emptied, then the same
   file read with the csv module and its sale rows written with psycopg COPY alone (ids
   looked up, no checks, no counting, no idempotency), timed.

Targets (issue #18): importer <= 60 s, >= 0.5x the baseline's speed, peak RSS <= 300 MB.
Data: UCI Online Retail (Chen, 2015), CC BY 4.0, https://doi.org/10.24432/C5BW33.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

DEFAULT_FILE = Path(__file__).resolve().parent.parent.parent / (
    "shared/data/online-retail/online_retail.csv.gz"
)


def prefix_copy(source: Path, rows: int, folder: Path) -> Path:
    """The header and the first `rows` data lines of `source`, gzipped."""
    target = folder / f"online_retail_{rows}.csv.gz"
    with gzip.open(source, "rt", newline="") as f, gzip.open(target, "wt", newline="") as out:
        for n, line in enumerate(f):
            if n > rows:
                break
            out.write(line)
    return target


def baseline_copy(path: Path) -> tuple[float, int]:
    """Sale rows of the file written with COPY alone; (seconds, rows written)."""
    from django.db import connection

    from accounts.models import CustomerProfile
    from personalization.models import GuestSale, Interaction, Item

    started = time.perf_counter()
    customers = dict(CustomerProfile.objects.values_list("external_id", "id"))
    items = dict(Item.objects.values_list("sku", "id"))
    now = datetime.now(UTC)
    events: list[tuple] = []
    guests: list[tuple] = []
    with gzip.open(path, "rt", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for n, (invoice, code, _, quantity, when, price, customer, _country) in enumerate(reader):
            item = items.get(code.upper())
            q = int(quantity)
            if item is None or q == 0 or float(price) <= 0:
                continue
            kind = "return" if invoice.startswith("C") else "purchase"
            value = f"{abs(q) * float(price):.2f}"
            at = when + "+00"
            if customer:
                row = (f"b{n}", customers[customer], item, kind, "purchase_history", abs(q))
                events.append((*row, value, at, now))
            else:
                guests.append((f"b{n}", item, kind, abs(q), at, now))
    # In chunks of the importer's size: each COPY one statement (as the importer's are),
    # within the server's statement timeout.
    chunk = 20_000
    events_sql = (
        f"COPY {Interaction._meta.db_table} (event_id, customer_id, item_id, kind, "
        "data_category, quantity, value, occurred_at, imported_at) FROM STDIN"
    )
    guests_sql = (
        f"COPY {GuestSale._meta.db_table} (line_id, item_id, kind, quantity, occurred_at, "
        "imported_at) FROM STDIN"
    )
    with connection.cursor() as cursor:
        for sql, rows in ((events_sql, events), (guests_sql, guests)):
            for start in range(0, len(rows), chunk):
                with cursor.cursor.copy(sql) as copy:
                    for values in rows[start : start + chunk]:
                        copy.write_row(values)
    return time.perf_counter() - started, len(events) + len(guests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--rows", type=int, default=0, help="only the first N data lines")
    parser.add_argument("--cprofile", help="write a cProfile of the importer run here")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from personalization.importing import import_profile
    from personalization.models import GuestSale, Interaction

    if connection.vendor != "postgresql":
        sys.exit("set DATABASE_URL to a PostgreSQL database: the targets are for PostgreSQL")
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = prefix_copy(args.file, args.rows, Path(folder)) if args.rows else args.file
            size_mb = path.stat().st_size / 1e6
            print(f"file: {path.name} ({size_mb:.1f} MB gzipped), database: PostgreSQL")

            profiler = None
            if args.cprofile:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            started, cpu_started = time.perf_counter(), time.process_time()
            report = import_profile("online-retail", [str(path)])
            importer_s = time.perf_counter() - started
            importer_cpu = time.process_time() - cpu_started
            if profiler:
                profiler.disable()
                profiler.dump_stats(args.cprofile)
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            if not report.ok:
                sys.exit("import failed: " + "; ".join(report.errors[:5]))
            rows = report.files[0].rows
            stored = Interaction.objects.count() + GuestSale.objects.count()

            started = time.perf_counter()
            again = import_profile("online-retail", [str(path)])
            reimport_s = time.perf_counter() - started
            added = Interaction.objects.count() + GuestSale.objects.count() - stored
            print(f"importer: {rows:,} lines read, {stored:,} sale rows stored")
            print(
                f"  customers {report.counts.get('customers_created', 0):,}, "
                f"items {report.counts.get('items_created', 0):,}, "
                f"purchases {report.counts.get('purchases', 0):,}, "
                f"returns {report.counts.get('returns', 0):,}, "
                f"guest lines {report.counts.get('guest_lines_created', 0):,}"
            )

            print(f"importer        {importer_s:7.1f} s; re-import {reimport_s:.1f} s", flush=True)
            Interaction.objects.all().delete()
            GuestSale.objects.all().delete()
            cpu_started = time.process_time()
            baseline_s, baseline_rows = baseline_copy(path)
            baseline_cpu = time.process_time() - cpu_started
    finally:
        connection.creation.destroy_test_db(old_database_name=None, verbosity=0)

    ratio = baseline_s / importer_s
    print(f"importer        {importer_s:7.1f} s  {rows / importer_s:9,.0f} lines/s", end="")
    print(f"  ({importer_cpu:.1f} s CPU in this process)")
    print(f"re-import       {reimport_s:7.1f} s  added {added} rows (ok: {again.ok})")
    print(f"baseline COPY   {baseline_s:7.1f} s  {rows / baseline_s:9,.0f} lines/s ", end="")
    print(f"({baseline_rows:,} rows; {baseline_cpu:.1f} s CPU in this process)")
    # Other processes share the cores: the load says how far wall times can be compared.
    print(f"load average    {' '.join(f'{x:.1f}' for x in os.getloadavg())} (1, 5, 15 min)")
    print(f"speed vs COPY   {ratio:7.2f}x   (target >= 0.50x)")
    print(f"peak RSS        {peak_mb:7.0f} MB  (target <= 300 MB)")
    print(f"importer time   {importer_s:7.1f} s  (target <= 60 s)")
    ok = importer_s <= 60 and ratio >= 0.5 and peak_mb <= 300 and added == 0
    print("targets met" if ok else "targets NOT met")


if __name__ == "__main__":
    main()
