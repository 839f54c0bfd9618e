"""Each group against a reference group: difference, ratio, the 80% rule, findings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from audits.metrics.records import Gap, GroupResult

FOUR_FIFTHS = 0.8


def disparity(
    results: Sequence[GroupResult],
    *,
    reference: Mapping[str, str] | None = None,
    ratio_threshold: float = 0.8,
    difference_threshold: float = 0.1,
) -> list[GroupResult]:
    """The same rows, each compared with its table's reference group.

    A table is one metric, segment and set of attributes. Its reference group is the
    one named in `reference` (attribute -> label; an intersection uses the combination
    of its attributes' named labels), else, or when that group is suppressed, the
    published group with the most units (customers, or rows; ties: first in label
    order). Suppressed groups get no comparison.

    With g the group's value, r the reference's, [low, high] the group's interval,
    t = `ratio_threshold` and d = `difference_threshold`:
    - difference = g - r, ratio = g / r (None when r == 0: only the difference rule
      applies then);
    - when higher is better (exposure, true positive rate, nDCG, hit rate) the group
      is disadvantaged below a bound: it crosses the ratio threshold when g < t * r,
      the difference threshold when g < r - d;
    - when lower is better (flagged, rejected, complained, opt-out), above one: it
      crosses the ratio threshold when g > r / t (the reference's rate is less than t
      of the group's), the difference threshold when g > r + d;
    - a ratio (difference) finding needs the threshold crossed *and* the group's whole
      interval past the same bound computed from the reference's least favourable
      plausible value: when higher is better, high < t * ref_low (high < ref_low - d);
      when lower is better, low > ref_high / t (low > ref_high + d). So a finding says
      neither group's sampling noise explains the gap. (With the reference taken as
      exact, 7.5% of 200 simulated audits without any disparity had a finding; with
      this rule 1.5%: docs/audit-method.md);
    - `finding` = ratio finding or difference finding;
    - `fails_four_fifths_rule` is the EEOC rule (29 CFR 1607.4(D)) itself, t = 0.8,
      whatever the owner's threshold, with no interval condition.
    The reference group gets difference 0, ratio 1 and never a finding.
    """
    if not 0 < ratio_threshold <= 1:
        raise ValueError("ratio_threshold must be in (0, 1]")
    if difference_threshold < 0:
        raise ValueError("difference_threshold must not be negative")
    tables: dict[tuple, list[int]] = {}
    for i, row in enumerate(results):
        tables.setdefault(row.table, []).append(i)
    out = list(results)
    for indices in tables.values():
        rows = [results[i] for i in indices]
        ref = _reference(rows, reference)
        if ref is None:
            continue
        for i in indices:
            out[i] = _compare(
                results[i],
                ref,
                ratio_threshold=ratio_threshold,
                difference_threshold=difference_threshold,
            )
    return out


def gaps(results: Sequence[GroupResult]) -> list[Gap]:
    """Largest minus smallest published value, and smallest / largest, per table.

    For selection rate this is Fairlearn's demographic_parity_difference / _ratio over
    the published groups. No interval is given: see `Gap`.
    """
    tables: dict[tuple, list[GroupResult]] = {}
    for row in results:
        tables.setdefault(row.table, []).append(row)
    out = []
    for (metric, segment, attributes), rows in tables.items():
        shown = [r for r in rows if not r.suppressed and r.value is not None]
        if not shown:
            out.append(
                Gap(
                    metric=metric,
                    attributes=attributes,
                    segment=segment,
                    groups_compared=0,
                    highest_group=None,
                    lowest_group=None,
                    difference=None,
                    ratio=None,
                )
            )
            continue
        highest = max(shown, key=_value)
        lowest = min(shown, key=_value)
        out.append(
            Gap(
                metric=metric,
                attributes=attributes,
                segment=segment,
                groups_compared=len(shown),
                highest_group=highest.group,
                lowest_group=lowest.group,
                difference=_value(highest) - _value(lowest),
                ratio=_value(lowest) / _value(highest) if _value(highest) else None,
            )
        )
    return out


def _value(row: GroupResult) -> float:
    assert row.value is not None  # noqa: S101 (only published rows)
    return row.value


def _reference(rows: list[GroupResult], reference: Mapping[str, str] | None) -> GroupResult | None:
    shown = [r for r in rows if not r.suppressed and r.value is not None]
    if not shown:
        return None
    if reference is not None and all(a in reference for a in rows[0].attributes):
        wanted = tuple(reference[a] for a in rows[0].attributes)
        for row in shown:
            if row.group == wanted:
                return row
    return max(shown, key=lambda r: (r.customers if r.customers is not None else r.n) or 0)


def _compare(
    row: GroupResult,
    ref: GroupResult,
    *,
    ratio_threshold: float,
    difference_threshold: float,
) -> GroupResult:
    if row.suppressed or row.value is None:
        return replace(row, reference=ref.group)
    assert ref.value is not None  # noqa: S101
    g, r = row.value, ref.value
    if row.group == ref.group:
        return replace(
            row,
            reference=ref.group,
            is_reference=True,
            difference=0.0,
            ratio=1.0 if r else None,
        )
    ratio = g / r if r else None
    if row.higher_is_better:
        # The reference's least favourable plausible value: the bottom of its interval.
        r_edge = r if ref.low is None else ref.low
        crosses_ratio = r > 0 and g < ratio_threshold * r
        four_fifths = r > 0 and g < FOUR_FIFTHS * r
        crosses_difference = g < r - difference_threshold
        ratio_clear = row.high is not None and row.high < ratio_threshold * r_edge
        difference_clear = row.high is not None and row.high < r_edge - difference_threshold
    else:
        r_edge = r if ref.high is None else ref.high
        crosses_ratio = r > 0 and g > r / ratio_threshold
        four_fifths = r > 0 and g > r / FOUR_FIFTHS
        crosses_difference = g > r + difference_threshold
        ratio_clear = row.low is not None and r_edge > 0 and row.low > r_edge / ratio_threshold
        difference_clear = row.low is not None and row.low > r_edge + difference_threshold
    ratio_finding = crosses_ratio and ratio_clear
    difference_finding = crosses_difference and difference_clear
    return replace(
        row,
        reference=ref.group,
        difference=g - r,
        ratio=ratio,
        fails_four_fifths_rule=four_fifths,
        crosses_ratio_threshold=crosses_ratio,
        crosses_difference_threshold=crosses_difference,
        ratio_finding=ratio_finding,
        difference_finding=difference_finding,
        finding=ratio_finding or difference_finding,
    )
