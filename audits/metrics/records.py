"""Result records: plain dataclasses that serialize to JSON with `to_dict()`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

#: Why a group's figure is not reported.
#: - "too_few": fewer units (customers, or rows when customers are unknown) than the minimum.
#: - "complementary": big enough, but hidden so a too-few group in the same row or column
#:   of the table cannot be recovered by subtraction from a published total.
Suppression = Literal["too_few", "complementary"]


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupResult:
    """One metric for one group (of one attribute or an intersection), in one segment.

    `value`, `low`, `high`, `n` and `customers` are None when `suppressed`: a group too
    small to measure never carries a figure. `reference` and the comparison fields are
    filled in by `disparity()`; until then they are None / False.
    """

    metric: str
    attributes: tuple[str, ...]
    group: tuple[str, ...]
    segment: str | None = None
    n: int | None
    customers: int | None = None
    suppressed: bool
    suppression: Suppression | None = None
    value: float | None
    low: float | None
    high: float | None
    interval: Literal["wilson", "bootstrap"]
    confidence: float
    higher_is_better: bool = True
    reference: tuple[str, ...] | None = None
    is_reference: bool = False
    difference: float | None = None
    ratio: float | None = None
    fails_four_fifths_rule: bool = False
    crosses_ratio_threshold: bool = False
    crosses_difference_threshold: bool = False
    ratio_finding: bool = False
    difference_finding: bool = False
    finding: bool = False

    @property
    def table(self) -> tuple[str, str | None, tuple[str, ...]]:
        """The table this row belongs to: (metric, segment, attributes)."""
        return (self.metric, self.segment, self.attributes)

    @property
    def key(self) -> tuple[str, str | None, tuple[str, ...], tuple[str, ...]]:
        """Identifies the same figure across audit runs."""
        return (self.metric, self.segment, self.attributes, self.group)

    def to_dict(self) -> dict[str, Any]:
        return {k: _plain(v) for k, v in asdict(self).items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class Gap:
    """Largest minus smallest published group value in one table, and smallest / largest.

    Fairlearn's `MetricFrame.difference()` / `.ratio()` (between groups); for selection
    rate these are the demographic parity difference and ratio. No interval: a bootstrap
    interval of a max-min gap is biased upward (the max of noisy estimates overshoots),
    so only per-group intervals are reported.
    """

    metric: str
    attributes: tuple[str, ...]
    segment: str | None = None
    groups_compared: int
    highest_group: tuple[str, ...] | None
    lowest_group: tuple[str, ...] | None
    difference: float | None
    ratio: float | None

    def to_dict(self) -> dict[str, Any]:
        return {k: _plain(v) for k, v in asdict(self).items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class Drift:
    """How one figure moved between an earlier run and this one."""

    metric: str
    attributes: tuple[str, ...]
    group: tuple[str, ...]
    segment: str | None = None
    previous: float | None
    current: float | None
    change: float | None
    current_low: float | None
    current_high: float | None
    moved_more_than_threshold: bool
    finding: bool

    def to_dict(self) -> dict[str, Any]:
        return {k: _plain(v) for k, v in asdict(self).items()}
