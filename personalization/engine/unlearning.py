"""Exact unlearning for linear item-item models: take a customer's rows out of a model.

EASE^R (Steck 2019) keeps P = (X^T X + lambda I)^-1 and serves B = I - P / diag(P).
A customer's weighted row x enters the Gram matrix as the rank-one term x^T x, so
removing them (or the part of their row a withdrawn consent covered) is a low-rank
change of G, and the Woodbury identity turns it into a change of P:

    (G + U^T C U)^-1 = P - P U^T (C^-1 + U P U^T)^-1 U P,   C = diag(+-1)

with U the k rows taken out (sign -1) or put back (sign +1; a consent withdrawn for one
data category leaves the rest of the row, so the old row goes and the new one comes).
Cost: O(n^2 k) for n items, instead of the O(n^3) of a refit. Done in float64; the
k x k core is checked before it is solved, and a change the model cannot take exactly
(a row it never held, a badly conditioned core) raises `IllConditioned`, which tells the
caller to refit from the data instead.

Statistics that are plain sums over customers (popularity counts, repeat counts) are
downdated by subtracting the customer's share.

No Django here: the Django side (`personalization.recommending.unlearning`) finds the
rows and stores the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
from scipy import linalg, sparse

from personalization.engine import ease
from personalization.engine.training import Model

# The k x k core may amplify rounding by at most this factor (float64 keeps ~16 digits,
# so the update stays good to ~1e-8 relative); beyond it a refit is asked for.
MAX_CORE_CONDITION = 1e8


class IllConditioned(ArithmeticError):
    """The downdate cannot be done exactly enough: refit from the data instead."""


@dataclass(frozen=True)
class RowChange:
    """Rows leaving the model's data (`removed`) and rows joining it (`added`).

    Both are k x n (dense or sparse), in the model's item order and weighting: the exact
    rows X held or will hold for the affected customers.
    """

    removed: np.ndarray | sparse.spmatrix
    added: np.ndarray | sparse.spmatrix | None = None

    def stacked(self, n_items: int) -> tuple[sparse.csr_matrix, np.ndarray]:
        """The rows as one sparse matrix U (zero rows dropped) and their signs C."""
        parts, signs = [], []
        for rows, sign in ((self.removed, -1.0), (self.added, 1.0)):
            if rows is None:
                continue
            matrix = sparse.csr_matrix(rows, dtype=np.float64)
            if matrix.shape[1] != n_items:
                raise ValueError(f"rows have {matrix.shape[1]} items, the model {n_items}")
            matrix.eliminate_zeros()
            keep = np.flatnonzero(np.diff(matrix.indptr) > 0)
            if len(keep):
                parts.append(matrix[keep])
                signs.append(np.full(len(keep), sign))
        if not parts:
            return sparse.csr_matrix((0, n_items)), np.zeros(0)
        return sparse.vstack(parts).tocsr(), np.concatenate(signs)


def gram_change(change: RowChange, n_items: int) -> sparse.csr_matrix:
    """The change of X^T X the rows make: sum of sign x^T x (for checks and small models)."""
    u, signs = change.stacked(n_items)
    return (u.T @ sparse.diags(signs) @ u).tocsr()


def inverse_update(inverse: np.ndarray, change: RowChange) -> np.ndarray:
    """P' = (G + U^T C U)^-1 from P = G^-1 by the Woodbury identity, in float64.

    Only the items the rows touch are read from U; the result is symmetric. Raises
    `IllConditioned` when the result would not be a valid inverse Gram matrix (the rows
    were not in the model's data, or the core is too badly conditioned to solve).
    """
    p = np.asarray(inverse, dtype=np.float64)
    n = p.shape[0]
    if p.shape != (n, n):
        raise ValueError("the inverse Gram matrix must be square")
    u, signs = change.stacked(n)
    if not len(signs):
        return p.copy()
    support = np.unique(u.indices)
    u_s = u[:, support].toarray()  # k x s
    p_u = p[:, support] @ u_s.T  # n x k: P U^T (P is symmetric)
    core = np.diag(1.0 / signs) + u_s @ p_u[support, :]  # C^-1 + U P U^T
    core = (core + core.T) / 2.0
    if not np.all(np.isfinite(core)):
        raise IllConditioned("the update is not finite")
    condition = np.linalg.cond(core)
    if not np.isfinite(condition) or condition > MAX_CORE_CONDITION:
        raise IllConditioned(f"the update's core is ill-conditioned (condition {condition:.3g})")
    if np.all(signs < 0):
        # Pure removal: -(C^-1 + U P U^T) = I - U P U^T must be positive definite, or the
        # rows were never part of G (removing them would leave a matrix that is no Gram).
        try:
            factor = linalg.cho_factor(-core, lower=True, check_finite=False)
        except linalg.LinAlgError as exc:
            raise IllConditioned("these rows are not part of the model's data") from exc
        solved = -linalg.cho_solve(factor, p_u.T, check_finite=False)
    else:
        solved = linalg.solve(core, p_u.T, assume_a="sym", check_finite=False)
    updated = p - p_u @ solved
    updated = (updated + updated.T) / 2.0
    diagonal = np.diag(updated)
    if not np.all(np.isfinite(diagonal)) or np.any(diagonal <= 0):
        raise IllConditioned("the updated inverse is not positive definite")
    return updated


def ease_weights(inverse: np.ndarray) -> np.ndarray:
    """EASE^R's item-item weights from P: B = I - P / diag(P), zero diagonal (Steck 2019)."""
    p = np.asarray(inverse, dtype=np.float64)
    weights = -p / np.diag(p)[None, :]
    np.fill_diagonal(weights, 0.0)
    return weights


def ease_inverse(rows: np.ndarray | sparse.spmatrix, lam: float) -> np.ndarray:
    """P = (X^T X + lam I)^-1 fitted from scratch, in float64 (the refit fallback)."""
    x = sparse.csr_matrix(rows, dtype=np.float64)
    gram = (x.T @ x).toarray()
    gram[np.diag_indices_from(gram)] += lam
    return linalg.inv(gram, check_finite=False, overwrite_a=True)


def sums_update(
    totals: np.ndarray,
    removed: np.ndarray | sparse.spmatrix | None,
    added: np.ndarray | sparse.spmatrix | None = None,
) -> np.ndarray:
    """A statistic that sums per-customer shares (k x n each) without those customers.

    Popularity counts and repeat counts are such sums; the customer's share is taken
    out (and the share they keep put back). Rounding below zero is clipped.
    """
    out = np.asarray(totals, dtype=np.float64).copy()
    if removed is not None:
        out -= np.asarray(sparse.csr_matrix(removed).sum(axis=0)).ravel()
    if added is not None:
        out += np.asarray(sparse.csr_matrix(added).sum(axis=0)).ravel()
    scale = max(float(np.abs(totals).max()) if len(out) else 0.0, 1.0)
    out[(out < 0) & (out > -1e-9 * scale)] = 0.0
    if np.any(out < 0):
        raise IllConditioned("a customer's share is larger than the total it is taken from")
    return out


class NotUnlearnable(Exception):
    """This model cannot drop a customer's rows exactly; it must be retrained without them.

    `reason`: "knn" (the item-kNN hybrid keeps only pruned similarities, not the sums
    they came from) or "tail" (an EASE^R model over a catalog larger than its block:
    the tail is item-kNN, and which items form the block may itself change).
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# An item's raw popularity at most this share of what it was, after a customer's share
# went, is rounding: nobody is left who used it.
_UNUSED = 1e-9


def popularity_shares(rows: sparse.spmatrix | np.ndarray) -> sparse.csr_matrix:
    """Each customer's share of the raw popularity: 1 - exp(-evidence) per item."""
    shares = sparse.csr_matrix(rows, dtype=np.float64, copy=True)
    shares.data = -np.expm1(-shares.data)
    return shares


def _left_alone(
    p: np.ndarray, items: np.ndarray, removed: sparse.csr_matrix, lam: float
) -> np.ndarray:
    """Block items the removed rows touched that no customer uses any more, read off P':
    an unused item's row of X'X is zero, so its row of P' is e_j / lambda. (Popularity
    cannot tell once guest sales count in it.)"""
    out = np.zeros(len(items), dtype=bool)
    touched = np.flatnonzero(np.isin(items, np.unique(removed.indices)))
    for j in touched:
        row = p[j] * lam
        off = np.delete(row, j)
        out[j] = abs(row[j] - 1.0) <= _UNUSED and (not len(off) or np.abs(off).max() <= _UNUSED)
    return out


def forget_rows(
    model: Model,
    *,
    removed: sparse.spmatrix | np.ndarray,
    added: sparse.spmatrix | np.ndarray | None = None,
    counts_change: Mapping[str, int] | None = None,
) -> Model:
    """`model` as if trained without the customers' `removed` evidence rows, with their
    `added` rows instead (the part of a row a consent still allows; None for an erasure).

    Rows are customers x catalog items, weighted exactly as training weighted them
    (`build_histories(..., now=model.trained_at).item_evidence`). EASE^R models get a
    Woodbury update of P, popularity models only their popularity; items nobody uses
    any more leave the EASE block, as a refit would leave them out. Raises
    `NotUnlearnable` for models that must be retrained and `IllConditioned` when the
    update would not be exact enough (refit then too).
    """
    removed = sparse.csr_matrix(removed, dtype=np.float64)
    added = None if added is None else sparse.csr_matrix(added, dtype=np.float64)
    if model.family == "knn" or model.popularity_raw is None:
        raise NotUnlearnable(
            "knn", "the item-kNN model keeps no sums to subtract from; retrain without them"
        )
    raw_before = np.asarray(model.popularity_raw, dtype=np.float64)
    items = np.asarray(model.ease_items, dtype=np.int64)
    # The block holds every item a customer used unless it is full (guest sales alone
    # make an item popular without putting it in the block).
    full = len(items) >= int(model.params.ease_max_items)
    if model.family == "ease" and full and int(np.count_nonzero(raw_before > 0)) > len(items):
        raise NotUnlearnable(
            "tail", "part of the catalog is served by item-kNN; retrain without them"
        )
    raw = sums_update(
        raw_before,
        popularity_shares(removed),
        None if added is None else popularity_shares(added),
    )
    gone = raw <= _UNUSED * np.maximum(raw_before, 1.0)
    raw[gone] = 0.0
    p = np.zeros((0, 0))
    if model.family == "ease" and model.gram_inverse is not None and len(items):
        # The Gram's rows as training built them (0/1 under `ease_binary`).
        fit_removed = ease.fit_rows(removed, model.params)
        fit_added = None if added is None else ease.fit_rows(added, model.params)
        change = RowChange(
            removed=fit_removed[:, items],
            added=None if fit_added is None else fit_added[:, items],
        )
        p = inverse_update(model.gram_inverse, change)
        # An item nobody uses has a zero row in X'X: P is block-diagonal there, so the
        # rest of P is exactly the inverse a refit without that item computes.
        keep = ~gone[items] & ~_left_alone(p, items, removed, float(model.params.ease_lambda))
        if not np.all(keep):
            p = p[np.ix_(keep, keep)]
            items = items[keep]
    # No item-kNN tail (refused above): off the diagonal, everything comes from P. Only
    # the buy-again diagonal is kept, so no weight of an item that left the block stays.
    repeat_only = sparse.diags(model.neighbourhood.diagonal()).tocsr()
    rebuilt = ease.rebuild(replace(model, ease_items=items, neighbourhood=repeat_only), p, raw)
    counts = dict(model.counts)
    for key, delta in (counts_change or {}).items():
        counts[key] = max(int(counts.get(key, 0)) + int(delta), 0)
    return replace(rebuilt, counts=counts)
