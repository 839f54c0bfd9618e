"""Scoring, hard filters, diversity and exact explanations.

score(customer, item) =
      sum over the customer's evidence (item j, data category c) of
          evidence[j, c] * neighbourhood[j, item]
    + liked_weight            if the item's category is one the customer likes
    + popularity_weight * popularity[item]
    + a "fewer like this" term (never positive) for categories the customer asked to see less of

Every term is returned as a `Reason`, and the reasons of a suggestion sum to its score.
Prices are only read (for the premium flag), never set.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from personalization.engine.data import (
    EVIDENCE_CATEGORIES,
    KIND_CATEGORY,
    KINDS,
    STATED_PREFERENCES,
    Catalog,
    Events,
    Shopper,
)
from personalization.engine.history import Histories, build_histories
from personalization.engine.training import Model

HISTORY = "history"
OTHER_HISTORY = "other_history"
LIKED_CATEGORY = "liked_category"
POPULARITY = "popularity"
FEWER_LIKE_THIS = "fewer_like_this"

PREMIUM_PRICE = "premium_price"
MISSING_ALLERGEN_DATA = "missing_allergen_data"
_PREMIUM = (PREMIUM_PRICE,)
_MISSING = (MISSING_ALLERGEN_DATA,)

# Customers scored together (bounds the dense score block's memory).
CHUNK = 2_048
# The kinds of event each evidence category holds, for the counts in a reason.
_CATEGORY_KINDS = tuple(
    tuple(k for k in range(len(KINDS)) if KIND_CATEGORY[k] == c)
    for c in range(len(EVIDENCE_CATEGORIES))
)


class Reason(NamedTuple):
    """One additive term of a score."""

    kind: str
    contribution: float
    # The data category the term was read from (None: the customer's own instruction, or
    # everyone's popularity).
    data_category: str | None = None
    # HISTORY: the evidence item's key and how many events of each kind it has.
    item: int | None = None
    counts: tuple[tuple[str, int], ...] = ()
    # LIKED_CATEGORY / FEWER_LIKE_THIS: the catalog category.
    category: str | None = None
    # OTHER_HISTORY: how many further history items the term sums.
    items: int = 0

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"kind": self.kind, "contribution": self.contribution}
        if self.data_category is not None:
            data["data_category"] = self.data_category
        if self.item is not None:
            data["item"] = self.item
        if self.counts:
            data["counts"] = dict(self.counts)
        if self.category is not None:
            data["category"] = self.category
        if self.items:
            data["items"] = self.items
        return data


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


@dataclass
class _Context:
    """What a batch needs once, whatever the customers."""

    model: Model
    catalog: Catalog
    k: int
    popularity: np.ndarray
    shop_unit_price: float
    base_cap: int

    def restricted(self, codes: frozenset[str]) -> np.ndarray:
        return self.catalog.carrying(codes)


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


def _context(model: Model, catalog: Catalog, k: int | None) -> _Context:
    k = k or model.params.top_k
    return _Context(
        model=model,
        catalog=catalog,
        k=k,
        popularity=model.params.popularity_weight * model.popularity,
        shop_unit_price=catalog.usual_price if np.isfinite(catalog.usual_price) else math.inf,
        base_cap=max(1, math.ceil(model.params.max_category_share * k - 1e-9)),
    )


def _forbidden(context: _Context, shopper: Shopper) -> np.ndarray:
    """Items this customer must never be offered, whatever the mode."""
    catalog = context.catalog
    mask = ~catalog.active
    if shopper.restrictions:
        mask = mask | context.restricted(shopper.restrictions)
    _mark(mask, catalog, shopper.cant_have)
    return mask


def _mark(mask: np.ndarray, catalog: Catalog, keys: frozenset[int]) -> None:
    for key in keys:
        pos = catalog.position.get(key)
        if pos is not None:
            mask[pos] = True


def _caps(context: _Context, shopper: Shopper, history_share: np.ndarray | None) -> np.ndarray:
    """How many items of each catalog category the list may hold."""
    caps = np.full(len(context.catalog.category_codes), context.base_cap, dtype=np.int64)
    if history_share is not None:
        # A history that narrow earns a list that narrow.
        caps = np.maximum(caps, np.ceil(history_share * context.k - 1e-9).astype(np.int64))
    factor = context.model.params.fewer_like_this_factor
    for code, times in shopper.fewer_like_this.items():
        if code in context.catalog.category_codes and times > 0:
            index = context.catalog.category_codes.index(code)
            caps[index] = max(1, int(caps[index] * factor**times))
    return caps


def _diversify(
    order: np.ndarray, categories: np.ndarray, caps: np.ndarray, k: int
) -> tuple[list[int], bool]:
    """Greedy pick in score order within the category caps; True when the list is full."""
    taken: list[int] = []
    used = np.zeros(len(caps), dtype=np.int64)
    for item, group in zip(order.tolist(), categories[order].tolist(), strict=True):
        if used[group] < caps[group]:
            taken.append(item)
            used[group] += 1
            if len(taken) == k:
                return taken, True
    return taken, False


def _fill(order: np.ndarray, categories: np.ndarray, caps: np.ndarray, k: int) -> list[int]:
    """Diversified pick; when the caps leave the list short, the best of the rest fill it."""
    taken, full = _diversify(order, categories, caps, k)
    if not full:
        chosen = set(taken)
        taken += [int(i) for i in order if int(i) not in chosen][: k - len(taken)]
    return taken


def _by_score(scores: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """`candidates` by score, highest first, ties by position."""
    return candidates[np.lexsort((candidates, -scores[candidates]))]


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


def _score_chunk(
    context: _Context, histories: Histories, shoppers: list[Shopper]
) -> list[CustomerList]:
    model, catalog = context.model, context.catalog
    params = model.params
    n, n_items, k = len(shoppers), len(catalog), context.k
    evidence = histories.item_evidence
    scores = (evidence @ model.neighbourhood).toarray()
    scores += context.popularity[None, :]
    banned = np.repeat(~catalog.active[None, :], n, axis=0)
    review = np.zeros((n, n_items), dtype=bool)
    liked_rows = np.zeros(n, dtype=bool)
    for row, shopper in enumerate(shoppers):
        if shopper.uses_stated_preferences and shopper.liked_categories:
            scores[row, _liked_mask(catalog, shopper)] += params.liked_weight
            liked_rows[row] = True
        if shopper.fewer_like_this:
            scores[row] *= _fewer_factors(catalog, shopper, params.fewer_like_this_factor)
        if shopper.restrictions:
            banned[row] |= context.restricted(shopper.restrictions)
            if shopper.has_allergen_restriction:
                review[row] = ~catalog.allergens_declared
        if shopper.not_for_me or shopper.cant_have:
            _mark(banned[row], catalog, shopper.not_for_me | shopper.cant_have)
    # A durable already bought (a proofing basket) is not offered again.
    bought = histories.purchased.tocoo()
    durable = ~catalog.consumable[bought.col]
    banned[bought.row[durable], bought.col[durable]] = True
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
    explained = _explain(context, shoppers, histories, [p + r for p, r in chosen], liked_rows)
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


def _chunk_caps(context: _Context, shoppers: list[Shopper], evidence) -> np.ndarray:
    """Per customer and category, how many items the list may hold (see `_caps`)."""
    catalog = context.catalog
    n, n_cat = len(shoppers), len(catalog.category_codes)
    per_category = np.zeros((n, n_cat))
    coo = evidence.tocoo()
    np.add.at(per_category, (coo.row, catalog.category[coo.col]), coo.data)
    totals = per_category.sum(axis=1, keepdims=True)
    shares = np.divide(per_category, totals, out=np.zeros_like(per_category), where=totals > 0)
    caps = np.maximum(context.base_cap, np.ceil(shares * context.k - 1e-9)).astype(np.int64)
    for row, shopper in enumerate(shoppers):
        if shopper.fewer_like_this:
            caps[row] = _caps(context, shopper, shares[row] if totals[row, 0] > 0 else None)
    return caps


def _pick_chunk(
    allowed: np.ndarray, categories: np.ndarray, caps: np.ndarray, k: int
) -> list[list[int] | None]:
    """The diversified top `k` of every row at once; None where a row needs the slow path.

    Greedy in score order within caps: an item is taken when fewer than its category's
    cap of the same category rank above it (items above it of its category were all
    taken up to the cap), so the greedy pick is a cumulative count.
    """
    n, n_items = allowed.shape
    width = min(4 * k, n_items)
    if width < n_items:
        top = np.argpartition(-allowed, width - 1, axis=1)[:, :width]
    else:
        top = np.broadcast_to(np.arange(n_items), (n, n_items)).copy()
    top_scores = np.take_along_axis(allowed, top, axis=1)
    # Best first; ties by item position (as `_by_score`).
    order = np.lexsort((top, -top_scores), axis=1)
    top = np.take_along_axis(top, order, axis=1)
    top_scores = np.take_along_axis(top_scores, order, axis=1)
    finite = np.isfinite(top_scores)
    group = categories[top]
    same = group[:, :, None] == group[:, None, :]
    before = np.tril(same, k=-1).sum(axis=2) if width <= 64 else _count_before(group)
    cap_of = np.take_along_axis(caps, group, axis=1)
    taken = finite & (before < cap_of)
    rank = np.cumsum(taken, axis=1)
    full = rank[:, -1] >= k if width else np.zeros(n, dtype=bool)
    # The shortlist is exact only when nothing outside it ties with its last score.
    if width < n_items:
        # With fewer allowed items than the shortlist holds, it holds them all.
        border = np.where(finite, top_scores, np.inf).min(axis=1)
        ties = (allowed >= border[:, None]).sum(axis=1) > width
        full &= ~ties | ~finite.all(axis=1)
    picks: list[list[int] | None] = []
    for row in range(n):
        if full[row]:
            picks.append(top[row][taken[row] & (rank[row] <= k)].tolist())
        else:
            picks.append(None)
    return picks


def _count_before(group: np.ndarray) -> np.ndarray:
    """For each position, how many earlier positions in the row share its category."""
    n, width = group.shape
    out = np.zeros((n, width), dtype=np.int64)
    for column in range(1, width):
        out[:, column] = (group[:, :column] == group[:, column : column + 1]).sum(axis=1)
    return out


def _liked_mask(catalog: Catalog, shopper: Shopper) -> np.ndarray:
    liked = [
        catalog.category_codes.index(code)
        for code in shopper.liked_categories
        if code in catalog.category_codes
    ]
    return np.isin(catalog.category, liked)


def _fewer_factors(catalog: Catalog, shopper: Shopper, factor: float) -> np.ndarray:
    factors = np.ones(len(catalog))
    for code, times in shopper.fewer_like_this.items():
        if code in catalog.category_codes and times > 0:
            factors[catalog.category == catalog.category_codes.index(code)] = factor**times
    return factors


def _explain(
    context: _Context,
    shoppers: list[Shopper],
    histories: Histories,
    targets: list[list[int]],
    liked_rows: np.ndarray,
) -> list[list[tuple[tuple[Reason, ...], float]]]:
    """For each row, each target item's reasons and its score (their exact sum).

    Vectorized over the chunk: every (customer, target, evidence) triple is one entry.
    """
    model, catalog = context.model, context.catalog
    params = model.params
    n_items = histories.n_items
    n_cat = len(EVIDENCE_CATEGORIES)
    cite = params.evidence_cited
    evidence = histories.evidence
    sizes = np.array([len(t) for t in targets], dtype=np.int64)
    pair_row = np.repeat(np.arange(len(targets)), sizes)
    pair_item = np.array([i for t in targets for i in t], dtype=np.int64)
    n_pairs = len(pair_item)
    nnz = np.diff(evidence.indptr)
    per_pair = nnz[pair_row]
    entry_pair = np.repeat(np.arange(n_pairs), per_pair)
    pair_start = np.r_[0, np.cumsum(per_pair)[:-1]] if n_pairs else np.zeros(0, dtype=np.int64)
    offset = np.arange(len(entry_pair)) - np.repeat(pair_start, per_pair)
    entry = evidence.indptr[pair_row][entry_pair] + offset
    columns = evidence.indices[entry]
    source = columns % n_items
    category = columns // n_items
    target = pair_item[entry_pair]
    dense = model.dense_neighbourhood
    if dense is not None:
        links = dense[source, target]
    else:
        links = np.asarray(model.neighbourhood[source, target]).ravel()
    value = evidence.data[entry] * links
    # The `cite` largest positive entries of each pair, largest first; ties go to the
    # earlier history entry. Entries are grouped by pair, so a few segmented maxima do.
    positive = value > 0
    remaining = np.where(positive, value, -np.inf)
    cited_mask = np.zeros(len(value), dtype=bool)
    picked_rounds = []
    starts = pair_start[per_pair > 0]
    owners = np.flatnonzero(per_pair > 0)
    for _ in range(cite if len(value) else 0):
        best = np.maximum.reduceat(remaining, starts)
        hit = remaining == np.repeat(best, per_pair[owners])
        hit &= np.isfinite(remaining)
        # The first hit of each pair.
        candidates = np.flatnonzero(hit)
        if not len(candidates):
            break
        first = candidates[np.r_[True, entry_pair[candidates[1:]] != entry_pair[candidates[:-1]]]]
        cited_mask[first] = True
        remaining[first] = -np.inf
        picked_rounds.append(first)
    chosen = np.concatenate(picked_rounds) if picked_rounds else np.zeros(0, dtype=np.int64)
    # Grouped by pair, in citation order (rounds are in order, the sort is stable).
    cited_order = chosen[np.argsort(entry_pair[chosen], kind="stable")]
    rest = np.flatnonzero(positive & ~cited_mask)
    rest_key = entry_pair[rest] * n_cat + category[rest]
    rest_sum = np.bincount(rest_key, weights=value[rest], minlength=n_pairs * n_cat)
    rest_n = np.bincount(rest_key, minlength=n_pairs * n_cat)
    rest_sum = rest_sum.reshape(n_pairs, n_cat)
    rest_n = rest_n.reshape(n_pairs, n_cat)
    cited_pair = entry_pair[cited_order]
    cited_value = value[cited_order].tolist()
    # Each cited history entry once: its data category, item key and event counts.
    unique_entry, which = np.unique(entry[cited_order], return_inverse=True)
    u_columns = evidence.indices[unique_entry]
    u_source, u_category = u_columns % n_items, u_columns // n_items
    u_row = np.searchsorted(evidence.indptr, unique_entry, side="right") - 1
    found = np.zeros((len(KINDS), len(unique_entry)), dtype=np.int64)
    counts = histories.counts
    # Look the counts up in the CSR arrays directly (rows and columns are sorted).
    count_keys = (
        np.repeat(np.arange(counts.shape[0], dtype=np.int64), np.diff(counts.indptr))
        * counts.shape[1]
        + counts.indices
    )
    for kind in range(len(KINDS)):
        mine = u_category == KIND_CATEGORY[kind]
        if mine.any():
            wanted = u_row[mine] * counts.shape[1] + kind * n_items + u_source[mine]
            at = np.minimum(np.searchsorted(count_keys, wanted), max(len(count_keys) - 1, 0))
            hit = count_keys[at] == wanted if len(count_keys) else np.zeros(len(wanted), bool)
            found[kind, mine] = np.where(hit, counts.data[at] if len(count_keys) else 0, 0)
    prefixes = [
        (
            EVIDENCE_CATEGORIES[category],
            key,
            tuple((KINDS[kind], n) for kind, n in enumerate(counts) if n),
            None,
            0,
        )
        for category, key, counts in zip(
            u_category.tolist(),
            catalog.keys[u_source].tolist(),
            found.T.tolist(),
            strict=True,
        )
    ]
    cited_prefix = [prefixes[i] for i in which.tolist()]
    cited_bounds = np.searchsorted(cited_pair, np.arange(n_pairs + 1)).tolist()
    new = tuple.__new__
    cited_reasons = [
        new(Reason, (HISTORY, value) + prefix)
        for value, prefix in zip(cited_value, cited_prefix, strict=True)
    ]
    # The rest of each pair's history, summed per data category.
    rest_pairs, rest_categories = np.nonzero(rest_n)
    rest_values = rest_sum[rest_pairs, rest_categories].tolist()
    rest_reasons = [
        new(Reason, (OTHER_HISTORY, value, EVIDENCE_CATEGORIES[category], None, (), None, count))
        for value, category, count in zip(
            rest_values,
            rest_categories.tolist(),
            rest_n[rest_pairs, rest_categories].tolist(),
            strict=True,
        )
    ]
    rest_bounds = np.searchsorted(rest_pairs, np.arange(n_pairs + 1)).tolist()
    popularity = context.popularity[pair_item].tolist()
    popularity_reasons = [new(Reason, (POPULARITY, p, None, None, (), None, 0)) for p in popularity]
    codes = [catalog.category_codes[c] for c in catalog.category[pair_item].tolist()]
    liked_items = {
        row: _liked_mask(catalog, shoppers[row]) for row in np.flatnonzero(liked_rows).tolist()
    }
    liked_weight = float(params.liked_weight)
    fewer_factor = params.fewer_like_this_factor
    fsum = math.fsum
    out: list[list[tuple[tuple[Reason, ...], float]]] = [[] for _ in targets]
    rows = pair_row.tolist()
    items = pair_item.tolist()
    for pair in range(n_pairs):
        lo, hi = cited_bounds[pair], cited_bounds[pair + 1]
        r_lo, r_hi = rest_bounds[pair], rest_bounds[pair + 1]
        reasons = cited_reasons[lo:hi] + rest_reasons[r_lo:r_hi]
        values = cited_value[lo:hi] + rest_values[r_lo:r_hi]
        row = rows[pair]
        if row in liked_items and liked_items[row][items[pair]]:
            reasons.append(
                new(
                    Reason,
                    (LIKED_CATEGORY, liked_weight, STATED_PREFERENCES, None, (), codes[pair], 0),
                )
            )
            values.append(liked_weight)
        if popularity[pair] > 0:
            reasons.append(popularity_reasons[pair])
            values.append(popularity[pair])
        fewer = shoppers[row].fewer_like_this
        times = fewer.get(codes[pair], 0) if fewer else 0
        if times > 0 and reasons:
            penalty = fsum(values) * (fewer_factor**times - 1.0)
            reasons.append(Reason(FEWER_LIKE_THIS, penalty, category=codes[pair]))
            values.append(penalty)
        out[row].append((tuple(reasons), fsum(values)))
    return out
