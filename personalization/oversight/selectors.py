"""Reads for oversight: the owner's thresholds, the queue, an item's page, SLA figures."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from personalization.models import OversightSettings, ReviewItem, ReviewStatus
from personalization.models.oversight import UNDECIDED_STATUSES
from personalization.oversight import rules


def oversight_settings() -> OversightSettings:
    """The owner's settings; the defaults (unsaved) until the owner saved the form."""
    return OversightSettings.objects.filter(pk=1).first() or OversightSettings(pk=1)


def thresholds_of(settings: OversightSettings) -> rules.Thresholds:
    return rules.Thresholds(
        sensitive_attributes=frozenset(settings.sensitive_attributes or ()),
        sensitive_categories=frozenset(settings.sensitive_categories or ()),
        premium_multiple=settings.premium_multiple,
        min_confidence=settings.min_confidence,
        min_history=settings.min_history,
        new_model_sample=settings.new_model_sample,
    )


@dataclass(frozen=True)
class ReviewSla:
    sla_hours: float  # the owner's setting
    open: int  # items waiting for a decision
    overdue: int  # open items older than sla_hours
    decided: int  # items decided in the window
    median_hours: float | None  # creation -> decision, over items decided in the window
    p90_hours: float | None


def _percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    at = (len(ordered) - 1) * q
    low = int(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def review_sla(*, since: datetime | None = None, now: datetime | None = None) -> ReviewSla:
    """How quickly people decide: open and overdue items now, and the time from an
    item's creation to its decision over items decided since `since` (default: the
    last 30 days). Three queries."""
    now = now or timezone.now()
    since = since or now - timedelta(days=30)
    sla_hours = oversight_settings().sla_hours
    waiting = ReviewItem.objects.filter(status__in=UNDECIDED_STATUSES)
    open_count = waiting.count()
    overdue = waiting.filter(created_at__lt=now - timedelta(hours=sla_hours)).count()
    spans = [
        (decided - created).total_seconds() / 3600
        for created, decided in ReviewItem.objects.filter(
            status=ReviewStatus.DECIDED, decided_at__gte=since, decided_at__lte=now
        ).values_list("created_at", "decided_at")
    ]
    return ReviewSla(
        sla_hours=sla_hours,
        open=open_count,
        overdue=overdue,
        decided=len(spans),
        median_hours=statistics.median(spans) if spans else None,
        p90_hours=_percentile(spans, 0.9) if spans else None,
    )
