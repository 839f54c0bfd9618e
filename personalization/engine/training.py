"""Training: the item neighbourhood and the popularity prior.

Three families (`Parameters.family`): EASE^R (`ease`), the item-kNN hybrid
(collaborative + content, below) and popularity alone; all three add the buy-again term.

The model holds no customer-level data: an items x items matrix and a popularity
vector, so it can be stored, shared between workers and kept after an erasure.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
from scipy import sparse

from personalization.engine import ease
from personalization.engine.data import EVIDENCE_CATEGORIES, Catalog, Events
from personalization.engine.history import Histories, build_histories
from personalization.engine.params import Parameters

# Up to this many items the neighbourhood is also kept dense for fast explanations.
DENSE_ITEMS_LIMIT = 6_000
# Rows of the items x items matrix computed at once (bounds memory on big catalogs).
BLOCK_CELLS = 8_000_000


@dataclass(frozen=True, eq=False)
class Model:
    item_keys: np.ndarray  # int64, the catalog order the model was trained on
    # neighbourhood[j, i]: how much one unit of evidence on item j adds to item i.
    neighbourhood: sparse.csr_matrix
    popularity: np.ndarray  # float64 in [0, 1]
    params: Parameters
    trained_at: float
    counts: dict[str, int] = field(default_factory=dict)
    # "ease", "knn" or "popularity" (`Parameters.family`).
    family: str = "knn"
    # EASE^R: the catalog positions of the block's items, and P = (X'X + lambda I)^-1
    # over them (float64), kept for exact unlearning (`ease`).
    ease_items: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    gram_inverse: np.ndarray | None = None
    # Per item, the sum over customers of 1 - exp(-evidence); popularity = sqrt(raw / max).
    popularity_raw: np.ndarray | None = None

    @cached_property
    def dense_neighbourhood(self) -> np.ndarray | None:
        if len(self.item_keys) > DENSE_ITEMS_LIMIT:
            return None
        return self.neighbourhood.toarray()


def content_features(catalog: Catalog) -> sparse.csr_matrix:
    """Items x (categories + attributes), rows of unit length; rare attributes weigh more."""
    n = len(catalog)
    n_cat = max(len(catalog.category_codes), 1)
    category = sparse.csr_matrix((np.ones(n), (np.arange(n), catalog.category)), shape=(n, n_cat))
    attributes = catalog.attribute_matrix.tocsr()
    if attributes.shape[1]:
        df = np.asarray(attributes.sum(axis=0)).ravel()
        idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
        attributes = attributes @ sparse.diags(idf * 0.5)
    features = sparse.hstack([category * 1.5, attributes]).tocsr()
    norms = np.sqrt(np.asarray(features.multiply(features).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.diags(1.0 / norms) @ features


def content_similarity(catalog: Catalog) -> np.ndarray:
    """Dense items x items cosine over content features (for metrics on small catalogs)."""
    features = content_features(catalog)
    return (features @ features.T).toarray()


@dataclass(frozen=True, eq=False)
class GuestLines:
    """Order lines without a customer (guest checkouts): item positions, times, returns."""

    item: np.ndarray  # int64 positions in the catalog
    at: np.ndarray  # float64 epoch seconds
    returned: np.ndarray  # bool: a return or cancellation

    @classmethod
    def empty(cls) -> GuestLines:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(0, bool))


def guest_popularity(
    guests: GuestLines, *, n_items: int, params: Parameters, now: float
) -> np.ndarray:
    """Per item, what its guest lines add to the raw popularity (customers' shares).

    Each guest purchase counts as one more shopper with one purchase, decayed as a
    customer's would be: w / (1 + w) with w = the purchase weight halved every half-life
    (a customer's share is e/(1+e) of its evidence). A guest return takes one such share
    away; an item never goes below zero.
    """
    age_days = np.maximum(now - guests.at, 0.0) / 86_400.0
    w = float(params.purchase_weight) * np.power(0.5, age_days / params.half_life_days)
    share = w / (1.0 + w)
    signed = np.where(guests.returned, -share, share)
    return np.maximum(np.bincount(guests.item, weights=signed, minlength=n_items), 0.0)


def train(
    events: Events,
    catalog: Catalog,
    *,
    params: Parameters,
    now: float,
    consent: Mapping[int, frozenset[str]] | None,
    guests: GuestLines | None = None,
) -> Model:
    """Fit the neighbourhood and popularity on consented events only.

    `consent` as in `build_histories` (None: the log is already restricted to consented
    data). `now` anchors the time decay. `guests`: sales without a customer, which add
    to the items' popularity only (no person, so nothing to consent to).
    """
    started = time.perf_counter()
    histories = build_histories(
        events, n_items=len(catalog), params=params, now=now, consent=consent
    )
    x = histories.item_evidence
    raw = _popularity_raw(histories)
    if guests is not None and len(guests.item):
        raw = raw + guest_popularity(guests, n_items=len(catalog), params=params, now=now)
    popularity = ease.popularity_from(raw)
    ease_items = np.zeros(0, dtype=np.int64)
    gram_inverse = None
    if params.family == "ease":
        ease_items = ease.block_items(x, max(int(params.ease_max_items), 0))
        gram_inverse = ease.inverse(
            ease.gram(ease.fit_rows(x, params), ease_items), float(params.ease_lambda)
        )
        tail = None
        if len(ease_items) < int((np.diff(x.tocsc().indptr) > 0).sum()):
            # Collaborative links only: content mixing has no counterpart in EASE^R.
            tail = _neighbourhood(
                histories, catalog, replace(params, repeat_weight=0.0, content_weight=0.0)
            )
        neighbourhood = ease.neighbourhood_from(
            gram_inverse, ease_items, len(catalog), params, catalog.consumable, tail=tail
        )
    elif params.family == "popularity":
        neighbourhood = ease.neighbourhood_from(
            np.zeros((0, 0)), ease_items, len(catalog), params, catalog.consumable
        )
    else:
        neighbourhood = _neighbourhood(histories, catalog, params)
    kept = events.consented(consent) if consent is not None else events
    counts = {"customers": int(len(histories.customers)), "items": len(catalog)}
    for index, code in enumerate(EVIDENCE_CATEGORIES):
        counts[f"events_{code}"] = int(np.count_nonzero(kept.category == index))
    counts["events"] = len(kept)
    if guests is not None:
        counts["guest_lines"] = len(guests.item)
    counts["train_ms"] = int((time.perf_counter() - started) * 1000)
    return Model(
        item_keys=catalog.keys.copy(),
        neighbourhood=neighbourhood,
        popularity=popularity,
        params=params,
        trained_at=now,
        counts=counts,
        family=params.family,
        ease_items=ease_items,
        gram_inverse=gram_inverse,
        popularity_raw=raw,
    )


def _popularity_raw(histories: Histories) -> np.ndarray:
    """Decayed count of customers per item: a customer's share is e/(1+e) of its evidence."""
    x = histories.item_evidence.copy()
    # evidence = log1p(w), so 1 - exp(-evidence) = w / (1 + w): recent, repeated use ~ 1.
    x.data = 1.0 - np.exp(-x.data)
    return np.asarray(x.sum(axis=0), dtype=np.float64).ravel()


def _popularity(histories: Histories) -> np.ndarray:
    return ease.popularity_from(_popularity_raw(histories))


def _neighbourhood(histories: Histories, catalog: Catalog, params: Parameters) -> sparse.csr_matrix:
    n = len(catalog)
    x = histories.item_evidence.tocsc()
    binary = x.copy()
    binary.data[:] = 1.0
    dot = (x.T @ x).tocsr()
    shared = (binary.T @ binary).tocsr()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel())
    norms[norms == 0] = 1.0
    features = content_features(catalog)
    neighbours = max(int(params.neighbours), 1)
    rows_per_block = max(1, BLOCK_CELLS // max(n, 1))
    out_rows, out_cols, out_vals = [], [], []
    for start in range(0, n, rows_per_block):
        stop = min(n, start + rows_per_block)
        block = dot[start:stop].toarray()
        block /= norms[start:stop, None] * norms[None, :]
        together = shared[start:stop].toarray()
        if params.shrinkage > 0:
            block *= together / (together + params.shrinkage)
        if params.content_weight:
            block += params.content_weight * (features[start:stop] @ features.T).toarray()
        local = np.arange(stop - start)
        block[local, start + local] = 0.0
        if neighbours < n:
            keep = np.argpartition(-block, neighbours - 1, axis=1)[:, :neighbours]
        else:
            keep = np.broadcast_to(np.arange(n), block.shape)
        values = np.take_along_axis(block, keep, axis=1)
        positive = values > 0
        out_rows.append(np.broadcast_to(local[:, None] + start, keep.shape)[positive])
        out_cols.append(keep[positive])
        out_vals.append(values[positive])
    rows = np.concatenate(out_rows) if out_rows else np.zeros(0, dtype=np.int64)
    cols = np.concatenate(out_cols) if out_cols else np.zeros(0, dtype=np.int64)
    vals = np.concatenate(out_vals) if out_vals else np.zeros(0)
    # Buying a consumable again is the strongest signal a bakery has.
    repeat = np.flatnonzero(catalog.consumable)
    rows = np.concatenate([rows, repeat])
    cols = np.concatenate([cols, repeat])
    vals = np.concatenate([vals, np.full(len(repeat), params.repeat_weight)])
    matrix = sparse.csr_matrix((vals, (rows, cols)), shape=(n, n))
    matrix.eliminate_zeros()
    return matrix
