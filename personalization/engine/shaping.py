"""Shaping a list: hard restrictions, diversity caps and picking the top `k`.

`recommend` scores every item; these decide which scored items a customer may be
offered (restrictions, "not for me", "I can't have this"), how many of each catalog
category a list may hold, and which items fill it, one customer or a whole chunk at once.
They also hold the per-item masks of the stated-preference terms (liked categories,
"fewer like this") that scoring and explaining share.
"""

from __future__ import annotations

import numpy as np

from personalization.engine.context import _Context
from personalization.engine.data import DIETARY_ALTERNATIVES, Catalog, Shopper


def _forbidden(context: _Context, shopper: Shopper) -> np.ndarray:
    """Items this customer must never be offered, whatever the mode."""
    catalog = context.catalog
    mask = ~catalog.active
    if shopper.restrictions:
        mask = mask | context.restricted(shopper.restrictions)
    _mark(mask, catalog, shopper.cant_have)
    return mask


def unwanted_alternatives(catalog: Catalog, evidence, shoppers: list[Shopper]) -> np.ndarray:
    """Customers x items: dietary alternatives a customer shows no interest in.

    Interest is an item with that alternative in the customer's consented history
    (`evidence`, customers x items), or a restriction on the allergen it avoids.
    """
    out = np.zeros((len(shoppers), len(catalog)), dtype=bool)
    for code, allergen in DIETARY_ALTERNATIVES.items():
        carrying = catalog.carrying((code,))
        if not carrying.any():
            continue
        interested = np.asarray(evidence[:, carrying].sum(axis=1)).ravel() > 0
        if allergen is not None:
            interested |= np.array([allergen in s.restrictions for s in shoppers], dtype=bool)
        out[np.ix_(~interested, carrying)] = True
    return out


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
