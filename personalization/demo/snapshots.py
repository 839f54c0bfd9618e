"""Daily counts of customers per personalization mode for the demo's past half year.

Customers' modes keep no history, so a new demo would show each "month by month" chart
as one dot. These rows stand in for the daily task's snapshots (`ModeSnapshot`) of the
months before the seed: the shop grows towards today's customers and the pause, off and
none counts drift towards today's, with small day-to-day changes. Deterministic: the
same as-of date, seed and counts always give the same rows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

HISTORY_DAYS = 180


@dataclass(frozen=True)
class DailyModeCounts:
    day: date
    customers: int
    on: int
    paused: int
    off: int
    none: int


def mode_history(
    *,
    as_of: date,
    customers: int,
    paused: int,
    off: int,
    none: int,
    seed: int,
    days: int = HISTORY_DAYS,
) -> list[DailyModeCounts]:
    """One row per day from `days` days before `as_of` up to the day before it, oldest
    first; the counts end near the given ones (today's, recorded by the live task)."""
    rng = random.Random(f"{seed}:mode-history")
    rows = []
    for back in range(days, 0, -1):
        # 0 at the oldest day, 1 on as_of: the shop had about 70 % of today's customers.
        progress = 1 - back / days
        total = round(customers * (0.7 + 0.3 * progress))
        # More customers used pause and off as they learnt about them; a mode nobody
        # uses today had nobody before either.
        counts = []
        for target in (paused, off, none):
            share = (target / customers if customers else 0.0) * (0.4 + 0.6 * progress)
            noise = rng.uniform(-1.0, 1.0)
            counts.append(max(0, round(total * share + noise)) if target else 0)
        while sum(counts) > total:
            counts[counts.index(max(counts))] -= 1
        rows.append(
            DailyModeCounts(as_of - timedelta(days=back), total, total - sum(counts), *counts)
        )
    return rows
