"""Reads for data requests (customer and staff pages) and retention (owner page)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import CustomerProfile
from personalization.datarights.export import EXPORT_KEPT_DAYS
from personalization.models import (
    DataCategory,
    DataRequest,
    DataRequestEvent,
    DataRequestKind,
    DataRequestStatus,
    RetentionRun,
)

OPEN_STATUSES = (
    DataRequestStatus.SCHEDULED,
    DataRequestStatus.PENDING,
    DataRequestStatus.IN_PROGRESS,
    DataRequestStatus.FAILED,
)


def one_month_after(moment: datetime) -> datetime:
    """The same day next month in the shop's time zone (GDPR Art. 12(3)), clamped to
    the month's last day (31 Jan -> 28/29 Feb)."""
    local = timezone.localtime(moment)
    year = local.year + local.month // 12
    month = local.month % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


def days_left(*, due_at: datetime, today: date | None = None) -> int:
    """Whole days until the due date in the shop's time zone; negative when overdue."""
    today = today or timezone.localdate()
    return (timezone.localdate(due_at) - today).days


def is_open(request: DataRequest) -> bool:
    return request.status in OPEN_STATUSES


@dataclass(frozen=True)
class RequestRow:
    """A request as the customer and staff pages show it."""

    request: DataRequest
    days_left: int | None
    overdue: bool
    can_cancel: bool
    download_until: datetime | None

    @property
    def is_open(self) -> bool:
        return self.days_left is not None

    @property
    def days_overdue(self) -> int:
        return -self.days_left if self.overdue and self.days_left is not None else 0


def _row(request: DataRequest, *, now: datetime, today: date) -> RequestRow:
    open_ = is_open(request)
    left = days_left(due_at=request.due_at, today=today) if open_ else None
    can_cancel = (
        request.kind == DataRequestKind.ERASURE
        and request.status == DataRequestStatus.SCHEDULED
        and request.not_before is not None
        and now < request.not_before
    )
    download_until = None
    if request.export_file and request.completed_at:
        download_until = request.completed_at + timedelta(days=EXPORT_KEPT_DAYS)
    return RequestRow(
        request=request,
        days_left=left,
        overdue=left is not None and left < 0,
        can_cancel=can_cancel,
        download_until=download_until,
    )


def customer_requests(
    *, customer: CustomerProfile, now: datetime | None = None
) -> list[RequestRow]:
    """The customer's own requests, newest first."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    requests = DataRequest.objects.filter(customer=customer).order_by("-requested_at", "-pk")
    return [_row(r, now=now, today=today) for r in requests]


def customer_request(*, customer: CustomerProfile, request_id: int) -> DataRequest | None:
    """One of the customer's own requests; None for anyone else's (the view answers 404)."""
    return DataRequest.objects.filter(pk=request_id, customer=customer).first()


def staff_requests(
    *, status: str = "", kind: str = "", now: datetime | None = None
) -> QuerySet[DataRequest]:
    """Requests for the staff list: open ones unless a status is chosen, oldest due first."""
    requests = DataRequest.objects.select_related("customer")
    if status:
        requests = requests.filter(status=status)
    else:
        requests = requests.filter(status__in=OPEN_STATUSES)
    if kind:
        requests = requests.filter(kind=kind)
    return requests.order_by("due_at", "pk")


def request_rows(requests, *, now: datetime | None = None) -> list[RequestRow]:
    now = now or timezone.now()
    today = timezone.localdate(now)
    return [_row(r, now=now, today=today) for r in requests]


def staff_request(*, request_id: int) -> DataRequest | None:
    return DataRequest.objects.select_related("customer").filter(pk=request_id).first()


def request_events(*, request: DataRequest) -> QuerySet[DataRequestEvent]:
    return request.events.select_related("actor").order_by("at", "pk")


def open_request_count() -> int:
    return DataRequest.objects.filter(status__in=OPEN_STATUSES).count()


@dataclass(frozen=True)
class RetentionRunRow:
    run: RetentionRun
    # Rows removed per category, in the order of the categories shown.
    counts: list[int | None]
    total: int


def retention_overview(*, runs: int = 10) -> dict[str, object]:
    """The data categories with their retention, and the latest retention runs."""
    categories = list(DataCategory.objects.order_by("pk"))
    rows = []
    for run in RetentionRun.objects.order_by("-started_at", "-pk")[:runs]:
        removed = run.removed or {}
        rows.append(
            RetentionRunRow(
                run=run,
                counts=[removed.get(c.code) for c in categories],
                total=sum(int(n) for n in removed.values()),
            )
        )
    return {"categories": categories, "runs": rows}
