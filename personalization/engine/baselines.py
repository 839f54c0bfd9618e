"""The two baselines the engine has to beat, over the same interactions and rules.

- popularity: the items most customers interacted with;
- plain cosine item-kNN: binary customer x item matrix, cosine between items (an item is
  its own nearest neighbour, so it may suggest buying again, as the engine does), a
  history's score is the sum of its items' similarities. No decay, weights, pruning or
  content.

Both obey the engine's hard rules (inactive, restrictions, missing allergen data, a
durable already bought) so that a comparison measures ranking, not rule-breaking.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

from personalization.engine.data import PURCHASE, Catalog, Events, Shopper


def interaction_matrix(events: Events, customers: np.ndarray, n_items: int) -> sparse.csr_matrix:
    """Binary customers x items (rows in `customers` order)."""
    order = np.argsort(customers, kind="stable")
    pos = np.searchsorted(customers[order], events.customer)
    pos = np.minimum(pos, max(len(customers) - 1, 0))
    known = customers[order][pos] == events.customer if len(customers) else pos < 0
    matrix = sparse.csr_matrix(
        (np.ones(int(known.sum())), (order[pos[known]], events.item[known])),
        shape=(len(customers), n_items),
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


class PopularityBaseline:
    def __init__(self, events: Events, catalog: Catalog):
        customers = np.unique(events.customer)
        matrix = interaction_matrix(events, customers, len(catalog))
        self.scores = np.asarray(matrix.sum(axis=0)).ravel()

    def score(self, history: sparse.csr_matrix) -> np.ndarray:
        return np.broadcast_to(self.scores, history.shape).copy()


class CosineItemKnn:
    def __init__(self, events: Events, catalog: Catalog):
        customers = np.unique(events.customer)
        matrix = interaction_matrix(events, customers, len(catalog)).tocsc()
        norms = np.sqrt(np.asarray(matrix.sum(axis=0)).ravel())
        norms[norms == 0] = 1.0
        scale = sparse.diags(1.0 / norms)
        self.similarity = (scale @ (matrix.T @ matrix) @ scale).tocsr()
        self.popularity = np.asarray(matrix.sum(axis=0)).ravel()

    def score(self, history: sparse.csr_matrix) -> np.ndarray:
        scores = np.asarray((history @ self.similarity).todense())
        # Ties (e.g. items no history reaches) go to the more popular item.
        top = self.popularity.max() if len(self.popularity) else 0.0
        return scores + 1e-6 * self.popularity / max(top, 1.0)


def top_k(
    scores: np.ndarray,
    catalog: Catalog,
    shoppers: Sequence[Shopper],
    purchased: sparse.csr_matrix,
    k: int,
) -> list[list[int]]:
    """Best `k` allowed item positions per row, the engine's hard rules applied."""
    lists = []
    for row, shopper in enumerate(shoppers):
        allowed = catalog.active.copy()
        if shopper.restrictions:
            allowed &= ~catalog.carrying(shopper.restrictions)
        if shopper.has_allergen_restriction:
            allowed &= catalog.allergens_declared
        for key in shopper.not_for_me | shopper.cant_have:
            pos = catalog.position.get(key)
            if pos is not None:
                allowed[pos] = False
        bought = purchased.indices[purchased.indptr[row] : purchased.indptr[row + 1]]
        allowed[bought[~catalog.consumable[bought]]] = False
        candidates = np.flatnonzero(allowed)
        ranked = candidates[np.lexsort((candidates, -scores[row, candidates]))]
        lists.append([int(i) for i in ranked[:k]])
    return lists


def purchases(events: Events, customers: np.ndarray, n_items: int) -> sparse.csr_matrix:
    return interaction_matrix(events.select(events.kind == PURCHASE), customers, n_items)
