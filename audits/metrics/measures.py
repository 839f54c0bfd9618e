"""Per-group rates and means with intervals, and the suppression of small groups.

Every group-by is an `np.bincount` over integer keys (segment x cell); Python loops run
over tables and groups, never over rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Literal

import numpy as np

from audits.metrics.groups import MISSING, Groups
from audits.metrics.intervals import bootstrap_ratio_interval, wilson_interval, z_value
from audits.metrics.records import GroupResult

PUBLISHED, TOO_FEW, COMPLEMENTARY = 0, 1, 2
_REASON: dict[int, Literal["too_few", "complementary"]] = {
    TOO_FEW: "too_few",
    COMPLEMENTARY: "complementary",
}
# Intersections of more attributes than this list only their measurable groups; a
# three-way table is mostly "too few to measure" and would bury the rest of the report.
LIST_SUPPRESSED_UP_TO_ORDER = 2
# Dense (segment x cell x distinct value) count tables up to this many entries.
_DENSE_LIMIT = 1 << 22


def rank_weight(ranks: np.ndarray | Sequence[int]) -> np.ndarray:
    """Exposure of a list position: 1 / log2(rank + 1) for rank >= 1 (DCG's discount), else 0.

    A row's rank-weighted exposure is the sum of these over the items of its category
    in the customer's list; its mean per group, compared with the reference group's, is
    the group's share of rank-weighted exposure relative to its share of customers.
    """
    ranks = np.asarray(ranks, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        weights = 1.0 / np.log2(ranks + 1.0)
    return np.where(ranks >= 1, weights, 0.0)


def rate_by_group(
    groups: Groups,
    successes: np.ndarray | Sequence[bool],
    *,
    metric: str,
    eligible: np.ndarray | Sequence[bool] | None = None,
    min_group_size: int = 20,
    confidence: float = 0.95,
    higher_is_better: bool = True,
) -> list[GroupResult]:
    """Share of eligible rows that are successes, per group, with Wilson score intervals.

    One function for every rate of the audit, by choosing the rows of `groups`,
    `successes` and `eligible`:
    - exposure (selection rate): rows (customer, category) segmented by category,
      success = was shown it;
    - equal opportunity (true positive rate): the same rows, eligible = went on to buy
      from the category, success = had been recommended it;
    - flagged / rejected / complained: rows = recommendations; opt-out: rows =
      customers (with `higher_is_better=False`).

    A group is suppressed (no value, no interval, no n) below `min_group_size` units:
    distinct customers when `groups` knows them, rows otherwise; see `suppress()` for
    the complementary rule. When some customer has several eligible rows in one
    segment, the interval uses Kish's effective sample size n / deff, with deff from
    the ratio estimator's linearised variance over customers (never below 1), so one
    customer's correlated rows do not pass for independent evidence.
    """
    hits = _binary(successes, groups.n_rows, "successes")
    frame = _Frame.build(groups, eligible, min_group_size)
    results: list[GroupResult] = []
    for t, table in enumerate(groups.tables):
        n = frame.rows[t]
        k = _count(frame.keys[t], table.sentinel, weights=hits)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = k / n
        if frame.clustered:
            # Same rate, on the effective number of independent observations.
            n_eff = _effective_n(frame, t, value, hits)
            low, high = wilson_interval(value * n_eff, n_eff, confidence=confidence)
        else:
            low, high = wilson_interval(k, n, confidence=confidence)
        results.extend(
            frame.records(
                t,
                metric=metric,
                value=value,
                low=low,
                high=high,
                interval="wilson",
                confidence=confidence,
                higher_is_better=higher_is_better,
            )
        )
    return _segment_major(results, groups)


def mean_by_group(
    groups: Groups,
    values: np.ndarray | Sequence[float],
    *,
    metric: str,
    eligible: np.ndarray | Sequence[bool] | None = None,
    min_group_size: int = 20,
    confidence: float = 0.95,
    n_resamples: int = 1000,
    seed: int = 0,
    higher_is_better: bool = True,
) -> list[GroupResult]:
    """Mean of `values` over eligible rows, per group, with bootstrap percentile intervals.

    For nDCG@10 and hit rate (rows = customers judged on hold-out purchases) and
    rank-weighted exposure (rows = (customer, category), value = `rank_weight` summed
    over the category's items in the list). Values of ineligible rows are ignored (they
    may be NaN). Each published group is resampled on its own, `n_resamples` times,
    from a Generator seeded with (seed, table, segment, group), so a run repeats
    exactly. When some customer has several eligible rows in one segment, whole
    customers are resampled (cluster bootstrap). Intervals are per group only: a
    bootstrap interval of the max-min gap between groups is biased upward and is not
    computed. Suppression as in `rate_by_group`.
    """
    if n_resamples < 1:
        raise ValueError("n_resamples must be at least 1")
    z_value(confidence)  # refuses a confidence outside (0, 1)
    numbers = np.asarray(values, dtype=np.float64)
    if numbers.shape != (groups.n_rows,):
        raise ValueError(f"values: {numbers.size} values for {groups.n_rows} rows")
    frame = _Frame.build(groups, eligible, min_group_size)
    broken = ~np.isfinite(numbers)
    if broken.any():
        if frame.mask is None or (broken & frame.mask).any():
            raise ValueError("values: must be finite for eligible rows")
        numbers = np.where(broken, 0.0, numbers)
    units = _Units.build(frame, numbers)
    results: list[GroupResult] = []
    for t, table in enumerate(groups.tables):
        n = frame.rows[t]
        sums = _count(frame.keys[t], table.sentinel, weights=numbers)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = sums / n
        low = np.full(n.size, np.nan)
        high = np.full(n.size, np.nan)
        published = np.flatnonzero(frame.status[t].ravel() == PUBLISHED)
        for key, totals, weights, counts in units.by_cell(t, published):
            segment, cell = divmod(int(key), table.size)
            low[key], high[key] = bootstrap_ratio_interval(
                totals,
                weights,
                counts,
                rng=np.random.default_rng([seed, t, segment, cell]),
                n_resamples=n_resamples,
                confidence=confidence,
            )
        results.extend(
            frame.records(
                t,
                metric=metric,
                value=value,
                low=low,
                high=high,
                interval="bootstrap",
                confidence=confidence,
                higher_is_better=higher_is_better,
            )
        )
    return _segment_major(results, groups)


def suppress(
    groups: Groups, sizes: Sequence[np.ndarray], totals: np.ndarray, min_group_size: int
) -> list[np.ndarray]:
    """Status of each (segment, cell) of each table: PUBLISHED, TOO_FEW or COMPLEMENTARY.

    `sizes[t]` has shape (segments, *table.shape), `totals` shape (segments,), both in
    units (customers, or rows). A group under `min_group_size` units (or empty) is
    TOO_FEW. Then the complementary rule: in every line of a table (its cells that
    share all attribute values but one), the units of the line's total not covered by
    published cells must be 0 or at least `min_group_size`. The line's total is the
    segment total for a single attribute (treated as known to the owner) and the
    published parent cell for an intersection. Otherwise the smallest published cell
    of the line is hidden too, until every line passes; so a small group's figure can
    never be recovered by subtracting published figures from one published total.
    Rows with the attribute missing count as hidden units, so undeclared customers
    can already provide the cover. This is the usual cell-suppression heuristic, not
    a proof against every combination of published figures.
    """
    floor = max(int(min_group_size), 1)
    n_segments = totals.shape[0]
    status: list[np.ndarray] = []
    index = {table.positions: t for t, table in enumerate(groups.tables)}
    for t, table in enumerate(groups.tables):
        size = sizes[t]
        state = np.where(size >= floor, PUBLISHED, TOO_FEW).astype(np.int8)
        changed = True
        while changed:
            changed = False
            for axis in range(table.order):
                if table.order == 1:
                    margin = totals
                    margin_published = np.ones(n_segments, dtype=bool)
                else:
                    parent = table.positions[:axis] + table.positions[axis + 1 :]
                    margin = sizes[index[parent]]
                    margin_published = status[index[parent]] == PUBLISHED
                published = state == PUBLISHED
                covered = np.where(published, size, 0).sum(axis=axis + 1)
                hidden = margin - covered
                exposed = margin_published & (hidden > 0) & (hidden < floor)
                if not exposed.any():
                    continue
                candidates = np.moveaxis(
                    np.where(published & (size > 0), size, np.iinfo(np.int64).max), axis + 1, -1
                )
                pick = candidates.argmin(axis=-1)
                possible = np.take_along_axis(candidates, pick[..., None], axis=-1)[..., 0]
                lines = np.nonzero(exposed & (possible < np.iinfo(np.int64).max))
                if not lines[0].size:
                    continue
                np.moveaxis(state, axis + 1, -1)[(*lines, pick[lines])] = COMPLEMENTARY
                changed = True
        status.append(state)
    return status


@dataclass
class _Frame:
    """The rows of one metric call keyed per table, with group sizes and suppression."""

    groups: Groups
    mask: np.ndarray | None
    keys: list[np.ndarray]
    rows: list[np.ndarray]
    units: list[np.ndarray]
    status: list[np.ndarray]
    clustered: bool
    unit_segment: np.ndarray | None = None
    unit_customer: np.ndarray | None = None
    unit_of_row: np.ndarray | None = None

    @classmethod
    def build(
        cls,
        groups: Groups,
        eligible: np.ndarray | Sequence[bool] | None,
        min_group_size: int,
    ) -> _Frame:
        if min_group_size < 0:
            raise ValueError("min_group_size must not be negative")
        mask = None if eligible is None else _binary(eligible, groups.n_rows, "eligible") > 0
        n_segments = groups.n_segments
        keys = [
            table.keys if mask is None else np.where(mask, table.keys, table.sentinel)
            for table in groups.tables
        ]
        rows = [_count(k, table.sentinel) for k, table in zip(keys, groups.tables, strict=True)]
        segments = groups.segment_codes
        if mask is not None:
            segments = np.where(mask, segments, n_segments)
        totals = _count(segments, n_segments)
        frame = cls(
            groups=groups,
            mask=mask,
            keys=keys,
            rows=rows,
            units=rows,
            status=[],
            clustered=False,
        )
        if groups.customers is not None:
            ids, unit_of_row = _customer_units(groups, mask)
            if len(ids) < totals.sum():
                frame.clustered = True
                frame.unit_of_row = unit_of_row
                frame.unit_segment, frame.unit_customer = np.divmod(ids, max(groups.n_customers, 1))
                frame.units = [
                    _count(frame.unit_keys(t), table.sentinel)
                    for t, table in enumerate(groups.tables)
                ]
                totals = _count(frame.unit_segment, n_segments)
        shaped = [
            units.reshape((n_segments, *table.shape))
            for units, table in zip(frame.units, groups.tables, strict=True)
        ]
        frame.status = suppress(groups, shaped, totals, min_group_size)
        return frame

    def unit_keys(self, t: int) -> np.ndarray:
        """Key (segment x cell) of each customer unit in table t; the sentinel if undeclared."""
        assert self.unit_customer is not None and self.unit_segment is not None  # noqa: S101
        table = self.groups.tables[t]
        assert table.customer_cells is not None  # noqa: S101
        cells = table.customer_cells[self.unit_customer]
        return np.where(cells == MISSING, table.sentinel, self.unit_segment * table.size + cells)

    def records(
        self,
        t: int,
        *,
        metric: str,
        value: np.ndarray,
        low: np.ndarray,
        high: np.ndarray,
        interval: Literal["wilson", "bootstrap"],
        confidence: float,
        higher_is_better: bool,
    ) -> list[GroupResult]:
        groups = self.groups
        table = groups.tables[t]
        status = self.status[t].ravel()
        label_sets = list(product(*(groups.attributes[p].labels for p in table.positions)))
        show_suppressed = table.order <= LIST_SUPPRESSED_UP_TO_ORDER
        with_customers = groups.customers is not None
        out = []
        for segment_index, segment in enumerate(groups.segment_labels):
            offset = segment_index * table.size
            for cell, labels in enumerate(label_sets):
                key = offset + cell
                state = int(status[key])
                if state == PUBLISHED:
                    out.append(
                        GroupResult(
                            metric=metric,
                            attributes=table.attributes,
                            group=labels,
                            segment=segment,
                            n=int(self.rows[t][key]),
                            customers=int(self.units[t][key]) if with_customers else None,
                            suppressed=False,
                            value=float(value[key]),
                            low=_finite(low[key]),
                            high=_finite(high[key]),
                            interval=interval,
                            confidence=confidence,
                            higher_is_better=higher_is_better,
                        )
                    )
                elif show_suppressed:
                    out.append(
                        GroupResult(
                            metric=metric,
                            attributes=table.attributes,
                            group=labels,
                            segment=segment,
                            n=None,
                            customers=None,
                            suppressed=True,
                            suppression=_REASON[state],
                            value=None,
                            low=None,
                            high=None,
                            interval=interval,
                            confidence=confidence,
                            higher_is_better=higher_is_better,
                        )
                    )
        return out


@dataclass
class _Units:
    """Resampling units (rows, or customers when clustered) as distinct (total, weight) pairs."""

    frame: _Frame
    pair_of_unit: np.ndarray
    pair_totals: np.ndarray
    pair_weights: np.ndarray

    @classmethod
    def build(cls, frame: _Frame, numbers: np.ndarray) -> _Units:
        if not frame.clustered:
            distinct, pair_of_row = np.unique(numbers, return_inverse=True)
            return cls(
                frame=frame,
                pair_of_unit=pair_of_row.reshape(-1).astype(np.int64, copy=False),
                pair_totals=distinct,
                pair_weights=np.ones(len(distinct)),
            )
        assert frame.unit_of_row is not None and frame.unit_segment is not None  # noqa: S101
        n_units = len(frame.unit_segment)
        totals = _count(frame.unit_of_row, n_units, weights=numbers)
        weights = _count(frame.unit_of_row, n_units)
        width = int(weights.max(initial=0)) + 1
        distinct_totals, total_code = np.unique(totals, return_inverse=True)
        pairs, pair_of_unit = np.unique(
            total_code.reshape(-1) * width + weights, return_inverse=True
        )
        return cls(
            frame=frame,
            pair_of_unit=pair_of_unit.reshape(-1).astype(np.int64, copy=False),
            pair_totals=distinct_totals[pairs // width],
            pair_weights=(pairs % width).astype(np.float64),
        )

    def by_cell(
        self, t: int, cells: np.ndarray
    ) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
        """(key, totals, weights, counts) of the distinct units of each key in `cells`."""
        if not cells.size:
            return
        frame = self.frame
        sentinel = frame.groups.tables[t].sentinel
        keys = frame.unit_keys(t) if frame.clustered else frame.keys[t]
        n_pairs = max(len(self.pair_totals), 1)
        if (sentinel + 1) * n_pairs <= _DENSE_LIMIT:
            counts = np.bincount(
                keys * n_pairs + self.pair_of_unit, minlength=(sentinel + 1) * n_pairs
            )
            counts = counts[: sentinel * n_pairs].reshape(sentinel, n_pairs)
            for key in cells:
                row = counts[key]
                present = np.flatnonzero(row)
                yield int(key), self.pair_totals[present], self.pair_weights[present], row[present]
            return
        kept = keys != sentinel
        combos, counts = np.unique(
            keys[kept] * n_pairs + self.pair_of_unit[kept], return_counts=True
        )
        combo_key, combo_pair = np.divmod(combos, n_pairs)
        starts = np.searchsorted(combo_key, cells, side="left")
        ends = np.searchsorted(combo_key, cells, side="right")
        for key, start, end in zip(cells, starts, ends, strict=True):
            present = combo_pair[start:end]
            yield int(key), self.pair_totals[present], self.pair_weights[present], counts[start:end]


def _customer_units(groups: Groups, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (segment, customer) units among eligible rows, and each row's unit index.

    Rows left out (ineligible, or no segment) get index len(units).
    """
    cached = groups.cache.get("units") if mask is None else None
    if cached is not None:
        return cached
    codes = groups.unit_codes()
    sentinel = groups.n_segments * groups.n_customers
    if mask is not None:
        codes = np.where(mask, codes, sentinel)
    if sentinel <= 8 * len(codes) + (1 << 20):
        seen = np.zeros(sentinel + 1, dtype=bool)
        seen[codes] = True
        seen[sentinel] = False
        ids = np.flatnonzero(seen)
        rank = np.full(sentinel + 1, len(ids), dtype=np.int64)
        rank[ids] = np.arange(len(ids))
        result = (ids, rank[codes])
    else:
        ids, inverse = np.unique(codes, return_inverse=True)
        inverse = inverse.reshape(-1)
        if len(ids) and ids[-1] == sentinel:
            ids = ids[:-1]
        result = (ids, inverse)
    if mask is None:
        groups.cache["units"] = result
    return result


def _effective_n(frame: _Frame, t: int, rate: np.ndarray, hits: np.ndarray) -> np.ndarray:
    """n / deff per key, deff with customers as clusters (Kish 1965), never below 1."""
    assert frame.unit_of_row is not None and frame.unit_segment is not None  # noqa: S101
    n_units = len(frame.unit_segment)
    unit_hits = _count(frame.unit_of_row, n_units, weights=hits)
    unit_rows = _count(frame.unit_of_row, n_units)
    table = frame.groups.tables[t]
    unit_keys = frame.unit_keys(t)
    declared = unit_keys != table.sentinel
    n = frame.rows[t].astype(np.float64)
    customers = frame.units[t].astype(np.float64)
    safe_rate = np.nan_to_num(rate)
    residual = unit_hits[declared] - safe_rate[unit_keys[declared]] * unit_rows[declared]
    spread = np.bincount(unit_keys[declared], weights=residual**2, minlength=n.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = spread / (n * n)
        binomial = safe_rate * (1 - safe_rate) / n
        deff = np.where(binomial > 0, np.maximum(1.0, variance / binomial), n / customers)
        return n / deff


def _count(keys: np.ndarray, sentinel: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Counts (or sums of `weights`) per key 0..sentinel-1; the sentinel bin is dropped."""
    return np.bincount(keys, weights=weights, minlength=sentinel + 1)[:sentinel]


def _binary(values: np.ndarray | Sequence[bool], n_rows: int, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.shape != (n_rows,):
        raise ValueError(f"{name}: {array.size} values for {n_rows} rows")
    if array.dtype == bool:
        return array.astype(np.float64)
    numbers = array.astype(np.float64)
    if not np.isin(numbers, (0.0, 1.0)).all():
        raise ValueError(f"{name}: must be booleans or 0/1")
    return numbers


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _segment_major(results: list[GroupResult], groups: Groups) -> list[GroupResult]:
    """Rows segment by segment (the report reads one offer type at a time)."""
    if groups.n_segments == 1:
        return results
    order = {label: i for i, label in enumerate(groups.segment_labels)}
    return sorted(results, key=lambda r: order[r.segment])  # stable: tables keep their order
