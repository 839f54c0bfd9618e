"""Choosing a shop's model: family and settings on a temporal validation split.

Each customer's interactions are cut in time: their last 20% of visits (distinct event
times, at least one) validate, everything before fits. Every candidate is fitted on the
fit part and judged by nDCG@10 (binary gain) on the purchases of the validation part;
the best one wins and is refit on everything by the caller (`train`). The search stops
when the time budget runs out; the best candidate judged so far wins.

Candidates, most promising first: EASE^R at a few ridge penalties (relative to the
Gram's mean diagonal, so the grid fits any shop's size), then query-time recency on the
best of them (`recency_visits`, no refit), EASE^R fitted on 0/1 rows near the best
penalty (`ease_binary`), the item-kNN hybrid, and popularity alone; for each, the
buy-again weight, the popularity weight and the time decay. The budget is checked
before every fit (and every recency setting), so a run ends within the budget plus one
fit; the previous settings and "most popular" are judged first and stay the fall-backs.
The scores a candidate is judged by are the engine's own (`evidence @ neighbourhood +
popularity`); list shaping (category caps, stated preferences) is the
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
# EASE^R fitted on the weighted evidence, then on 0/1 rows (`Parameters.ease_binary`).
EASE_BINARY = (False, True)
# Query-time recency tried on the best personal candidate (`Parameters.recency_visits`).
RECENCY_VISITS = (16.0, 8.0, 4.0, 2.0)


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
            x = histories.item_evidence
            raw = _popularity_raw(histories)
            cache.clear()
            cache[half_life] = (
                histories,
                x,
                _judged_rows(histories, split.users, 0.0),
                ease.popularity_from(raw),
            )
        return cache[half_life]

    def grid(params: Parameters, personal: np.ndarray | None, xv, pop, what: dict) -> float:
        """Judge the candidate with each buy-again and popularity weight; the best figure."""
        top = -np.inf
        repeat = _repeat(xv, catalog)
        repeats = (0.0,) if protocol == "new" else REPEAT_WEIGHTS
        for r in repeats:
            for w in POPULARITY_WEIGHTS:
                if personal is None and w == 0 and r == 0:
                    continue
                scores = r * repeat + w * pop[None, :]
                if personal is not None:
                    scores = scores + personal
                figure = judge(
                    scores,
                    replace(params, repeat_weight=r, popularity_weight=w),
                    {**what, "repeat_weight": r, "popularity_weight": w},
                )
                top = max(top, figure)
        return top

    # Most popular: the baseline the owner compares with.
    _h, _x, xv0, pop0 = prepared(base.half_life_days)
    popular = ndcg(np.where(banned, -np.inf, np.broadcast_to(pop0, banned.shape)), split.targets)
    report["most_popular"] = {"ndcg@10": round(popular, 4)}

    def judge_previous() -> float | None:
        if previous is None:
            return None
        histories, x, _xv, pop = prepared(previous.half_life_days)
        xv = _judged_rows(histories, split.users, float(previous.recency_visits))
        personal = _personal(previous, x, xv, histories, catalog, n_items)
        repeat = _repeat(xv, catalog)
        scores = previous.repeat_weight * repeat + previous.popularity_weight * pop[None, :]
        if personal is not None:
            scores = scores + personal
        return judge(scores, previous, {"family": previous.family, "previous": True})

    report["previous"] = judge_previous()
    # The best personal candidate so far (its figure, settings, and how to score it
    # again): the recency pass below re-weights its customers' histories.
    best_personal: list = []

    def note_personal(figure: float, params: Parameters, score) -> None:
        if not best_personal or figure > best_personal[0] + 1e-12:
            best_personal[:] = [figure, params, score]

    tried_recency: list[Parameters] = []

    def recency_pass() -> bool:
        """Query-time recency on the best personal candidate so far: the same model, its
        customers' recent history weighing more (one matrix product each, no refit)."""
        if not best_personal or best_personal[1] in tried_recency:
            return True
        _figure, params, score = best_personal
        tried_recency.append(params)
        histories, _x, _xv, pop = prepared(params.half_life_days)
        for visits in RECENCY_VISITS:
            if over_budget():
                return False
            xv = _judged_rows(histories, split.users, visits)
            what = {
                "family": params.family,
                "half_life_days": params.half_life_days,
                "ease_binary": params.ease_binary,
                "ease_lambda": round(params.ease_lambda, 4),
                "recency_visits": visits,
            }
            grid(replace(params, recency_visits=visits), score(xv), xv, pop, what)
        return True

    def search() -> bool:
        """The candidates in order; False when the budget ran out (checked before each fit)."""
        for half_life in HALF_LIVES:
            if over_budget():
                return False
            histories, x, xv, pop = prepared(half_life)
            params = replace(base, half_life_days=half_life, recency_visits=0.0)
            items = ease.block_items(x, int(base.ease_max_items))
            tail = _tail(x, items, histories, catalog, params)
            best_share: dict[bool, tuple[float, float]] = {}
            for binary in EASE_BINARY:
                if over_budget():
                    return False
                fitted_rows = replace(params, ease_binary=binary)
                g = ease.gram(ease.fit_rows(x, fitted_rows), items)
                mean_diag = float(np.mean(np.diag(g))) if len(items) else 1.0
                shares: tuple[float, ...] = LAMBDA_SHARES
                if binary and False in best_share:
                    # 0/1 rows: around the penalty the weighted rows liked best.
                    near = best_share[False][1]
                    shares = (near, near * 2.0, near / 2.0)
                for share in shares:
                    if over_budget():
                        return False
                    lam = max(share * mean_diag, 1e-3)
                    p = ease.inverse(g, lam, single=True)
                    fitted = replace(fitted_rows, family="ease", ease_lambda=lam, repeat_weight=0.0)
                    b = _ease_weights(p, items, fitted)
                    personal = _ease_scores(xv, b, items, tail)
                    what = {
                        "family": "ease",
                        "half_life_days": half_life,
                        "ease_binary": binary,
                        "ease_lambda": round(lam, 4),
                        "lambda_share": share,
                    }
                    figure = grid(fitted, personal, xv, pop, what)
                    if figure > best_share.get(binary, (-np.inf, 0.0))[0]:
                        best_share[binary] = (figure, share)
                    note_personal(
                        figure,
                        fitted,
                        lambda v, b=b, items=items, tail=tail: _ease_scores(v, b, items, tail),
                    )
                if not binary and not recency_pass():
                    return False
            if over_budget():
                return False
            knn = replace(params, family="knn", repeat_weight=0.0)
            neighbourhood = _neighbourhood(histories, catalog, knn)
            figure = grid(
                knn,
                (xv @ neighbourhood).toarray(),
                xv,
                pop,
                {"family": "knn", "half_life_days": half_life},
            )
            note_personal(figure, knn, lambda v, nb=neighbourhood: (v @ nb).toarray())
            grid(
                replace(params, family="popularity"),
                None,
                xv,
                pop,
                {"family": "popularity", "half_life_days": half_life},
            )
            if not recency_pass():
                return False
        return True

    out_of_time = not search()
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
            "ease_binary": chosen.ease_binary,
            "recency_visits": chosen.recency_visits,
        },
        validation={"ndcg@10": round(figure, 4)},
        lift_over_most_popular=round(figure / popular, 3) if popular > 0 else None,
        candidates_judged=len(candidates),
        top_candidates=[{"ndcg@10": round(f, 4), **w} for f, w in candidates[:5]],
        out_of_time=out_of_time,
        seconds=round(clock() - started, 2),
    )
    return Tuning(params=chosen, report=report)


def _judged_rows(histories, users: np.ndarray, recency_visits: float) -> sparse.csr_matrix:
    """The judged customers' evidence rows as scoring reads them (recency-weighted when
    `recency_visits`; an empty row for a customer without fit events)."""
    rows = np.array([histories.row.get(int(c), -1) for c in users], dtype=np.int64)
    x = histories.recent(recency_visits).item_evidence
    xv = sparse.diags((rows >= 0).astype(np.float64)) @ x[np.maximum(rows, 0)]
    return sparse.csr_matrix(xv)


def _personal(params, x, xv, histories, catalog, n_items) -> np.ndarray | None:
    """The collaborative part of a candidate's scores for the judged customers."""
    if params.family == "popularity":
        return None
    fitted = replace(params, repeat_weight=0.0)
    if params.family == "ease":
        items = ease.block_items(x, int(params.ease_max_items))
        p = ease.inverse(ease.gram(ease.fit_rows(x, params), items), float(params.ease_lambda))
        tail = _tail(x, items, histories, catalog, fitted)
        return _ease_scores(xv, _ease_weights(p, items, fitted), items, tail)
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


def _ease_weights(p, items, params) -> np.ndarray:
    return ease.prune(ease.weights(p), int(params.ease_neighbours)) if len(items) else p


def _ease_scores(xv, b, items, tail) -> np.ndarray:
    """xv @ neighbourhood without building it sparse: the dense block by BLAS, the tail."""
    n = xv.shape[1]
    out = np.zeros((xv.shape[0], n))
    if len(items):
        # In b's precision (float32 while judging candidates: twice as fast).
        out[:, items] = xv[:, items].toarray().astype(b.dtype, copy=False) @ b
    if tail is not None:
        out += (xv @ tail).toarray() * ease.tail_scale(b, tail)
    return out


def _repeat(xv: sparse.csr_matrix, catalog: Catalog) -> np.ndarray:
    """The buy-again term at weight 1: each consumable's own evidence."""
    return (xv @ sparse.diags(catalog.consumable.astype(np.float64))).toarray()
