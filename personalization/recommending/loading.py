"""From the database to the engine's arrays: only consented, non-excluded data is read.

The consent filter is in the SQL itself (an EXISTS over the current-consent table), so
rows of a category a customer switched off never leave the database. The engine filters
again by the same consent (defence in depth).

The reads are plain SQL (core/sql.py): regenerating one customer's list runs them while
the customer waits, and compiling ORM querysets cost more than running them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

import numpy as np
from django.db import connection

from accounts.models import CustomerProfile
from accounts.selectors import effective_mode
from core import sql as sql_helpers
from personalization import engine
from personalization.consent.rule import PURPOSE_PARAM, consented_sql
from personalization.engine.data import EVIDENCE_CATEGORIES, KINDS
from personalization.models import (
    Attribute,
    Category,
    Consent,
    Feedback,
    FeedbackKind,
    GuestSale,
    Interaction,
    Item,
    NonProductCode,
)
from personalization.registry import PERSONALIZATION

_KIND_INDEX = {kind: i for i, kind in enumerate(KINDS)}
# Not a kind of evidence: a return takes back the purchase it returns (see events_load).
_RETURN = "return"
_CATEGORY_INDEX = {code: i for i, code in enumerate(EVIDENCE_CATEGORIES)}
_ROWS = 20_000
_BATCH = 1_000


_CATALOG_SQL = """
SELECT i.id, i.name, c.slug, i.price,
  i.active AND NOT EXISTS (SELECT 1 FROM {nonproduct} n WHERE n.code = UPPER(i.sku)),
  i.allergens_declared, i.consumable
FROM {item} i JOIN {category} c ON c.id = i.category_id
ORDER BY i.id
"""
# An item whose code is on the owner's non-product list (postage, fees) is read as not on
# sale: never recommended.
_ATTRIBUTES_SQL = (
    "SELECT ia.{item_col}, a.code FROM {through} ia JOIN {attribute} a ON a.id = ia.{attr_col}"
)


def catalog_load() -> engine.Catalog:
    """Every item, as the shop lists it now (two queries)."""
    through = Item.attributes.through
    with sql_helpers.cursor() as cursor:
        cursor.execute(
            _CATALOG_SQL.format(
                item=Item._meta.db_table,
                category=Category._meta.db_table,
                nonproduct=NonProductCode._meta.db_table,
            )
        )
        rows = cursor.fetchall()
        cursor.execute(
            _ATTRIBUTES_SQL.format(
                through=through._meta.db_table,
                attribute=Attribute._meta.db_table,
                item_col=through._meta.get_field("item").column,
                attr_col=through._meta.get_field("attribute").column,
            )
        )
        codes: dict[int, set[str]] = defaultdict(set)
        for item_id, code in cursor.fetchall():
            codes[item_id].add(code)
    return engine.Catalog.build(
        keys=[r[0] for r in rows],
        names=[r[1] for r in rows],
        categories=[r[2] for r in rows],
        attributes=[codes.get(r[0], ()) for r in rows],
        prices=[float(r[3]) for r in rows],
        active=[bool(r[4]) for r in rows],
        allergens_declared=[bool(r[5]) for r in rows],
        consumable=[bool(r[6]) for r in rows],
    )


# The consent rule (personalization/consent/rule.py) in the WHERE clause: a row is read
# only while its customer allows its data category for personalization, never once removed.
_EVENTS_SQL = """
SELECT x.customer_id, x.item_id, x.kind, x.data_category, x.quantity, {amount}, {at}
FROM {interaction} x
WHERE {consented}
  {only}
ORDER BY x.customer_id, x.occurred_at, x.id
"""


def events_load(
    *,
    position: dict[int, int],
    customer_ids: Sequence[int] | None = None,
    tally: Counter[int] | None = None,
) -> engine.Events:
    """Consented events as arrays; items outside `position` (unknown to a model) are skipped.

    A return is never evidence, and it takes back the customer's purchases of that item,
    latest first, up to the quantity returned: a cancelled order or a returned item says
    nothing good about it (the audits, reading the same arrays, count no such purchase).
    `tally`, when given, counts every consented row per customer (skipped ones too)."""
    returned: Counter[tuple[int, int]] = Counter()
    columns: dict[str, list] = {name: [] for name in ("c", "i", "k", "g", "q", "v", "t")}
    ids = list(customer_ids) if customer_ids is not None else None
    sql = _EVENTS_SQL.format(
        amount=sql_helpers.as_float("x.value"),
        at=sql_helpers.epoch_seconds("x.occurred_at"),
        interaction=Interaction._meta.db_table,
        consented=consented_sql("x"),
        only="" if ids is None else f"AND x.customer_id IN ({sql_helpers.named_marks('c', ids)})",
    )
    params = {**PURPOSE_PARAM, **sql_helpers.named_values("c", ids or ())}
    # A whole shop is streamed (a server-side cursor on PostgreSQL); a few customers'
    # histories are fetched at once (a server-side cursor costs three round trips).
    with connection.chunked_cursor() if ids is None else sql_helpers.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(_ROWS):
            for customer_id, item_id, kind, category, quantity, value, at in rows:
                if tally is not None:
                    tally[customer_id] += 1
                pos = position.get(item_id)
                if pos is None or category not in _CATEGORY_INDEX:
                    continue
                if kind == _RETURN:
                    returned[customer_id, pos] += quantity
                    continue
                columns["c"].append(customer_id)
                columns["i"].append(pos)
                columns["k"].append(_KIND_INDEX[kind])
                columns["g"].append(_CATEGORY_INDEX[category])
                columns["q"].append(quantity)
                columns["v"].append(value or 0.0)
                columns["t"].append(at)
    if returned:
        _take_back_returned(columns, returned)
    return engine.Events.build(
        customer=np.array(columns["c"], dtype=np.int64),
        item=np.array(columns["i"], dtype=np.int64),
        kind=np.array(columns["k"], dtype=np.int8),
        category=np.array(columns["g"], dtype=np.int8),
        quantity=np.array(columns["q"], dtype=np.float64),
        value=np.array(columns["v"], dtype=np.float64),
        at=np.array(columns["t"], dtype=np.float64),
    )


def _take_back_returned(columns: dict[str, list], returned: Counter[tuple[int, int]]) -> None:
    """Drop purchases that were returned, latest first, until the quantity is used up."""
    purchase = _KIND_INDEX["purchase"]
    keep = [True] * len(columns["c"])
    for row in range(len(keep) - 1, -1, -1):
        if columns["k"][row] != purchase:
            continue
        pair = (columns["c"][row], columns["i"][row])
        if returned.get(pair, 0) > 0:
            keep[row] = False
            returned[pair] -= columns["q"][row]
    for name, values in columns.items():
        columns[name] = [value for value, kept in zip(values, keep, strict=True) if kept]


_GUESTS_SQL = "SELECT g.item_id, {at}, g.kind FROM {guest} g"


def guest_lines_load(*, position: dict[int, int]) -> engine.GuestLines:
    """Guest sales (no customer: popularity only) of the items in `position`."""
    items: list[int] = []
    at: list[float] = []
    back: list[bool] = []
    sql = _GUESTS_SQL.format(
        at=sql_helpers.epoch_seconds("g.occurred_at"), guest=GuestSale._meta.db_table
    )
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql)
        while rows := cursor.fetchmany(_ROWS):
            for item_id, when, kind in rows:
                pos = position.get(item_id)
                if pos is not None:
                    items.append(pos)
                    at.append(when)
                    back.append(kind == _RETURN)
    return engine.GuestLines(
        item=np.array(items, dtype=np.int64),
        at=np.array(at, dtype=np.float64),
        returned=np.array(back, dtype=bool),
    )


@dataclass(frozen=True)
class Loaded:
    """What generation read about some customers, beyond the catalog."""

    shoppers: list[engine.Shopper]
    events: engine.Events
    # Consented, not removed interactions per personalized customer (every item).
    history: dict[int, int]
    # (kind, when) of each customer's feedback, for the oversight rules.
    feedback: dict[int, list[tuple[str, datetime]]]


def customers_load(
    profiles: Sequence[CustomerProfile],
    *,
    position: dict[int, int],
    without: str | None = None,
    today: date | None = None,
) -> Loaded:
    """Shoppers and the consented histories of those whose personalization is on.

    `without` takes one data category out of every shopper's consent (a preview)."""
    shoppers, feedback = _shoppers_and_feedback(list(profiles), today=today)
    if without is not None:
        shoppers = [replace(s, consented=s.consented - {without}) for s in shoppers]
    personal = [s.key for s in shoppers if s.mode == "on"]
    tally: Counter[int] = Counter()
    events = (
        events_load(position=position, customer_ids=personal, tally=tally)
        if personal
        else engine.Events.empty()
    )
    return Loaded(
        shoppers=shoppers,
        events=events,
        history={pk: tally[pk] for pk in personal},
        feedback=feedback,
    )


def shoppers_load(
    profiles: Iterable[CustomerProfile], *, today: date | None = None
) -> list[engine.Shopper]:
    """The engine's view of these customers: mode, consent, restrictions, likes, feedback.

    Never their declared audit attributes: the engine has no field for them.
    """
    return _shoppers_and_feedback(list(profiles), today=today)[0]


def _shoppers_and_feedback(
    profiles: list[CustomerProfile], *, today: date | None
) -> tuple[list[engine.Shopper], dict[int, list[tuple[str, datetime]]]]:
    shoppers: list[engine.Shopper] = []
    feedback: dict[int, list[tuple[str, datetime]]] = {}
    # In batches: SQLite caps the number of values in one IN (...).
    for start in range(0, len(profiles), _BATCH):
        batch, said_at = _shoppers_batch(profiles[start : start + _BATCH], today=today)
        shoppers += batch
        feedback.update(said_at)
    return shoppers, feedback


_CONSENT_SQL = (
    "SELECT customer_id, data_category FROM {consent} "
    "WHERE customer_id IN ({ids}) AND purpose = %s AND granted"
)
_FEEDBACK_SQL = """
SELECT f.customer_id, f.kind, f.item_id, c.slug, f.created_at
FROM {feedback} f
JOIN {item} i ON i.id = f.item_id
JOIN {category} c ON c.id = i.category_id
WHERE f.customer_id IN ({ids})
"""


def _shoppers_batch(
    profiles: list[CustomerProfile], *, today: date | None
) -> tuple[list[engine.Shopper], dict[int, list[tuple[str, datetime]]]]:
    ids = [p.pk for p in profiles]
    consent: dict[int, set[str]] = defaultdict(set)
    said: dict[int, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    said_at: dict[int, list[tuple[str, datetime]]] = {pk: [] for pk in ids}
    fewer: dict[int, Counter[str]] = defaultdict(Counter)
    with sql_helpers.cursor() as cursor:
        cursor.execute(
            _CONSENT_SQL.format(consent=Consent._meta.db_table, ids=sql_helpers.marks(len(ids))),
            [*ids, PERSONALIZATION],
        )
        for customer_id, category in cursor.fetchall():
            consent[customer_id].add(category)
        cursor.execute(
            _FEEDBACK_SQL.format(
                feedback=Feedback._meta.db_table,
                item=Item._meta.db_table,
                category=Category._meta.db_table,
                ids=sql_helpers.marks(len(ids)),
            ),
            ids,
        )
        feedback = cursor.fetchall()
    for customer_id, kind, item_id, category, at in feedback:
        said[customer_id][kind].add(item_id)
        said_at[customer_id].append((kind, sql_helpers.aware(at)))
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
    return shoppers, said_at
