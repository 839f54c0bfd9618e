"""Choosing a shop's model: family and settings on a temporal validation split.

Each customer's interactions are cut in time: their last 20% of visits (distinct event
times, at least one) validate, everything before fits. Every candidate is fitted on the
fit part and judged by nDCG@10 (binary gain) on the purchases of the validation part;
the best one wins and is refit on everything by the caller (`train`). The search stops
when the time budget runs out; the best candidate judged so far wins.

Candidates, most promising first: EASE^R at a few ridge penalties (relative to the
Gram's mean diagonal, so the grid fits any shop's size), the item-kNN hybrid, and
popularity alone; for each, the buy-again weight, the popularity weight and the time
decay. The scores a candidate is judged by are the engine's own (`evidence @
neighbourhood + popularity`); list shaping (category caps, stated preferences) is the
same for every candidate and not part of the choice.

"Most popular" (the popularity prior alone, nothing personal) is always judged too: the
owner sees how much better the chosen model is. The previous model's settings are judged
on the same split: the new choice never validates worse than them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import sparse

from personalization.engine import ease
from personalization.engine.data import PURCHASE, Catalog, Events
from personalization.engine.history import build_histories
from personalization.engine.params import Parameters
from personalization.engine.training import _neighbourhood, _popularity_raw

K = 10
# Judged customers at most (a deterministic, evenly spread sample beyond that).
MAX_JUDGED = 2_000
# Fewer customers with a validation purchase than this: no choice, the defaults train.
MIN_JUDGED = 50
JUDGED_CELLS = 5_000_000
HALF_LIVES = (100_000.0, 120.0)
LAMBDA_SHARES = (0.5, 1.0, 2.0, 4.0, 8.0, 0.25)
REPEAT_WEIGHTS = (0.0, 0.2, 0.4, 0.8, 1.6)
POPULARITY_WEIGHTS = (0.0, 0.1, 0.3, 1.0, 3.0)


@dataclass(frozen=True)
class Split:
    fit: Events
    now: float  # the fit part's "now" (just after its last event)
    users: np.ndarray  # judged customer keys
    targets: list[set[int]]  # per judged customer: item positions bought in validation
    seen: sparse.csr_matrix  # judged customers x items used in the fit part


@dataclass
class Tuning:
    params: Parameters
    # JSON-ready: the choice, its validation figures, most popular's, every candidate's.
    report: dict = field(default_factory=dict)


def temporal_split(
    events: Events, n_items: int, *, share: float = 0.2, protocol: str = "all"
) -> Split | None:
    """The validation split (None when no customer has two visits to cut between)."""
    if not len(events):
        return None
    order = np.lexsort((events.at, events.customer))
    customer, at = events.customer[order], events.at[order]
    starts = np.flatnonzero(np.r_[True, customer[1:] != customer[:-1]])
    ends = np.r_[starts[1:], len(order)]
    held = np.zeros(len(order), dtype=bool)
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        times = np.unique(at[start:end])
        if len(times) < 2:
            continue
        n_test = max(1, int(round(share * len(times))))
        held[start:end] = at[start:end] >= times[-n_test]
    mask = np.zeros(len(events), dtype=bool)
    mask[order] = held
    fit, valid = events.select(~mask), events.select(mask)
    if not len(fit) or not len(valid):
        return None
    wanted = valid.kind == PURCHASE
    if not wanted.any():
        wanted = np.ones(len(valid), dtype=bool)
    targets: dict[int, set[int]] = {}
    for c, i in zip(valid.customer[wanted].tolist(), valid.item[wanted].tolist(), strict=True):
        targets.setdefault(c, set()).add(i)
    users = np.array(sorted(targets), dtype=np.int64)
    # Dense score blocks are judged customers x items: bounded for big catalogs.
    limit = max(200, min(MAX_JUDGED, JUDGED_CELLS // max(n_items, 1)))
    if len(users) > limit:
        users = users[np.linspace(0, len(users) - 1, limit).astype(np.int64)]
    position = {int(c): r for r, c in enumerate(users)}
    in_fit = np.array([int(c) in position for c in fit.customer.tolist()], dtype=bool)
    rows = np.array([position[int(c)] for c in fit.customer[in_fit].tolist()], dtype=np.int64)
    seen = sparse.csr_matrix(
        (np.ones(len(rows)), (rows, fit.item[in_fit])), shape=(len(users), n_items)
    )
    seen.sum_duplicates()
    out_targets = [targets[int(c)] for c in users]
    if protocol == "new":
        out_targets = [
            t - set(seen.indices[seen.indptr[r] : seen.indptr[r + 1]].tolist())
            for r, t in enumerate(out_targets)
        ]
    return Split(
        fit=fit, now=float(fit.at.max()) + 1.0, users=users, targets=out_targets, seen=seen
    )


def ndcg(scores: np.ndarray, targets: Sequence[set[int]], k: int = K) -> float:
    """Mean nDCG@k (binary gain) over the rows with targets; -inf scores never listed."""
    judged = [r for r, t in enumerate(targets) if t]
    if not judged:
        return 0.0
    s = scores[judged]
    width = min(k, s.shape[1])
    top = np.argpartition(-s, width - 1, axis=1)[:, :width]
    top_scores = np.take_along_axis(s, top, axis=1)
    order = np.lexsort((top, -top_scores), axis=1)
    top = np.take_along_axis(top, order, axis=1)
    valid = np.isfinite(np.take_along_axis(top_scores, order, axis=1))
    discounts = 1.0 / np.log2(np.arange(2, width + 2))
    total = 0.0
    for row, r in enumerate(judged):
        wanted = targets[r]
        gains = np.array([int(i) in wanted for i in top[row]]) & valid[row]
        ideal = discounts[: min(len(wanted), width)].sum()
        total += float((gains * discounts).sum()) / ideal
    return float(total / len(judged))


def tune(
    events: Events,
    catalog: Catalog,
    *,
    base: Parameters | None = None,
    previous: Parameters | None = None,
    budget_seconds: float = 120.0,
    protocol: str = "all",
    clock: Callable[[], float] = time.perf_counter,
) -> Tuning:
    """The best family and settings for this shop's (already consented) `events`.

    `base` holds the settings not searched (list length, caps, kind weights ...);
    `previous` the settings of the model serving now, judged on the same split.
    `protocol` "all" judges every purchase of the validation part (buying again counts,
    as in a bakery); "new" only items the customer had not used before.
    """
    started = clock()
    base = base or Parameters()
    split = temporal_split(events, len(catalog), protocol=protocol)
    report: dict = {"protocol": protocol, "budget_seconds": budget_seconds}
    if split is None or not any(split.targets):
        report.update(
            family=base.family, reason="no customer has two visits to validate on", judged=0
        )
        return Tuning(params=base, report=report)
    n_items = len(catalog)
    judged = int(sum(bool(t) for t in split.targets))
    report["judged"] = judged
    if judged < MIN_JUDGED:
        # Too few customers to tell settings apart from noise: the defaults serve.
        report.update(
            family=base.family,
            reason=f"fewer than {MIN_JUDGED} customers to validate on",
            chosen={"family": base.family},
        )
        return Tuning(params=base, report=report)
    # Never listed: items off sale, durables already bought, items seen (protocol new).
    banned = np.repeat(~catalog.active[None, :], len(split.users), axis=0)
    seen = split.seen.tocoo()
    if protocol == "new":
        banned[seen.row, seen.col] = True
    else:
        durable = ~catalog.consumable[seen.col]
        banned[seen.row[durable], seen.col[durable]] = True
    candidates: list[tuple[float, dict]] = []
    best: tuple[float, Parameters] | None = None
    out_of_time = False

    def judge(scores: np.ndarray, params: Parameters, what: dict) -> float:
        nonlocal best
        scores = np.where(banned | (scores <= 0), -np.inf, scores)
        figure = ndcg(scores, split.targets)
        candidates.append((figure, what))
        if best is None or figure > best[0] + 1e-12:
            best = (figure, params)
        return figure

    def over_budget() -> bool:
        return clock() - started > budget_seconds

    # Per half-life: evidence of the fit part, the judged customers' rows, popularity.
    cache: dict[float, tuple] = {}

    def prepared(half_life: float) -> tuple:
        if half_life not in cache:
            params = replace(base, half_life_days=half_life)
            histories = build_histories(
                split.fit, n_items=n_items, params=params, now=split.now, consent=None
            )
            rows = np.array([histories.row.get(int(c), -1) for c in split.users])
            x = histories.item_evidence
            # The judged customers' evidence rows (sparse; empty for a customer unseen).
            xv = sparse.diags((rows >= 0).astype(np.float64)) @ x[np.maximum(rows, 0)]
            xv = sparse.csr_matrix(xv)
            raw = _popularity_raw(histories)
            cache.clear()
            cache[half_life] = (histories, x, xv, ease.popularity_from(raw))
        return cache[half_life]

    def grid(params: Parameters, personal: np.ndarray | None, xv, pop, what: dict) -> None:
        repeat = _repeat(xv, catalog)
        repeats = (0.0,) if protocol == "new" else REPEAT_WEIGHTS
        for r in repeats:
            for w in POPULARITY_WEIGHTS:
                if personal is None and w == 0 and r == 0:
                    continue
                scores = r * repeat + w * pop[None, :]
                if personal is not None:
                    scores = scores + personal
                judge(
                    scores,
                    replace(params, repeat_weight=r, popularity_weight=w),
                    {**what, "repeat_weight": r, "popularity_weight": w},
                )

    # Most popular: the baseline the owner compares with.
    _h, _x, xv0, pop0 = prepared(base.half_life_days)
    popular = ndcg(np.where(banned, -np.inf, np.broadcast_to(pop0, banned.shape)), split.targets)
    report["most_popular"] = {"ndcg@10": round(popular, 4)}

    def judge_previous() -> float | None:
        if previous is None:
            return None
        histories, x, xv, pop = prepared(previous.half_life_days)
        personal = _personal(previous, x, xv, histories, catalog, n_items)
        repeat = _repeat(xv, catalog)
        scores = previous.repeat_weight * repeat + previous.popularity_weight * pop[None, :]
        if personal is not None:
            scores = scores + personal
        return judge(scores, previous, {"family": previous.family, "previous": True})

    report["previous"] = judge_previous()
    for half_life in HALF_LIVES:
        if over_budget():
            out_of_time = True
            break
        histories, x, xv, pop = prepared(half_life)
        params = replace(base, half_life_days=half_life)
        items = ease.block_items(x, int(base.ease_max_items))
        g = ease.gram(x, items)
        tail = _tail(x, items, histories, catalog, params)
        mean_diag = float(np.mean(np.diag(g))) if len(items) else 1.0
        for share in LAMBDA_SHARES:
            if over_budget():
                out_of_time = True
                break
            lam = max(share * mean_diag, 1e-3)
            p = ease.inverse(g, lam, single=True)
            fitted = replace(params, family="ease", ease_lambda=lam, repeat_weight=0.0)
            personal = _ease_scores(xv, p, items, fitted, tail)
            what = {
                "family": "ease",
                "half_life_days": half_life,
                "ease_lambda": round(lam, 4),
                "lambda_share": share,
            }
            grid(fitted, personal, xv, pop, what)
        if over_budget():
            out_of_time = True
            break
        knn = replace(params, family="knn", repeat_weight=0.0)
        grid(
            knn,
            _personal(knn, x, xv, histories, catalog, n_items),
            xv,
            pop,
            {"family": "knn", "half_life_days": half_life},
        )
        grid(
            replace(params, family="popularity"),
            None,
            xv,
            pop,
            {"family": "popularity", "half_life_days": half_life},
        )
    if best is None:  # no time for any candidate: most popular, as judged above
        best = (popular, replace(base, family="popularity", repeat_weight=0.0))
    figure, chosen = best
    candidates.sort(key=lambda c: -c[0])
    report.update(
        family=chosen.family,
        chosen={
            "family": chosen.family,
            "ease_lambda": round(chosen.ease_lambda, 4),
            "repeat_weight": chosen.repeat_weight,
            "popularity_weight": chosen.popularity_weight,
            "half_life_days": chosen.half_life_days,
        },
        validation={"ndcg@10": round(figure, 4)},
        lift_over_most_popular=round(figure / popular, 3) if popular > 0 else None,
        candidates_judged=len(candidates),
        top_candidates=[{"ndcg@10": round(f, 4), **w} for f, w in candidates[:5]],
        out_of_time=out_of_time,
        seconds=round(clock() - started, 2),
    )
    return Tuning(params=chosen, report=report)


def _personal(params, x, xv, histories, catalog, n_items) -> np.ndarray | None:
    """The collaborative part of a candidate's scores for the judged customers."""
    if params.family == "popularity":
        return None
    fitted = replace(params, repeat_weight=0.0)
    if params.family == "ease":
        items = ease.block_items(x, int(params.ease_max_items))
        p = ease.inverse(ease.gram(x, items), float(params.ease_lambda))
        return _ease_scores(xv, p, items, fitted, _tail(x, items, histories, catalog, fitted))
    neighbourhood = _neighbourhood(histories, catalog, fitted)
    return (xv @ neighbourhood).toarray()


def _tail(x, items, histories, catalog, params) -> sparse.csr_matrix | None:
    """The item-kNN links of pairs with an item outside the EASE block (None: no tail)."""
    n = len(catalog)
    if len(items) >= int((np.diff(x.tocsc().indptr) > 0).sum()):
        return None
    knn = _neighbourhood(
        histories, catalog, replace(params, repeat_weight=0.0, content_weight=0.0)
    ).tocoo()
    inside = np.zeros(n, dtype=bool)
    inside[items] = True
    keep = ~(inside[knn.row] & inside[knn.col]) & (knn.row != knn.col)
    return sparse.csr_matrix((knn.data[keep], (knn.row[keep], knn.col[keep])), shape=(n, n))


def _ease_scores(xv, p, items, params, tail) -> np.ndarray:
    """xv @ neighbourhood without building it sparse: the dense block by BLAS, the tail."""
    n = xv.shape[1]
    out = np.zeros((xv.shape[0], n))
    b = ease.prune(ease.weights(p), int(params.ease_neighbours)) if len(items) else p
    if len(items):
        out[:, items] = xv[:, items].toarray() @ b
    if tail is not None:
        out += (xv @ tail).toarray() * ease.tail_scale(b, tail)
    return out


def _repeat(xv: sparse.csr_matrix, catalog: Catalog) -> np.ndarray:
    """The buy-again term at weight 1: each consumable's own evidence."""
    return (xv @ sparse.diags(catalog.consumable.astype(np.float64))).toarray()
