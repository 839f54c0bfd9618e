"""Scoring and the lists it makes: the recommender's entry points.

score(customer, item) =
      sum over the customer's evidence (item j, data category c) of
          evidence[j, c] * recency[j, c] * neighbourhood[j, item]
    + liked lift              if the item's category is one the customer likes: at least
                              liked_weight, and enough to bring the category's best item
                              not yet in the customer's top k into it (`_liked_lift`)
    + popularity_weight * popularity[item]
    + a "fewer like this" term (never positive) for categories the customer asked to see less of

(recency: 0.5 per `recency_visits` of the customer's visits since they last used j; 1
when off). Every term is returned as a `Reason` (`reasons`), and the reasons of a suggestion sum to
its score (`explaining` builds them). Hard filters and diversity are in `shaping`.
Prices are only read (for the premium flag), never set.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from personalization.engine.context import _Context, _context
from personalization.engine.data import Catalog, Events, Shopper
from personalization.engine.explaining import _explain
from personalization.engine.history import Histories, build_histories
from personalization.engine.reasons import POPULARITY, Reason
from personalization.engine.shaping import (
    _by_score,
    _caps,
    _chunk_caps,
    _fewer_factors,
    _fill,
    _forbidden,
    _liked_mask,
    _mark,
    _pick_chunk,
    unwanted_alternatives,
)
from personalization.engine.training import Model

PREMIUM_PRICE = "premium_price"
MISSING_ALLERGEN_DATA = "missing_allergen_data"
_PREMIUM = (PREMIUM_PRICE,)
_MISSING = (MISSING_ALLERGEN_DATA,)

# Customers scored together (bounds the dense score block's memory).
CHUNK = 2_048


class Suggestion(NamedTuple):
    item: int  # item key
    score: float
    rank: int
    reasons: tuple[Reason, ...]
    flags: tuple[str, ...] = ()

    @property
    def data_categories(self) -> frozenset[str]:
        return frozenset(r.data_category for r in self.reasons if r.data_category)


@dataclass(frozen=True)
class CustomerList:
    customer: int
    mode: str
    # False for the anonymous list (modes off and paused, or nothing personal to go on).
    personalized: bool
    suggestions: tuple[Suggestion, ...] = ()
    # Items that would have made the list but lack allergen data while the customer has
    # an allergen restriction: for staff to review, never shown.
    needs_review: tuple[Suggestion, ...] = ()
    # Median price paid per unit in the consented purchase history (None: unknown); the
    # premium-price flag compares against it, and the oversight rules may too.
    usual_unit_price: float | None = None


def recommend(
    model: Model,
    catalog: Catalog,
    histories: Histories,
    shoppers: Sequence[Shopper],
    *,
    k: int | None = None,
) -> list[CustomerList]:
    """Lists for `shoppers`, in order. `catalog` and `histories` use the model's item order.

    `histories` must hold a row for every shopper whose mode is on (build them with
    `build_histories(..., consent=...)`, which drops non-consented data). Hard rules:
    inactive items never; an item carrying a restricted attribute never; an item without
    allergen data never for a customer with an allergen restriction (it goes to
    `needs_review`); an item the customer said they cannot have, or is not for them,
    never; a durable the customer already bought, not again.
    """
    if len(catalog) != len(model.item_keys) or not np.array_equal(catalog.keys, model.item_keys):
        raise ValueError("the catalog must be aligned to the model's items")
    context = _context(model, catalog, k)
    results: dict[int, CustomerList] = {}
    personal: list[Shopper] = []
    for shopper in shoppers:
        if shopper.mode == "none":
            results[shopper.key] = CustomerList(shopper.key, shopper.mode, personalized=False)
        elif shopper.mode in ("off", "paused"):
            results[shopper.key] = _anonymous(context, shopper)
        else:
            personal.append(shopper)
    with _no_gc_pauses():
        for start in range(0, len(personal), CHUNK):
            chunk = personal[start : start + CHUNK]
            rows = np.array([histories.row[s.key] for s in chunk], dtype=np.int64)
            same = len(rows) == len(histories.customers) and (rows == np.arange(len(rows))).all()
            scored = _score_chunk(context, histories if same else histories.take(rows), chunk)
            for shopper, result in zip(chunk, scored, strict=True):
                results[shopper.key] = result
    return [results[s.key] for s in shoppers]


@contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """Millions of small reason tuples would trigger the cycle collector over and over
    (they hold no cycles); it runs once at the end instead."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def recommend_one(
    model: Model,
    catalog: Catalog,
    events: Events,
    shopper: Shopper,
    *,
    now: float,
    k: int | None = None,
) -> CustomerList:
    """One customer's list from their own events (only their consented categories are read)."""
    histories = build_histories(
        events,
        n_items=len(catalog),
        params=model.params,
        now=now,
        consent={shopper.key: shopper.consented},
        customers=[shopper.key],
    )
    return recommend(model, catalog, histories, [shopper], k=k)[0]


def anonymous_list(
    model: Model, catalog: Catalog, *, shopper: Shopper | None = None, k: int | None = None
) -> CustomerList:
    """What any visitor sees: popular items, diversified, nothing personal.

    For a `shopper`, the same list without what they must never be offered (restricted
    items, items lacking allergen data under an allergen restriction, "I can't have
    this"); nothing else about them is read.
    """
    return _anonymous(_context(model, catalog, k), shopper or Shopper(key=0, mode="off"))


# --- internals ---------------------------------------------------------------------------


def _anonymous(context: _Context, shopper: Shopper) -> CustomerList:
    catalog = context.catalog
    scores = context.popularity
    banned = _forbidden(context, shopper) | (scores <= 0)
    if shopper.has_allergen_restriction:
        banned = banned | ~catalog.allergens_declared
    order = _by_score(scores, np.flatnonzero(~banned))
    picked = _fill(order, catalog.category, _caps(context, Shopper(key=0), None), context.k)
    suggestions = tuple(
        Suggestion(
            item=int(catalog.keys[item]),
            score=float(scores[item]),
            rank=rank,
            reasons=(Reason(POPULARITY, float(scores[item])),),
        )
        for rank, item in enumerate(picked, start=1)
    )
    return CustomerList(shopper.key, shopper.mode, personalized=False, suggestions=suggestions)


def _liked_lift(
    scores: np.ndarray, liked: np.ndarray, eligible: np.ndarray, k: int, weight: float
) -> float:
    """What a liked category adds to each of its items for one customer.

    At least `weight`, and enough to lift the category's best eligible item not yet in
    the customer's top k just past the k-th score: EASE^R's scores for a long history run
    to several units, where a fixed `weight` left the list as it was, so a like did
    nothing the customer could see. One number per customer, so each score stays the
    exact sum of its reasons.
    """
    candidates = scores[eligible]
    if len(candidates) <= k:
        return weight
    kth = float(np.partition(candidates, -k)[-k])
    outside = eligible & liked & (scores < kth)
    if not outside.any():
        return weight
    return weight + max(0.0, kth - float(scores[outside].max()))


def _score_chunk(
    context: _Context, histories: Histories, shoppers: list[Shopper]
) -> list[CustomerList]:
    model, catalog = context.model, context.catalog
    params = model.params
    n, n_items, k = len(shoppers), len(catalog), context.k
    # Recent history weighs more (query-time only); reasons read the same evidence.
    histories = histories.recent(float(params.recency_visits))
    evidence = histories.item_evidence
    # Sparse rows times the dense matrix when there is one: far faster than a sparse
    # product whose result is dense anyway (EASE^R's B has no zeros). Ranking only; the
    # stored scores are the sums of the reasons (`explaining`).
    dense = model.dense_neighbourhood
    if dense is not None:
        scores = np.asarray(evidence @ dense, dtype=np.float64)
    else:
        scores = (evidence @ model.neighbourhood).toarray()
    scores += context.popularity[None, :]
    banned = np.repeat(~catalog.active[None, :], n, axis=0)
    review = np.zeros((n, n_items), dtype=bool)
    for row, shopper in enumerate(shoppers):
        if shopper.restrictions:
            banned[row] |= context.restricted(shopper.restrictions)
            if shopper.has_allergen_restriction:
                review[row] = ~catalog.allergens_declared
        if shopper.not_for_me or shopper.cant_have:
            _mark(banned[row], catalog, shopper.not_for_me | shopper.cant_have)
    # A dietary alternative only for someone who shows an interest in it.
    banned |= unwanted_alternatives(catalog, evidence, shoppers)
    # A durable already bought (a proofing basket) is not offered again.
    bought = histories.purchased.tocoo()
    durable = ~catalog.consumable[bought.col]
    banned[bought.row[durable], bought.col[durable]] = True
    liked_lift = np.zeros(n)
    for row, shopper in enumerate(shoppers):
        if shopper.uses_stated_preferences and shopper.liked_categories:
            liked = _liked_mask(catalog, shopper)
            liked_lift[row] = _liked_lift(
                scores[row], liked, ~(banned[row] | review[row]), k, params.liked_weight
            )
            scores[row, liked] += liked_lift[row]
        if shopper.fewer_like_this:
            scores[row] *= _fewer_factors(catalog, shopper, params.fewer_like_this_factor)
    # An item with nothing behind it (score 0) is not a suggestion.
    banned |= scores <= 0
    review &= ~banned
    allowed = np.where(banned | review, -np.inf, scores)
    caps = _chunk_caps(context, shoppers, evidence)
    picks = _pick_chunk(allowed, catalog.category, caps, k)
    chosen: list[tuple[list[int], list[int]]] = []
    for row, shopper in enumerate(shoppers):
        picked = picks[row]
        if picked is None:
            # Rare: ties at the shortlist's border, or caps the shortlist cannot fill.
            everything = _by_score(allowed[row], np.flatnonzero(np.isfinite(allowed[row])))
            picked = _fill(everything, catalog.category, caps[row], k)
        review_items: list[int] = []
        if shopper.has_allergen_restriction:
            kth = scores[row, picked[-1]] if len(picked) == k else -np.inf
            held = _by_score(scores[row], np.flatnonzero(review[row]))[:k]
            review_items = [int(i) for i in held if scores[row, i] >= kth]
        chosen.append((picked, review_items))
    explained = _explain(context, shoppers, histories, [p + r for p, r in chosen], liked_lift)
    reference = histories.usual_unit_price.copy()
    reference[~np.isfinite(reference)] = context.shop_unit_price
    premium_limit = (params.premium_price_ratio * reference).tolist()
    keys = catalog.keys.tolist()
    prices = catalog.price.tolist()
    new = tuple.__new__
    results = []
    for row, shopper in enumerate(shoppers):
        picked, review_items = chosen[row]
        reasons_and_scores = explained[row]
        limit = premium_limit[row]
        suggestions = tuple(
            new(
                Suggestion,
                (
                    keys[item],
                    reasons_and_scores[i][1],
                    i + 1,
                    reasons_and_scores[i][0],
                    _PREMIUM if prices[item] > limit else (),
                ),
            )
            for i, item in enumerate(picked)
        )
        needs_review = tuple(
            Suggestion(
                keys[item],
                reasons_and_scores[len(picked) + i][1],
                i + 1,
                reasons_and_scores[len(picked) + i][0],
                _MISSING,
            )
            for i, item in enumerate(review_items)
        )
        personalized = any(
            reason[0] != POPULARITY for suggestion in suggestions for reason in suggestion[3]
        )
        usual = histories.usual_unit_price[row]
        results.append(
            CustomerList(
                shopper.key,
                shopper.mode,
                personalized,
                suggestions,
                needs_review,
                float(usual) if np.isfinite(usual) else None,
            )
        )
    return results
