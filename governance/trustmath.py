"""Pure arithmetic behind the owner's trust KPIs (no Django import): month buckets,
rates, the consent ledger replayed month by month, mentions in free text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

# Words counted in free-text feedback, with the forms people write.
MENTION_TERMS: dict[str, tuple[str, ...]] = {
    "trust": ("trust", "trusted", "trusting", "trustworthy", "distrust", "mistrust"),
    "fairness": ("fair", "fairly", "fairness", "unfair", "unfairly", "bias", "biased"),
    "transparency": (
        "transparent",
        "transparency",
        "explain",
        "explains",
        "explained",
        "explanation",
        "explanations",
    ),
}
_WORD = re.compile(r"[\w']+", re.UNICODE)


def count_mentions(texts: Iterable[str]) -> dict[str, int]:
    """How many texts mention each theme (a text counts once per theme)."""
    counts = dict.fromkeys(MENTION_TERMS, 0)
    for text in texts:
        words = {word.lower() for word in _WORD.findall(text or "")}
        for theme, forms in MENTION_TERMS.items():
            if words.intersection(forms):
                counts[theme] += 1
    return counts


def month_starts(today: date, months: int) -> list[date]:
    """The first days of the last `months` calendar months, oldest first, this one last."""
    year, month = today.year, today.month
    starts = []
    for _ in range(months):
        starts.append(date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return starts[::-1]


def next_month(start: date) -> date:
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


def rate(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide by."""
    return part / whole if whole else None


@dataclass(frozen=True)
class LedgerEntry:
    customer: int
    purpose: str
    data_category: str
    granted: bool
    at: datetime


def consent_by_month(
    entries: Sequence[LedgerEntry],
    month_ends: Sequence[datetime],
    purposes: Sequence[str],
) -> dict[str, list[set[int]]]:
    """Replay the ledger (entries oldest first): for each purpose and each month end,
    the customers who had at least one data category granted for it at that moment."""
    state: dict[tuple[int, str, str], bool] = {}
    result: dict[str, list[set[int]]] = {purpose: [] for purpose in purposes}
    position = 0
    for end in month_ends:
        while position < len(entries) and entries[position].at < end:
            entry = entries[position]
            state[(entry.customer, entry.purpose, entry.data_category)] = entry.granted
            position += 1
        granted: dict[str, set[int]] = {purpose: set() for purpose in purposes}
        for (customer, purpose, _category), value in state.items():
            if value and purpose in granted:
                granted[purpose].add(customer)
        for purpose in purposes:
            result[purpose].append(granted[purpose])
    return result
