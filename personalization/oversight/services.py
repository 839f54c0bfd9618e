"""Writes for human oversight: screening recommendations with the guardrail rules,
opening review tasks, claiming and deciding them. Every action is written to the
append-only trail (`ReviewAction`) in the same transaction as the change it records.
"""

from __future__ import annotations

import logging
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, FloatField, Max, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import CustomerProfile
from accounts.roles import OWNER_CONSOLE
from core.errors import ApplicationError
from governance.selectors import ai_policy_unacknowledged
from personalization import engine
from personalization.models import (
    Channel,
    Feedback,
    FeedbackKind,
    InteractionKind,
    Item,
    OversightSettings,
    ReasonCode,
    Recommendation,
    RecommendationStatus,
    ReviewAction,
    ReviewActionKind,
    ReviewDecision,
    ReviewItem,
    ReviewSource,
    ReviewStatus,
)
from personalization.oversight import rules, wording
from personalization.oversight.selectors import oversight_settings, thresholds_of
from personalization.recommending.loading import consented_interactions

logger = logging.getLogger(__name__)

# Rows screened per round of queries (keeps every IN (...) list short on SQLite).
SCREEN_BATCH = 2_000
# Feedback that counts as a complaint for the recent-complaint rule.
COMPLAINTS = (FeedbackKind.CANT_HAVE, FeedbackKind.NOT_FOR_ME)
# The engine's own marks (Suggestion.flags) that must always reach a person.
_ENGINE_MISSING = engine.MISSING_ALLERGEN_DATA
_OWN_HISTORY = (engine.HISTORY, engine.OTHER_HISTORY)


# --- the trail --------------------------------------------------------------------------


def _snapshot(item: ReviewItem) -> dict:
    """What the item was, for the trail: no personal data beyond the customer's number."""
    data: dict = {
        "source": item.source,
        "channel": item.channel,
        "rules": item.rule_codes,
        "high_risk": item.high_risk,
        "status": item.status,
    }
    if item.recommendation_id is not None:
        data["recommendation"] = item.recommendation_id
    if item.title:
        data["title"] = item.title
    if item.decision:
        data["decision"] = item.decision
    if item.replacement_item_id is not None:
        data["replacement_item"] = item.replacement_item_id
    return data


def _action(
    item: ReviewItem,
    kind: str,
    *,
    actor=None,
    reason_code: str = "",
    note: str = "",
    extra: dict | None = None,
) -> ReviewAction:
    return ReviewAction(
        item=item,
        item_ref=item.pk,
        customer_ref=item.customer_id,
        actor=actor,
        action=kind,
        reason_code=reason_code,
        note=note,
        snapshot={**_snapshot(item), **(extra or {})},
    )


# --- screening --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Facts:
    """What the rules need beyond the row itself, for one batch (bounded queries)."""

    items: dict[int, tuple[float, str, bool]]  # pk -> price, category slug, allergens declared
    attributes: dict[int, frozenset[str]]
    restrictions: dict[int, frozenset[str]]
    usual_spend: dict[int, float | None]
    history: dict[int, int]
    complaints: dict[int, int]
    sample_start: dict[int, int]  # model version -> rows it made before this batch


def _usual_spend(customer_ids: list[int]) -> dict[int, float | None]:
    """Median price per unit the customer paid over their consented purchase history."""
    paid: dict[int, list[float]] = defaultdict(list)
    rows = (
        consented_interactions(customer_ids)
        .filter(kind=InteractionKind.PURCHASE)
        .annotate(amount=Cast("value", FloatField()), list_price=Cast("item__price", FloatField()))
        .values_list("customer_id", "amount", "quantity", "list_price")
    )
    for customer_id, amount, quantity, list_price in rows.iterator(chunk_size=20_000):
        quantity = quantity or 1
        unit = amount / quantity if amount else list_price
        if unit is not None and unit > 0:
            paid[customer_id].append(unit)
    return {pk: statistics.median(values) for pk, values in paid.items()}


@dataclass(frozen=True)
class Known:
    """What the caller already loaded (generation has both), saving queries."""

    catalog: engine.Catalog | None = None
    profiles: Sequence[CustomerProfile] | None = None


def _facts(
    rows: list[Recommendation],
    usual_spend: Mapping[int, float | None] | None,
    now: datetime,
    settings: OversightSettings,
    known: Known = Known(),
) -> _Facts:
    item_ids = sorted({r.item_id for r in rows})
    customer_ids = sorted({r.customer_id for r in rows})
    items: dict[int, tuple[float, str, bool]] = {}
    codes: dict[int, set[str]] = defaultdict(set)
    catalog = known.catalog
    position = catalog.position if catalog is not None else {}
    if catalog is not None and all(pk in position for pk in item_ids):
        for pk in item_ids:
            i = position[pk]
            items[pk] = (
                float(catalog.price[i]),
                catalog.category_codes[int(catalog.category[i])],
                bool(catalog.allergens_declared[i]),
            )
            codes[pk] = set(catalog.attributes[i])
    else:
        items = {
            pk: (float(price), slug, declared)
            for pk, price, slug, declared in Item.objects.filter(pk__in=item_ids).values_list(
                "pk", "price", "category__slug", "allergens_declared"
            )
        }
        for item_id, code in Item.attributes.through.objects.filter(
            item_id__in=item_ids
        ).values_list("item_id", "attribute__code"):
            codes[item_id].add(code)
    given = {p.pk: p for p in known.profiles or ()}
    if all(pk in given for pk in customer_ids):
        restrictions = {pk: frozenset(given[pk].restrictions or ()) for pk in customer_ids}
    else:
        restrictions = {
            pk: frozenset(value or ())
            for pk, value in CustomerProfile.objects.filter(pk__in=customer_ids).values_list(
                "pk", "restrictions"
            )
        }
    history = dict(
        consented_interactions(customer_ids)
        .order_by()
        .values("customer_id")
        .annotate(n=Count("pk"))
        .values_list("customer_id", "n")
    )
    if usual_spend is None or not all(pk in usual_spend for pk in customer_ids):
        usual_spend = {**_usual_spend(customer_ids), **(usual_spend or {})}
    # A complaint counts until a person has decided on the customer's suggestions
    # since it was made: after that review, the next lists go out as usual again.
    reviewed = dict(
        ReviewItem.objects.filter(
            customer_id__in=customer_ids,
            status=ReviewStatus.DECIDED,
            rules__contains=",recent_complaint,",
        )
        .order_by()
        .values("customer_id")
        .annotate(at=Max("decided_at"))
        .values_list("customer_id", "at")
    )
    complaints: dict[int, int] = defaultdict(int)
    for customer_id, at in Feedback.objects.filter(
        customer_id__in=customer_ids,
        kind__in=COMPLAINTS,
        created_at__gte=now - timedelta(days=settings.complaint_window_days),
    ).values_list("customer_id", "created_at"):
        seen = reviewed.get(customer_id)
        if seen is None or at > seen:
            complaints[customer_id] += 1
    sample_start: dict[int, int] = {}
    if settings.new_model_sample:
        first: dict[int, int] = {}
        for row in rows:
            if row.pk is not None:
                first[row.model_version_id] = min(first.get(row.model_version_id, row.pk), row.pk)
        for version_id, pk in first.items():
            # Rows are numbered in the order they were stored, so the rows a version made
            # before this batch are those with a smaller number (replaced undecided rows
            # are deleted, so this counts what is still on record).
            sample_start[version_id] = Recommendation.objects.filter(
                model_version_id=version_id, pk__lt=pk
            ).count()
    return _Facts(
        items=items,
        attributes={pk: frozenset(c) for pk, c in codes.items()},
        restrictions=restrictions,
        usual_spend=dict(usual_spend),
        history=history,
        complaints=dict(complaints),
        sample_start=sample_start,
    )


def _confidence(reasons: list[dict], score: float) -> float:
    """Share of the score that rests on the customer's own history (0..1)."""
    if score <= 0:
        return 0.0
    own = sum(r.get("contribution", 0.0) for r in reasons if r.get("kind") in _OWN_HISTORY)
    return max(0.0, min(1.0, own / score))


def rules_text(flags: list[dict]) -> str:
    """The rule codes as stored in ReviewItem.rules (",a,b,")."""
    codes = [f["rule"] for f in flags]
    return f",{','.join(codes)}," if codes else ""


def _flag_json(flag: rules.Flag) -> dict:
    return {
        "rule": flag.rule,
        "high_risk": flag.high_risk,
        "facts": flag.facts,
        "words": wording.flag_words(flag.rule, flag.facts),
    }


def candidate_for(
    *,
    item_id: int,
    customer_id: int,
    facts: _Facts,
    reasons: list[dict] | None = None,
    score: float = 0.0,
    sample_index: int | None = None,
    is_campaign: bool = False,
) -> rules.Candidate:
    price, category, declared = facts.items.get(item_id, (0.0, "", False))
    return rules.Candidate(
        item_attributes=facts.attributes.get(item_id, frozenset()),
        item_allergens_declared=declared,
        item_category=category,
        item_price=price,
        customer_restrictions=facts.restrictions.get(customer_id, frozenset()),
        customer_usual_spend=facts.usual_spend.get(customer_id),
        confidence=_confidence(reasons, score) if reasons is not None else 1.0,
        history_size=facts.history.get(customer_id, 0),
        recent_complaints=facts.complaints.get(customer_id, 0),
        model_sample_index=sample_index,
        is_campaign=is_campaign,
    )


@dataclass(frozen=True)
class Carried:
    """What a waiting item hands to its successor when its list is regenerated."""

    item_pk: int
    waiting_since: datetime
    escalated_at: datetime | None
    policy_level: bool
    claimed_by_id: int | None
    claim_expires_at: datetime | None


def waiting_items_of(
    *, customer_ids: Sequence[int], channel: str
) -> dict[tuple[int, int], Carried]:
    """(customer pk, catalog item pk) -> the undecided item waiting for it on `channel`.

    Read by generation before it replaces the undecided rows (one query), so the same
    held item in the new list keeps its age, escalation, four-eyes mark and claim.
    """
    rows = ReviewItem.objects.filter(
        customer_id__in=list(customer_ids),
        channel=channel,
        status__in=(ReviewStatus.OPEN, ReviewStatus.ESCALATED, ReviewStatus.AWAITING_SECOND),
        recommendation__isnull=False,
    ).values_list(
        "pk",
        "customer_id",
        "recommendation__item_id",
        "waiting_since",
        "escalated_at",
        "policy_level",
        "claimed_by_id",
        "claim_expires_at",
    )
    return {
        (customer, item): Carried(pk, since, escalated, policy, claimed, expires)
        for pk, customer, item, since, escalated, policy, claimed, expires in rows
    }


def recommendations_screen(
    *,
    recommendations: Sequence[Recommendation],
    is_campaign: bool = False,
    usual_spend: Mapping[int, float | None] | None = None,
    known: Known = Known(),
    carried: Mapping[tuple[int, int], Carried] | None = None,
    now: datetime | None = None,
    fresh: bool = False,
) -> list[ReviewItem]:
    """Run the guardrail rules on already-saved Recommendation rows (one batch, a bounded
    number of queries regardless of size). Each flagged row gets status HELD and one open
    ReviewItem recording every rule that fired, with the rule code, high_risk and the
    reason in words a reviewer understands; unflagged rows are left PROPOSED. Returns the
    ReviewItems created. Campaign rows (is_campaign=True) are always flagged (rule "campaign").

    Screening a row again (e.g. a campaign screening the rows generation just screened)
    adds the new rules to its open item instead of opening a second one; rows already
    decided (approved, rejected, delivered) are left alone. `usual_spend` (customer pk ->
    median unit price) and `known` (the catalog and profiles) may come from generation,
    which already loaded them, saving queries; `carried` (from `waiting_items_of`, read
    before the old rows went) lets a re-held item keep its place in the queue.
    """
    now = now or timezone.now()
    rows = [
        r
        for r in recommendations
        if r.pk is not None
        and r.status in (RecommendationStatus.PROPOSED, RecommendationStatus.HELD)
    ]
    created: list[ReviewItem] = []
    for start in range(0, len(rows), SCREEN_BATCH):
        created += _screen_batch(
            rows[start : start + SCREEN_BATCH],
            is_campaign,
            usual_spend,
            known,
            carried or {},
            now,
            fresh,
        )
    return created


def _screen_batch(
    rows: list[Recommendation],
    is_campaign: bool,
    usual_spend: Mapping[int, float | None] | None,
    known: Known,
    carried: Mapping[tuple[int, int], Carried],
    now: datetime,
    fresh: bool,
) -> list[ReviewItem]:
    settings = oversight_settings()
    facts = _facts(rows, usual_spend, now, settings, known)
    thresholds = thresholds_of(settings)
    # Rows stored in this very transaction (`fresh`) cannot have queue items yet.
    existing = (
        {}
        if fresh
        else {
            item.recommendation_id: item
            for item in ReviewItem.objects.filter(recommendation_id__in=[r.pk for r in rows])
        }
    )
    seen_per_version: dict[int, int] = defaultdict(int)
    flagged: dict[int, list[dict]] = {}
    for row in sorted(rows, key=lambda r: r.pk):
        sample_index = None
        if row.model_version_id in facts.sample_start:
            sample_index = (
                facts.sample_start[row.model_version_id] + seen_per_version[row.model_version_id]
            )
            seen_per_version[row.model_version_id] += 1
        candidate = candidate_for(
            item_id=row.item_id,
            customer_id=row.customer_id,
            facts=facts,
            reasons=row.reasons,
            score=row.score,
            sample_index=sample_index,
            is_campaign=is_campaign,
        )
        flags = rules.evaluate(candidate, thresholds)
        if _ENGINE_MISSING in (row.flags or ()) and not any(
            f.rule == "missing_attribute_data" for f in flags
        ):
            # The engine held it back for missing allergen data: always a person's call.
            flags.insert(
                0,
                rules.Flag(
                    "missing_attribute_data",
                    True,
                    {"restrictions": sorted(candidate.customer_restrictions)},
                ),
            )
        if flags:
            flagged[row.pk] = [_flag_json(f) for f in flags]

    to_create: list[ReviewItem] = []
    to_update: list[ReviewItem] = []
    carried_from: dict[int, int] = {}
    # Inside generation's transaction no savepoint is needed: it commits or rolls back whole.
    with (
        translation.override(django_settings.LANGUAGE_CODE),
        transaction.atomic(savepoint=False),
    ):
        held_ids = [pk for pk in flagged]
        # Rows stored just now are all proposed: only a re-screen may release a held row.
        released = (
            [] if fresh else [r.pk for r in rows if r.pk not in flagged and r.pk not in existing]
        )
        if held_ids:
            Recommendation.objects.filter(pk__in=held_ids).update(status=RecommendationStatus.HELD)
        if released:
            Recommendation.objects.filter(pk__in=released, status=RecommendationStatus.HELD).update(
                status=RecommendationStatus.PROPOSED
            )
        for row in rows:
            found = flagged.get(row.pk)
            if found is None:
                if row.pk not in existing:
                    row.status = RecommendationStatus.PROPOSED
                continue
            row.status = RecommendationStatus.HELD
            item = existing.get(row.pk)
            if item is not None:
                already = set(item.rule_codes)
                added = [f for f in found if f["rule"] not in already]
                if added:
                    item.flags = [*item.flags, *added]
                    item.high_risk = item.high_risk or any(f["high_risk"] for f in added)
                    item.rules = rules_text(item.flags)
                    to_update.append(item)
                continue
            new = ReviewItem(
                source=ReviewSource.RECOMMENDATION,
                recommendation_id=row.pk,
                customer_id=row.customer_id,
                channel=row.channel,
                flags=found,
                rules=rules_text(found),
                high_risk=any(f["high_risk"] for f in found),
                waiting_since=now,
            )
            before = carried.get((row.customer_id, row.item_id))
            if before is not None:
                new.waiting_since = before.waiting_since
                new.policy_level = before.policy_level
                new.claimed_by_id = before.claimed_by_id
                new.claim_expires_at = before.claim_expires_at
                if before.escalated_at is not None:
                    new.status = ReviewStatus.ESCALATED
                    new.escalated_at = before.escalated_at
                carried_from[row.pk] = before.item_pk
            to_create.append(new)
        if to_update:
            ReviewItem.objects.bulk_update(to_update, ["flags", "rules", "high_risk"])
        if to_create:
            ReviewItem.objects.bulk_create(to_create, batch_size=1_000)
            if any(item.pk is None for item in to_create):
                # A backend that does not return ids from bulk inserts (old SQLite).
                by_rec = dict(
                    ReviewItem.objects.filter(
                        recommendation_id__in=[i.recommendation_id for i in to_create]
                    ).values_list("recommendation_id", "pk")
                )
                for item in to_create:
                    item.pk = by_rec[item.recommendation_id or 0]
            ReviewAction.objects.bulk_create(
                [
                    _action(
                        item,
                        ReviewActionKind.OPENED,
                        extra={"carried_from": carried_from[item.recommendation_id]}
                        if item.recommendation_id in carried_from
                        else None,
                    )
                    for item in to_create
                ],
                batch_size=1_000,
            )
    return to_create


# --- tasks that are not a recommendation ------------------------------------------------


def review_task_open(
    *,
    title: str,
    detail: str,
    link: str,
    source: str = "audit_finding",
    high_risk: bool = False,
) -> ReviewItem:
    """A review-queue task that is not a recommendation (e.g. a bias-audit finding): shows
    the title/detail and a link to act on; a reviewer claims it and closes it with a
    reason code and note, like any other item."""
    if source not in ReviewSource.values or source == ReviewSource.RECOMMENDATION:
        source = ReviewSource.OTHER
    link = (link or "").strip()
    if link and not (link.startswith("/") and not link.startswith("//")):
        # Reviewers click it: only links into this site.
        raise ApplicationError(_("The task's link must be a page of this site."), field="link")
    with transaction.atomic():
        item = ReviewItem.objects.create(
            source=source,
            title=title[:200],
            detail=detail,
            link=link[:500],
            high_risk=high_risk,
        )
        _action(item, ReviewActionKind.OPENED).save()
    return item


# --- claiming ---------------------------------------------------------------------------

# Statuses a reviewer can claim and decide (escalated ones: the owner only).
CLAIMABLE = (ReviewStatus.OPEN, ReviewStatus.ESCALATED)


def _is_owner(user) -> bool:
    return user.has_perm(OWNER_CONSOLE)


def _claimable_by(user, now: datetime) -> Q:
    statuses = CLAIMABLE if _is_owner(user) else (ReviewStatus.OPEN,)
    free = Q(claimed_by__isnull=True) | Q(claim_expires_at__lt=now) | Q(claimed_by=user)
    return Q(status__in=statuses) & free


def _lock(queryset):
    """Row locks that skip rows another session holds (PostgreSQL); SQLite serialises
    writers anyway."""
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True)
    return queryset.select_for_update()


def review_claim(
    *,
    user,
    count: int = 10,
    queryset: QuerySet[ReviewItem] | None = None,
    now: datetime | None = None,
) -> list[ReviewItem]:
    """Claim up to `count` of the oldest items (of `queryset`, e.g. the filtered queue)
    for `user` until the claim time runs out. Two reviewers never get the same item: rows
    another session is claiming are skipped, not waited for."""
    if count < 1 or count > 100:
        raise ApplicationError(_("Claim between 1 and 100 items."), code="invalid", field="count")
    now = now or timezone.now()
    minutes = oversight_settings().claim_minutes
    base = queryset if queryset is not None else ReviewItem.objects.all()
    with transaction.atomic():
        ids = list(
            _lock(
                ReviewItem.objects.filter(pk__in=base.values("pk"))
                .filter(_claimable_by(user, now))
                .order_by("waiting_since", "pk")
            ).values_list("pk", flat=True)[:count]
        )
        if not ids:
            return []
        expires = now + timedelta(minutes=minutes)
        ReviewItem.objects.filter(pk__in=ids).update(claimed_by=user, claim_expires_at=expires)
        items = list(ReviewItem.objects.filter(pk__in=ids).order_by("waiting_since", "pk"))
        ReviewAction.objects.bulk_create(
            [_action(item, ReviewActionKind.CLAIMED, actor=user) for item in items]
        )
    return items


def _claim_holder_error(item: ReviewItem) -> ApplicationError:
    until = timezone.localtime(item.claim_expires_at)
    return ApplicationError(
        _("Another reviewer is working on this item until %(time)s.")
        % {"time": date_format(until, "TIME_FORMAT")},
        code="claimed",
    )


def _locked_item(item_id: int) -> ReviewItem:
    # No select_related: PostgreSQL cannot lock the nullable side of an outer join.
    item = ReviewItem.objects.select_for_update().filter(pk=item_id).first()
    if item is None:
        raise ApplicationError(
            _("This item is no longer in the queue (its list was regenerated)."),
            code="not_found",
        )
    return item


def _held_by_other(item: ReviewItem, user, now: datetime) -> bool:
    return (
        item.claimed_by_id is not None
        and item.claimed_by_id != user.pk
        and item.claim_expires_at is not None
        and item.claim_expires_at >= now
    )


def review_claim_item(*, user, item_id: int, now: datetime | None = None) -> ReviewItem:
    """Claim this one item (from its page)."""
    now = now or timezone.now()
    with transaction.atomic():
        item = _locked_item(item_id)
        if item.status not in CLAIMABLE:
            raise ApplicationError(_("This item is not waiting for a decision."), code="decided")
        if item.status == ReviewStatus.ESCALATED and not _is_owner(user):
            raise ApplicationError(
                _("This item was escalated: the owner decides it."), code="escalated"
            )
        if _held_by_other(item, user, now):
            raise _claim_holder_error(item)
        item.claimed_by = user
        item.claim_expires_at = now + timedelta(minutes=oversight_settings().claim_minutes)
        item.save(update_fields=["claimed_by", "claim_expires_at"])
        _action(item, ReviewActionKind.CLAIMED, actor=user).save()
    return item


def review_release(*, user, item_id: int) -> ReviewItem:
    """Give a claimed item back to the queue."""
    with transaction.atomic():
        item = _locked_item(item_id)
        if item.claimed_by_id == user.pk:
            item.claimed_by = None
            item.claim_expires_at = None
            item.save(update_fields=["claimed_by", "claim_expires_at"])
            _action(item, ReviewActionKind.RELEASED, actor=user).save()
    return item


# --- deciding ---------------------------------------------------------------------------

DECISIONS_FOR: dict[str, tuple[str, ...]] = {
    ReviewSource.RECOMMENDATION: (
        ReviewDecision.APPROVE,
        ReviewDecision.REJECT,
        ReviewDecision.REPLACE,
    ),
}
TASK_DECISIONS: tuple[str, ...] = (ReviewDecision.CLOSE,)
_DECISION_ACTION = {
    ReviewDecision.APPROVE: ReviewActionKind.APPROVED,
    ReviewDecision.REJECT: ReviewActionKind.REJECTED,
    ReviewDecision.REPLACE: ReviewActionKind.REPLACED,
    ReviewDecision.CLOSE: ReviewActionKind.CLOSED,
}


def _policy_gate(user) -> None:
    policy = ai_policy_unacknowledged(user=user)
    if policy is not None:
        raise ApplicationError(
            _(
                "Read and acknowledge the shop's AI policy (version %(version)s) before "
                "deciding on review items."
            )
            % {"version": policy.version},
            code="policy_unacknowledged",
        )


def _replacement_check(item: ReviewItem, replacement_item_id: int | None) -> tuple[Item, list]:
    """The replacement item, checked by the same rules; refuses a high-risk one."""
    recommendation = item.recommendation
    if replacement_item_id is None:
        raise ApplicationError(
            _("Choose the item to offer instead."), code="required", field="replacement_item"
        )
    replacement = Item.objects.filter(pk=replacement_item_id, active=True).first()
    if replacement is None:
        raise ApplicationError(
            _("That item is not on sale."), code="invalid", field="replacement_item"
        )
    if recommendation is not None and replacement.pk == recommendation.item_id:
        raise ApplicationError(
            _("Choose a different item from the one being replaced."),
            code="invalid",
            field="replacement_item",
        )
    if recommendation is not None and (
        Recommendation.objects.filter(
            customer_id=recommendation.customer_id,
            channel=recommendation.channel,
            item_id=replacement.pk,
            superseded_at__isnull=True,
        )
        .exclude(status=RecommendationStatus.REJECTED)
        .exists()
    ):
        raise ApplicationError(
            _("That item is already on the customer's list: choose another."),
            code="invalid",
            field="replacement_item",
        )
    flags = replacement_flags(
        customer_id=item.customer_id or 0,
        item_id=replacement.pk,
        is_campaign=item.channel == Channel.EMAIL,
    )
    # A recent complaint asks for a person to look at the list; the reviewer choosing
    # this replacement is that person, so it does not refuse their pick.
    risky = [f for f in flags if f["high_risk"] and f["rule"] != "recent_complaint"]
    if risky:
        raise ApplicationError(
            _("This replacement is refused: %(why)s")
            % {"why": " ".join(f["words"] for f in risky)},
            code="replacement_high_risk",
            field="replacement_item",
        )
    return replacement, flags


def replacement_flags(*, customer_id: int, item_id: int, is_campaign: bool) -> list[dict]:
    """What the rules say about offering this item to this customer (a staff pick: no
    model score, so no confidence or sample rule)."""
    probe = Recommendation(customer_id=customer_id, item_id=item_id, score=1.0, rank=1)
    settings = oversight_settings()
    facts = _facts([probe], None, timezone.now(), settings)
    thresholds = replace(thresholds_of(settings), min_confidence=0.0, min_history=0)
    candidate = candidate_for(
        item_id=item_id, customer_id=customer_id, facts=facts, is_campaign=is_campaign
    )
    return [_flag_json(flag) for flag in rules.evaluate(candidate, thresholds)]


def review_decide(
    *,
    user,
    item_id: int,
    decision: str,
    reason_code: str,
    note: str = "",
    replacement_item_id: int | None = None,
    explanation_seen: bool = False,
    policy_level: bool = False,
    now: datetime | None = None,
) -> ReviewItem:
    """Approve, reject or replace a held recommendation, or close a task, with a reason.

    Refused until the reviewer acknowledged the current AI policy; a high-risk approval
    is refused unless the reviewer opened the explanation. A policy-level decision (the
    owner marks it so) waits for a second, different person (`review_confirm`).
    """
    now = now or timezone.now()
    _policy_gate(user)
    if reason_code not in ReasonCode.values:
        raise ApplicationError(
            _("Choose a reason for the decision."), code="required", field="reason_code"
        )
    note = (note or "").strip()
    if reason_code == ReasonCode.OTHER and not note:
        raise ApplicationError(
            _("Say why in the note when the reason is 'Other'."), code="required", field="note"
        )
    with transaction.atomic():
        item = _locked_item(item_id)
        if item.status not in CLAIMABLE:
            raise ApplicationError(
                _("This item was already decided or waits for a second person."),
                code="decided",
            )
        if item.status == ReviewStatus.ESCALATED and not _is_owner(user):
            raise ApplicationError(
                _("This item was escalated: the owner decides it."), code="escalated"
            )
        if _held_by_other(item, user, now):
            raise _claim_holder_error(item)
        allowed = DECISIONS_FOR.get(item.source, TASK_DECISIONS)
        if decision not in allowed:
            raise ApplicationError(
                _("That decision does not apply to this item."), code="invalid", field="decision"
            )
        if decision == ReviewDecision.APPROVE and item.high_risk and not explanation_seen:
            raise ApplicationError(
                _(
                    "This item was flagged as high-risk: open and read the explanation "
                    "before approving it."
                ),
                code="explanation_not_seen",
                field="explanation_seen",
            )
        replacement_flags_found: list = []
        if decision == ReviewDecision.REPLACE:
            replacement, replacement_flags_found = _replacement_check(item, replacement_item_id)
            item.replacement_item = replacement
        if policy_level and not _is_owner(user):
            raise ApplicationError(
                _("Only the owner marks a decision as policy-level."), code="forbidden"
            )
        item.decision = decision
        item.reason_code = reason_code
        item.note = note
        item.decided_by = user
        extra = {"replacement_flags": [f["rule"] for f in replacement_flags_found]}
        if policy_level or item.policy_level:
            item.policy_level = True
            item.status = ReviewStatus.AWAITING_SECOND
            item.claimed_by = None
            item.claim_expires_at = None
            item.save()
            _action(
                item,
                ReviewActionKind.PROPOSED,
                actor=user,
                reason_code=reason_code,
                note=note,
                extra=extra,
            ).save()
            return item
        _apply(item, now)
        item.save()
        _action(
            item,
            _DECISION_ACTION[ReviewDecision(decision)],
            actor=user,
            reason_code=reason_code,
            note=note,
            extra=extra,
        ).save()
    return item


def _apply(item: ReviewItem, now: datetime) -> None:
    """Make the decision take effect (inside the caller's transaction)."""
    recommendation = item.recommendation
    if recommendation is not None and item.decision != ReviewDecision.CLOSE:
        if item.decision == ReviewDecision.APPROVE:
            status = RecommendationStatus.APPROVED
        else:
            status = RecommendationStatus.REJECTED
        Recommendation.objects.filter(pk=recommendation.pk).update(status=status)
        recommendation.status = status
        if item.decision == ReviewDecision.REPLACE and item.replacement_item_id is not None:
            item.replacement = Recommendation.objects.create(
                customer_id=recommendation.customer_id,
                item_id=item.replacement_item_id,
                score=0.0,
                rank=recommendation.rank,
                model_version_id=recommendation.model_version_id,
                channel=recommendation.channel,
                reasons=[],
                sentence=_("Chosen for you by our staff"),
                status=RecommendationStatus.APPROVED,
                superseded_at=recommendation.superseded_at,
            )
    item.status = ReviewStatus.DECIDED
    item.decided_at = now
    item.claimed_by = None
    item.claim_expires_at = None


def review_confirm(
    *, user, item_id: int, confirm: bool, note: str = "", now: datetime | None = None
) -> ReviewItem:
    """The second person of a policy-level decision: confirm it (it takes effect) or
    decline it (the item goes back to the queue). The person who proposed it cannot."""
    now = now or timezone.now()
    _policy_gate(user)
    with transaction.atomic():
        item = _locked_item(item_id)
        if item.status != ReviewStatus.AWAITING_SECOND:
            raise ApplicationError(
                _("This item is not waiting for a second person."), code="invalid"
            )
        if item.decided_by_id == user.pk:
            raise ApplicationError(
                _("A second, different person must confirm a policy-level decision."),
                code="same_person",
            )
        if confirm:
            item.confirmed_by = user
            _apply(item, now)
            item.save()
            _action(
                item,
                ReviewActionKind.CONFIRMED,
                actor=user,
                reason_code=item.reason_code,
                note=note,
            ).save()
        else:
            _action(item, ReviewActionKind.DECLINED, actor=user, note=note).save()
            item.status = ReviewStatus.ESCALATED if item.escalated_at else ReviewStatus.OPEN
            item.decision = ""
            item.reason_code = ""
            item.note = ""
            item.decided_by = None
            item.replacement_item = None
            item.save()
    return item


def review_escalate(*, user, item_id: int, note: str = "") -> ReviewItem:
    """Hand the item to the owner."""
    note = (note or "").strip()
    if not note:
        raise ApplicationError(
            _("Say what the owner should look at."), code="required", field="note"
        )
    with transaction.atomic():
        item = _locked_item(item_id)
        if item.status != ReviewStatus.OPEN:
            raise ApplicationError(_("Only an open item can be escalated."), code="invalid")
        item.status = ReviewStatus.ESCALATED
        item.escalated_at = timezone.now()
        item.claimed_by = None
        item.claim_expires_at = None
        item.save()
        _action(item, ReviewActionKind.ESCALATED, actor=user, note=note).save()
    return item


def review_mark_policy_level(*, user, item_id: int) -> ReviewItem:
    """The owner marks the item: its decision needs a second person."""
    if not _is_owner(user):
        raise ApplicationError(
            _("Only the owner marks a decision as policy-level."), code="forbidden"
        )
    with transaction.atomic():
        item = _locked_item(item_id)
        if item.status not in CLAIMABLE:
            raise ApplicationError(_("This item is not waiting for a decision."), code="decided")
        if not item.policy_level:
            item.policy_level = True
            item.save(update_fields=["policy_level"])
            _action(item, ReviewActionKind.MARKED_POLICY, actor=user).save()
    return item


@dataclass(frozen=True)
class BulkResult:
    decided: int
    skipped_high_risk: int
    skipped_claimed: int
    skipped_other: int


def review_bulk_decide(
    *,
    user,
    queryset: QuerySet[ReviewItem],
    decision: str,
    reason_code: str,
    note: str = "",
    now: datetime | None = None,
) -> BulkResult:
    """Approve or reject every held recommendation of the (filtered) set at once.

    Left out, and counted: high-risk items when approving (each needs its explanation
    read), items another reviewer holds, policy-level items (each needs a second person),
    tasks that are not recommendations. Bounded queries whatever the size.
    """
    now = now or timezone.now()
    _policy_gate(user)
    if decision not in (ReviewDecision.APPROVE, ReviewDecision.REJECT):
        raise ApplicationError(
            _("Bulk decisions approve or reject."), code="invalid", field="decision"
        )
    if reason_code not in ReasonCode.values:
        raise ApplicationError(
            _("Choose a reason for the decision."), code="required", field="reason_code"
        )
    note = (note or "").strip()
    if reason_code == ReasonCode.OTHER and not note:
        raise ApplicationError(
            _("Say why in the note when the reason is 'Other'."), code="required", field="note"
        )
    with transaction.atomic():
        candidates = list(
            _lock(
                ReviewItem.objects.filter(pk__in=queryset.values("pk")).filter(
                    status__in=CLAIMABLE if _is_owner(user) else (ReviewStatus.OPEN,)
                )
            )
        )
        chosen, high_risk, claimed, other = [], 0, 0, 0
        for item in candidates:
            if item.source != ReviewSource.RECOMMENDATION or item.policy_level:
                other += 1
            elif _held_by_other(item, user, now):
                claimed += 1
            elif decision == ReviewDecision.APPROVE and item.high_risk:
                high_risk += 1
            else:
                chosen.append(item)
        status = (
            RecommendationStatus.APPROVED
            if decision == ReviewDecision.APPROVE
            else RecommendationStatus.REJECTED
        )
        Recommendation.objects.filter(pk__in=[i.recommendation_id for i in chosen]).update(
            status=status
        )
        for item in chosen:
            item.status = ReviewStatus.DECIDED
            item.decision = decision
            item.reason_code = reason_code
            item.note = note
            item.decided_by = user
            item.decided_at = now
            item.claimed_by = None
            item.claim_expires_at = None
        ReviewItem.objects.bulk_update(
            chosen,
            [
                "status",
                "decision",
                "reason_code",
                "note",
                "decided_by",
                "decided_at",
                "claimed_by",
                "claim_expires_at",
            ],
            batch_size=500,
        )
        ReviewAction.objects.bulk_create(
            [
                _action(
                    item,
                    _DECISION_ACTION[ReviewDecision(decision)],
                    actor=user,
                    reason_code=reason_code,
                    note=note,
                    extra={"bulk": True},
                )
                for item in chosen
            ],
            batch_size=1_000,
        )
    return BulkResult(len(chosen), high_risk, claimed, other)


# --- the owner's settings ---------------------------------------------------------------

SETTINGS_FIELDS = (
    "premium_multiple",
    "min_confidence",
    "min_history",
    "sensitive_attributes",
    "sensitive_categories",
    "new_model_sample",
    "complaint_window_days",
    "sla_hours",
    "claim_minutes",
)


def oversight_settings_update(*, user, **values) -> OversightSettings:
    """Save the owner's thresholds (validated by the model's validators); the change is
    written to the trail with the old and new values."""
    unknown = set(values) - set(SETTINGS_FIELDS)
    if unknown:
        raise ApplicationError(_("Unknown setting."), code="invalid", field=sorted(unknown)[0])
    with transaction.atomic():
        current = OversightSettings.objects.select_for_update().filter(pk=1).first()
        current = current or OversightSettings(pk=1)
        before = {name: getattr(current, name) for name in SETTINGS_FIELDS}
        for name, value in values.items():
            setattr(current, name, value)
        try:
            current.full_clean()
        except ValidationError as error:
            field, messages = next(iter(error.message_dict.items()))
            raise ApplicationError(messages[0], code="invalid", field=field) from error
        current.save()
        after = {name: getattr(current, name) for name in SETTINGS_FIELDS}
        changed = {k: [before[k], after[k]] for k in SETTINGS_FIELDS if before[k] != after[k]}
        if changed:
            ReviewAction.objects.create(
                actor=user, action=ReviewActionKind.SETTINGS, snapshot={"changed": changed}
            )
    return current
