"""Small server-rendered SVG charts: horizontal bars with interval whiskers, trend lines.

Pure Python (no Django import): every function returns a complete `<svg>` element as a
string, with user text escaped. In a view, wrap it with `django.utils.safestring.mark_safe`
(or `format_html`) before putting it in the context. The page's Content-Security-Policy
allows no inline styles, so the markup uses only presentation attributes for geometry
and CSS classes for colour (`static/css/site.css`, block "Charts"):

- `.chart` the svg; `.chart-axis`, `.chart-grid`, `.chart-label`, `.chart-value`,
  `.chart-note` text and lines;
- `.chart-bar` (plus `.is-highlight` for a bar to draw the eye to, `.is-reference` for
  the comparison group), `.chart-whisker` interval lines, `.chart-rule` a vertical
  threshold / reference line;
- `.chart-line` with `.series-0` .. `.series-5`, `.chart-point` markers,
  `.chart-band` for an interval band under a line.

Every chart is `role="img"` with a `<title>` and a `<desc>` (both given by the caller,
already translated): screen readers announce those, so pages should also offer the
numbers as a table. Numbers are formatted by the caller's `fmt` (pass a localizing
formatter such as `lambda v: django.utils.formats.number_format(v, 2)`).

Example (bars with 95% intervals, a rule at the reference value):

    svg = bar_chart(
        [Bar("18-24", 0.31, 0.27, 0.35), Bar("55+", None, note="too few to measure")],
        title="Shown discount offers", description="Share of customers per age band",
        fmt=lambda v: f"{v:.0%}", rule=0.31, rule_label="largest group",
    )

Example (a trend over runs, two series, gaps where a run has no value):

    svg = line_chart(
        ["1 Nov", "8 Nov", "15 Nov"],
        [Series("Open findings", [3, 1, None]), Series("Groups measured", [12, 12, 14])],
        title="Audit trend", description="Open findings per run",
    )
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from itertools import count
from typing import TypeVar

_ids = count(1)
_T = TypeVar("_T")


@dataclass(frozen=True)
class Bar:
    """One bar. `value` None draws no bar, only `note` (e.g. "too few to measure")."""

    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    note: str = ""
    highlight: bool = False
    reference: bool = False


@dataclass(frozen=True)
class Series:
    """One line of a trend chart: a value (or None, a gap) per x label.

    `low` / `high` (optional, same length) draw a shaded interval band.
    """

    name: str
    values: Sequence[float | None]
    low: Sequence[float | None] | None = None
    high: Sequence[float | None] | None = None


def _default_fmt(value: float) -> str:
    return f"{value:.3g}"


def _num(value: float) -> str:
    """SVG coordinate: short, locale-independent."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _open(width: float, height: float, title: str, description: str, extra_class: str) -> str:
    uid = next(_ids)
    classes = "chart" + (f" {extra_class}" if extra_class else "")
    return (
        f'<svg class="{escape(classes)}" role="img" viewBox="0 0 {_num(width)} {_num(height)}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="chart-title-{uid} chart-desc-{uid}" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="chart-title-{uid}">{escape(title)}</title>'
        f'<desc id="chart-desc-{uid}">{escape(description)}</desc>'
    )


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5, 5 x 10^k); 1 for 0 or less."""
    if not _finite(value) or value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value * (1 - 1e-12):
            return float(candidate)
    return float(10 ** (exponent + 1))


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    description: str,
    fmt: Callable[[float], str] = _default_fmt,
    max_value: float | None = None,
    rule: float | None = None,
    rule_label: str = "",
    label_width: int = 170,
    width: int = 640,
    bar_height: int = 22,
    gap: int = 10,
    ticks: int = 4,
    extra_class: str = "",
) -> str:
    """Horizontal bars from 0, one per group, each with its interval drawn as a whisker.

    The axis runs from 0 to `max_value` (default: a round number above every value and
    interval end). `rule` draws a vertical line (a threshold, or the reference group's
    value) labelled `rule_label`. Negative values are drawn as 0-length bars with their
    number printed; bars are for non-negative measures (rates, means).
    """
    top, bottom = 8 + (16 if rule is not None and rule_label else 0), 26
    value_width = 120
    plot_left = label_width
    plot_width = max(width - label_width - value_width, 60)
    height = top + bottom + max(len(bars), 1) * (bar_height + gap)
    ends: list[float] = [
        float(b) for bar in bars for b in (bar.value, bar.high) if b is not None and _finite(b)
    ]
    if rule is not None and _finite(rule):
        ends.append(rule)
    axis_max = max_value if max_value and max_value > 0 else nice_max(max(ends, default=0.0))

    def x(value: float) -> float:
        return plot_left + plot_width * min(max(value, 0.0), axis_max) / axis_max

    parts = [_open(width, height, title, description, extra_class)]
    axis_y = height - bottom
    for i in range(ticks + 1):
        tick = axis_max * i / ticks
        tx = x(tick)
        parts.append(
            f'<line class="chart-grid" x1="{_num(tx)}" y1="{top}" x2="{_num(tx)}" '
            f'y2="{_num(axis_y)}" stroke="currentColor" stroke-width="1"/>'
        )
        parts.append(
            f'<text class="chart-axis" x="{_num(tx)}" y="{_num(axis_y + 16)}" '
            f'text-anchor="middle" font-size="11">{escape(fmt(tick))}</text>'
        )
    for i, bar in enumerate(bars):
        y = top + i * (bar_height + gap) + gap / 2
        mid = y + bar_height / 2
        parts.append(
            f'<text class="chart-label" x="{plot_left - 8}" y="{_num(mid + 4)}" '
            f'text-anchor="end" font-size="12">{escape(_clip(bar.label, label_width))}</text>'
        )
        if not _finite(bar.value):
            parts.append(
                f'<text class="chart-note" x="{plot_left + 4}" y="{_num(mid + 4)}" '
                f'font-size="12">{escape(bar.note)}</text>'
            )
            continue
        assert bar.value is not None  # noqa: S101 (checked by _finite)
        classes = "chart-bar"
        if bar.highlight:
            classes += " is-highlight"
        if bar.reference:
            classes += " is-reference"
        parts.append(
            f'<rect class="{classes}" x="{plot_left}" y="{_num(y)}" '
            f'width="{_num(x(bar.value) - plot_left)}" height="{bar_height}" fill="currentColor"/>'
        )
        right = x(bar.value)
        if _finite(bar.low) and _finite(bar.high):
            assert bar.low is not None and bar.high is not None  # noqa: S101
            x1, x2 = x(bar.low), x(bar.high)
            right = max(right, x2)
            cap_top, cap_bottom = _num(mid - bar_height / 4), _num(mid + bar_height / 4)
            parts.append(
                f'<g class="chart-whisker" stroke="currentColor" stroke-width="1.5">'
                f'<line x1="{_num(x1)}" y1="{_num(mid)}" x2="{_num(x2)}" y2="{_num(mid)}"/>'
                f'<line x1="{_num(x1)}" y1="{cap_top}" x2="{_num(x1)}" y2="{cap_bottom}"/>'
                f'<line x1="{_num(x2)}" y1="{cap_top}" x2="{_num(x2)}" y2="{cap_bottom}"/>'
                f"</g>"
            )
        text = fmt(bar.value) + (f" {bar.note}" if bar.note else "")
        parts.append(
            f'<text class="chart-value" x="{_num(right + 6)}" y="{_num(mid + 4)}" '
            f'font-size="12">{escape(text)}</text>'
        )
    if rule is not None and _finite(rule):
        rx = x(rule)
        parts.append(
            f'<line class="chart-rule" x1="{_num(rx)}" y1="{top - 4}" x2="{_num(rx)}" '
            f'y2="{_num(axis_y)}" stroke="currentColor" stroke-width="1.5" stroke-dasharray="4 3"/>'
        )
        if rule_label:
            parts.append(
                f'<text class="chart-axis" x="{_num(rx)}" y="{top - 8}" text-anchor="middle" '
                f'font-size="11">{escape(rule_label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    description: str,
    fmt: Callable[[float], str] = _default_fmt,
    min_value: float | None = 0.0,
    max_value: float | None = None,
    rule: float | None = None,
    rule_label: str = "",
    width: int = 640,
    height: int = 240,
    ticks: int = 4,
    legend: bool = True,
    extra_class: str = "",
) -> str:
    """A trend: one line per series over the x labels (oldest first), gaps where None.

    The y axis runs from `min_value` (default 0; None: the smallest value) to
    `max_value` (default: a round number above every value). A single point is drawn as
    a marker. With more x labels than fit, only every k-th label is printed.
    """
    left, right, top = 56, 16, 12
    legend_height = 20 * ((len(series) + 2) // 3) if legend and series else 0
    bottom = 28 + legend_height
    plot_width = max(width - left - right, 60)
    plot_height = max(height - top - bottom, 40)
    values = [
        v
        for s in series
        for seq in (s.values, s.low or (), s.high or ())
        for v in seq
        if v is not None and _finite(v)
    ]
    if rule is not None and _finite(rule):
        values.append(rule)
    low_end = min(values, default=0.0) if min_value is None else min_value
    high_end = max_value if max_value is not None else nice_max(max(values, default=0.0))
    if high_end <= low_end:
        high_end = low_end + 1.0
    n = len(x_labels)

    def px(i: int) -> float:
        return left + (plot_width * i / (n - 1) if n > 1 else plot_width / 2)

    def py(value: float) -> float:
        clipped = min(max(value, low_end), high_end)
        return top + plot_height * (1 - (clipped - low_end) / (high_end - low_end))

    parts = [_open(width, height, title, description, extra_class)]
    for i in range(ticks + 1):
        tick = low_end + (high_end - low_end) * i / ticks
        ty = py(tick)
        parts.append(
            f'<line class="chart-grid" x1="{left}" y1="{_num(ty)}" x2="{_num(left + plot_width)}" '
            f'y2="{_num(ty)}" stroke="currentColor" stroke-width="1"/>'
        )
        parts.append(
            f'<text class="chart-axis" x="{left - 6}" y="{_num(ty + 4)}" text-anchor="end" '
            f'font-size="11">{escape(fmt(tick))}</text>'
        )
    step = max(1, math.ceil(n / max(1, plot_width // 70)))
    for i, label in enumerate(x_labels):
        if i % step and i != n - 1:
            continue
        parts.append(
            f'<text class="chart-axis" x="{_num(px(i))}" y="{_num(top + plot_height + 16)}" '
            f'text-anchor="middle" font-size="11">{escape(label)}</text>'
        )
    if rule is not None and _finite(rule):
        ry = py(rule)
        parts.append(
            f'<line class="chart-rule" x1="{left}" y1="{_num(ry)}" x2="{_num(left + plot_width)}" '
            f'y2="{_num(ry)}" stroke="currentColor" stroke-width="1.5" stroke-dasharray="4 3"/>'
        )
        if rule_label:
            parts.append(
                f'<text class="chart-axis" x="{_num(left + plot_width)}" y="{_num(ry - 4)}" '
                f'text-anchor="end" font-size="11">{escape(rule_label)}</text>'
            )
    for k, line in enumerate(series):
        cls = f"series-{k % 6}"
        if line.low is not None and line.high is not None:
            bands: list[tuple[float, float] | None] = [
                (float(lo), float(hi))
                if lo is not None and hi is not None and _finite(lo) and _finite(hi)
                else None
                for lo, hi in zip(line.low, line.high, strict=False)
            ]
            for band in _runs(bands):
                upper = " ".join(f"{_num(px(i))},{_num(py(hi))}" for i, (_, hi) in band)
                lower = " ".join(f"{_num(px(i))},{_num(py(lo))}" for i, (lo, _) in reversed(band))
                parts.append(
                    f'<polygon class="chart-band {cls}" points="{upper} {lower}" '
                    f'fill="currentColor" fill-opacity="0.15"/>'
                )
        points: list[float | None] = [
            float(v) if v is not None and _finite(v) else None for v in line.values
        ]
        for run in _runs(points):
            if len(run) > 1:
                path = " ".join(f"{_num(px(i))},{_num(py(v))}" for i, v in run)
                parts.append(
                    f'<polyline class="chart-line {cls}" points="{path}" fill="none" '
                    f'stroke="currentColor" stroke-width="2"/>'
                )
            for i, v in run:
                parts.append(
                    f'<circle class="chart-point {cls}" cx="{_num(px(i))}" cy="{_num(py(v))}" '
                    f'r="3.5" fill="currentColor"><title>{escape(x_labels[i])}: '
                    f"{escape(line.name)} {escape(fmt(v))}</title></circle>"
                )
    if legend:
        columns = max(1, min(3, len(series)))
        for k, line in enumerate(series):
            lx = left + (k % 3) * (plot_width / columns)
            ly = top + plot_height + 36 + 20 * (k // 3)
            cls = f"series-{k % 6}"
            parts.append(
                f'<line class="chart-line {cls}" x1="{_num(lx)}" y1="{_num(ly - 4)}" '
                f'x2="{_num(lx + 18)}" y2="{_num(ly - 4)}" stroke="currentColor" stroke-width="2"/>'
                f'<text class="chart-label" x="{_num(lx + 24)}" y="{_num(ly)}" '
                f'font-size="12">{escape(_clip(line.name, int(plot_width / columns) - 24))}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _runs(values: Sequence[_T | None]) -> list[list[tuple[int, _T]]]:
    """Consecutive non-None stretches as lists of (index, value)."""
    runs: list[list[tuple[int, _T]]] = []
    current: list[tuple[int, _T]] = []
    for i, value in enumerate(values):
        if value is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((i, value))
    if current:
        runs.append(current)
    return runs


def _clip(text: str, pixels: int, char_width: float = 6.6) -> str:
    """Shorten text to roughly fit `pixels` at 12px (the full text stays in tables)."""
    limit = max(4, int(pixels / char_width))
    return text if len(text) <= limit else text[: limit - 1] + "…"
