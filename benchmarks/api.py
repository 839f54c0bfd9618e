"""The REST API under load, against figures from the same run.

    python benchmarks/api.py [--events 200000] [--batch 10000] [--workers 2]

1. Ingest: events/s through `POST /api/v1/events/` (gunicorn, real HTTP, batches of
   10,000) next to `import_data`'s rate for the same number of rows.
2. Reads: p50/p99 latency and throughput at --concurrency clients of
   `GET /api/v1/customers/<id>/recommendations/` (a model trained on the ingested events,
   --readers customers with consent, their lists stored by a first call) and of
   `GET /api/v1/customers/<id>/consents/`, next to the trivial `GET /healthz/` of the same
   app under the same load. Targets: recommendations p99 <= 30 ms at 50 clients and
   >= 0.5x the trivial endpoint's throughput.

Uses DATABASE_URL (PostgreSQL for meaningful figures) but a throwaway database on it.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def events(start: int, n: int, customers: int, items: int, prefix: str = "api") -> list[dict]:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        {
            "event_id": f"{prefix}-{i:09d}",
            "customer_external_id": f"C{i % customers:06d}",
            "sku": f"SKU{(i * 7) % items:05d}",
            "kind": "purchase" if i % 3 else "view",
            "occurred_at": (base + timedelta(seconds=i % 25_000_000)).isoformat(),
            "quantity": 1 + i % 3,
            "value": "3.50" if i % 3 else "0",
        }
        for i in range(start, start + n)
    ]


def request(port: int, method: str, path: str, key: str, body: bytes | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Api-Key {key}", "Content-Type": "application/json"}
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def load(
    port: int, paths: str | list[str], key: str, concurrency: int, seconds: float
) -> dict[str, float]:
    """Closed-loop load: each client sends its next request when the last one returns,
    cycling through `paths` (one client starts at each in turn)."""
    paths = [paths] if isinstance(paths, str) else paths
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        n = offset
        while time.monotonic() < stop:
            path = paths[n % len(paths)]
            n += 1
            started = time.perf_counter()
            conn.request("GET", path, headers={"Authorization": f"Api-Key {key}"})
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                errors[0] += 1
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "errors": errors[0],
    }


def paced(
    port: int, paths: list[str], key: str, clients: int, rate: float, seconds: float
) -> dict[str, float]:
    """Open-loop load: `clients` connections together send `rate` requests/s on a fixed
    schedule; latency counts from the scheduled send time, so a slow answer delays the
    next ones and is not hidden (no coordinated omission)."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    interval = clients / rate
    begin = time.perf_counter() + 0.2

    def client(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        due = begin + offset * interval / clients
        n = offset
        while due < begin + seconds:
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            conn.request("GET", paths[n % len(paths)], headers={"Authorization": f"Api-Key {key}"})
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - due)
            if response.status != 200:
                errors[0] += 1
            n += clients
            due += interval
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / seconds,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "errors": errors[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument(
        "--readers", type=int, default=200, help="customers whose recommendations are read"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0,
        help="requests/s for the paced (open-loop) latency run (default: half the "
        "recommendations endpoint's measured throughput)",
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from accounts.services import api_key_create
    from personalization.importing import import_files
    from personalization.models import Interaction

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    test_db = connection.settings_dict
    server = None
    try:
        with tempfile.TemporaryDirectory() as folder:
            catalog, customers, imported = (Path(folder) / n for n in ("c.csv", "u.csv", "e.csv"))
            with catalog.open("w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["sku", "name", "category", "price", "attributes", "active"])
                w.writerows(
                    [f"SKU{i:05d}", f"Item {i}", "breads", "3.50", "", "true"]
                    for i in range(args.items)
                )
            with customers.open("w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["external_id", "email", "name"])
                w.writerows([f"C{i:06d}", "", ""] for i in range(args.customers))
            assert import_files(catalog=str(catalog), customers=str(customers)).ok
            # The importer's rate on the same number of rows (other event ids).
            rows = events(0, args.events, args.customers, args.items, prefix="csv")
            with imported.open("w", newline="") as f:
                by_name = csv.DictWriter(f, fieldnames=list(rows[0]))
                by_name.writeheader()
                by_name.writerows(rows)
            started = time.perf_counter()
            assert import_files(events=str(imported)).ok
            importer_rate = args.events / (time.perf_counter() - started)
        _key_obj, key = api_key_create(
            name="bench", scopes=["events:write", "consents:read", "recommendations:read"]
        )
        connection.close()

        port = free_port()
        auth = test_db["USER"] + (f":{test_db['PASSWORD']}" if test_db["PASSWORD"] else "")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DJANGO_DEBUG": "False",
            "DATABASE_URL": f"postgres://{auth}@{test_db['HOST'] or '127.0.0.1'}:"
            f"{test_db['PORT'] or 5432}/{test_db['NAME']}"
            if connection.vendor == "postgresql"
            else f"sqlite:///{test_db['NAME']}",
            "API_RATE_PER_KEY": "1000000/min",
        }
        env.pop("REDIS_URL", None)
        server = subprocess.Popen(  # noqa: S603 - fixed command
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--workers",
                str(args.workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if request(port, "GET", "/healthz/", key)[0] == 200:
                    break
            except OSError:
                time.sleep(0.3)

        bodies = [
            json.dumps(
                {
                    "events": events(
                        start, min(args.batch, args.events - start), args.customers, args.items
                    )
                }
            ).encode()
            for start in range(0, args.events, args.batch)
        ]
        started = time.perf_counter()
        for body in bodies:
            status, data = request(port, "POST", "/api/v1/events/", key, body)
            assert status == 200 and not json.loads(data)["rejected"], data[:300]
        api_rate = args.events / (time.perf_counter() - started)
        assert Interaction.objects.filter(event_id__startswith="api-").count() == args.events

        print(f"database: {connection.vendor}; {args.events:,} events, batches of {args.batch:,}")
        print(f"POST /api/v1/events/: {api_rate:>10,.0f} events/s")
        print(f"import_data (same run): {importer_rate:>8,.0f} events/s")
        print(f"ratio API/importer: {api_rate / importer_rate:.2f}")

        readers = _prepare_readers(args.readers)
        paths = [f"/api/v1/customers/{r}/recommendations/" for r in readers]
        for path in paths:  # the first read of each list generates and stores it
            status, data = request(port, "GET", path, key)
            assert status == 200 and json.loads(data)["personalized"], data[:300]

        recommendations = load(port, paths, key, args.concurrency, args.seconds)
        consents = load(
            port, "/api/v1/customers/C000001/consents/", key, args.concurrency, args.seconds
        )
        trivial = load(port, "/healthz/", key, args.concurrency, args.seconds)
        print(f"\nreads at {args.concurrency} concurrent clients, {args.workers} gunicorn workers:")
        for label, figures in (
            ("GET recommendations", recommendations),
            ("GET consents", consents),
            ("GET /healthz/", trivial),
        ):
            print(
                f"{label + ':':<21} {figures['rps']:>7,.0f} req/s  p50 {figures['p50_ms']:6.1f} ms"
                f"  p99 {figures['p99_ms']:6.1f} ms  ({figures['requests']:,} requests, "
                f"{figures['errors']} errors)"
            )
        print(
            f"throughput ratio recommendations/healthz: "
            f"{recommendations['rps'] / trivial['rps']:.2f} (target >= 0.5); "
            f"consents/healthz: {consents['rps'] / trivial['rps']:.2f}"
        )
        # Closed-loop latency at saturation is queueing (50 clients / throughput); the
        # latency a client sees at a sustainable rate comes from a paced run.
        rate = args.rate or round(recommendations["rps"] / 2)
        steady = paced(port, paths, key, args.concurrency, rate, args.seconds)
        trivial_steady = paced(port, ["/healthz/"], key, args.concurrency, rate, args.seconds)
        print(f"\npaced at {rate:,.0f} req/s over {args.concurrency} connections (open loop):")
        for label, figures in (
            ("GET recommendations", steady),
            ("GET /healthz/", trivial_steady),
        ):
            print(
                f"{label + ':':<21} p50 {figures['p50_ms']:6.1f} ms"
                f"  p99 {figures['p99_ms']:6.1f} ms"
                f"  ({figures['requests']:,} requests, {figures['errors']} errors)"
                + ("  (target p99 <= 30 ms)" if label.startswith("GET rec") else "")
            )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)


def _prepare_readers(count: int) -> list[str]:
    """Give `count` customers consent for personalization and train a model on the
    ingested events; returns their external ids."""
    from django.db import connection

    from accounts.models import CustomerProfile
    from personalization.consent.services import ConsentChange, consent_set
    from personalization.engine import EVIDENCE_CATEGORIES
    from personalization.recommending import services
    from personalization.registry import PERSONALIZATION

    readers = list(CustomerProfile.objects.order_by("external_id")[:count])
    for profile in readers:
        consent_set(
            customer=profile,
            changes=[ConsentChange(PERSONALIZATION, c, True) for c in EVIDENCE_CATEGORIES],
            method="import",
            actor="benchmark",
            notice_version=None,
        )
    services.model_version_train(model_version=services.model_version_create(), with_metrics=False)
    connection.close()
    return [profile.external_id for profile in readers if profile.external_id is not None]


if __name__ == "__main__":
    main()
