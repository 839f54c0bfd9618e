"""Training speed and memory of the engine on generated shops (power-law popularity).

    python benchmarks/training.py [--case fit|tune|large|lists|all]

Cases (each in its own process, so peak RSS is the case's own):
- fit:   10k customers x 2k items x 1M events: EASE^R's final fit, against the item-kNN
         hybrid's fit in the same process (the baseline; ratio printed);
- tune:  the same shop: `engine.tuning` within its default budget, then the final fit;
- large: 20k items (EASE^R over the 3,000 most used, item-kNN for the rest): fit time
         and peak RSS (targets 2 minutes, 2 GiB);
- lists: lists for 100k customers with the trained model (target 60 s), against
         the popularity family's lists in the same process.
Figures only; no target is asserted.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from personalization import engine
from personalization.engine import tuning
from personalization.engine.synthetic import generate


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def shop(customers: int, items: int, events: int):
    started = time.perf_counter()
    data = generate(customers=customers, items=items, events=events, seed=3)
    consent = {s.key: s.consented for s in data.shoppers}
    kept = data.events.consented(consent)
    print(
        f"  generated {customers:,} customers x {items:,} items, {len(kept):,} consented "
        f"events in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return data, kept, float(kept.at.max()) + 1.0


def fit(params, data, events, now) -> tuple[float, engine.Model]:
    started = time.perf_counter()
    model = engine.train(events, data.catalog, params=params, now=now, consent=None)
    return time.perf_counter() - started, model


def case_fit() -> None:
    data, events, now = shop(10_000, 2_000, 1_000_000)
    ease_s, model = fit(engine.Parameters(family="ease"), data, events, now)
    knn_s, _ = fit(engine.Parameters(family="knn"), data, events, now)
    print(
        f"fit 10k x 2k x 1M: EASE^R {ease_s:.1f} s (block {len(model.ease_items):,} items), "
        f"item-kNN {knn_s:.1f} s, ratio {ease_s / knn_s:.2f}x; peak RSS {peak_mib():,.0f} MiB"
    )


def case_tune() -> None:
    data, events, now = shop(10_000, 2_000, 1_000_000)
    started = time.perf_counter()
    result = tuning.tune(events, data.catalog)
    tune_s = time.perf_counter() - started
    final_s, _ = fit(result.params, data, events, now)
    report = result.report
    print(
        f"tune 10k x 2k x 1M: {tune_s:.1f} s for {report.get('candidates_judged')} settings "
        f"(budget {report['budget_seconds']:.0f} s, out of time: {report.get('out_of_time')}), "
        f"chose {report.get('chosen')}, validation nDCG@10 "
        f"{report.get('validation', {}).get('ndcg@10')} vs most popular "
        f"{report.get('most_popular', {}).get('ndcg@10')}; final fit {final_s:.1f} s; "
        f"peak RSS {peak_mib():,.0f} MiB"
    )


def case_large() -> None:
    data, events, now = shop(20_000, 20_000, 1_000_000)
    ease_s, model = fit(engine.Parameters(family="ease"), data, events, now)
    print(
        f"fit 20k customers x 20k items x 1M: EASE^R {ease_s:.1f} s (block "
        f"{len(model.ease_items):,} items, kNN tail), peak RSS {peak_mib():,.0f} MiB"
    )


def case_lists() -> None:
    data, events, now = shop(100_000, 2_000, 2_000_000)
    params = engine.Parameters(family="ease")
    _, model = fit(params, data, events, now)
    _, popular = fit(replace(params, family="popularity"), data, events, now)
    shoppers = [replace(s, mode="on") for s in data.shoppers]
    consent = {s.key: s.consented for s in shoppers}
    histories = engine.build_histories(
        data.events,
        n_items=len(data.catalog),
        params=params,
        now=now,
        consent=consent,
        customers=[s.key for s in shoppers],
    )
    timings = {}
    for name, m in (("EASE^R", model), ("popularity", popular)):
        started = time.perf_counter()
        engine.recommend(m, data.catalog, histories, shoppers)
        timings[name] = time.perf_counter() - started
    print(
        f"lists for {len(shoppers):,} customers: EASE^R {timings['EASE^R']:.1f} s, "
        f"popularity family {timings['popularity']:.1f} s, ratio "
        f"{timings['EASE^R'] / timings['popularity']:.2f}x; peak RSS {peak_mib():,.0f} MiB"
    )


CASES = {"fit": case_fit, "tune": case_tune, "large": case_large, "lists": case_lists}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=[*CASES, "all"], default="all")
    args = parser.parse_args()
    if args.case != "all":
        CASES[args.case]()
        return
    for name in CASES:
        subprocess.run([sys.executable, __file__, "--case", name], check=True)  # noqa: S603


if __name__ == "__main__":
    main()
