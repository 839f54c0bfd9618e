"""The recommender's speed: training, batch generation, one customer on demand.

    python benchmarks/engine.py [--customers 10000] [--items 2000] [--events 1000000]
                                [--batch-customers 100000] [--no-db]

Figures, each next to a baseline computed in the same run (plain cosine item-kNN over
the same interactions: binary matrix, cosine, sum of similarities, top 10):
1. generated shop (default 10k customers x 2k items x 1M events): training time and
   peak memory (numpy/scipy allocations traced by tracemalloc in a second, untimed run);
2. a larger generated shop (default 100k customers, same catalog and density) to measure
   batch generation: lists with diversity, hard rules and full reasons for everyone;
3. single-customer latency of the pure engine (median and 95th percentile);
4. the demo bakery: the same, plus the Django service path for one customer (load
   consented data, score, store the list) on a throwaway test database.
Targets (2-core machine): training <= 30 s and <= 2 GiB at 10k x 2k x 1M; 100k lists
<= 60 s; one customer <= 20 ms. Wall and CPU seconds are both printed: on a shared
machine CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from scipy import sparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

from personalization import engine
from personalization.engine.baselines import CosineItemKnn, interaction_matrix
from personalization.engine.synthetic import Dataset, from_demo, generate

MIB = 1024 * 1024


class Clock:
    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def __enter__(self) -> Clock:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def consent_of(data: Dataset) -> dict[int, frozenset[str]]:
    return {s.key: s.consented for s in data.shoppers}


def train_engine(data: Dataset) -> engine.Model:
    return engine.train(
        data.events,
        data.catalog,
        params=engine.Parameters(),
        now=data.now,
        consent=consent_of(data),
    )


def peak_mib(fn) -> float:
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / MIB


def baseline_lists(knn: CosineItemKnn, matrix: sparse.csr_matrix, k: int = 10) -> int:
    """Plain item-kNN top-k for every row, vectorized, inactive items excluded."""
    made = 0
    for start in range(0, matrix.shape[0], 2048):
        scores = knn.score(matrix[start : start + 2048])
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
        made += len(np.take_along_axis(top, order, axis=1))
    return made


def line(label: str, clock: Clock, extra: str = "") -> None:
    print(f"  {label:<44}{clock.wall:8.2f} s wall {clock.cpu:8.2f} s CPU  {extra}")


def bench_training(data: Dataset, name: str) -> engine.Model:
    print(
        f"\n{name}: {len(data.shoppers):,} customers x {len(data.catalog):,} items x "
        f"{len(data.events):,} events"
    )
    with Clock() as ours:
        model = train_engine(data)
    with Clock() as base:
        CosineItemKnn(data.events, data.catalog)
    line("training, engine", ours)
    line(
        "training, baseline cosine item-kNN",
        base,
        f"ratio engine/baseline {ours.wall / base.wall:.2f}",
    )
    ours_peak = peak_mib(lambda: train_engine(data))
    base_peak = peak_mib(lambda: CosineItemKnn(data.events, data.catalog))
    print(
        f"  peak traced memory: engine {ours_peak:,.0f} MiB, baseline {base_peak:,.0f} MiB "
        f"(ratio {ours_peak / max(base_peak, 1e-9):.2f})"
    )
    return model


_RSS_CHILD = """
import resource, sys
sys.path.insert(0, {root!r})
from personalization import engine
from personalization.engine.synthetic import generate
data = generate(customers={customers}, items={items}, events={events}, seed=42)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
engine.train(data.events, data.catalog, params=engine.Parameters(), now=data.now,
             consent={{s.key: s.consented for s in data.shoppers}})
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before, after)
"""


def training_rss(customers: int, items: int, events: int) -> tuple[float, float]:
    """Peak RSS (MiB) of a fresh process before and after training: an upper bound that
    counts the interpreter, the libraries and the generated data too."""
    import subprocess

    code = _RSS_CHILD.format(
        root=str(Path(__file__).resolve().parent.parent),
        customers=customers,
        items=items,
        events=events,
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter running our own code
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.split()
    return float(out[0]) / 1024, float(out[1]) / 1024


def bench_batch(data: Dataset, model: engine.Model, name: str) -> None:
    keys = [s.key for s in data.shoppers]
    with Clock() as histories_clock:
        histories = engine.build_histories(
            data.events,
            n_items=len(data.catalog),
            params=model.params,
            now=data.now,
            consent=consent_of(data),
            customers=keys,
        )
    with Clock() as ours:
        lists = engine.recommend(model, data.catalog, histories, data.shoppers)
    n = len(lists)
    suggestions = sum(len(r.suggestions) for r in lists)
    reasons = sum(len(s.reasons) for r in lists for s in r.suggestions)
    knn = CosineItemKnn(data.events, data.catalog)
    matrix = interaction_matrix(data.events, np.asarray(keys), len(data.catalog))
    with Clock() as base:
        baseline_lists(knn, matrix)
    line(f"histories for {n:,} customers", histories_clock)
    line(
        f"batch lists for {n:,} customers, engine",
        ours,
        f"{n / ours.wall:,.0f} customers/s; {suggestions:,} suggestions, {reasons:,} reasons",
    )
    line(
        f"batch lists for {n:,} customers, baseline",
        base,
        f"{n / base.wall:,.0f} customers/s; ratio engine/baseline {ours.wall / base.wall:.2f}",
    )
    total = histories_clock.wall + ours.wall
    print(f"  {name}: {n:,} customers in {total:.1f} s wall (histories + lists)")


def bench_single(data: Dataset, model: engine.Model, samples: int = 300) -> None:
    rng = np.random.default_rng(1)
    order = np.argsort(data.events.customer, kind="stable")
    sorted_customers = data.events.customer[order]
    picks = rng.choice(len(data.shoppers), size=min(samples, len(data.shoppers)), replace=False)
    ours, base = [], []
    knn = CosineItemKnn(data.events, data.catalog)
    for index in picks:
        shopper = data.shoppers[int(index)]
        lo, hi = np.searchsorted(sorted_customers, [shopper.key, shopper.key + 1])
        events = data.events.select(order[lo:hi])
        started = time.perf_counter()
        engine.recommend_one(model, data.catalog, events, shopper, now=data.now)
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        row = interaction_matrix(events, np.array([shopper.key]), len(data.catalog))
        scores = knn.score(row)[0]
        np.argpartition(-scores, 10)[:10]
        base.append(time.perf_counter() - started)
    med, p95 = statistics.median(ours) * 1000, float(np.percentile(ours, 95)) * 1000
    bmed = statistics.median(base) * 1000
    print(
        f"  one customer, engine (pure): median {med:.2f} ms, p95 {p95:.2f} ms; "
        f"baseline median {bmed:.2f} ms (ratio {med / bmed:.1f})"
    )


def bench_service() -> None:
    """The Django path for one customer on the demo bakery, on a throwaway database."""
    import django

    django.setup()
    from io import StringIO

    from django.core.management import call_command
    from django.db import connection

    from accounts.models import CustomerProfile
    from core.services import tables_analyze
    from personalization.consent.services import ConsentChange, consent_set
    from personalization.models import Consent
    from personalization.recommending import delivery, services
    from personalization.registry import PERSONALIZATION

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        call_command("seed_demo", stdout=StringIO(), stderr=StringIO())
        for profile in CustomerProfile.objects.all():
            consent_set(
                customer=profile,
                changes=[
                    ConsentChange(PERSONALIZATION, c, True) for c in engine.EVIDENCE_CATEGORIES
                ],
                method="import",
                actor="benchmark",
                notice_version=None,
            )
        # As autovacuum would within a minute: statistics that know about these rows
        # (seed_demo refreshes its own; this loop adds thousands of consent rows).
        tables_analyze(Consent)
        with Clock() as training:
            services.model_version_train(
                model_version=services.model_version_create(), with_metrics=False
            )
        with Clock() as batch:
            run = services.recommendations_generate_all()
        profiles = list(CustomerProfile.objects.order_by("pk"))
        times = []
        for profile in profiles[:100]:
            started = time.perf_counter()
            services.recommendations_generate_for_customer(customer=profile)
            times.append(time.perf_counter() - started)
        page = []
        for profile in profiles[:100]:
            started = time.perf_counter()
            delivery.recommendations_deliver(customer=profile)
            page.append(time.perf_counter() - started)
        print(f"\ndemo bakery through Django ({connection.vendor}):")
        line("train_recommender (load consented data + train)", training)
        line(
            f"generate for all {run.customers_done} customers (stored)",
            batch,
            f"{run.customers_done / batch.wall:,.0f} customers/s",
        )
        print(
            f"  one customer on demand (load, score, store): median "
            f"{statistics.median(times) * 1000:.1f} ms, p95 "
            f"{float(np.percentile(times, 95)) * 1000:.1f} ms"
        )
        print(
            f"  /me/recommendations/ data for one customer (stored list): median "
            f"{statistics.median(page) * 1000:.1f} ms"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=2_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch-customers", type=int, default=100_000)
    parser.add_argument("--no-db", action="store_true", help="skip the Django service path")
    parser.add_argument(
        "--db-only", action="store_true", help="only the Django service path (the demo bakery)"
    )
    args = parser.parse_args()
    print(
        f"numpy {np.__version__}; {os.cpu_count()} CPUs; load average "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    if args.db_only:
        bench_service()
        return

    data = generate(customers=args.customers, items=args.items, events=args.events, seed=42)
    model = bench_training(data, "generated shop")
    before, after = training_rss(args.customers, args.items, args.events)
    print(
        f"  peak RSS of a fresh process: {before:,.0f} MiB with the data loaded, "
        f"{after:,.0f} MiB after training (target <= 2,048 MiB)"
    )
    bench_single(data, model)

    density = args.events / args.customers
    big = generate(
        customers=args.batch_customers,
        items=args.items,
        events=int(args.batch_customers * density),
        seed=42,
    )
    big_model = bench_training(big, "larger generated shop (for batch generation)")
    del data, model
    gc.collect()
    bench_batch(big, big_model, "batch target <= 60 s")
    del big, big_model
    gc.collect()

    from personalization import demo

    shop = from_demo(demo.build_demo())
    shop_model = bench_training(shop, "demo bakery (pure engine)")
    bench_batch(shop, shop_model, "demo bakery")
    bench_single(shop, shop_model)
    if not args.no_db:
        bench_service()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this process (all of the above): {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
