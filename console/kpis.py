"""The owner's trust KPIs, read across apps (personalization, oversight, audits).

Numbers only: the dashboard view turns them into charts and links. Every rate is a
share of a stated whole, None when the whole is empty (shown as "no data", never 0 %).
Histories are per calendar month in the shop's time zone, oldest first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from accounts.models import CustomerProfile, PersonalizationMode
from audits.reports.selectors import AuditSummary, audit_latest_summary
from governance import selectors as governance
from governance.models import AIPolicy
from governance.trustmath import (
    LedgerEntry,
    consent_by_month,
    count_mentions,
    month_starts,
    next_month,
    rate,
)
from personalization.datarights.selectors import OPEN_STATUSES, days_left
from personalization.models import (
    ConsentEvent,
    DataRequest,
    Feedback,
    Purpose,
    Recommendation,
    RecommendationStatus,
)
from personalization.oversight.selectors import ReviewSla, review_sla

MONTHS = 6


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@dataclass(frozen=True)
class PurposeRate:
    code: str
    name: str
    customers: int
    rate: float | None
    history: list[float | None]


@dataclass(frozen=True)
class ModeRate:
    mode: str
    label: str
    customers: int
    rate: float | None


@dataclass(frozen=True)
class MonthRates:
    """Per month: the whole, the parts, and their shares."""

    whole: list[int]
    parts: dict[str, list[int]]

    def share(self, name: str) -> list[float | None]:
        return [rate(p, w) for p, w in zip(self.parts[name], self.whole, strict=True)]


@dataclass(frozen=True)
class DataRequestFigures:
    open: int
    overdue: int
    # Fewest days left among open requests (negative: overdue), None when none is open.
    nearest_days_left: int | None
    filed: list[int]


@dataclass(frozen=True)
class TrustKpis:
    months: list[date]
    customers: int
    consent: list[PurposeRate]
    modes: list[ModeRate]
    # Paused / off / none shares per month (from the daily snapshots).
    mode_history: dict[str, list[float | None]]
    # Customers who withdrew any consent in the month, per customer at its end.
    withdrawals: MonthRates
    # Feedback given on suggestions per suggestion delivered, by month created.
    complaints: MonthRates
    # Suggestions made in the month: how many were flagged for review, rejected.
    flagged: MonthRates
    review: ReviewSla
    review_history: dict[str, list[float | None]]
    data_requests: DataRequestFigures
    # The latest completed audit (aggregates only), None before the first one.
    audit: AuditSummary | None
    survey: list[governance.SurveyPeriod]
    mentions: dict[str, int]
    mention_texts: int
    vendors_overdue: list
    features_without_approval: int
    kill_switch: governance.KillSwitchState
    policy: AIPolicy | None
    policy_missing: int
    notes: list[str] = field(default_factory=list)


def _consent(starts: list[date], now: datetime) -> tuple[int, list[PurposeRate]]:
    ends = [min(_aware(next_month(start)), now) for start in starts]
    purposes = list(Purpose.objects.order_by("pk").values_list("code", "name"))
    entries = [
        LedgerEntry(*row)
        for row in ConsentEvent.objects.filter(created_at__lt=ends[-1] + timedelta(seconds=1))
        .order_by("created_at", "pk")
        .values_list("customer_ref", "purpose", "data_category", "granted", "created_at")
        .iterator()
    ]
    replay = consent_by_month(
        entries, [*ends[:-1], now + timedelta(seconds=1)], [p for p, _ in purposes]
    )
    # The ledger keeps erased customers' numbers; count only customers who still exist.
    existing = dict(CustomerProfile.objects.values_list("pk", "created_at"))
    totals = [sum(1 for created in existing.values() if created < end) for end in ends]
    totals[-1] = len(existing)
    rows = []
    for code, name in purposes:
        history = [
            rate(len(customers & existing.keys()), whole)
            for customers, whole in zip(replay[code], totals, strict=True)
        ]
        now_count = len(replay[code][-1] & existing.keys())
        rows.append(PurposeRate(code, name, now_count, rate(now_count, len(existing)), history))
    return len(existing), rows


def _modes(customers: int, today: date) -> list[ModeRate]:
    counts = governance.mode_counts(today=today)
    return [
        ModeRate(
            mode, str(PersonalizationMode(mode).label), counts[mode], rate(counts[mode], customers)
        )
        for mode in ("on", "paused", "off", "none")
    ]


def _mode_history(starts: list[date], modes: list[ModeRate]) -> dict[str, list[float | None]]:
    """Share of customers paused, off and with none per month: the month's last daily
    snapshot; this month is today's live figure."""
    snapshots = governance.mode_snapshots_by_month(months=starts)
    history: dict[str, list[float | None]] = {}
    for mode in ("paused", "off", "none"):
        history[mode] = [
            rate(getattr(snap, mode), snap.customers) if snap else None for snap in snapshots[:-1]
        ]
        history[mode].append(next(row.rate for row in modes if row.mode == mode))
    return history


def _bucket(starts: list[date], moments) -> list[int]:
    bounds = [_aware(s) for s in starts] + [_aware(next_month(starts[-1]))]
    counts = [0] * len(starts)
    for at in moments:
        for index in range(len(starts)):
            if bounds[index] <= at < bounds[index + 1]:
                counts[index] += 1
                break
    return counts


def _withdrawals(starts: list[date]) -> MonthRates:
    bounds = [_aware(s) for s in starts] + [_aware(next_month(starts[-1]))]
    existing = set(CustomerProfile.objects.values_list("pk", flat=True))
    per_month: list[set[int]] = [set() for _ in starts]
    for ref, at in ConsentEvent.objects.filter(
        granted=False, created_at__gte=bounds[0]
    ).values_list("customer_ref", "created_at"):
        for index in range(len(starts)):
            if bounds[index] <= at < bounds[index + 1] and ref in existing:
                per_month[index].add(ref)
                break
    whole_by_month = [
        CustomerProfile.objects.filter(created_at__lt=bounds[index + 1]).count()
        for index in range(len(starts))
    ]
    return MonthRates(whole=whole_by_month, parts={"withdrew": [len(s) for s in per_month]})


def _complaints(starts: list[date]) -> MonthRates:
    lower = _aware(starts[0])
    delivered = _bucket(
        starts,
        Recommendation.objects.filter(
            status=RecommendationStatus.DELIVERED, created_at__gte=lower
        ).values_list("created_at", flat=True),
    )
    feedback = _bucket(
        starts, Feedback.objects.filter(created_at__gte=lower).values_list("created_at", flat=True)
    )
    return MonthRates(whole=delivered, parts={"feedback": feedback})


def _flagged(starts: list[date]) -> MonthRates:
    lower = _aware(starts[0])
    rows = list(
        Recommendation.objects.filter(created_at__gte=lower).values_list(
            "created_at", "status", "flags"
        )
    )
    made = _bucket(starts, (at for at, _s, _f in rows))
    flagged = _bucket(
        starts,
        (at for at, status, flags in rows if flags or status == RecommendationStatus.HELD),
    )
    rejected = _bucket(
        starts, (at for at, status, _f in rows if status == RecommendationStatus.REJECTED)
    )
    return MonthRates(whole=made, parts={"flagged": flagged, "rejected": rejected})


def _review(starts: list[date], now: datetime) -> tuple[ReviewSla, dict[str, list]]:
    history: dict[str, list[float | None]] = {"median": [], "p90": []}
    for start in starts:
        end = min(_aware(next_month(start)), now)
        sla = review_sla(since=_aware(start), now=end)
        history["median"].append(sla.median_hours)
        history["p90"].append(sla.p90_hours)
    return review_sla(now=now), history


def _data_requests(starts: list[date], today: date) -> DataRequestFigures:
    open_due = list(
        DataRequest.objects.filter(status__in=OPEN_STATUSES).values_list("due_at", flat=True)
    )
    left = [days_left(due_at=due, today=today) for due in open_due]
    filed = _bucket(
        starts,
        DataRequest.objects.filter(requested_at__gte=_aware(starts[0])).values_list(
            "requested_at", flat=True
        ),
    )
    return DataRequestFigures(
        open=len(left),
        overdue=sum(1 for days in left if days < 0),
        nearest_days_left=min(left) if left else None,
        filed=filed,
    )


def owner_kpis(*, now: datetime | None = None, months: int = MONTHS) -> TrustKpis:
    """Every figure on the owner's dashboard."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    starts = month_starts(today, months)
    customers, consent = _consent(starts, now)
    modes = _modes(customers, today)
    review, review_history = _review(starts, now)
    comments = governance.trust_survey_comments()
    notes = list(
        CustomerProfile.objects.exclude(notes_for_staff="").values_list(
            "notes_for_staff", flat=True
        )
    )
    features = governance.features_overview()
    policy = governance.ai_policy_current()
    return TrustKpis(
        months=starts,
        customers=customers,
        consent=consent,
        modes=modes,
        mode_history=_mode_history(starts, modes),
        withdrawals=_withdrawals(starts),
        complaints=_complaints(starts),
        flagged=_flagged(starts),
        review=review,
        review_history=review_history,
        data_requests=_data_requests(starts, today),
        audit=audit_latest_summary(),
        survey=governance.trust_survey_results(),
        mentions=count_mentions([*comments, *notes]),
        mention_texts=len(comments) + len(notes),
        vendors_overdue=governance.vendors_review_overdue(today=today),
        features_without_approval=sum(1 for row in features if not row.can_enable),
        kill_switch=governance.kill_switch_state(),
        policy=policy,
        policy_missing=len(governance.ai_policy_not_acknowledged_by()),
    )
