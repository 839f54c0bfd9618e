"""Writes for human oversight: opening review tasks, claiming and deciding them, the
owner's settings. Screening lives in `screening.py`. Every action is written to the
append-only trail (`ReviewAction`) in the same transaction as the change it records.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import CustomerProfile
from accounts.roles import OWNER_CONSOLE
from accounts.services import customer_profile_lock
from core.errors import ApplicationError
from governance.selectors import ai_policy_unacknowledged
from personalization.models import (
    Channel,
    Feedback,
    FeedbackKind,
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
from personalization.oversight import trail
from personalization.oversight.screening import replacement_flags
from personalization.oversight.selectors import oversight_settings
from personalization.oversight.wording import staff_pick_sentence_stored

logger = logging.getLogger(__name__)

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
        trail.action(item, ReviewActionKind.OPENED).save()
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
            [trail.action(item, ReviewActionKind.CLAIMED, actor=user) for item in items]
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


def _locked_item_of_customer(item_id: int) -> ReviewItem:
    """The item locked for a decision, after its customer's row: a decision changes the
    customer's list, so it takes the locks in the order list generation takes them
    (customer, then the list's rows). Deciding while the list is regenerated waits for
    the new list instead of losing the decision to it."""
    customer_id = (
        ReviewItem.objects.filter(pk=item_id).values_list("customer_id", flat=True).first()
    )
    if customer_id is not None:
        try:
            customer_profile_lock(profile_id=customer_id)
        except CustomerProfile.DoesNotExist:
            pass  # erased meanwhile: the item went with the customer's data
    return _locked_item(item_id)


def _customers_lock(customer_ids: set[int]) -> None:
    """Lock these customers' rows in pk order (as list generation does)."""
    list(
        CustomerProfile.objects.select_for_update(no_key=True)
        .filter(pk__in=sorted(customer_ids))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


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
        trail.action(item, ReviewActionKind.CLAIMED, actor=user).save()
    return item


def review_release(*, user, item_id: int) -> ReviewItem:
    """Give a claimed item back to the queue."""
    with transaction.atomic():
        item = _locked_item(item_id)
        if item.claimed_by_id == user.pk:
            item.claimed_by = None
            item.claim_expires_at = None
            item.save(update_fields=["claimed_by", "claim_expires_at"])
            trail.action(item, ReviewActionKind.RELEASED, actor=user).save()
    return item


# --- deciding ---------------------------------------------------------------------------

# Feedback that keeps an item out of a reviewer's replacement picks.
TURNED_DOWN = (FeedbackKind.NOT_FOR_ME, FeedbackKind.CANT_HAVE)

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
    if (
        item.customer_id is not None
        and Feedback.objects.filter(
            customer_id=item.customer_id, item_id=replacement.pk, kind__in=TURNED_DOWN
        ).exists()
    ):
        raise ApplicationError(
            _("The customer turned that item down: choose another."),
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


# The reasons that fit each decision: "Reject: checked, not an issue" says nothing.
REASONS_FOR: dict[str, tuple[str, ...]] = {
    ReviewDecision.APPROVE: (
        ReasonCode.FITS_CUSTOMER,
        ReasonCode.DATA_CHECKED,
        ReasonCode.SAMPLE_OK,
        ReasonCode.NOT_AN_ISSUE,
        ReasonCode.OTHER,
    ),
    ReviewDecision.REJECT: (
        ReasonCode.CONFLICTS_RESTRICTION,
        ReasonCode.DATA_MISSING,
        ReasonCode.TOO_EXPENSIVE,
        ReasonCode.NOT_APPROPRIATE,
        ReasonCode.CUSTOMER_COMPLAINED,
        ReasonCode.OTHER,
    ),
    ReviewDecision.REPLACE: (
        ReasonCode.BETTER_ITEM,
        ReasonCode.CONFLICTS_RESTRICTION,
        ReasonCode.DATA_MISSING,
        ReasonCode.TOO_EXPENSIVE,
        ReasonCode.NOT_APPROPRIATE,
        ReasonCode.CUSTOMER_COMPLAINED,
        ReasonCode.OTHER,
    ),
    ReviewDecision.CLOSE: (
        ReasonCode.FINDING_ADDRESSED,
        ReasonCode.NOT_AN_ISSUE,
        ReasonCode.OTHER,
    ),
}


def _checked_note(reason_code: str, note: str, *, decision: str = "") -> str:
    """Every decision needs a reason code that fits it; "other" needs the note that says
    why."""
    if reason_code not in ReasonCode.values:
        raise ApplicationError(
            _("Choose a reason for the decision."), code="required", field="reason_code"
        )
    if decision in REASONS_FOR and reason_code not in REASONS_FOR[decision]:
        raise ApplicationError(
            _("“%(reason)s” is not a reason to %(decision)s: choose one listed under it.")
            % {
                "reason": ReasonCode(reason_code).label,
                "decision": str(ReviewDecision(decision).label).lower(),
            },
            code="reason_mismatch",
            field="reason_code",
        )
    note = (note or "").strip()
    if reason_code == ReasonCode.OTHER and not note:
        raise ApplicationError(
            _("Say why in the note when the reason is 'Other'."), code="required", field="note"
        )
    return note


def _already_decided_error(item: ReviewItem, user) -> ApplicationError:
    """For a form that is out of date (Back, a second tab, a colleague was quicker): who
    decided, what and when. Read under the item's lock, so it names the decision that
    won."""
    decider = item.decided_by
    if decider is None:
        who = _("someone else")
    elif decider.pk == user.pk:
        who = _("you")
    else:
        who = decider.email
    if item.status == ReviewStatus.AWAITING_SECOND:
        return ApplicationError(
            _(
                "Already decided by %(who)s: “%(decision)s” waits for a second person to "
                "confirm it. Nothing was changed."
            )
            % {"who": who, "decision": item.get_decision_display()},
            code="decided",
        )
    if item.status == ReviewStatus.DECIDED:
        when = timezone.localtime(item.decided_at) if item.decided_at else None
        return ApplicationError(
            _("Already decided by %(who)s at %(time)s: %(decision)s. Nothing was changed.")
            % {
                "who": who,
                "time": date_format(when, "SHORT_DATETIME_FORMAT") if when else "",
                "decision": item.get_decision_display(),
            },
            code="decided",
        )
    return ApplicationError(
        _("This item is no longer waiting for a decision. Nothing was changed."),
        code="decided",
    )


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
    note = _checked_note(reason_code, note, decision=decision)
    with transaction.atomic():
        item = _locked_item_of_customer(item_id)
        if item.status not in CLAIMABLE:
            raise _already_decided_error(item, user)
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
            trail.action(
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
        trail.action(
            item,
            _DECISION_ACTION[ReviewDecision(decision)],
            actor=user,
            reason_code=reason_code,
            note=note,
            extra=extra,
        ).save()
    return item


def _replacement_rank(recommendation: Recommendation, now: datetime) -> int:
    """The place of a reviewer's replacement for this (now rejected) row.

    A held item is stored after its list, which refilled without it (decision 60). If that
    list is full, the replacement takes the list's last place and the last refill leaves
    (superseded), so the list keeps its length and the pick is within it wherever the
    list is served (the API's default limit is the list's length). Otherwise (a short
    list, or a held row inside its list, e.g. an offer email) it takes the held row's
    place. The rejected row moves to the same place: it is current beside its
    replacement, which is how serving tells a replaced item from a rejected one."""
    listed = (
        Recommendation.objects.filter(
            customer_id=recommendation.customer_id,
            channel=recommendation.channel,
            superseded_at__isnull=True,
            status__in=(
                RecommendationStatus.PROPOSED,
                RecommendationStatus.APPROVED,
                RecommendationStatus.DELIVERED,
            ),
        )
        .order_by("-rank")
        .first()
    )
    if (
        listed is None
        or listed.rank > recommendation.rank
        or Recommendation.SHORT_LIST in (listed.flags or [])
    ):
        return recommendation.rank
    Recommendation.objects.filter(pk=listed.pk).update(superseded_at=now)
    Recommendation.objects.filter(pk=recommendation.pk).update(rank=listed.rank)
    recommendation.rank = listed.rank
    return listed.rank


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
                rank=_replacement_rank(recommendation, now),
                model_version_id=recommendation.model_version_id,
                channel=recommendation.channel,
                reasons=[],
                sentence=staff_pick_sentence_stored(),
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
        item = _locked_item_of_customer(item_id)
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
            trail.action(
                item,
                ReviewActionKind.CONFIRMED,
                actor=user,
                reason_code=item.reason_code,
                note=note,
            ).save()
        else:
            trail.action(item, ReviewActionKind.DECLINED, actor=user, note=note).save()
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
        trail.action(item, ReviewActionKind.ESCALATED, actor=user, note=note).save()
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
            trail.action(item, ReviewActionKind.MARKED_POLICY, actor=user).save()
    return item


@dataclass(frozen=True)
class BulkResult:
    decided: int
    skipped_high_risk: int
    skipped_claimed: int
    skipped_other: int
    # Listed on the confirmation but decided by someone else (or gone) meanwhile.
    skipped_decided: int = 0


def review_bulk_decide(
    *,
    user,
    queryset: QuerySet[ReviewItem],
    decision: str,
    reason_code: str,
    note: str = "",
    item_ids: Sequence[int] | None = None,
    now: datetime | None = None,
) -> BulkResult:
    """Approve or reject every held recommendation of the (filtered) set at once.

    `item_ids` are the items the confirmation listed: only those are decided, never one
    that joined the filtered set after the reviewer looked. Left out, and counted:
    high-risk items when approving (each needs its explanation read), items another
    reviewer holds, policy-level items (each needs a second person), tasks that are not
    recommendations, listed items decided meanwhile. Bounded queries whatever the size.
    """
    now = now or timezone.now()
    _policy_gate(user)
    if decision not in (ReviewDecision.APPROVE, ReviewDecision.REJECT):
        raise ApplicationError(
            _("Bulk decisions approve or reject."), code="invalid", field="decision"
        )
    note = _checked_note(reason_code, note, decision=decision)
    listed = set(item_ids) if item_ids is not None else None
    with transaction.atomic():
        # The customers' rows first, as in a single decision and list generation.
        _customers_lock(
            {
                pk
                for pk in ReviewItem.objects.filter(pk__in=queryset.values("pk"))
                .exclude(customer_id=None)
                .values_list("customer_id", flat=True)
                if pk is not None
            }
        )
        candidates = list(
            _lock(
                ReviewItem.objects.filter(pk__in=queryset.values("pk")).filter(
                    status__in=CLAIMABLE if _is_owner(user) else (ReviewStatus.OPEN,)
                )
            )
        )
        chosen, high_risk, claimed, other = [], 0, 0, 0
        gone = len(listed - {item.pk for item in candidates}) if listed is not None else 0
        for item in candidates:
            if item.source != ReviewSource.RECOMMENDATION or item.policy_level:
                other += 1
            elif _held_by_other(item, user, now):
                claimed += 1
            elif decision == ReviewDecision.APPROVE and item.high_risk:
                high_risk += 1
            elif listed is None or item.pk in listed:
                # (An item that joined the filtered set after the confirmation was shown
                # stays in the queue.)
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
                trail.action(
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
    return BulkResult(len(chosen), high_risk, claimed, other, skipped_decided=gone)


# --- the owner's settings ---------------------------------------------------------------

SETTINGS_FIELDS = (
    "premium_multiple",
    "min_evidence",
    "review_budget",
    "spot_check_percent",
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
