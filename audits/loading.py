"""From the database to the audit's arrays, one measure at a time.

Only attributes of customers with fairness_audit consent (granted, for the
audit_attributes category) are read; every other customer is "undeclared" (MISSING)
and only counts in totals. Attributes are never given to the recommender: the usefulness
and equal-opportunity replays below run the engine exactly as `evaluate_recommender`
does (temporal hold-out), and group its per-customer results afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np
from django.db.models import Exists, OuterRef

from accounts.models import AuditAttribute, CustomerProfile, PersonalizationMode
from audits.metrics import (
    MISSING,
    Attribute,
    GroupResult,
    build_groups,
    disparity,
    mean_by_group,
    rank_weight,
    rate_by_group,
)
from audits.models import Metric
from personalization.models import Category, Consent, Feedback, Recommendation
from personalization.registry import AUDIT_ATTRIBUTES, FAIRNESS_AUDIT, PERSONALIZATION

# Statuses of a recommendation a customer can see.
SHOWN = ("proposed", "approved", "delivered")
# Positions of a list that count as exposure (the engine's default list length).
TOP_K = 10
_ROWS = 20_000


@dataclass(frozen=True)
class Settings:
    """The policy values a measure needs (a snapshot taken when the run started)."""

    attributes: tuple[str, ...]
    min_group_size: int
    ratio_threshold: float
    difference_threshold: float
    reference_groups: dict[str, str]
    window_days: int
    as_of: datetime
    seed: int

    @classmethod
    def from_snapshot(cls, snapshot: dict, *, as_of: datetime) -> Settings:
        return cls(
            attributes=tuple(snapshot.get("attributes") or ()),
            min_group_size=int(snapshot.get("min_group_size", 20)),
            ratio_threshold=float(snapshot.get("ratio_threshold", 0.8)),
            difference_threshold=float(snapshot.get("difference_threshold", 0.1)),
            reference_groups=dict(snapshot.get("reference_groups") or {}),
            window_days=int(snapshot.get("window_days", 90)),
            as_of=as_of,
            seed=int(snapshot.get("seed", 0)),
        )


@dataclass(frozen=True)
class Declared:
    """Declared attributes of consenting customers, as codes per customer key."""

    names: tuple[str, ...]
    labels: dict[str, tuple[str, ...]]
    codes: dict[str, dict[int, int]]

    def attributes_for(self, customer_keys: np.ndarray) -> list[Attribute]:
        out = []
        for name in self.names:
            lookup = self.codes[name]
            codes = np.fromiter(
                (lookup.get(int(key), MISSING) for key in customer_keys),
                dtype=np.int64,
                count=len(customer_keys),
            )
            out.append(Attribute(name, codes, self.labels[name]))
        return out

    def customers(self) -> int:
        return len({key for codes in self.codes.values() for key in codes})


def declared_attribute_names() -> list[str]:
    """Attribute names declared by at least one customer with fairness_audit consent."""
    return sorted(set(_consented_attributes().values_list("name", flat=True).distinct().order_by()))


def declared_values() -> dict[str, list[str]]:
    """Each declared attribute's values (consenting customers only), one query."""
    out: dict[str, list[str]] = {}
    rows = _consented_attributes().values_list("name", "value").distinct().order_by("name", "value")
    for name, value in rows:
        out.setdefault(name, []).append(value)
    return out


def _consented_attributes():
    granted = Consent.objects.filter(
        customer_id=OuterRef("customer_id"),
        purpose=FAIRNESS_AUDIT,
        data_category=AUDIT_ATTRIBUTES,
        granted=True,
    )
    return AuditAttribute.objects.filter(Exists(granted))


def declared_load(names: Sequence[str]) -> Declared:
    """Codes of the named attributes (all declared ones when `names` is empty)."""
    wanted = list(names) or declared_attribute_names()
    values: dict[str, dict[int, str]] = {name: {} for name in wanted}
    rows = (
        _consented_attributes().filter(name__in=wanted).values_list("customer_id", "name", "value")
    )
    for customer_id, name, value in rows.iterator(chunk_size=_ROWS):
        values[name][customer_id] = value
    present = tuple(name for name in wanted if values[name])
    labels = {name: tuple(sorted(set(values[name].values()))) for name in present}
    codes = {
        name: {key: labels[name].index(value) for key, value in values[name].items()}
        for name in present
    }
    return Declared(names=present, labels=labels, codes=codes)


def _compare(results: list[GroupResult], settings: Settings) -> list[GroupResult]:
    return disparity(
        results,
        reference=settings.reference_groups or None,
        ratio_threshold=settings.ratio_threshold,
        difference_threshold=settings.difference_threshold,
    )


# --- exposure -------------------------------------------------------------------------


def _category_names() -> dict[str, str]:
    return dict(Category.objects.values_list("slug", "name"))


def _exposure_rows(declared: Declared, settings: Settings):
    """(customer, category) rows for every customer with a current list."""
    lists = Recommendation.objects.filter(
        superseded_at__isnull=True, created_at__lte=settings.as_of
    )
    customer_keys = np.array(
        sorted(set(lists.values_list("customer_id", flat=True).distinct().order_by())),
        dtype=np.int64,
    )
    names = _category_names()
    slugs = tuple(sorted(names))
    if not len(customer_keys) or not slugs or not declared.names:
        return None
    slug_index = {slug: i for i, slug in enumerate(slugs)}
    n_c, n_s = len(customer_keys), len(slugs)
    shown = np.zeros(n_c * n_s, dtype=bool)
    weight = np.zeros(n_c * n_s)
    rows = lists.filter(status__in=SHOWN, rank__lte=TOP_K).values_list(
        "customer_id", "item__category__slug", "rank"
    )
    for customer_id, slug, rank in rows.iterator(chunk_size=_ROWS):
        row = int(np.searchsorted(customer_keys, customer_id)) * n_s + slug_index[slug]
        shown[row] = True
        weight[row] += float(rank_weight([rank])[0])
    customer_index = np.repeat(np.arange(n_c), n_s)
    attributes = declared.attributes_for(customer_keys)
    groups = build_groups(
        [replace(a, codes=a.codes[customer_index]) for a in attributes],
        segments=Attribute(
            "category", np.tile(np.arange(n_s), n_c), tuple(names[s] for s in slugs)
        ),
        customers=customer_index,
    )
    return groups, shown, weight


def measure_exposure(declared: Declared, settings: Settings) -> list[GroupResult]:
    data = _exposure_rows(declared, settings)
    if data is None:
        return []
    groups, shown, _ = data
    return _compare(
        rate_by_group(
            groups, shown, metric=Metric.EXPOSURE.value, min_group_size=settings.min_group_size
        ),
        settings,
    )


def measure_rank_exposure(declared: Declared, settings: Settings) -> list[GroupResult]:
    data = _exposure_rows(declared, settings)
    if data is None:
        return []
    groups, _, weight = data
    return _compare(
        mean_by_group(
            groups,
            weight,
            metric=Metric.RANK_EXPOSURE.value,
            min_group_size=settings.min_group_size,
            seed=settings.seed,
        ),
        settings,
    )


# --- usefulness and equal opportunity (the engine's temporal hold-out) ------------------


@dataclass(frozen=True)
class Replay:
    """Per judged customer: the engine's top-k list from their earlier history, and what
    they bought in their held-out later events."""

    customer_keys: np.ndarray
    lists: list[list[int]]
    bought: list[set[int]]
    item_category: np.ndarray
    category_labels: tuple[str, ...]


def holdout_replay() -> Replay | None:
    """The engine replayed on each customer's earlier events (as `evaluate_recommender`)."""
    from personalization import engine
    from personalization.engine.data import PURCHASE
    from personalization.engine.evaluation import temporal_split
    from personalization.recommending import loading

    catalog = loading.catalog_load()
    events = loading.events_load(position=catalog.position)
    train_events, test_events = temporal_split(events)
    if not len(train_events) or not len(test_events):
        return None
    targets: dict[int, set[int]] = {}
    purchases = test_events.kind == PURCHASE
    for customer, item in zip(
        test_events.customer[purchases], test_events.item[purchases], strict=True
    ):
        if catalog.active[item]:
            targets.setdefault(int(customer), set()).add(int(item))
    profiles = CustomerProfile.objects.filter(pk__in=list(targets)).order_by("pk")
    shoppers = [replace(s, mode="on") for s in loading.shoppers_load(profiles)]
    if not shoppers:
        return None
    keys = np.array([s.key for s in shoppers], dtype=np.int64)
    params = engine.Parameters()
    now = float(train_events.at.max()) + 1.0
    model = engine.train(train_events, catalog, params=params, now=now, consent=None)
    histories = engine.build_histories(
        train_events, n_items=len(catalog), params=params, now=now, consent=None, customers=keys
    )
    lists = engine.recommend(model, catalog, histories, shoppers, k=TOP_K)
    names = _category_names()
    return Replay(
        customer_keys=keys,
        lists=[[catalog.position[s.item] for s in result.suggestions] for result in lists],
        bought=[targets[int(key)] for key in keys],
        item_category=np.asarray(catalog.category),
        category_labels=tuple(names.get(code, code) for code in catalog.category_codes),
    )


def ndcg_and_hits(replay: Replay, k: int = TOP_K) -> tuple[np.ndarray, np.ndarray]:
    """Per judged customer: nDCG@k (binary relevance) and whether any later purchase was
    in the top k; the same formula as the engine's offline evaluation."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ndcg = np.zeros(len(replay.lists))
    hits = np.zeros(len(replay.lists), dtype=bool)
    for row, (items, target) in enumerate(zip(replay.lists, replay.bought, strict=True)):
        gains = np.array([1.0 if i in target else 0.0 for i in items[:k]])
        ideal = float(discounts[: min(len(target), k)].sum())
        ndcg[row] = float((gains * discounts[: len(gains)]).sum()) / ideal if ideal else 0.0
        hits[row] = bool(gains.any())
    return ndcg, hits


def measure_usefulness(
    declared: Declared, settings: Settings, replay: Replay | None, metric: str
) -> list[GroupResult]:
    if replay is None or not declared.names:
        return []
    ndcg, hits = ndcg_and_hits(replay)
    groups = build_groups(
        declared.attributes_for(replay.customer_keys),
        customers=np.arange(len(replay.customer_keys)),
    )
    if metric == Metric.NDCG:
        results = mean_by_group(
            groups, ndcg, metric=metric, min_group_size=settings.min_group_size, seed=settings.seed
        )
    else:
        results = rate_by_group(groups, hits, metric=metric, min_group_size=settings.min_group_size)
    return _compare(results, settings)


def measure_true_positive_rate(
    declared: Declared, settings: Settings, replay: Replay | None
) -> list[GroupResult]:
    """Rows (judged customer, category): eligible when they later bought from it,
    success when their replayed list had recommended something from it."""
    if replay is None or not declared.names:
        return []
    n_c, n_s = len(replay.customer_keys), len(replay.category_labels)
    recommended = np.zeros(n_c * n_s, dtype=bool)
    bought = np.zeros(n_c * n_s, dtype=bool)
    for row, (items, target) in enumerate(zip(replay.lists, replay.bought, strict=True)):
        for item in items:
            recommended[row * n_s + int(replay.item_category[item])] = True
        for item in target:
            bought[row * n_s + int(replay.item_category[item])] = True
    customer_index = np.repeat(np.arange(n_c), n_s)
    attributes = declared.attributes_for(replay.customer_keys)
    groups = build_groups(
        [replace(a, codes=a.codes[customer_index]) for a in attributes],
        segments=Attribute("category", np.tile(np.arange(n_s), n_c), replay.category_labels),
        customers=customer_index,
    )
    return _compare(
        rate_by_group(
            groups,
            recommended,
            eligible=bought,
            metric=Metric.TRUE_POSITIVE_RATE.value,
            min_group_size=settings.min_group_size,
        ),
        settings,
    )


# --- oversight outcomes -----------------------------------------------------------------


def measure_outcome(declared: Declared, settings: Settings, metric: str) -> list[GroupResult]:
    """Share of the window's recommendations flagged, rejected or complained about."""
    if not declared.names:
        return []
    since = settings.as_of - timedelta(days=settings.window_days)
    recs = Recommendation.objects.filter(created_at__gt=since, created_at__lte=settings.as_of)
    rows = list(recs.order_by("pk").values_list("pk", "customer_id", "status", "flags"))
    if not rows:
        return []
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    customers = np.array([r[1] for r in rows], dtype=np.int64)
    if metric == Metric.FLAGGED:
        success = np.array([bool(r[3]) for r in rows])
    elif metric == Metric.REJECTED:
        success = np.array([r[2] == "rejected" for r in rows])
    else:
        complained = set(
            Feedback.objects.filter(recommendation__in=recs)
            .values_list("recommendation_id", flat=True)
            .distinct()
            .order_by()
        )
        success = np.isin(ids, np.array(sorted(complained), dtype=np.int64))
    groups = build_groups(declared.attributes_for(customers), customers=customers)
    return _compare(
        rate_by_group(
            groups,
            success,
            metric=metric,
            min_group_size=settings.min_group_size,
            higher_is_better=False,
        ),
        settings,
    )


def measure_opt_out(declared: Declared, settings: Settings) -> list[GroupResult]:
    """Share of customers who switched personalization off (mode off or none, or every
    personalization consent withdrawn)."""
    if not declared.names:
        return []
    customers = np.array(
        list(CustomerProfile.objects.order_by("pk").values_list("pk", flat=True)), dtype=np.int64
    )
    if not len(customers):
        return []
    off = set(
        CustomerProfile.objects.filter(
            personalization_mode__in=(PersonalizationMode.OFF, PersonalizationMode.NONE)
        ).values_list("pk", flat=True)
    )
    answered = set(
        Consent.objects.filter(purpose=PERSONALIZATION).values_list("customer_id", flat=True)
    )
    granted = set(
        Consent.objects.filter(purpose=PERSONALIZATION, granted=True).values_list(
            "customer_id", flat=True
        )
    )
    opted_out = off | (answered - granted)
    success = np.isin(customers, np.array(sorted(opted_out), dtype=np.int64))
    groups = build_groups(declared.attributes_for(customers), customers=np.arange(len(customers)))
    return _compare(
        rate_by_group(
            groups,
            success,
            metric=Metric.OPT_OUT.value,
            min_group_size=settings.min_group_size,
            higher_is_better=False,
        ),
        settings,
    )


# --- one entry point per chunk ----------------------------------------------------------


def measure(
    metric: str,
    *,
    declared: Declared,
    settings: Settings,
    replay: Callable[[], Replay | None],
) -> list[GroupResult]:
    """The results of one measure (one chunk of a run), compared with the reference."""
    if metric == Metric.EXPOSURE:
        return measure_exposure(declared, settings)
    if metric == Metric.RANK_EXPOSURE:
        return measure_rank_exposure(declared, settings)
    if metric == Metric.TRUE_POSITIVE_RATE:
        return measure_true_positive_rate(declared, settings, replay())
    if metric in (Metric.NDCG, Metric.HIT_RATE):
        return measure_usefulness(declared, settings, replay(), metric)
    if metric in (Metric.FLAGGED, Metric.REJECTED, Metric.COMPLAINED):
        return measure_outcome(declared, settings, metric)
    if metric == Metric.OPT_OUT:
        return measure_opt_out(declared, settings)
    raise ValueError(f"unknown measure {metric!r}")
