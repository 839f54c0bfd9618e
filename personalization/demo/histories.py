"""The demo customers' histories: a year of visits, baskets, browsing and ratings each.

Every random draw comes from the generator `build_demo` hands in, one per customer.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from personalization.demo.catalog import (
    CATALOG,
    GABLE_LOAF_SKU,
    HOT_CROSS_BUN_DAYS_BEFORE,
    HOT_CROSS_BUN_SKU,
    ITEMS_BY_SKU,
    DemoItem,
)
from personalization.demo.people import Segment

# Regular customers' histories cover this many days before the as-of date.
HISTORY_DAYS = 365

EVENT_HEADER = (
    "event_id",
    "customer_external_id",
    "sku",
    "kind",
    "occurred_at",
    "quantity",
    "value",
)


@dataclass(frozen=True)
class DemoEvent:
    event_id: str
    customer_external_id: str
    sku: str
    kind: str
    occurred_at: datetime
    quantity: int
    value: Decimal

    def as_row(self) -> dict[str, str]:
        return {
            "event_id": self.event_id,
            "customer_external_id": self.customer_external_id,
            "sku": self.sku,
            "kind": self.kind,
            "occurred_at": self.occurred_at.isoformat(),
            "quantity": str(self.quantity),
            "value": str(self.value),
        }


# --- Histories -----------------------------------------------------------------------

# (minutes relative to as-of midnight, kind, sku, quantity, value)
_Event = tuple[int, str, str, int, Decimal]

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class _RawEvent:
    minute: int
    customer_index: int
    seq: int
    kind: str
    sku: str
    quantity: int
    value: Decimal


def _gable_history(rng: random.Random) -> list[_Event]:
    """Mrs. Gable: a wheat sourdough loaf most weeks for three and a half years, nothing else."""
    loaf = ITEMS_BY_SKU[GABLE_LOAF_SKU]
    history: list[_Event] = []
    day = -rng.randint(1, 4)
    while day > -int(3.5 * 365):
        years_ago = -day // 365
        # The loaf cost 20p less for each year back.
        price = loaf.price - Decimal("0.20") * years_ago
        quantity = 2 if rng.random() < 0.06 else 1
        minute = day * MINUTES_PER_DAY + rng.randint(8 * 60 + 30, 10 * 60 + 30)
        history.append((minute, "purchase", loaf.sku, quantity, price * quantity))
        # Weekly-ish, with the odd missed week.
        day -= rng.choice((6, 7, 7, 7, 7, 8, 14))
    return history


@dataclass
class _Taste:
    segment: Segment
    pool: list[DemoItem]
    pool_weights: list[float]
    favourites: list[DemoItem]
    habit: float
    online_share: float
    rated: set[str] = field(default_factory=set)


def _eligible(segment: Segment, item: DemoItem) -> bool:
    if not item.active:
        return False
    if segment.declared_only and not item.allergens_declared:
        return False
    if any(code not in item.attributes for code in segment.require):
        return False
    return not any(code in item.attributes for code in segment.avoid)


def _taste(rng: random.Random, segment: Segment) -> _Taste:
    pool = [item for item in CATALOG if _eligible(segment, item)]
    weights = [segment.category_weights.get(item.category, 0.0) * item.popularity for item in pool]
    pool, weights = (
        [item for item, w in zip(pool, weights, strict=True) if w > 0],
        [w for w in weights if w > 0],
    )
    if segment.name == "coffee_and_croissant":
        drinks = [i for i in pool if i.category == "drinks" and i.sku in _COFFEES]
        pastries = [i for i in pool if i.category == "pastries" and i.consumable]
        favourites = _sample(rng, drinks, [i.popularity for i in drinks], rng.randint(1, 2))
        favourites += _sample(rng, pastries, [i.popularity for i in pastries], rng.randint(1, 2))
    else:
        consumables = [(i, w) for i, w in zip(pool, weights, strict=True) if i.consumable]
        favourites = _sample(
            rng, [i for i, _ in consumables], [w for _, w in consumables], rng.randint(2, 5)
        )
    low, high = segment.online_share
    return _Taste(
        segment=segment,
        pool=pool,
        pool_weights=weights,
        favourites=favourites,
        habit=rng.uniform(0.55, 0.85),
        online_share=rng.uniform(low, high),
    )


_COFFEES = ("DR-001", "DR-002", "DR-003", "DR-004", "DR-005")


def _sample(
    rng: random.Random, items: Sequence[DemoItem], weights: Sequence[float], k: int
) -> list[DemoItem]:
    """Up to `k` distinct items, drawn by weight."""
    items, weights = list(items), list(weights)
    chosen: list[DemoItem] = []
    while items and len(chosen) < k:
        index = rng.choices(range(len(items)), weights=weights)[0]
        chosen.append(items.pop(index))
        weights.pop(index)
    return chosen


def _customer_history(rng: random.Random, segment: Segment) -> list[_Event]:
    taste = _taste(rng, segment)
    # Most customers were around all year; some joined later, some stopped coming.
    first_day = -HISTORY_DAYS if rng.random() < 0.7 else -rng.randint(30, HISTORY_DAYS - 30)
    last_day = -1 if rng.random() < 0.88 else rng.randint(first_day + 20, -1)
    last_day = min(max(last_day, first_day + 1), -1)
    mean_gap = 7 / rng.uniform(*segment.visits_per_week)
    history: list[_Event] = []
    day = first_day + int(rng.expovariate(1 / mean_gap))
    while day <= last_day or not history:
        day = min(day, last_day)
        if rng.random() < taste.online_share:
            history.extend(_online_visit(rng, taste, day))
        else:
            history.extend(_shop_visit(rng, taste, day))
        day += max(1, round(rng.expovariate(1 / mean_gap)))
    return history


def _visit_minute(rng: random.Random, taste: _Taste, day: int) -> int:
    first, last = taste.segment.visit_minutes
    return day * MINUTES_PER_DAY + rng.randint(first, last)


def _basket(rng: random.Random, taste: _Taste, day: int) -> list[tuple[DemoItem, int]]:
    low, high = taste.segment.basket_size
    size = rng.randint(low, high)
    basket: dict[str, tuple[DemoItem, int]] = {}
    if taste.segment.name == "coffee_and_croissant":
        drinks = [i for i in taste.favourites if i.category == "drinks"]
        pastries = [i for i in taste.favourites if i.category != "drinks"]
        picks = [rng.choice(drinks)] if drinks else []
        if pastries and rng.random() < 0.85:
            picks.append(rng.choice(pastries))
        elif rng.random() < 0.5:
            picks.append(_from_pool(rng, taste))
    else:
        picks = [
            rng.choice(taste.favourites)
            if taste.favourites and rng.random() < taste.habit
            else _from_pool(rng, taste)
            for _ in range(size)
        ]
    # Around Easter, many shoppers pick up hot cross buns.
    low_day, high_day = HOT_CROSS_BUN_DAYS_BEFORE
    bun = ITEMS_BY_SKU[HOT_CROSS_BUN_SKU]
    if -low_day <= day <= -high_day and _eligible_ignoring_season(taste.segment, bun):
        if rng.random() < 0.3:
            picks.append(bun)
    for item in picks:
        quantity = _quantity(rng, taste.segment, item)
        if item.sku in basket:
            quantity += basket[item.sku][1]
        basket[item.sku] = (item, quantity)
    return list(basket.values())


def _eligible_ignoring_season(segment: Segment, item: DemoItem) -> bool:
    return _eligible(segment, replace(item, active=True))


def _from_pool(rng: random.Random, taste: _Taste) -> DemoItem:
    return rng.choices(taste.pool, weights=taste.pool_weights)[0]


def _quantity(rng: random.Random, segment: Segment, item: DemoItem) -> int:
    if not item.consumable or item.price >= 9:
        return 1
    if item.category == "pastries":
        if segment.name == "weekend_families":
            return rng.choice((2, 3, 4, 4, 6))
        return rng.choice((1, 1, 1, 2, 2, 4)) if segment.name == "pastry_fans" else 1
    if item.category == "breads" and segment.name == "weekend_families":
        return rng.choice((1, 2))
    return 1 if rng.random() < 0.9 else 2


def _purchase(minute: int, item: DemoItem, quantity: int) -> _Event:
    return (minute, "purchase", item.sku, quantity, item.price * quantity)


def _shop_visit(rng: random.Random, taste: _Taste, day: int) -> list[_Event]:
    minute = _visit_minute(rng, taste, day)
    events: list[_Event] = []
    for item, quantity in _basket(rng, taste, day):
        events.append(_purchase(minute, item, quantity))
        events.extend(_maybe_rating(rng, taste, minute, item))
    return events


def _online_visit(rng: random.Random, taste: _Taste, day: int) -> list[_Event]:
    """A web-shop session: browsing, the basket, and usually an order."""
    # Evening sessions end before midnight, so no event falls on the as-of date.
    first, last = 6 * 60, 22 * 60
    minute = day * MINUTES_PER_DAY + rng.randint(first, last)
    zero = Decimal(0)
    events: list[_Event] = []
    for _ in range(rng.randint(1, 4)):
        events.append((minute, "view", _from_pool(rng, taste).sku, 1, zero))
        minute += rng.randint(1, 4)
    if rng.random() < 0.25:
        # Left without buying; sometimes with something still in the basket.
        if rng.random() < 0.4:
            events.append((minute, "cart", _from_pool(rng, taste).sku, 1, zero))
        return events
    basket = _basket(rng, taste, day)
    for item, quantity in basket:
        events.append((minute, "view", item.sku, 1, zero))
        events.append((minute + 1, "cart", item.sku, quantity, zero))
        minute += rng.randint(1, 3)
    minute += rng.randint(1, 5)
    for item, quantity in basket:
        events.append(_purchase(minute, item, quantity))
        events.extend(_maybe_rating(rng, taste, minute, item))
    return events


def _maybe_rating(rng: random.Random, taste: _Taste, minute: int, item: DemoItem) -> list[_Event]:
    if item.sku in taste.rated or rng.random() >= 0.05:
        return []
    taste.rated.add(item.sku)
    stars = rng.choice((4, 5, 5, 5)) if item in taste.favourites else rng.choice((2, 3, 4, 4, 5))
    # Rated a day or two later, from the receipt email.
    later = minute + rng.randint(1, 2) * MINUTES_PER_DAY
    if later >= 0:
        return []
    return [(later, "rating", item.sku, 1, Decimal(stars))]
