"""Recommendation quality on real shop data: the engine against strong simple baselines.

    python benchmarks/quality.py [--data ../shared/data/online-retail/online_retail.csv.gz]
                                 [--no-demo] [--no-ials] [--json]

Data sets, each judged on the same split for every method, in one process:
1. UCI Online Retail (Chen 2015, CC BY 4.0; `../shared/data/online-retail/`): a UK gift
   shop's invoice lines, cleaned to a purchase log: known customers only, positive
   quantities and prices, no cancellation invoices (`C...`), product stock codes only
   (the shop's product codes start with five digits; `POST`, `DOT`, `M`, `D`, `C2`,
   `BANK CHARGES`, `AMAZONFEE`, `CRUK`, `PADS`, `gift_0001_...` are not), stock codes
   compared in upper case without padding.
2. The demo bakery (`personalization.demo`), every category consented.

Split: each customer's invoices (distinct purchase times) in time order; the last 20%
(at least one) are the test set, for customers with two invoices or more; the rest, and
customers with one invoice, train. Hyper-parameters of every method are chosen on a
validation split cut the same way from the training set only; each method is then refit
on the whole training set and scored once on the test set.

Protocols:
- new: items the customer bought in training are excluded from the list and from the
  targets (customers with no new test item are not judged);
- all: buying again counts, as it does in a bakery; targets are every test item.

Figures: nDCG@10 (binary gain), recall@10 (found / min(targets, 10)), catalog coverage
(share of the items on sale that appear in any list), and nDCG@10 per group (Online
Retail: UK / elsewhere, and light / medium / heavy buyers by training invoices; demo:
declared age band and gender).

Methods: popularity (training customers per item), cosine item-kNN (top-k neighbours),
EASE^R (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data", closed form
B = I - P / diag(P), P = (X'X + lambda I)^-1), iALS (the `implicit` package, conjugate
gradient ALS, Hu, Koren & Volinsky 2008), and the engine (`personalization.engine`).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy import sparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

from personalization.engine.data import KINDS, Catalog, Events, Shopper
from personalization.engine.history import build_histories
from personalization.engine.params import Parameters
from personalization.engine.recommend import recommend
from personalization.engine.training import train
from personalization.engine.tuning import tune

K = 10
# Seconds the engine's own tuning may take per run (the shop's default budget).
TUNING_BUDGET = 120.0
TUNING_REPORTS: list[dict] = []
DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared/data/online-retail"
DEFAULT_DATA = DEFAULT_DATA / "online_retail.csv.gz"
PURCHASE = KINDS.index("purchase")


# -- data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Log:
    """A purchase log: one row per (customer, item, invoice), items by catalog position."""

    name: str
    catalog: Catalog
    customer: np.ndarray  # int64 keys
    item: np.ndarray  # int64 positions
    at: np.ndarray  # float64 epoch seconds (one value per invoice)
    quantity: np.ndarray
    value: np.ndarray
    shoppers: dict[int, Shopper]
    groups: dict[str, dict[int, str]]

    def select(self, mask: np.ndarray) -> Log:
        return replace(
            self,
            customer=self.customer[mask],
            item=self.item[mask],
            at=self.at[mask],
            quantity=self.quantity[mask],
            value=self.value[mask],
        )

    def events(self) -> Events:
        return Events.build(
            customer=self.customer,
            item=self.item,
            kind=np.full(len(self.customer), PURCHASE, dtype=np.int8),
            at=self.at,
            quantity=self.quantity,
            value=self.value,
        )


def online_retail(path: Path) -> Log:
    """The cleaned purchase log of the UCI Online Retail export (see the module doc)."""
    import pandas as pd

    with gzip.open(path, "rt", encoding="utf-8") as handle:
        frame = pd.read_csv(
            handle,
            dtype={"InvoiceNo": str, "StockCode": str, "Description": str, "Country": str},
        )
    raw_rows = len(frame)
    frame = frame[frame["CustomerID"].notna()]
    frame = frame[~frame["InvoiceNo"].str.startswith("C")]
    frame = frame[(frame["Quantity"] > 0) & (frame["UnitPrice"] > 0)]
    frame = frame.assign(StockCode=frame["StockCode"].str.strip().str.upper())
    frame = frame[frame["StockCode"].str.match(r"^\d{5}")]
    frame = frame.assign(
        customer=frame["CustomerID"].astype(np.int64),
        # In nanoseconds whatever resolution pandas parsed to (pandas 2 may pick
        # microseconds, which read as nanoseconds put every invoice in January 1970).
        at=pd.to_datetime(frame["InvoiceDate"]).astype("datetime64[ns]").astype("int64") / 1e9,
        money=frame["Quantity"] * frame["UnitPrice"],
    )
    lines = (
        frame.groupby(["customer", "StockCode", "InvoiceNo"], sort=False)
        .agg(at=("at", "first"), quantity=("Quantity", "sum"), money=("money", "sum"))
        .reset_index()
    )
    names = frame.groupby("StockCode")["Description"].agg(
        lambda d: str(d.dropna().str.strip().mode().iat[0]) if d.notna().any() else ""
    )
    prices = frame.groupby("StockCode")["UnitPrice"].median()
    codes = sorted(names.index)
    position = {code: i for i, code in enumerate(codes)}
    catalog = Catalog.build(
        keys=range(1, len(codes) + 1),
        names=[names[c] for c in codes],
        categories=[""] * len(codes),
        attributes=[()] * len(codes),
        prices=[float(prices[c]) for c in codes],
        active=[True] * len(codes),
        allergens_declared=[False] * len(codes),
        consumable=[True] * len(codes),
    )
    country = frame.groupby("customer")["Country"].agg(lambda c: c.mode().iat[0])
    customers = np.asarray(lines["customer"], dtype=np.int64)
    everything = frozenset({"purchase_history"})
    shoppers = {int(c): Shopper(key=int(c), consented=everything) for c in np.unique(customers)}
    print(
        f"Online Retail: {raw_rows:,} invoice lines -> {len(lines):,} purchases of "
        f"{len(codes):,} products by {len(shoppers):,} customers",
        flush=True,
    )
    return Log(
        name="Online Retail",
        catalog=catalog,
        customer=customers,
        item=np.array([position[c] for c in lines["StockCode"]], dtype=np.int64),
        at=np.asarray(lines["at"], dtype=np.float64),
        quantity=np.asarray(lines["quantity"], dtype=np.float64),
        value=np.asarray(lines["money"], dtype=np.float64),
        shoppers=shoppers,
        groups={
            "country": {
                int(c): ("UK" if v == "United Kingdom" else "elsewhere") for c, v in country.items()
            }
        },
    )


def demo_shop() -> Log:
    """The demo bakery's purchases, every category consented, with its declared groups."""
    from personalization.demo import build_demo
    from personalization.engine.synthetic import from_demo

    data = from_demo(build_demo())
    events = data.events
    bought = events.kind == PURCHASE
    print(
        f"demo bakery: {int(bought.sum()):,} purchases of {len(data.catalog):,} items by "
        f"{len(data.shoppers):,} customers",
        flush=True,
    )
    return Log(
        name="demo bakery",
        catalog=data.catalog,
        customer=events.customer[bought],
        item=events.item[bought],
        at=events.at[bought],
        quantity=events.quantity[bought],
        value=events.value[bought],
        shoppers={s.key: replace(s, mode="on") for s in data.shoppers},
        groups=data.groups,
    )


def temporal_split(log: Log, share: float = 0.2) -> tuple[Log, Log]:
    """(train, test): each customer's last `share` of invoices (at least one) are test."""
    order = np.lexsort((log.at, log.customer))
    customer, at = log.customer[order], log.at[order]
    test = np.zeros(len(order), dtype=bool)
    starts = np.flatnonzero(np.r_[True, customer[1:] != customer[:-1]])
    ends = np.r_[starts[1:], len(order)]
    for start, end in zip(starts, ends, strict=True):
        times = np.unique(at[start:end])
        if len(times) < 2:
            continue
        n_test = max(1, int(round(share * len(times))))
        cut = times[-n_test]
        test[start:end] = at[start:end] >= cut
    held = np.zeros(len(order), dtype=bool)
    held[order] = test
    return log.select(~held), log.select(held)


# -- methods: each returns a dense score matrix (judged customers x items) ----------------


def binary_matrix(log: Log, rows: dict[int, int], n_rows: int) -> sparse.csr_matrix:
    keep = np.array([c in rows for c in log.customer], dtype=bool)
    r = np.array([rows[int(c)] for c in log.customer[keep]], dtype=np.int64)
    m = sparse.csr_matrix((np.ones(len(r)), (r, log.item[keep])), shape=(n_rows, len(log.catalog)))
    m.data[:] = 1.0
    return m


def popularity(x_train: sparse.csr_matrix, x_users: sparse.csr_matrix, **_: object) -> np.ndarray:
    counts = np.asarray(x_train.sum(axis=0)).ravel()
    return np.broadcast_to(counts, x_users.shape).copy()


def item_knn(
    x_train: sparse.csr_matrix, x_users: sparse.csr_matrix, *, neighbours: int = 100, **_: object
) -> np.ndarray:
    norms = np.sqrt(np.asarray(x_train.multiply(x_train).sum(axis=0)).ravel())
    norms[norms == 0] = 1.0
    gram = (x_train.T @ x_train).toarray()
    sim = gram / norms[:, None] / norms[None, :]
    np.fill_diagonal(sim, 0.0)
    if neighbours < sim.shape[0]:
        cut = np.partition(sim, -neighbours, axis=0)[-neighbours]
        sim[sim < cut[None, :]] = 0.0
    return np.asarray(x_users @ sim)


def ease(
    x_train: sparse.csr_matrix, x_users: sparse.csr_matrix, *, lam: float = 100.0, **_: object
) -> np.ndarray:
    gram = (x_train.T @ x_train).toarray()
    gram[np.diag_indices_from(gram)] += lam
    p = np.linalg.inv(gram)
    b = -p / np.diag(p)[None, :]
    np.fill_diagonal(b, 0.0)
    return np.asarray(x_users @ b)


def ials(
    x_train: sparse.csr_matrix,
    x_users: sparse.csr_matrix,
    *,
    factors: int = 64,
    regularization: float = 0.05,
    alpha: float = 10.0,
    iterations: int = 15,
    rows: np.ndarray | None = None,
    **_: object,
) -> np.ndarray:
    from implicit.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=factors,
            regularization=regularization,
            alpha=alpha,
            iterations=iterations,
            random_state=7,
            calculate_training_loss=False,
        )
        model.fit(x_train.tocsr(), show_progress=False)
    users = np.asarray(model.user_factors)
    items = np.asarray(model.item_factors)
    return users[rows] @ items.T


# -- judging ----------------------------------------------------------------------------


def top_lists(scores: np.ndarray, exclude: sparse.csr_matrix | None) -> np.ndarray:
    s = np.array(scores, dtype=np.float64, copy=True)
    if exclude is not None:
        s[exclude.nonzero()] = -np.inf
    top = np.argpartition(-s, K, axis=1)[:, :K]
    order = np.argsort(-np.take_along_axis(s, top, axis=1), axis=1, kind="stable")
    return np.take_along_axis(top, order, axis=1)


def per_customer_ndcg(lists: np.ndarray, targets: list[set[int]]) -> tuple[np.ndarray, np.ndarray]:
    discounts = 1.0 / np.log2(np.arange(2, K + 2))
    ndcg = np.zeros(len(targets))
    recall = np.zeros(len(targets))
    for row, wanted in enumerate(targets):
        if not wanted:
            continue
        gains = np.array([1.0 if int(i) in wanted else 0.0 for i in lists[row][:K]])
        ndcg[row] = float((gains * discounts[: len(gains)]).sum()) / float(
            discounts[: min(len(wanted), K)].sum()
        )
        recall[row] = gains.sum() / min(len(wanted), K)
    return ndcg, recall


@dataclass
class Task:
    """One split to judge: who is judged, what they bought before, what they bought next."""

    train: Log
    users: np.ndarray  # judged customer keys
    x_train: sparse.csr_matrix  # all training customers x items
    rows: np.ndarray  # judged customers' rows in x_train
    seen: sparse.csr_matrix  # judged customers x items bought in training
    targets: dict[str, list[set[int]]]  # protocol -> per judged customer


def make_task(train_log: Log, test_log: Log) -> Task:
    keys = np.unique(train_log.customer)
    row_of = {int(c): i for i, c in enumerate(keys)}
    x_train = binary_matrix(train_log, row_of, len(keys))
    tested: dict[int, set[int]] = {}
    for c, i in zip(test_log.customer, test_log.item, strict=True):
        if int(c) in row_of:
            tested.setdefault(int(c), set()).add(int(i))
    users = np.array(sorted(tested), dtype=np.int64)
    rows = np.array([row_of[int(c)] for c in users], dtype=np.int64)
    seen = x_train[rows]
    all_targets = [tested[int(c)] for c in users]
    new_targets = [
        t - set(seen.indices[seen.indptr[r] : seen.indptr[r + 1]].tolist())
        for r, t in enumerate(all_targets)
    ]
    return Task(
        train=train_log,
        users=users,
        x_train=x_train,
        rows=rows,
        seen=seen,
        targets={"new": new_targets, "all": all_targets},
    )


def engine_lists(task: Task, params: Parameters, protocol: str) -> tuple[np.ndarray, dict]:
    """The engine as a shop runs it: settings chosen by its own tuning (`engine.tuning`,
    on a validation split cut from this training set only, within its time budget), then
    trained on the whole training set; lists through `recommend` (every rule applied)."""
    events = task.train.events()
    now = float(task.train.at.max()) + 1.0
    catalog = task.train.catalog
    tuned = tune(events, catalog, base=params, protocol=protocol, budget_seconds=TUNING_BUDGET)
    params = tuned.params
    model = train(events, catalog, params=params, now=now, consent=None)
    histories = build_histories(
        events, n_items=len(catalog), params=params, now=now, consent=None, customers=task.users
    )
    shoppers = []
    for r, c in enumerate(task.users):
        shopper = task.train.shoppers[int(c)]
        if protocol == "new":
            used = task.seen.indices[task.seen.indptr[r] : task.seen.indptr[r + 1]]
            shopper = replace(shopper, not_for_me=frozenset(int(catalog.keys[i]) for i in used))
        shoppers.append(shopper)
    result = recommend(model, catalog, histories, shoppers, k=K)
    lists = np.full((len(shoppers), K), -1, dtype=np.int64)
    for r, listed in enumerate(result):
        items = [catalog.position[s.item] for s in listed.suggestions][:K]
        lists[r, : len(items)] = items
    return lists, tuned.report


def run_method(name: str, task: Task, settings: dict, protocol: str) -> np.ndarray:
    if name == "engine":
        lists, report = engine_lists(task, Parameters(**settings), protocol)
        TUNING_REPORTS.append(report)
        return lists
    method = METHODS[name]
    scores = method(task.x_train, task.seen, rows=task.rows, **settings)
    return top_lists(scores, task.seen if protocol == "new" else None)


def judge(lists: np.ndarray, targets: list[set[int]]) -> tuple[float, float, np.ndarray]:
    judged = np.array([bool(t) for t in targets])
    ndcg, recall = per_customer_ndcg(lists, targets)
    return float(ndcg[judged].mean()), float(recall[judged].mean()), ndcg


METHODS: dict[str, Callable[..., np.ndarray]] = {
    "popularity": popularity,
    "item_knn": item_knn,
    "ease": ease,
    "ials": ials,
}

GRIDS: dict[str, list[dict]] = {
    "popularity": [{}],
    "item_knn": [{"neighbours": n} for n in (20, 50, 100, 200, 400)],
    "ease": [{"lam": lam} for lam in (10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 3000.0)],
    "ials": [
        {"factors": 64, "regularization": r, "alpha": a, "iterations": 15}
        for r in (0.01, 0.1)
        for a in (5.0, 20.0)
    ],
    # The engine tunes itself on a validation split of the training set (engine.tuning).
    "engine": [{}],
}


def label(settings: dict) -> str:
    return ", ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in settings.items()
    )


def evaluate_log(log: Log, methods: Iterable[str]) -> dict:
    train_log, test_log = temporal_split(log)
    fit_log, valid_log = temporal_split(train_log)
    valid = make_task(fit_log, valid_log)
    test = make_task(train_log, test_log)
    coverage_base = max(int(log.catalog.active.sum()), 1)
    out: dict = {"data": log.name, "customers_judged": {}, "methods": {}}
    for protocol in ("new", "all"):
        out["customers_judged"][protocol] = int(sum(bool(t) for t in test.targets[protocol]))
    for name in methods:
        for protocol in ("new", "all"):
            started = time.perf_counter()
            best, best_score = GRIDS[name][0], -1.0
            for settings in GRIDS[name] if len(GRIDS[name]) > 1 else []:
                score = judge(run_method(name, valid, settings, protocol), valid.targets[protocol])[
                    0
                ]
                if score > best_score:
                    best, best_score = settings, score
            lists = run_method(name, test, best, protocol)
            if name == "engine":
                report = TUNING_REPORTS[-1]
                best = report.get("chosen", {})
                best_score = report.get("validation", {}).get("ndcg@10", -1.0)
            ndcg, recall, per = judge(lists, test.targets[protocol])
            shown = np.unique(lists[lists >= 0])
            groups = per_group(log, test, per, protocol)
            out["methods"].setdefault(name, {})[protocol] = {
                "ndcg@10": round(ndcg, 4),
                "recall@10": round(recall, 4),
                "coverage": round(len(shown) / coverage_base, 4),
                "chosen": label(best),
                "validation_ndcg@10": round(best_score, 4) if best_score >= 0 else None,
                "by_group": groups,
                "seconds": round(time.perf_counter() - started, 1),
            }
            print(
                f"  {log.name:13} {protocol:3} {name:10} nDCG@10 {ndcg:.4f} recall@10 "
                f"{recall:.4f} coverage {len(shown) / coverage_base:.3f}  [{label(best)}]",
                flush=True,
            )
    return out


def per_group(log: Log, task: Task, per: np.ndarray, protocol: str) -> dict[str, float]:
    judged = np.array([bool(t) for t in task.targets[protocol]])
    labels: dict[str, np.ndarray] = {}
    for attribute, declared in log.groups.items():
        labels[attribute] = np.array([declared.get(int(c), "") for c in task.users], dtype=object)
    invoices: dict[int, set[float]] = {}
    for c, at in zip(task.train.customer, task.train.at, strict=True):
        invoices.setdefault(int(c), set()).add(float(at))
    counts = np.array([len(invoices.get(int(c), ())) for c in task.users])
    labels["activity"] = np.where(
        counts <= 2, "light (1-2 invoices)", np.where(counts <= 9, "medium (3-9)", "heavy (10+)")
    ).astype(object)
    out = {}
    for attribute, values in labels.items():
        for value in sorted({v for v in values if v}):
            rows = judged & (values == value)
            if rows.sum() >= 20:
                out[f"{attribute}={value}"] = round(float(per[rows].mean()), 4)
    return out


def table(results: list[dict]) -> str:
    names = list(results[0]["methods"])
    lines = [
        "| data | protocol | judged | " + " | ".join(names) + " | engine / best baseline |",
        "|---|---|---|" + "---|" * len(names) + "---|",
    ]
    for result in results:
        for protocol in ("new", "all"):
            figures = {n: result["methods"][n][protocol]["ndcg@10"] for n in names}
            baselines = [v for n, v in figures.items() if n != "engine"]
            ratio = (
                f"{figures['engine'] / max(baselines):.2f}x"
                if "engine" in figures and baselines and max(baselines) > 0
                else "-"
            )
            lines.append(
                f"| {result['data']} | {protocol} | {result['customers_judged'][protocol]:,} | "
                + " | ".join(f"{figures[n]:.4f}" for n in names)
                + f" | {ratio} |"
            )
    return "\n".join(lines)


def group_check(results: list[dict]) -> str:
    """Per group, the engine against popularity (the target: never below it)."""
    lines = []
    for result in results:
        methods = result["methods"]
        if "engine" not in methods or "popularity" not in methods:
            continue
        for protocol in ("new", "all"):
            engine_groups = methods["engine"][protocol]["by_group"]
            popular = methods["popularity"][protocol]["by_group"]
            below = [g for g, v in engine_groups.items() if v < popular.get(g, 0.0)]
            worst = min(
                (v / popular[g] for g, v in engine_groups.items() if popular.get(g)),
                default=float("nan"),
            )
            lines.append(
                f"  {result['data']} {protocol}: groups below popularity: "
                f"{', '.join(below) or 'none'} (lowest engine/popularity ratio {worst:.2f})"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--no-demo", action="store_true")
    parser.add_argument("--no-ials", action="store_true", help="skip iALS (needs `implicit`)")
    parser.add_argument("--json", action="store_true", help="print all figures as JSON")
    args = parser.parse_args()
    methods = ["popularity", "item_knn", "ease"] + ([] if args.no_ials else ["ials"]) + ["engine"]
    started = datetime.now(UTC)
    logs = [online_retail(args.data)]
    if not args.no_demo:
        import django

        django.setup()
        logs.append(demo_shop())
    results = [evaluate_log(log, methods) for log in logs]
    print()
    print(f"nDCG@10, binary gain; run {started:%Y-%m-%d %H:%M} UTC; settings chosen on validation")
    print(table(results))
    print(group_check(results))
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
