"""Offline evaluation: temporal hold-out, the engine against two baselines.

Each customer's timeline is split: the last 20% of their events (at least one) is held
out, everything before trains. A list is judged by the held-out items it contains
(active items only: nothing can suggest an item off sale). Customers with fewer than
`min_events` events are not judged (there is no timeline to split), but their training
events still train.

Figures, each averaged over judged customers:
- ndcg@10 (binary relevance), recall@10 (held-out items found / held-out items);
- coverage: share of active items appearing in any list;
- avg_popularity: mean share of training customers who used a recommended item;
- intra_list_diversity: mean pairwise (1 - content similarity) within a list.
`discovery` repeats ndcg/recall with items the customer already used removed from both
the lists and the held-out items: how well each method finds something new.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from personalization.engine.baselines import (
    CosineItemKnn,
    PopularityBaseline,
    interaction_matrix,
    purchases,
    top_k,
)
from personalization.engine.data import Catalog, Events, Shopper
from personalization.engine.history import build_histories
from personalization.engine.params import Parameters
from personalization.engine.recommend import recommend
from personalization.engine.training import content_similarity, train

METRICS = ("ndcg@10", "recall@10", "coverage", "avg_popularity", "intra_list_diversity")


def temporal_split(
    events: Events, *, test_share: float = 0.2, min_events: int = 5
) -> tuple[Events, Events]:
    """(training, held-out): the last `test_share` of each judged customer's events."""
    order = np.lexsort((np.arange(len(events)), events.at, events.customer))
    customers = events.customer[order]
    starts = np.flatnonzero(np.r_[True, customers[1:] != customers[:-1]] if len(order) else [])
    ends = np.r_[starts[1:], len(order)] if len(order) else np.zeros(0, dtype=np.int64)
    held = np.zeros(len(events), dtype=bool)
    for start, end in zip(starts, ends, strict=True):
        n = end - start
        if n < min_events:
            continue
        n_test = max(1, int(round(test_share * n)))
        held[order[end - n_test : end]] = True
    return events.select(~held), events.select(held)


def evaluate(
    events: Events,
    catalog: Catalog,
    shoppers: Sequence[Shopper],
    *,
    params: Parameters | None = None,
    k: int = 10,
    groups: Mapping[str, Mapping[int, str]] | None = None,
    consent: Mapping[int, frozenset[str]] | None = None,
) -> dict[str, object]:
    """The engine and both baselines on the same split; one JSON-ready dict."""
    params = params or Parameters()
    if consent is not None:
        events = events.consented(consent)
    train_events, test_events = temporal_split(events)
    if not len(train_events) or not len(test_events):
        return _empty(k)
    now = float(train_events.at.max()) + 1.0
    by_key = {s.key: replace(s, mode="on") for s in shoppers}
    targets: dict[int, set[int]] = {}
    for customer, item in zip(test_events.customer, test_events.item, strict=True):
        if catalog.active[item]:
            targets.setdefault(int(customer), set()).add(int(item))
    judged = np.array(sorted(c for c in targets if c in by_key), dtype=np.int64)
    if not len(judged):
        return _empty(k)
    judged_shoppers = [by_key[int(c)] for c in judged]
    seen = interaction_matrix(train_events, judged, len(catalog))
    bought = purchases(train_events, judged, len(catalog))

    model = train(train_events, catalog, params=params, now=now, consent=None)
    histories = build_histories(
        train_events, n_items=len(catalog), params=params, now=now, consent=None, customers=judged
    )
    pop = PopularityBaseline(train_events, catalog)
    knn = CosineItemKnn(train_events, catalog)
    pop_scores = pop.score(seen)
    knn_scores = knn.score(seen)

    def engine_lists(for_shoppers: Sequence[Shopper]) -> list[list[int]]:
        result = recommend(model, catalog, histories, for_shoppers, k=k)
        return [[catalog.position[s.item] for s in r.suggestions] for r in result]

    lists = {
        "engine": engine_lists(judged_shoppers),
        "popularity": top_k(pop_scores, catalog, judged_shoppers, bought, k),
        "item_knn": top_k(knn_scores, catalog, judged_shoppers, bought, k),
    }
    n_train_customers = max(len(np.unique(train_events.customer)), 1)
    popularity_share = pop.scores / n_train_customers
    similarity = content_similarity(catalog)
    wanted = [targets[int(c)] for c in judged]
    per_customer = {name: _per_customer(found, wanted, k) for name, found in lists.items()}
    report: dict[str, object] = {}
    summaries = {
        name: _summary(per_customer[name], found, catalog, popularity_share, similarity)
        for name, found in lists.items()
    }
    report.update(summaries["engine"])
    report["customers"] = len(judged)
    report["k"] = k
    report["baseline"] = summaries["popularity"]
    report["baselines"] = {"popularity": summaries["popularity"], "item_knn": summaries["item_knn"]}

    # Discovery: what each method finds that the customer never used before.
    fresh_shoppers = []
    fresh_wanted = []
    for row, shopper in enumerate(judged_shoppers):
        used = seen.indices[seen.indptr[row] : seen.indptr[row + 1]]
        keys = frozenset(int(catalog.keys[i]) for i in used)
        fresh_shoppers.append(replace(shopper, not_for_me=shopper.not_for_me | keys))
        fresh_wanted.append(wanted[row] - set(int(i) for i in used))
    fresh_lists = {
        "engine": engine_lists(fresh_shoppers),
        "popularity": top_k(pop_scores, catalog, fresh_shoppers, bought, k),
        "item_knn": top_k(knn_scores, catalog, fresh_shoppers, bought, k),
    }
    has_new = [i for i, w in enumerate(fresh_wanted) if w]
    report["discovery"] = {
        "customers": len(has_new),
        **{
            name: _means(
                _per_customer([found[i] for i in has_new], [fresh_wanted[i] for i in has_new], k)
            )
            for name, found in fresh_lists.items()
        },
    }
    if groups:
        report["by_group"] = _by_group(groups, judged, per_customer)
    return report


def _per_customer(found: list[list[int]], wanted: list[set[int]], k: int) -> dict[str, np.ndarray]:
    ndcg = np.zeros(len(found))
    recall = np.zeros(len(found))
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    for row, (items, target) in enumerate(zip(found, wanted, strict=True)):
        if not target:
            continue
        gains = np.array([1.0 if i in target else 0.0 for i in items[:k]])
        dcg = float((gains * discounts[: len(gains)]).sum())
        ideal = float(discounts[: min(len(target), k)].sum())
        ndcg[row] = dcg / ideal
        recall[row] = gains.sum() / len(target)
    return {"ndcg@10": ndcg, "recall@10": recall}


def _means(per_customer: dict[str, np.ndarray]) -> dict[str, float]:
    return {
        name: _round(values.mean() if len(values) else 0.0) for name, values in per_customer.items()
    }


def _summary(
    per_customer: dict[str, np.ndarray],
    lists: list[list[int]],
    catalog: Catalog,
    popularity_share: np.ndarray,
    similarity: np.ndarray,
) -> dict[str, float]:
    summary = _means(per_customer)
    shown = {i for items in lists for i in items}
    summary["coverage"] = _round(len(shown) / max(int(catalog.active.sum()), 1))
    flat = [i for items in lists for i in items]
    summary["avg_popularity"] = _round(float(popularity_share[flat].mean()) if flat else 0.0)
    diversities = []
    for items in lists:
        if len(items) < 2:
            continue
        block = similarity[np.ix_(items, items)]
        n = len(items)
        pairs = (block.sum() - np.trace(block)) / (n * (n - 1))
        diversities.append(1.0 - pairs)
    summary["intra_list_diversity"] = _round(float(np.mean(diversities)) if diversities else 0.0)
    return summary


def _by_group(
    groups: Mapping[str, Mapping[int, str]],
    judged: np.ndarray,
    per_customer: dict[str, dict[str, np.ndarray]],
) -> dict[str, dict[str, dict[str, float]]]:
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, values in sorted(groups.items()):
        labels = np.array([values.get(int(c), "") for c in judged], dtype=object)
        table = {}
        for value in sorted({v for v in labels if v}):
            rows = labels == value
            row: dict[str, float] = {"customers": int(rows.sum())}
            for metric in ("ndcg@10", "recall@10"):
                row[metric] = _round(per_customer["engine"][metric][rows].mean())
                row[f"baseline_{metric}"] = _round(per_customer["popularity"][metric][rows].mean())
            table[value] = row
        if table:
            out[name] = table
    return out


def _round(value: float) -> float:
    return 0.0 if math.isnan(value) else round(float(value), 4)


def _empty(k: int) -> dict[str, object]:
    zeros = dict.fromkeys(METRICS, 0.0)
    return {
        **zeros,
        "customers": 0,
        "k": k,
        "baseline": dict(zeros),
        "baselines": {"popularity": dict(zeros), "item_knn": dict(zeros)},
    }
