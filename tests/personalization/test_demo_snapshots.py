"""The demo's half year of daily personalization-mode counts (the owner's charts)."""

from datetime import date, timedelta

from personalization.demo import HISTORY_DAYS, mode_history

AS_OF = date(2026, 11, 20)
NOW = {"customers": 300, "paused": 12, "off": 9, "none": 6}


def test_one_row_per_day_for_half_a_year_ending_the_day_before_the_seed():
    rows = mode_history(as_of=AS_OF, seed=1874, **NOW)
    assert len(rows) == HISTORY_DAYS == 180
    assert rows[0].day == AS_OF - timedelta(days=180)
    assert rows[-1].day == AS_OF - timedelta(days=1)
    assert [b.day - a.day for a, b in zip(rows, rows[1:], strict=False)] == [
        timedelta(days=1)
    ] * 179


def test_counts_add_up_grow_towards_today_and_are_the_same_every_time():
    rows = mode_history(as_of=AS_OF, seed=1874, **NOW)
    assert rows == mode_history(as_of=AS_OF, seed=1874, **NOW)
    assert rows != mode_history(as_of=AS_OF, seed=7, **NOW)
    for row in rows:
        assert min(row.on, row.paused, row.off, row.none) >= 0
        assert row.on + row.paused + row.off + row.none == row.customers
    assert rows[0].customers == 210 and rows[-1].customers >= 298
    # Near the end the shares are close to today's (within two customers each).
    last = rows[-1]
    assert abs(last.paused - 12) <= 2 and abs(last.off - 9) <= 2 and abs(last.none - 6) <= 2
    assert sum(r.paused for r in rows[:30]) < sum(r.paused for r in rows[-30:])


def test_an_empty_shop_has_an_empty_history_and_an_unused_mode_stays_unused():
    empty = mode_history(as_of=AS_OF, seed=1, customers=0, paused=0, off=0, none=0)
    assert all(row.customers == row.paused == row.off == row.none == 0 for row in empty)
    rows = mode_history(as_of=AS_OF, seed=1, customers=50, paused=5, off=0, none=0)
    assert all(row.off == row.none == 0 for row in rows)
