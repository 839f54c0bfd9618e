"""Moves the test run's clock: `FAIRSHARE_TEST_CLOCK_SHIFT_DAYS=365 ./scripts/test`.

No test may depend on today's date. CI runs the unit tests once more with the clock a year
ahead (see .ci/run), so a test that mixes a fixed date with the real clock fails there at
once instead of on the day the calendar passes its fixed date. The clock keeps ticking from
the shifted start; only processes this run starts in Python are shifted (the database
server's own clock is not, so tests that need one run unshifted).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

_ENV = "FAIRSHARE_TEST_CLOCK_SHIFT_DAYS"
_travel: time_machine.travel | None = None


def _shift_days() -> int:
    raw = os.environ.get(_ENV, "").strip()
    return int(raw) if raw else 0


def pytest_configure(config: pytest.Config) -> None:
    global _travel
    days = _shift_days()
    if days:
        _travel = time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True)
        _travel.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    global _travel
    if _travel is not None:
        _travel.stop()
        _travel = None


def pytest_report_header(config: pytest.Config) -> str | None:
    days = _shift_days()
    return f"clock shifted {days} days ahead ({_ENV})" if days else None
