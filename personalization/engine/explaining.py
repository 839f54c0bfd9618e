"""Exact explanations: each suggested item's reasons, which sum to its score.

Vectorized over a chunk of customers: the history entries behind each suggestion are
cited (the largest few, and the most negative one) or summed per data category, then
the liked-category, popularity and "fewer like this" terms are added.
"""

from __future__ import annotations

import math

import numpy as np

from personalization.engine.context import _Context
from personalization.engine.data import (
    EVIDENCE_CATEGORIES,
    KIND_CATEGORY,
    KINDS,
    STATED_PREFERENCES,
    Shopper,
)
from personalization.engine.history import Histories
from personalization.engine.reasons import (
    FEWER_LIKE_THIS,
    HISTORY,
    LIKED_CATEGORY,
    OTHER_HISTORY,
    POPULARITY,
    Reason,
)
from personalization.engine.shaping import _liked_mask


def _explain(
    context: _Context,
    shoppers: list[Shopper],
    histories: Histories,
    targets: list[list[int]],
    liked_lift: np.ndarray,
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
    # A model with negative weights (EASE^R) also cites each pair's most negative entry:
    # "you often buy X, so Y ranks lower" is the model's reason too.
    negative = value < 0
    if negative.any():
        lowest = np.where(negative, value, np.inf)
        worst = np.minimum.reduceat(lowest, starts)
        hit = (lowest == np.repeat(worst, per_pair[owners])) & negative
        candidates = np.flatnonzero(hit)
        if len(candidates):
            first = candidates[
                np.r_[True, entry_pair[candidates[1:]] != entry_pair[candidates[:-1]]]
            ]
            cited_mask[first] = True
            picked_rounds.append(first)
    chosen = np.concatenate(picked_rounds) if picked_rounds else np.zeros(0, dtype=np.int64)
    # Grouped by pair, in citation order (rounds are in order, the sort is stable).
    cited_order = chosen[np.argsort(entry_pair[chosen], kind="stable")]
    # Everything else, either sign, summed per data category: the sum stays exact.
    rest = np.flatnonzero((value != 0) & ~cited_mask)
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
        row: _liked_mask(catalog, shoppers[row]) for row in np.flatnonzero(liked_lift).tolist()
    }
    lifts = liked_lift.tolist()
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
                    (LIKED_CATEGORY, lifts[row], STATED_PREFERENCES, None, (), codes[pair], 0),
                )
            )
            values.append(lifts[row])
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
