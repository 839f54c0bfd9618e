"""Datasets for tuning, tests and benchmarks: the demo bakery, and generated shops.

The generated shop has the skew a real one has: a few items sell most (Zipf), a few
customers do most of the buying (log-normal activity), tastes follow categories and a
hidden "style" the catalog does not state, habits repeat, and tastes drift over time.
Deterministic for a given seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

import numpy as np

from personalization.engine.data import (
    EVIDENCE_CATEGORIES,
    KINDS,
    PURCHASE,
    RATING,
    Catalog,
    Events,
    Shopper,
)

DAY = 86_400.0


@dataclass(frozen=True, eq=False)
class Dataset:
    catalog: Catalog
    events: Events
    shoppers: tuple[Shopper, ...]
    now: float
    # Declared audit attributes, for per-group metrics only: name -> {customer key: value}.
    groups: dict[str, dict[int, str]] = field(default_factory=dict)
    # Customer key -> the shop's customer id (demo only).
    external_ids: dict[int, str] = field(default_factory=dict)


class DemoRows(Protocol):
    """What from_demo reads of `personalization.demo.build_demo()` (rows of the demo)."""

    @property
    def items(self) -> Sequence[Any]: ...
    @property
    def customers(self) -> Sequence[Any]: ...
    @property
    def events(self) -> Sequence[Any]: ...
    @property
    def as_of(self) -> date: ...


def from_demo(shop: DemoRows) -> Dataset:
    """The demo bakery (`personalization.demo.build_demo()`), every category consented."""
    items = shop.items
    customers = shop.customers
    catalog = Catalog.build(
        keys=range(1, len(items) + 1),
        names=[i.name for i in items],
        categories=[i.category for i in items],
        attributes=[i.attributes for i in items],
        prices=[float(i.price) for i in items],
        active=[i.active for i in items],
        allergens_declared=[i.allergens_declared for i in items],
        consumable=[i.consumable for i in items],
    )
    item_pos = {item.sku: pos for pos, item in enumerate(items)}
    customer_key = {c.external_id: n for n, c in enumerate(customers, start=1)}
    kind_index = {kind: i for i, kind in enumerate(KINDS)}
    events = shop.events
    log = Events.build(
        customer=[customer_key[e.customer_external_id] for e in events],
        item=[item_pos[e.sku] for e in events],
        kind=[kind_index[e.kind] for e in events],
        at=[e.occurred_at.timestamp() for e in events],
        quantity=[e.quantity for e in events],
        value=[float(e.value) for e in events],
    )
    as_of = shop.as_of
    now = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC).timestamp()
    everything = frozenset(EVIDENCE_CATEGORIES)
    shoppers = tuple(
        Shopper(
            key=customer_key[c.external_id],
            consented=everything,
            restrictions=frozenset(c.restrictions),
            liked_categories=frozenset(c.liked_categories),
        )
        for c in customers
    )
    groups: dict[str, dict[int, str]] = {"age_band": {}, "gender": {}}
    for c in customers:
        if c.age_band:
            groups["age_band"][customer_key[c.external_id]] = c.age_band
        if c.gender:
            groups["gender"][customer_key[c.external_id]] = c.gender
    return Dataset(
        catalog=catalog,
        events=log,
        shoppers=shoppers,
        now=now,
        groups=groups,
        external_ids={n: external_id for external_id, n in customer_key.items()},
    )


RESTRICTED_ALLERGEN = "contains:a0"


def generate(
    *,
    customers: int = 2_000,
    items: int = 400,
    events: int = 100_000,
    seed: int = 7,
    days: int = 365,
) -> Dataset:
    """A generated shop of about this size (a few events fewer: see restrictions)."""
    rng = np.random.default_rng(seed)
    n_cat = int(np.clip(items // 40, 6, 40))
    n_style = 12
    # Catalog: Zipf-sized categories, a hidden style per item, Zipf popularity.
    cat_weight = 1.0 / np.arange(1, n_cat + 1) ** 0.7
    category = rng.choice(n_cat, size=items, p=cat_weight / cat_weight.sum())
    style = rng.integers(0, n_style, size=items)
    appeal = 1.0 / (rng.permutation(items) + 1.0) ** 1.05
    allergens = rng.random((items, 6)) < np.array([0.55, 0.3, 0.25, 0.15, 0.1, 0.05])
    declared = rng.random(items) > 0.04
    attributes = []
    for i in range(items):
        codes = {f"contains:a{a}" for a in np.flatnonzero(allergens[i])} if declared[i] else set()
        if declared[i] and not codes:
            codes.add("contains:none")
        # Half the styles show in an attribute the catalog states; half stay hidden.
        if style[i] % 2 == 0:
            codes.add(f"style-{style[i]}")
        if rng.random() < 0.2:
            codes.add("vegan")
        attributes.append(codes)
    base_price = np.exp(rng.normal(1.4, 0.5, size=n_cat))
    price = base_price[category] * np.exp(rng.normal(0.0, 0.25, size=items))
    price[rng.random(items) < 0.03] *= 8.0
    catalog = Catalog.build(
        keys=range(1, items + 1),
        names=[f"Item {i + 1}" for i in range(items)],
        categories=[f"category-{c:02d}" for c in category],
        attributes=attributes,
        prices=np.round(price, 2),
        active=rng.random(items) > 0.03,
        allergens_declared=declared,
        consumable=rng.random(items) > 0.1,
    )

    # Customers: log-normal activity, 1-2 favourite categories, a style, habits.
    activity = rng.lognormal(0.0, 1.1, size=customers)
    per_customer = rng.multinomial(max(events - customers, 0), activity / activity.sum()) + 1
    main_cat = rng.choice(n_cat, size=customers, p=cat_weight / cat_weight.sum())
    second_cat = rng.choice(n_cat, size=customers, p=cat_weight / cat_weight.sum())
    taste = rng.integers(0, n_style, size=customers)
    habit = rng.uniform(0.25, 0.75, size=customers)
    restricted = rng.random(customers) < 0.04
    start = days - rng.uniform(60, days, size=customers)
    switch = rng.uniform(start, days)

    sampler = _BlockSampler(category, style, appeal)
    fav_slots = 6
    fav_cat = np.where(
        rng.random((customers, fav_slots)) < 0.75, main_cat[:, None], second_cat[:, None]
    )
    fav_style = np.where(rng.random((customers, fav_slots)) < 0.7, taste[:, None], -1)
    early = sampler.draw(rng, fav_cat.ravel(), fav_style.ravel()).reshape(customers, fav_slots)
    late = early.copy()
    replace = rng.random((customers, fav_slots)) < 0.35
    late[replace] = sampler.draw(rng, fav_cat[replace], fav_style[replace])

    owner = np.repeat(np.arange(customers), per_customer)
    n = len(owner)
    at_day = rng.uniform(start[owner], days)
    choice = rng.random(n)
    slot = np.minimum(rng.geometric(0.45, size=n) - 1, fav_slots - 1)
    favourite = np.where(at_day < switch[owner], early[owner, slot], late[owner, slot])
    explore_cat = np.where(rng.random(n) < 0.8, main_cat[owner], second_cat[owner])
    explore_style = np.where(rng.random(n) < 0.6, taste[owner], -1)
    explore = sampler.draw(rng, explore_cat, explore_style)
    anything = rng.choice(items, size=n, p=appeal / appeal.sum())
    item = np.where(
        choice < habit[owner], favourite, np.where(choice < habit[owner] + 0.2, explore, anything)
    )
    kind = rng.choice(len(KINDS), size=n, p=[0.55, 0.3, 0.1, 0.05]).astype(np.int8)
    quantity = np.where(rng.random(n) < 0.85, 1, rng.integers(2, 5, size=n)).astype(np.float64)
    value = np.where(kind == PURCHASE, catalog.price[item] * quantity, 0.0)
    value = np.where(kind == RATING, rng.choice([2, 3, 4, 4, 5, 5], size=n), value)
    # Customers with a restriction never touch what they avoid.
    avoided = catalog.carrying([RESTRICTED_ALLERGEN])
    keep = ~(restricted[owner] & (avoided[item] | ~catalog.allergens_declared[item]))
    now = datetime(2026, 11, 20, tzinfo=UTC).timestamp()
    log = Events.build(
        customer=owner[keep] + 1,
        item=item[keep],
        kind=kind[keep],
        at=now - (days - at_day[keep]) * DAY,
        quantity=quantity[keep],
        value=value[keep],
    )
    everything = frozenset(EVIDENCE_CATEGORIES)
    shoppers = tuple(
        Shopper(
            key=u + 1,
            consented=everything,
            restrictions=frozenset({RESTRICTED_ALLERGEN}) if restricted[u] else frozenset(),
        )
        for u in range(customers)
    )
    bands = np.array(["18-34", "35-54", "55+"])
    declared_band = rng.random(customers) < 0.6
    groups = {
        "age_band": {
            u + 1: str(bands[rng.integers(0, 3)]) for u in np.flatnonzero(declared_band).tolist()
        }
    }
    return Dataset(catalog=catalog, events=log, shoppers=shoppers, now=now, groups=groups)


class _BlockSampler:
    """Draw items of a given category (and style, or any style for -1) by appeal."""

    def __init__(self, category: np.ndarray, style: np.ndarray, appeal: np.ndarray):
        self.blocks: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        for key_cat in np.unique(category):
            in_cat = np.flatnonzero(category == key_cat)
            self.blocks[(int(key_cat), -1)] = (in_cat, np.cumsum(appeal[in_cat]))
            for key_style in np.unique(style[in_cat]):
                members = in_cat[style[in_cat] == key_style]
                self.blocks[(int(key_cat), int(key_style))] = (members, np.cumsum(appeal[members]))
        self.appeal = appeal

    def draw(self, rng: np.random.Generator, cats: np.ndarray, styles: np.ndarray) -> np.ndarray:
        out = np.empty(len(cats), dtype=np.int64)
        keys = cats.astype(np.int64) * 1000 + styles.astype(np.int64) + 1
        for key in np.unique(keys):
            where = np.flatnonzero(keys == key)
            cat, sty = int(key // 1000), int(key % 1000) - 1
            block = self.blocks.get((cat, sty)) or self.blocks.get((cat, -1))
            if block is None:
                out[where] = rng.choice(len(self.appeal), size=len(where))
                continue
            members, cumulative = block
            picks = rng.random(len(where)) * cumulative[-1]
            out[where] = members[np.minimum(np.searchsorted(cumulative, picks), len(members) - 1)]
        return out
