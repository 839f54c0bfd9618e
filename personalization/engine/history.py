"""Customers' histories as evidence: decayed, kind-weighted, per item and data category.

Evidence is kept per (item, data category) so that every contribution to a score can
name the data category it came from, and switching a category off removes exactly its
share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from scipy import sparse

from personalization.engine.data import (
    EVIDENCE_CATEGORIES,
    KINDS,
    PURCHASE,
    RATING,
    Events,
)
from personalization.engine.params import Parameters

DAY = 86_400.0


def event_weights(events: Events, params: Parameters, now: float) -> np.ndarray:
    """Each event's weight: kind weight x quantity x time decay (never negative)."""
    kind_weight = np.array(
        [params.purchase_weight, params.view_weight, params.cart_weight, params.rating_weight]
    )
    weights = kind_weight[events.kind]
    stars = np.clip((events.value - 2.0) / 3.0, 0.0, 1.0)
    weights = np.where(events.kind == RATING, weights * stars, weights)
    weights = weights * (1.0 + 0.5 * np.log(np.maximum(events.quantity, 1.0)))
    age_days = np.maximum(now - events.at, 0.0) / DAY
    return weights * np.power(0.5, age_days / params.half_life_days)


@dataclass(frozen=True, eq=False)
class Histories:
    """One row per customer (in `customers` order)."""

    customers: np.ndarray  # int64 keys
    n_items: int
    # log1p(sum of event weights) per (customer, category * n_items + item).
    evidence: sparse.csr_matrix
    # Event counts per (customer, kind * n_items + item), for the sentences.
    counts: sparse.csr_matrix
    # Median price paid per unit, NaN without a purchase with a price.
    usual_unit_price: np.ndarray
    # Same entries as `evidence`: 1 + how many of the customer's own later visits
    # (distinct event times) came after the entry's last event (None: not kept).
    visits_after: sparse.csr_matrix | None = None

    @cached_property
    def row(self) -> dict[int, int]:
        return {int(key): i for i, key in enumerate(self.customers)}

    @cached_property
    def item_evidence(self) -> sparse.csr_matrix:
        """Evidence summed over data categories: customers x items."""
        coo = self.evidence.tocoo()
        return sparse.csr_matrix(
            (coo.data, (coo.row, coo.col % self.n_items)),
            shape=(len(self.customers), self.n_items),
        )

    @cached_property
    def purchased(self) -> sparse.csr_matrix:
        """Customers x items: how many purchase events."""
        start = PURCHASE * self.n_items
        return self.counts[:, start : start + self.n_items].tocsr()

    def take(self, rows: np.ndarray) -> Histories:
        return Histories(
            customers=self.customers[rows],
            n_items=self.n_items,
            evidence=self.evidence[rows],
            counts=self.counts[rows],
            usual_unit_price=self.usual_unit_price[rows],
            visits_after=None if self.visits_after is None else self.visits_after[rows],
        )

    def recent(self, half_life_visits: float) -> Histories:
        """The histories as scoring reads them: each entry's evidence halved for every
        `half_life_visits` of the customer's own visits since its last event (0: as is).

        Query-time only: a model is fitted on the unweighted evidence, so a score stays
        linear in what is shown (the weighted evidence) and unlearning is unchanged.
        """
        if half_life_visits <= 0 or self.visits_after is None or not self.evidence.nnz:
            return self
        factor = self.visits_after.copy()
        factor.data = np.power(0.5, (factor.data - 1.0) / float(half_life_visits))
        evidence = sparse.csr_matrix(self.evidence.multiply(factor))
        evidence.sort_indices()
        return replace(self, evidence=evidence)


def build_histories(
    events: Events,
    *,
    n_items: int,
    params: Parameters,
    now: float,
    consent: Mapping[int, frozenset[str]] | None,
    customers: Sequence[int] | np.ndarray | None = None,
) -> Histories:
    """Turn an event log into evidence rows.

    `consent` maps a customer to the data categories they allow: events of any other
    category are dropped before anything is computed. Pass None only for a log the
    caller has already restricted to consented data. `customers` fixes the rows (a
    customer without events gets an empty row); by default, every customer in the log.
    """
    if consent is not None:
        events = events.consented(consent)
    if customers is None:
        keys = np.unique(events.customer)
    else:
        keys = np.asarray(customers, dtype=np.int64)
    n_cat, n_kinds = len(EVIDENCE_CATEGORIES), len(KINDS)
    shape_e = (len(keys), n_cat * n_items)
    shape_c = (len(keys), n_kinds * n_items)
    if len(keys) and len(events):
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        pos = np.searchsorted(sorted_keys, events.customer)
        pos = np.minimum(pos, len(keys) - 1)
        known = sorted_keys[pos] == events.customer
        events = events.select(known)
        rows = order[pos[known]]
    else:
        events = Events.empty()
        rows = np.zeros(0, dtype=np.int64)
    weights = event_weights(events, params, now)
    evidence = sparse.csr_matrix(
        (weights, (rows, events.category.astype(np.int64) * n_items + events.item)),
        shape=shape_e,
    )
    evidence.sum_duplicates()
    evidence.data = np.log1p(evidence.data)
    evidence.eliminate_zeros()
    counts = sparse.csr_matrix(
        (np.ones(len(events)), (rows, events.kind.astype(np.int64) * n_items + events.item)),
        shape=shape_c,
    )
    counts.sum_duplicates()  # also sorts each row's columns (lookups rely on it)
    return Histories(
        customers=keys,
        n_items=n_items,
        evidence=evidence,
        counts=counts,
        usual_unit_price=_median_unit_price(events, rows, len(keys)),
        visits_after=_visits_after(
            evidence, rows, events.category.astype(np.int64) * n_items + events.item, events.at
        ),
    )


def _visits_after(
    evidence: sparse.csr_matrix, rows: np.ndarray, columns: np.ndarray, at: np.ndarray
) -> sparse.csr_matrix:
    """Per evidence entry, 1 + the customer's visits (distinct event times) after the
    entry's last event, with `evidence`'s own sparsity pattern."""
    width = max(evidence.shape[1], 1)
    out = evidence.copy()
    if not evidence.nnz:
        return out
    rows = rows.astype(np.int64)
    key = rows * width + columns.astype(np.int64)
    order = np.lexsort((at, key))
    key_sorted = key[order]
    last_of_key = np.r_[key_sorted[1:] != key_sorted[:-1], True]
    unique_keys = key_sorted[last_of_key]
    last_at = at[order][last_of_key]
    times, code = np.unique(at, return_inverse=True)
    n_times = len(times)
    visits = np.unique(rows * n_times + code)
    entry_row = np.repeat(np.arange(evidence.shape[0], dtype=np.int64), np.diff(evidence.indptr))
    entry_key = entry_row * width + evidence.indices.astype(np.int64)
    where = np.searchsorted(unique_keys, entry_key)
    entry_code = np.searchsorted(times, last_at[where])
    later = np.searchsorted(visits, entry_row * n_times + n_times) - np.searchsorted(
        visits, entry_row * n_times + entry_code, side="right"
    )
    out.data = 1.0 + later.astype(np.float64)
    return out


def _median_unit_price(events: Events, rows: np.ndarray, n_rows: int) -> np.ndarray:
    paid = (events.kind == PURCHASE) & (events.value > 0)
    unit = events.value[paid] / np.maximum(events.quantity[paid], 1.0)
    owner = rows[paid]
    median = np.full(n_rows, np.nan)
    if not len(unit):
        return median
    order = np.lexsort((unit, owner))
    owner, unit = owner[order], unit[order]
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    ends = np.r_[starts[1:], len(owner)]
    lower = unit[starts + (ends - starts - 1) // 2]
    upper = unit[starts + (ends - starts) // 2]
    median[owner[starts]] = (lower + upper) / 2.0
    return median
