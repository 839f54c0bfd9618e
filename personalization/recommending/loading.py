"""From the ORM to the engine's arrays: only consented, non-excluded data is read.

The consent filter is in the SQL itself (an EXISTS over the current-consent table), so
rows of a category a customer switched off never leave the database. The engine filters
again by the same consent (defence in depth).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date

import numpy as np
from django.db.models import Exists, FloatField, Func, OuterRef, QuerySet
from django.db.models.functions import Cast

from accounts.models import CustomerProfile
from accounts.selectors import effective_mode
from personalization import engine
from personalization.consent.selectors import consented_categories
from personalization.engine.data import EVIDENCE_CATEGORIES, KINDS
from personalization.models import Consent, Feedback, FeedbackKind, Interaction, Item
from personalization.registry import PERSONALIZATION

_KIND_INDEX = {kind: i for i, kind in enumerate(KINDS)}
_CATEGORY_INDEX = {code: i for i, code in enumerate(EVIDENCE_CATEGORIES)}
_ROWS = 20_000
_BATCH = 1_000


class EpochSeconds(Func):
    """A datetime as seconds since 1970 (float), computed by the database: no per-row
    parsing in Python, which dominates loading a history on SQLite."""

    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
            **extra_context,
        )

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="EXTRACT(EPOCH FROM %(expressions)s)::double precision",
            **extra_context,
        )


def catalog_load() -> engine.Catalog:
    """Every item, as the shop lists it now (two queries)."""
    rows = list(
        Item.objects.order_by("pk").values_list(
            "pk", "name", "category__slug", "price", "active", "allergens_declared", "consumable"
        )
    )
    codes: dict[int, set[str]] = defaultdict(set)
    for item_id, code in Item.attributes.through.objects.values_list("item_id", "attribute__code"):
        codes[item_id].add(code)
    return engine.Catalog.build(
        keys=[r[0] for r in rows],
        names=[r[1] for r in rows],
        categories=[r[2] for r in rows],
        attributes=[codes.get(r[0], ()) for r in rows],
        prices=[float(r[3]) for r in rows],
        active=[r[4] for r in rows],
        allergens_declared=[r[5] for r in rows],
        consumable=[r[6] for r in rows],
    )


def consented_interactions(customer_ids: Sequence[int] | None = None) -> QuerySet[Interaction]:
    """Interactions the engine may read: consented for personalization, not removed."""
    allowed = Consent.objects.filter(
        customer_id=OuterRef("customer_id"),
        purpose=PERSONALIZATION,
        data_category=OuterRef("data_category"),
        granted=True,
    )
    rows = Interaction.objects.filter(Exists(allowed), excluded_at__isnull=True)
    if customer_ids is not None:
        rows = rows.filter(customer_id__in=list(customer_ids))
    return rows


def events_load(
    *, position: dict[int, int], customer_ids: Sequence[int] | None = None
) -> engine.Events:
    """Consented events as arrays; items outside `position` (unknown to a model) are skipped."""
    columns: dict[str, list] = {name: [] for name in ("c", "i", "k", "g", "q", "v", "t")}
    rows = (
        consented_interactions(customer_ids)
        .annotate(amount=Cast("value", FloatField()), at=EpochSeconds("occurred_at"))
        .order_by("customer_id", "occurred_at", "pk")
        .values_list("customer_id", "item_id", "kind", "data_category", "quantity", "amount", "at")
    )
    # Streamed for a whole shop; a few customers' histories are fetched at once (a
    # server-side cursor costs PostgreSQL three extra round trips).
    stream = rows.iterator(chunk_size=_ROWS) if customer_ids is None else rows
    for customer_id, item_id, kind, category, quantity, value, at in stream:
        pos = position.get(item_id)
        if pos is None or category not in _CATEGORY_INDEX:
            continue
        columns["c"].append(customer_id)
        columns["i"].append(pos)
        columns["k"].append(_KIND_INDEX[kind])
        columns["g"].append(_CATEGORY_INDEX[category])
        columns["q"].append(quantity)
        columns["v"].append(value or 0.0)
        columns["t"].append(at)
    return engine.Events.build(
        customer=np.array(columns["c"], dtype=np.int64),
        item=np.array(columns["i"], dtype=np.int64),
        kind=np.array(columns["k"], dtype=np.int8),
        category=np.array(columns["g"], dtype=np.int8),
        quantity=np.array(columns["q"], dtype=np.float64),
        value=np.array(columns["v"], dtype=np.float64),
        at=np.array(columns["t"], dtype=np.float64),
    )


def shoppers_load(
    profiles: Iterable[CustomerProfile], *, today: date | None = None
) -> list[engine.Shopper]:
    """The engine's view of these customers: mode, consent, restrictions, likes, feedback.

    Never their declared audit attributes: the engine has no field for them.
    """
    profiles = list(profiles)
    shoppers: list[engine.Shopper] = []
    # In batches: SQLite caps the number of values in one IN (...).
    for start in range(0, len(profiles), _BATCH):
        shoppers += _shoppers_batch(profiles[start : start + _BATCH], today=today)
    return shoppers


def _shoppers_batch(profiles: list[CustomerProfile], *, today: date | None) -> list[engine.Shopper]:
    ids = [p.pk for p in profiles]
    consent = consented_categories(customer_ids=ids, purpose=PERSONALIZATION)
    said: dict[int, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    fewer: dict[int, Counter[str]] = defaultdict(Counter)
    for customer_id, kind, item_id, category in Feedback.objects.filter(
        customer_id__in=ids
    ).values_list("customer_id", "kind", "item_id", "item__category__slug"):
        said[customer_id][kind].add(item_id)
        if kind == FeedbackKind.FEWER_LIKE_THIS:
            # Any feedback on an item keeps that item away; "fewer" also tones down its kind.
            fewer[customer_id][category] += 1
    shoppers = []
    for profile in profiles:
        feedback = said.get(profile.pk, {})
        shoppers.append(
            engine.Shopper(
                key=profile.pk,
                mode=effective_mode(profile=profile, today=today).value,
                consented=frozenset(consent.get(profile.pk, ())),
                restrictions=frozenset(profile.restrictions or ()),
                liked_categories=frozenset(profile.liked_categories or ()),
                not_for_me=frozenset(
                    feedback.get(FeedbackKind.NOT_FOR_ME, set())
                    | feedback.get(FeedbackKind.FEWER_LIKE_THIS, set())
                ),
                cant_have=frozenset(feedback.get(FeedbackKind.CANT_HAVE, set())),
                fewer_like_this=dict(fewer.get(profile.pk, {})),
            )
        )
    return shoppers
