"""Movement of each figure between an earlier audit run (previous or baseline) and this one."""

from __future__ import annotations

from collections.abc import Sequence

from audits.metrics.records import Drift, GroupResult


def drift(
    current: Sequence[GroupResult],
    previous: Sequence[GroupResult],
    *,
    threshold: float = 0.05,
    require_clear_interval: bool = True,
) -> list[Drift]:
    """One row per figure of the current run, matched to the earlier run by `key`.

    A figure moved when |current - previous| > `threshold` (in the metric's own units:
    0.05 is five percentage points of a rate). It is a drift finding when it moved and,
    with `require_clear_interval`, this run's interval lies wholly beyond the earlier
    run's interval widened by `threshold` on the side it moved to (low > earlier high +
    threshold, or high < earlier low - threshold): the same "crossed and clear of it"
    rule as a disparity finding. A figure suppressed in either run, or new in this one,
    has no change and no finding.
    """
    if threshold < 0:
        raise ValueError("threshold must not be negative")
    before = {row.key: row for row in previous}
    out = []
    for row in current:
        old = before.get(row.key)
        old_value = None if old is None or old.suppressed else old.value
        value = None if row.suppressed else row.value
        change = None if value is None or old_value is None else value - old_value
        moved = change is not None and abs(change) > threshold
        finding = moved
        if moved and require_clear_interval:
            assert change is not None and old is not None and old_value is not None  # noqa: S101
            if change > 0:
                edge = old_value if old.high is None else old.high
                finding = row.low is not None and row.low > edge + threshold
            else:
                edge = old_value if old.low is None else old.low
                finding = row.high is not None and row.high < edge - threshold
        out.append(
            Drift(
                metric=row.metric,
                attributes=row.attributes,
                group=row.group,
                segment=row.segment,
                previous=old_value,
                current=value,
                change=change,
                current_low=None if row.suppressed else row.low,
                current_high=None if row.suppressed else row.high,
                moved_more_than_threshold=moved,
                finding=finding,
            )
        )
    return out
