"""What the engine reads: a catalog, an event log and the customers it serves.

Plain numpy arrays and frozen records; the Django layer builds them from the ORM and
nothing here knows where they came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy import sparse

from personalization import registry

KINDS: tuple[str, ...] = ("purchase", "view", "cart", "rating")
PURCHASE, VIEW, CART, RATING = range(4)
# The data categories interactions belong to, in the registry's order.
EVIDENCE_CATEGORIES: tuple[str, ...] = tuple(
    dict.fromkeys(registry.INTERACTION_KIND_CATEGORY[kind] for kind in KINDS)
)
KIND_CATEGORY = np.array(
    [EVIDENCE_CATEGORIES.index(registry.INTERACTION_KIND_CATEGORY[kind]) for kind in KINDS],
    dtype=np.int8,
)
STATED_PREFERENCES = registry.STATED_PREFERENCES
PURCHASE_HISTORY = registry.PURCHASE_HISTORY
ALLERGEN_PREFIX = "contains:"
# Dietary alternatives, and the allergen each is free of (None: no allergen code). An
# alternative is only ever suggested to a customer who shows an interest in it: their own
# consented history holds such an item, or they declared the allergen it avoids as a
# restriction. A loyal wheat-sourdough buyer is never steered to gluten-free loaves by
# their popularity with others (the article's opening failure).
DIETARY_ALTERNATIVES: dict[str, str | None] = {
    "gluten-free": "contains:gluten",
    "lactose-free": "contains:milk",
    "dairy-free": "contains:milk",
    "egg-free": "contains:egg",
    "nut-free": "contains:nuts",
    "sugar-free": None,
    "alcohol-free": None,
}

MODES = ("on", "paused", "off", "none")


@dataclass(frozen=True, eq=False)
class Catalog:
    """Items by position; `keys` are the shop's ids (database primary keys)."""

    keys: np.ndarray  # int64
    names: tuple[str, ...]
    category: np.ndarray  # int32 positions in `category_codes`
    category_codes: tuple[str, ...]
    attributes: tuple[frozenset[str], ...]
    price: np.ndarray  # float64
    active: np.ndarray  # bool
    allergens_declared: np.ndarray  # bool
    consumable: np.ndarray  # bool

    @classmethod
    def build(
        cls,
        *,
        keys: Sequence[int],
        names: Sequence[str],
        categories: Sequence[str],
        attributes: Sequence[Iterable[str]],
        prices: Sequence[float] | np.ndarray,
        active: Sequence[bool] | np.ndarray,
        allergens_declared: Sequence[bool] | np.ndarray,
        consumable: Sequence[bool] | np.ndarray,
    ) -> Catalog:
        codes = tuple(sorted(set(categories)))
        index = {code: i for i, code in enumerate(codes)}
        return cls(
            keys=np.asarray(keys, dtype=np.int64),
            names=tuple(names),
            category=np.array([index[c] for c in categories], dtype=np.int32),
            category_codes=codes,
            attributes=tuple(frozenset(a) for a in attributes),
            price=np.asarray(prices, dtype=np.float64),
            active=np.asarray(active, dtype=bool),
            allergens_declared=np.asarray(allergens_declared, dtype=bool),
            consumable=np.asarray(consumable, dtype=bool),
        )

    def __len__(self) -> int:
        return len(self.keys)

    @cached_property
    def position(self) -> dict[int, int]:
        return {int(key): i for i, key in enumerate(self.keys)}

    @cached_property
    def attribute_codes(self) -> tuple[str, ...]:
        return tuple(sorted(set().union(*self.attributes))) if self.attributes else ()

    @cached_property
    def attribute_matrix(self) -> sparse.csc_matrix:
        """Items x attribute codes, 1 where the item carries the code."""
        column = {code: j for j, code in enumerate(self.attribute_codes)}
        rows = [i for i, codes in enumerate(self.attributes) for _ in codes]
        cols = [column[code] for codes in self.attributes for code in codes]
        return sparse.csc_matrix(
            (np.ones(len(rows)), (rows, cols)), shape=(len(self), len(self.attribute_codes))
        )

    @cached_property
    def _carrying(self) -> dict[frozenset[str], np.ndarray]:
        return {}

    def carrying(self, codes: Iterable[str]) -> np.ndarray:
        """Boolean mask of the items that carry any of `codes` (read-only, cached)."""
        codes = frozenset(codes)
        mask = self._carrying.get(codes)
        if mask is None:
            column = {code: j for j, code in enumerate(self.attribute_codes)}
            wanted = [column[code] for code in codes if code in column]
            if wanted:
                mask = np.asarray(self.attribute_matrix[:, wanted].sum(axis=1)).ravel() > 0
            else:
                mask = np.zeros(len(self), dtype=bool)
            mask.flags.writeable = False
            self._carrying[codes] = mask
        return mask

    @cached_property
    def usual_price(self) -> float:
        """The median price of the items on sale (NaN for an empty shop)."""
        prices = self.price[self.active & (self.price > 0)]
        return float(np.median(prices)) if len(prices) else float("nan")

    def aligned(self, keys: np.ndarray) -> Catalog:
        """This catalog in the order of `keys`; a key it lacks becomes an inactive item."""
        known = np.array([self.position.get(int(k), -1) for k in keys], dtype=np.int64)
        present = known >= 0
        take = np.where(present, known, 0)
        empty = frozenset[str]()

        def pick(values: np.ndarray, missing: float | bool) -> np.ndarray:
            out = values[take] if len(values) else np.zeros(len(keys), dtype=values.dtype)
            return np.where(present, out, missing)

        categories = self.category_codes or ("",)
        return Catalog(
            keys=np.asarray(keys, dtype=np.int64),
            names=tuple(self.names[t] if p else "" for t, p in zip(take, present, strict=True)),
            category=pick(self.category, 0).astype(np.int32),
            category_codes=categories,
            attributes=tuple(
                self.attributes[t] if p else empty for t, p in zip(take, present, strict=True)
            ),
            price=pick(self.price, 0.0).astype(np.float64),
            active=pick(self.active, False).astype(bool),
            allergens_declared=pick(self.allergens_declared, False).astype(bool),
            consumable=pick(self.consumable, False).astype(bool),
        )


@dataclass(frozen=True, eq=False)
class Events:
    """An event log, one entry per interaction, items by catalog position."""

    customer: np.ndarray  # int64 customer keys
    item: np.ndarray  # int64 item positions
    kind: np.ndarray  # int8 positions in KINDS
    category: np.ndarray  # int8 positions in EVIDENCE_CATEGORIES
    quantity: np.ndarray  # float64
    value: np.ndarray  # float64: money for purchases, stars for ratings
    at: np.ndarray  # float64 seconds since the epoch

    @classmethod
    def build(
        cls,
        *,
        customer: Sequence[int] | np.ndarray,
        item: Sequence[int] | np.ndarray,
        kind: Sequence[int] | np.ndarray,
        at: Sequence[float] | np.ndarray,
        quantity: Sequence[float] | np.ndarray | None = None,
        value: Sequence[float] | np.ndarray | None = None,
        category: Sequence[int] | np.ndarray | None = None,
    ) -> Events:
        kinds = np.asarray(kind, dtype=np.int8)
        n = len(kinds)
        return cls(
            customer=np.asarray(customer, dtype=np.int64),
            item=np.asarray(item, dtype=np.int64),
            kind=kinds,
            category=(
                KIND_CATEGORY[kinds] if category is None else np.asarray(category, dtype=np.int8)
            ),
            quantity=np.ones(n) if quantity is None else np.asarray(quantity, dtype=np.float64),
            value=np.zeros(n) if value is None else np.asarray(value, dtype=np.float64),
            at=np.asarray(at, dtype=np.float64),
        )

    @classmethod
    def empty(cls) -> Events:
        return cls.build(customer=[], item=[], kind=[], at=[])

    def __len__(self) -> int:
        return len(self.kind)

    def select(self, mask: np.ndarray) -> Events:
        return Events(
            customer=self.customer[mask],
            item=self.item[mask],
            kind=self.kind[mask],
            category=self.category[mask],
            quantity=self.quantity[mask],
            value=self.value[mask],
            at=self.at[mask],
        )

    def consented(self, consent: Mapping[int, Iterable[str]]) -> Events:
        """Only the events whose data category the customer allows; others are dropped."""
        if not len(self):
            return self
        keys = np.unique(self.customer)
        bits = np.zeros(len(keys), dtype=np.int64)
        for row, key in enumerate(keys):
            for code in consent.get(int(key), ()):
                if code in EVIDENCE_CATEGORIES:
                    bits[row] |= 1 << EVIDENCE_CATEGORIES.index(code)
        rows = np.searchsorted(keys, self.customer)
        allowed = (bits[rows] >> self.category.astype(np.int64)) & 1
        return self.select(allowed.astype(bool))


@dataclass(frozen=True)
class Shopper:
    """A customer as the engine sees them: choices, consent and feedback, never demographics."""

    key: int
    # The mode in force today (the Django layer resolves a pause's end date).
    mode: str = "on"
    # Data categories the customer allows for personalization.
    consented: frozenset[str] = frozenset()
    # Attribute codes never to recommend, e.g. "contains:gluten".
    restrictions: frozenset[str] = frozenset()
    liked_categories: frozenset[str] = frozenset()
    # Item keys the customer said are not for them, or that they cannot have.
    not_for_me: frozenset[int] = frozenset()
    cant_have: frozenset[int] = frozenset()
    # Category code -> how many times the customer asked for fewer like it.
    fewer_like_this: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}")

    @property
    def has_allergen_restriction(self) -> bool:
        return any(code.startswith(ALLERGEN_PREFIX) for code in self.restrictions)

    @property
    def uses_stated_preferences(self) -> bool:
        return STATED_PREFERENCES in self.consented
