"""Reads for oversight: the owner's thresholds, the queue, an item's page, SLA figures."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from core.sql import fetch_instance
from personalization import explanations as sentences
from personalization.dashboard.wording import ALLERGEN_PREFIX, attribute_label
from personalization.models import (
    Category,
    Feedback,
    FeedbackKind,
    Item,
    OversightSettings,
    Recommendation,
    RecommendationStatus,
    ReviewAction,
    ReviewActionKind,
    ReviewDecision,
    ReviewItem,
    ReviewKind,
    ReviewSource,
    ReviewStatus,
)
from personalization.models.oversight import UNDECIDED_STATUSES
from personalization.oversight import rules, wording


def oversight_settings() -> OversightSettings:
    """The owner's settings; the defaults (unsaved) until the owner saved the form.

    Read by every list's screening, so in plain SQL (core/sql.py)."""
    return fetch_instance(OversightSettings, "id", 1) or OversightSettings(pk=1)


def thresholds_of(settings: OversightSettings) -> rules.Thresholds:
    return rules.Thresholds(
        sensitive_attributes=frozenset(settings.sensitive_attributes or ()),
        sensitive_categories=frozenset(settings.sensitive_categories or ()),
        premium_multiple=settings.premium_multiple,
        min_evidence=settings.min_evidence,
        new_model_sample=settings.new_model_sample,
    )


@dataclass(frozen=True)
class SpotChecks:
    budget: int  # the owner's review budget, items a day
    percent: float  # the share of unreviewed suggestions sampled when over the budget
    opened: int  # spot checks opened since the window's start


def spot_checks(*, since: datetime) -> SpotChecks:
    """The review budget, the spot checks' sample rate and how many were opened since
    `since` (for /transparency/). One query besides the settings."""
    settings = oversight_settings()
    return SpotChecks(
        budget=settings.review_budget,
        percent=settings.spot_check_percent,
        opened=ReviewItem.objects.filter(kind=ReviewKind.SPOT_CHECK, created_at__gte=since).count(),
    )


@dataclass(frozen=True)
class ReviewSla:
    sla_hours: float  # the owner's setting
    open: int  # items waiting for a decision
    overdue: int  # open items older than sla_hours
    decided: int  # items decided in the window
    # From when the item first waited (kept across regenerated lists) to its decision,
    # over items decided in the window.
    median_hours: float | None
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
    overdue = waiting.filter(waiting_since__lt=now - timedelta(hours=sla_hours)).count()
    spans = [
        (decided - created).total_seconds() / 3600
        for created, decided in ReviewItem.objects.filter(
            status=ReviewStatus.DECIDED, decided_at__gte=since, decided_at__lte=now
        ).values_list("waiting_since", "decided_at")
        if decided is not None
    ]
    return ReviewSla(
        sla_hours=sla_hours,
        open=open_count,
        overdue=overdue,
        decided=len(spans),
        median_hours=statistics.median(spans) if spans else None,
        p90_hours=_percentile(spans, 0.9) if spans else None,
    )


# --- the queue --------------------------------------------------------------------------

AGE_ANY, AGE_HOUR, AGE_OVERDUE, AGE_DAYS = "", "1h", "overdue", "3d"
VIEW_WAITING, VIEW_MINE, VIEW_ESCALATED, VIEW_SECOND = "", "mine", "escalated", "second"


@dataclass(frozen=True)
class QueueFilters:
    rule: str = ""
    age: str = AGE_ANY
    channel: str = ""
    customer: str = ""  # the shop's customer id or the customer's number
    view: str = VIEW_WAITING


def review_queryset(
    *, filters: QueueFilters, user=None, now: datetime | None = None
) -> QuerySet[ReviewItem]:
    """Items matching the filters, oldest first."""
    now = now or timezone.now()
    rows = ReviewItem.objects.all()
    if filters.view == VIEW_MINE and user is not None:
        rows = rows.filter(
            status__in=(ReviewStatus.OPEN, ReviewStatus.ESCALATED),
            claimed_by=user,
            claim_expires_at__gte=now,
        )
    elif filters.view == VIEW_ESCALATED:
        rows = rows.filter(status=ReviewStatus.ESCALATED)
    elif filters.view == VIEW_SECOND:
        rows = rows.filter(status=ReviewStatus.AWAITING_SECOND)
    else:
        rows = rows.filter(status__in=UNDECIDED_STATUSES)
    if filters.rule:
        rows = rows.filter(rules__contains=f",{filters.rule},")
    if filters.channel:
        rows = rows.filter(channel=filters.channel)
    if filters.customer:
        wanted = filters.customer.strip()
        match = Q(customer__external_id=wanted)
        if wanted.isdigit():
            match |= Q(customer_id=int(wanted))
        rows = rows.filter(match)
    if filters.age == AGE_HOUR:
        rows = rows.filter(waiting_since__lt=now - timedelta(hours=1))
    elif filters.age == AGE_DAYS:
        rows = rows.filter(waiting_since__lt=now - timedelta(days=3))
    elif filters.age == AGE_OVERDUE:
        hours = oversight_settings().sla_hours
        rows = rows.filter(waiting_since__lt=now - timedelta(hours=hours))
    return rows.order_by("waiting_since", "pk")


@dataclass(frozen=True)
class QueueRow:
    item: ReviewItem
    age_hours: float
    overdue: bool
    claimed_by_other: bool
    claimed_by_me: bool
    rule_names: list[str]
    title: str


def queue_rows(
    *, items: list[ReviewItem], user, now: datetime | None = None, sla_hours: float
) -> list[QueueRow]:
    now = now or timezone.now()
    out = []
    for item in items:
        age = (now - item.waiting_since).total_seconds() / 3600
        active_claim = (
            item.claimed_by_id is not None
            and item.claim_expires_at is not None
            and item.claim_expires_at >= now
        )
        if item.recommendation_id is not None and item.recommendation is not None:
            title = item.recommendation.item.name
        else:
            title = item.title
        out.append(
            QueueRow(
                item=item,
                age_hours=age,
                overdue=item.status in UNDECIDED_STATUSES and age > sla_hours,
                claimed_by_other=active_claim and item.claimed_by_id != user.pk,
                claimed_by_me=active_claim and item.claimed_by_id == user.pk,
                rule_names=[wording.rule_name(code) for code in item.rule_codes],
                title=title,
            )
        )
    return out


def with_display_relations(rows: QuerySet[ReviewItem]) -> QuerySet[ReviewItem]:
    return rows.select_related("recommendation__item", "customer", "claimed_by")


def rule_counts() -> list[tuple[str, str, int]]:
    """(code, name, items waiting) per rule, in one query."""
    waiting = ReviewItem.objects.filter(status__in=UNDECIDED_STATUSES)
    counts = waiting.aggregate(
        **{code: Count("pk", filter=Q(rules__contains=f",{code},")) for code in rules.RULE_CODES}
    )
    return [(code, wording.rule_name(code), counts[code]) for code in rules.RULE_CODES]


@dataclass(frozen=True)
class QueueCounts:
    waiting: int
    overdue: int
    escalated: int
    awaiting_second: int
    high_risk: int


def queue_counts(*, now: datetime | None = None) -> QueueCounts:
    """For the staff overview: one query."""
    now = now or timezone.now()
    limit = now - timedelta(hours=oversight_settings().sla_hours)
    counts = ReviewItem.objects.filter(status__in=UNDECIDED_STATUSES).aggregate(
        waiting=Count("pk"),
        overdue=Count("pk", filter=Q(waiting_since__lt=limit)),
        escalated=Count("pk", filter=Q(status=ReviewStatus.ESCALATED)),
        awaiting_second=Count("pk", filter=Q(status=ReviewStatus.AWAITING_SECOND)),
        high_risk=Count("pk", filter=Q(high_risk=True)),
    )
    return QueueCounts(**counts)


@dataclass(frozen=True)
class ReviewerRate:
    reviewer: str
    decided: int
    approved: int

    @property
    def rate(self) -> float:
        return self.approved / self.decided if self.decided else 0.0


def reviewer_approval_rates(*, days: int = 30, now: datetime | None = None) -> list[ReviewerRate]:
    """Each reviewer's decisions on recommendations in the last `days` and how many were
    approvals: a rate near 100% over many items may be rubber-stamping. One query."""
    now = now or timezone.now()
    decisions = (
        ReviewAction.objects.filter(
            at__gte=now - timedelta(days=days),
            action__in=(
                ReviewActionKind.APPROVED,
                ReviewActionKind.REJECTED,
                ReviewActionKind.REPLACED,
            ),
            actor__isnull=False,
        )
        .values("actor__email")
        .annotate(
            decided=Count("pk"),
            approved=Count("pk", filter=Q(action=ReviewActionKind.APPROVED)),
        )
        .order_by("actor__email")
    )
    return [
        ReviewerRate(reviewer=row["actor__email"], decided=row["decided"], approved=row["approved"])
        for row in decisions
    ]


# --- one item ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerView:
    """The suggestion as the customer would see it on their page."""

    name: str
    category: str
    price: Decimal
    sentence: str
    reasons: list[sentences.ReasonLine]
    data_categories: list[tuple[str, str]]


def customer_view(row: Recommendation) -> CustomerView:
    reasons = row.reasons or []
    codes = list(dict.fromkeys(r["data_category"] for r in reasons if r.get("data_category")))
    return CustomerView(
        name=row.item.name,
        category=row.item.category.name,
        price=row.item.price,
        sentence=sentences.sentence(reasons, item_id=row.item_id) if reasons else row.sentence,
        reasons=sentences.reason_lines(reasons, item_id=row.item_id),
        data_categories=[(code, sentences.data_category_name(code)) for code in codes],
    )


@dataclass(frozen=True)
class FeedbackLine:
    item_name: str
    kind: str
    at: datetime


@dataclass(frozen=True)
class ItemPage:
    item: ReviewItem
    # What the customer would see (None for a task that is not a recommendation).
    shown: CustomerView | None
    flags: list[dict]
    restrictions: list[str]
    feedback: list[FeedbackLine]
    trail: list[ReviewAction]
    age_hours: float
    overdue: bool
    claimed_by_other: bool
    claimed_by_me: bool
    # What the customer told staff in their own words, and the categories they like.
    note_for_staff: str = ""
    likes: list[str] = field(default_factory=list)
    # The restrictions in words ("Gluten"), in the order of `restrictions`.
    restriction_labels: list[str] = field(default_factory=list)


def review_item_page(*, item_id: int, user, now: datetime | None = None) -> ItemPage | None:
    """Everything a reviewer needs for one item, and nothing more: the item, price,
    sentence and "Why this?" lines the customer would see, each flag's words, the
    customer's restrictions and recent feedback. Never the customer's declared audit
    attributes, name or email."""
    now = now or timezone.now()
    item = (
        ReviewItem.objects.select_related(
            "recommendation__item__category",
            "customer",
            "claimed_by",
            "decided_by",
            "confirmed_by",
            "replacement_item",
        )
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        return None
    shown = customer_view(item.recommendation) if item.recommendation is not None else None
    restrictions: list[str] = []
    feedback: list[FeedbackLine] = []
    likes: list[str] = []
    if item.customer is not None:
        restrictions = list(item.customer.restrictions or [])
        liked = list(item.customer.liked_categories or [])
        if liked:
            names = dict(Category.objects.filter(slug__in=liked).values_list("slug", "name"))
            likes = [names.get(slug, slug) for slug in liked]
        feedback = [
            FeedbackLine(item_name=name, kind=kind, at=at)
            for name, kind, at in Feedback.objects.filter(customer=item.customer)
            .order_by("-created_at", "-pk")
            .values_list("item__name", "kind", "created_at")[:10]
        ]
    age = (now - item.waiting_since).total_seconds() / 3600
    active_claim = (
        item.claimed_by_id is not None
        and item.claim_expires_at is not None
        and item.claim_expires_at >= now
    )
    return ItemPage(
        item=item,
        shown=shown,
        # In the reader's language (the stored words are in the shop's).
        flags=[
            {**f, "words": wording.flag_words(f["rule"], f.get("facts", {}))} for f in item.flags
        ],
        restrictions=restrictions,
        feedback=feedback,
        trail=list(item.actions.select_related("actor").order_by("at", "pk")),
        age_hours=age,
        overdue=item.status in UNDECIDED_STATUSES and age > oversight_settings().sla_hours,
        claimed_by_other=active_claim and item.claimed_by_id != user.pk,
        claimed_by_me=active_claim and item.claimed_by_id == user.pk,
        note_for_staff=(item.customer.notes_for_staff or "").strip() if item.customer else "",
        likes=likes,
        restriction_labels=[attribute_label(code) for code in restrictions],
    )


# Feedback that keeps an item out of a reviewer's replacement picks.
_TURNED_DOWN = (FeedbackKind.NOT_FOR_ME, FeedbackKind.CANT_HAVE)


def replacement_choices(*, item: ReviewItem) -> list[tuple[int, str]]:
    """Items a reviewer may offer instead of the held one: on sale, not on the customer's
    list already, nothing the customer restricted (and, under an allergen restriction,
    nothing whose allergens the shop has not declared), nothing they turned down. The
    service checks the pick against the rules again. One query."""
    held = item.recommendation
    if item.source != ReviewSource.RECOMMENDATION or held is None:
        return []
    listed = (
        Recommendation.objects.filter(
            customer_id=held.customer_id, channel=held.channel, superseded_at__isnull=True
        )
        .exclude(status=RecommendationStatus.REJECTED)
        .values("item_id")
    )
    turned_down = Feedback.objects.filter(
        customer_id=held.customer_id, kind__in=_TURNED_DOWN
    ).values("item_id")
    candidates = Item.objects.filter(active=True).exclude(pk__in=listed).exclude(pk__in=turned_down)
    restrictions = list(item.customer.restrictions or []) if item.customer else []
    if restrictions:
        candidates = candidates.exclude(
            pk__in=Item.attributes.through.objects.filter(attribute__code__in=restrictions).values(
                "item_id"
            )
        )
        if any(code.startswith(ALLERGEN_PREFIX) for code in restrictions):
            candidates = candidates.filter(allergens_declared=True)
    return [
        (pk, f"{name} ({category})")
        for pk, name, category in candidates.order_by("category__name", "name").values_list(
            "pk", "name", "category__name"
        )
    ]


@dataclass(frozen=True)
class ListedItem:
    """One row of a list of review items (a bulk confirmation, the owner's escalations)."""

    pk: int
    title: str
    rule_names: list[str]
    customer_ref: str
    high_risk: bool
    waiting_since: datetime
    # The escalation's note and who wrote it (escalations only).
    note: str = ""
    by: str = ""


def _listed(item: ReviewItem, **extra) -> ListedItem:
    if item.recommendation is not None:
        title = item.recommendation.item.name
    else:
        title = item.title
    customer_ref = ""
    if item.customer is not None:
        customer_ref = item.customer.external_id or str(item.customer_id)
    return ListedItem(
        pk=item.pk,
        title=title,
        rule_names=[wording.rule_name(code) for code in item.rule_codes],
        customer_ref=customer_ref,
        high_risk=item.high_risk,
        waiting_since=item.waiting_since,
        **extra,
    )


def bulk_items(
    *, queryset: QuerySet[ReviewItem], user, decision: str, limit: int, now: datetime | None = None
) -> list[ListedItem]:
    """The items a bulk decision would decide now, oldest first, at most `limit`: the
    ones `bulk_preview` counts as approvable or rejectable. Two queries."""
    now = now or timezone.now()
    statuses = (
        (ReviewStatus.OPEN, ReviewStatus.ESCALATED)
        if user.has_perm("accounts.access_owner_console")
        else (ReviewStatus.OPEN,)
    )
    held_by_other = Q(claimed_by__isnull=False) & ~Q(claimed_by=user) & Q(claim_expires_at__gte=now)
    rows = (
        queryset.filter(status__in=statuses, source=ReviewSource.RECOMMENDATION)
        .exclude(policy_level=True)
        .exclude(held_by_other)
    )
    if decision == ReviewDecision.APPROVE:
        rows = rows.exclude(high_risk=True)
    rows = rows.select_related("recommendation__item", "customer").order_by("waiting_since", "pk")
    return [_listed(item) for item in rows[:limit]]


def escalations(*, limit: int = 200) -> list[ListedItem]:
    """Items escalated to the owner, oldest first, each with what the reviewer asked the
    owner to look at. Two queries."""
    items = list(
        ReviewItem.objects.filter(status=ReviewStatus.ESCALATED)
        .select_related("recommendation__item", "customer")
        .order_by("escalated_at", "pk")[:limit]
    )
    notes: dict[int, tuple[str, str]] = {}
    for item_id, note, email in (
        ReviewAction.objects.filter(
            item_id__in=[i.pk for i in items], action=ReviewActionKind.ESCALATED
        )
        .order_by("at", "pk")
        .values_list("item_id", "note", "actor__email")
    ):
        notes[item_id] = (note, email or "")
    return [
        _listed(item, note=notes.get(item.pk, ("", ""))[0], by=notes.get(item.pk, ("", ""))[1])
        for item in items
    ]


def escalations_count() -> int:
    """For the owner's home page."""
    return ReviewItem.objects.filter(status=ReviewStatus.ESCALATED).count()


# --- the trail --------------------------------------------------------------------------


@dataclass(frozen=True)
class TrailFilters:
    action: str = ""
    actor: str = ""  # email, exact (case-insensitive)
    item: int | None = None
    since: date | None = None
    until: date | None = None


def trail_queryset(*, filters: TrailFilters) -> QuerySet[ReviewAction]:
    rows = ReviewAction.objects.select_related("actor").order_by("-at", "-pk")
    if filters.action:
        rows = rows.filter(action=filters.action)
    if filters.actor:
        rows = rows.filter(actor__email__iexact=filters.actor.strip())
    if filters.item is not None:
        rows = rows.filter(item_ref=filters.item)
    if filters.since is not None:
        rows = rows.filter(at__date__gte=filters.since)
    if filters.until is not None:
        rows = rows.filter(at__date__lte=filters.until)
    return rows


@dataclass(frozen=True)
class BulkPreview:
    total: int
    high_risk: int
    claimed_by_others: int
    not_bulk: int  # policy-level items and tasks that are not recommendations

    @property
    def rejectable(self) -> int:
        return self.total - self.claimed_by_others - self.not_bulk

    @property
    def approvable(self) -> int:
        return self.rejectable - self.high_risk


def bulk_preview(
    *, queryset: QuerySet[ReviewItem], user, now: datetime | None = None
) -> BulkPreview:
    """How many of the filtered set a bulk decision would reach (one query)."""
    now = now or timezone.now()
    statuses = (
        (ReviewStatus.OPEN, ReviewStatus.ESCALATED)
        if user.has_perm("accounts.access_owner_console")
        else (ReviewStatus.OPEN,)
    )
    held_by_other = Q(claimed_by__isnull=False) & ~Q(claimed_by=user) & Q(claim_expires_at__gte=now)
    not_bulk = Q(policy_level=True) | ~Q(source="recommendation")
    counts = queryset.filter(status__in=statuses).aggregate(
        total=Count("pk"),
        not_bulk=Count("pk", filter=not_bulk),
        claimed=Count("pk", filter=~not_bulk & held_by_other),
        high_risk=Count("pk", filter=~not_bulk & ~held_by_other & Q(high_risk=True)),
    )
    return BulkPreview(
        total=counts["total"],
        high_risk=counts["high_risk"],
        claimed_by_others=counts["claimed"],
        not_bulk=counts["not_bulk"],
    )
