"""EASE^R (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data").

A linear item-item model in closed form over the customers x items evidence X (the
same kind-weighted, decayed evidence scoring reads, `Histories.item_evidence`):

    P = (X'X + lambda I)^-1,    B = I - P / diag(P)   (so diag(B) = 0)

B[j, i] is how much one unit of evidence on item j adds to item i, and it may be
negative ("customers who buy j rarely buy i"). A score is evidence @ B plus the
buy-again, liked-category and popularity terms, each its own reason.

P is kept with the model so that a customer's rows can be taken out exactly later (a
rank-one downdate of P, `unlearning`): `neighbourhood_from(P, ...)` rebuilds what
scoring uses from P alone. See /docs/decisions.md and the artifact layout in `serialize`.

Large catalogs: the N most used items (N = `ease_max_items`) form the EASE block; the
rest keep the item-kNN rows and columns (`training._neighbourhood`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from scipy import linalg, sparse

from personalization.engine.params import Parameters

if TYPE_CHECKING:
    from personalization.engine.training import Model


def block_items(x: sparse.csr_matrix, limit: int) -> np.ndarray:
    """Positions of the items in the EASE block: the `limit` items most customers used
    (ties by position), ascending; items nobody used are left out."""
    users = np.diff(x.tocsc().indptr)
    used = np.flatnonzero(users > 0)
    if len(used) > limit:
        order = np.lexsort((used, -users[used]))
        used = np.sort(used[order[:limit]])
    return used.astype(np.int64)


def fit_rows(x: sparse.spmatrix, params: Parameters) -> sparse.csr_matrix:
    """The rows X'X is built from: the evidence as it is, or 0/1 (`ease_binary`)."""
    rows = sparse.csr_matrix(x, dtype=np.float64, copy=True)
    if params.ease_binary:
        rows.eliminate_zeros()
        rows.data[:] = 1.0
    return rows


def gram(x: sparse.csr_matrix, items: np.ndarray) -> np.ndarray:
    """X'X over the block's columns, dense float64."""
    block = x[:, items].tocsc().astype(np.float64)
    return np.asarray((block.T @ block).toarray(), dtype=np.float64)


def inverse(gram_matrix: np.ndarray, lam: float, *, single: bool = False) -> np.ndarray:
    """P = (G + lambda I)^-1 by Cholesky (G + lambda I is positive definite for lambda > 0).

    `single`: in float32, twice as fast, for judging candidates (the model keeps float64).
    """
    if lam <= 0:
        raise ValueError("ease_lambda must be positive")
    n = gram_matrix.shape[0]
    if n == 0:
        return np.zeros((0, 0))
    g: np.ndarray = np.array(gram_matrix, dtype=np.float32 if single else np.float64)
    g[np.diag_indices(n)] = g[np.diag_indices(n)] + lam
    potrf, potri = (
        (linalg.lapack.spotrf, linalg.lapack.spotri)
        if single
        else (linalg.lapack.dpotrf, linalg.lapack.dpotri)
    )
    factor, info = potrf(g, lower=False, clean=True, overwrite_a=True)
    if info != 0:
        raise linalg.LinAlgError(f"Cholesky factorisation failed ({info})")
    p, info = potri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise linalg.LinAlgError(f"inverse from Cholesky failed ({info})")
    # potri fills the upper triangle; the lower one is still the clean factor's zeros.
    p = p + p.T
    p[np.diag_indices(n)] *= 0.5
    return p


def weights(p: np.ndarray) -> np.ndarray:
    """B = I - P / diag(P): B[j, i] = -P[j, i] / P[i, i] off the diagonal, 0 on it."""
    b = p / (-np.diag(p))[None, :]
    np.fill_diagonal(b, 0.0)
    return b


def prune(b: np.ndarray, keep: int) -> np.ndarray:
    """Each row keeps its `keep` largest |weights| (0: all); ties go to the lower column."""
    n = b.shape[0]
    if keep <= 0 or keep >= n - 1:
        return b
    out = np.zeros_like(b)
    size = -np.abs(b)
    # A stable order by size, then column: deterministic for a downdated P as well.
    order = np.argsort(size, axis=1, kind="stable")[:, :keep]
    rows = np.arange(n)[:, None]
    out[rows, order] = b[rows, order]
    return out


def neighbourhood_from(
    p: np.ndarray,
    items: np.ndarray,
    n_items: int,
    params: Parameters,
    consumable: np.ndarray,
    *,
    tail: sparse.csr_matrix | None = None,
    tail_scaled: bool = False,
) -> sparse.csr_matrix:
    """What scoring uses: the pruned B at rows and columns `items`, the item-kNN `tail`
    for pairs with an item outside the block, and `repeat_weight` on the diagonal of
    consumable items (buying again). The tail's cosine similarities are brought to B's
    scale (`tail_scale`) unless `tail_scaled` (a model's stored tail already is)."""
    b = prune(weights(p), int(params.ease_neighbours)) if len(items) else np.zeros((0, 0))
    local = sparse.coo_matrix(b)
    rows, cols, vals = [items[local.row]], [items[local.col]], [local.data]
    if tail is not None and tail.nnz:
        t = tail.tocoo()
        inside = np.zeros(n_items, dtype=bool)
        inside[items] = True
        outside = ~(inside[t.row] & inside[t.col]) & (t.row != t.col)
        data = t.data[outside]
        if not tail_scaled:
            data = data * tail_scale(b, sparse.csr_matrix(tail))
        rows.append(t.row[outside])
        cols.append(t.col[outside])
        vals.append(data)
    repeat = np.flatnonzero(consumable)
    if params.repeat_weight:
        rows.append(repeat)
        cols.append(repeat)
        vals.append(np.full(len(repeat), float(params.repeat_weight)))
    matrix = sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_items, n_items),
    )
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    return matrix


def tail_scale(b: np.ndarray, tail: sparse.csr_matrix) -> float:
    """The factor that brings item-kNN similarities to EASE^R's scale: the median of the
    rows' strongest |B| weight over the median of the rows' strongest tail link."""
    if not b.size or not tail.nnz:
        return 1.0
    strongest_b = np.abs(b).max(axis=1)
    strongest_t = np.asarray(abs(tail).max(axis=1).todense()).ravel()
    top_b = float(np.median(strongest_b[strongest_b > 0])) if (strongest_b > 0).any() else 0.0
    top_t = float(np.median(strongest_t[strongest_t > 0])) if (strongest_t > 0).any() else 0.0
    return top_b / top_t if top_b > 0 and top_t > 0 else 1.0


def popularity_from(raw: np.ndarray) -> np.ndarray:
    """The popularity prior (0..1) from its raw sums (see `training._popularity_raw`)."""
    top = raw.max() if len(raw) else 0.0
    if top <= 0:
        return np.zeros(len(raw))
    return np.sqrt(raw / top)


def rebuild(model: Model, gram_inverse: np.ndarray, popularity_raw: np.ndarray) -> Model:
    """`model` with a new P and popularity (e.g. after a downdate), all else kept.

    The buy-again diagonal is read from the model; the kNN tail of a catalog larger than
    the block is kept as it is (it is not derived from P)."""
    n = len(model.item_keys)
    consumable = model.neighbourhood.diagonal() != 0
    tail = None
    if len(model.ease_items) < n:
        inside = np.zeros(n, dtype=bool)
        inside[model.ease_items] = True
        coo = model.neighbourhood.tocoo()
        keep = ~(inside[coo.row] & inside[coo.col]) & (coo.row != coo.col)
        tail = sparse.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=(n, n))
    neighbourhood = neighbourhood_from(
        gram_inverse, model.ease_items, n, model.params, consumable, tail=tail, tail_scaled=True
    )
    return replace(
        model,
        neighbourhood=neighbourhood,
        gram_inverse=gram_inverse,
        popularity_raw=popularity_raw,
        popularity=popularity_from(popularity_raw),
    )
