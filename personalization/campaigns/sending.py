"""Sending an offer campaign: start it, then send its emails at the rate limit.

Sending is at most once per customer and campaign: each recipient row is claimed with
one conditional UPDATE (queued -> sending) that only one task can win, committed before
the email goes out, and marked sent afterwards. A worker that dies between the two
leaves the row "sending (unconfirmed)" and nothing ever sends it again, so a retried or
duplicated task can never email a customer twice; the price is that such a customer
may get no email (shown on the campaign's page).
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.core import mail
from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import PersonalizationMode, User
from accounts.selectors import effective_mode
from core.enqueue import enqueue_on_commit
from core.errors import ApplicationError
from core.pause import pause_point
from personalization.campaigns import selectors
from personalization.campaigns.emails import offer_email
from personalization.campaigns.models import (
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    RecipientStatus,
    SkipReason,
)
from personalization.campaigns.services import _refuse_when_paused, _stop
from personalization.datarights.emails import customer_address
from personalization.models import Recommendation, RecommendationStatus
from personalization.recommending.storing import UNDECIDED

logger = logging.getLogger(__name__)

# Test-only hook (tests/personalization/test_campaigns_worker.py): when this environment
# variable names a folder, the sender stops right after the first email went out (before
# it is marked sent), writes `<folder>/paused` and waits for `<folder>/resume`, so a test
# can kill the worker at the worst moment. Read at run time; never set outside that test.
PAUSE_DIR_ENV = "FAIRSHARE_CAMPAIGN_TEST_PAUSE_DIR"
# Seconds before trying again when the mail server cannot be reached.
MAIL_SERVER_RETRY_SECONDS = 60.0


# --- send ---------------------------------------------------------------------------


def _replacement(recommendation: Recommendation | None) -> Recommendation | None:
    """The approved row a reviewer put in place of this one, if any."""
    if recommendation is None:
        return None
    try:
        review_item = apps.get_model("personalization", "ReviewItem")
    except LookupError:
        return None
    replacement_id = (
        review_item.objects.filter(recommendation=recommendation, replacement__isnull=False)
        .values_list("replacement_id", flat=True)
        .first()
    )
    if replacement_id is None:
        return None
    return (
        Recommendation.objects.filter(pk=replacement_id, status=RecommendationStatus.APPROVED)
        .select_related("item__category")
        .first()
    )


@dataclass
class SendPlan:
    """What pressing "send" does now: recipient ids to queue (with the approved offer a
    reviewer's replacement put in), rejected and undecided ones, offers to withdraw."""

    queued: list[int] = field(default_factory=list)
    replaced: dict[int, Recommendation] = field(default_factory=dict)
    rejected: list[int] = field(default_factory=list)
    unapproved: list[int] = field(default_factory=list)
    withdraw: list[int] = field(default_factory=list)


def campaign_send_plan(*, campaign: Campaign) -> SendPlan:
    """Reads only: the confirmation page's count is the number sending will queue."""
    plan = SendPlan()
    waiting = CampaignRecipient.objects.filter(
        campaign=campaign, status=RecipientStatus.IN_REVIEW
    ).select_related("recommendation")
    for recipient in waiting:
        rec = recipient.recommendation
        if rec is not None and rec.status != RecommendationStatus.APPROVED:
            replacement = _replacement(rec)
            if replacement is not None:
                plan.replaced[recipient.pk] = replacement
                rec = replacement
        if selectors.recommendation_sendable(rec):
            plan.queued.append(recipient.pk)
        elif rec is not None and rec.status == RecommendationStatus.REJECTED:
            plan.rejected.append(recipient.pk)
        else:
            plan.unapproved.append(recipient.pk)
            if rec is not None and rec.status in UNDECIDED:
                plan.withdraw.append(rec.pk)
    return plan


def campaign_send_start(
    *, campaign: Campaign, user: User, base_url: str, confirmed_count: int | None = None
) -> Campaign:
    """Send the approved offers (owner only, checked by the view).

    Offers still held or rejected are not sent (they leave the review queue); the emails
    go out from a Celery task at CAMPAIGN_EMAILS_PER_MINUTE. Pressing it again while
    sending re-queues the task, which is safe: every recipient is claimed once.
    `confirmed_count`: the number of emails the person confirmed; when it is no longer
    the number that would go (a reviewer decided meanwhile), nothing starts.
    """
    from personalization.campaigns import tasks

    _refuse_when_paused()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status == CampaignStatus.SENDING:
            enqueue_on_commit(tasks.campaign_send, campaign.pk)
            return campaign
        if campaign.status != CampaignStatus.IN_REVIEW:
            raise ApplicationError(
                _("Only a campaign whose offers were reviewed can be sent."), code="not_ready"
            )
        plan = campaign_send_plan(campaign=campaign)
        if not plan.queued:
            raise ApplicationError(
                _("No offer has been approved yet, so nothing would be sent."),
                code="nothing_approved",
            )
        if confirmed_count is not None and confirmed_count != len(plan.queued):
            raise ApplicationError(
                ngettext(
                    "The number of emails changed while you looked: %(n)s would go now. "
                    "Check it and confirm again.",
                    "The number of emails changed while you looked: %(n)s would go now. "
                    "Check it and confirm again.",
                    len(plan.queued),
                )
                % {"n": len(plan.queued)},
                code="count_changed",
            )
        for recipient_pk, replacement in plan.replaced.items():
            category = replacement.item.category
            CampaignRecipient.objects.filter(pk=recipient_pk).update(
                recommendation=replacement, segment=category.slug, segment_name=category.name
            )
        recipients = CampaignRecipient.objects.filter(campaign=campaign)
        recipients.filter(pk__in=plan.queued).update(status=RecipientStatus.QUEUED)
        recipients.filter(pk__in=plan.rejected).update(
            status=RecipientStatus.SKIPPED, skip_reason=SkipReason.REJECTED
        )
        recipients.filter(pk__in=plan.unapproved).update(
            status=RecipientStatus.SKIPPED, skip_reason=SkipReason.NOT_APPROVED
        )
        # Offers nobody decided on leave the staff queue: they will never be sent.
        Recommendation.objects.filter(pk__in=plan.withdraw, status__in=UNDECIDED).delete()
        campaign.status = CampaignStatus.SENDING
        campaign.send_total = len(plan.queued)
        campaign.send_started_by = user
        campaign.send_started_at = timezone.now()
        campaign.link_base_url = (settings.CAMPAIGN_LINK_BASE_URL or base_url).rstrip("/")
        campaign.save(
            update_fields=[
                "status",
                "send_total",
                "send_started_by",
                "send_started_at",
                "link_base_url",
                "updated_at",
            ]
        )
        enqueue_on_commit(tasks.campaign_send, campaign.pk)
    return campaign


def campaign_send_test(*, campaign: Campaign, user: User, base_url: str) -> str:
    """Email the person at the shop the first segment's real email, marked as a test,
    with links that do nothing. Counted nowhere: no recipient, offer or rate-limit slot
    changes. Returns the address it went to."""
    address = (user.email or "").strip()
    if not address:
        raise ApplicationError(
            _("Your account has no email address to send the test to."), code="no_address"
        )
    segments = selectors.campaign_segments(campaign=campaign)
    sample = next((s.sample for s in segments if s.sample.recommendation is not None), None)
    if sample is None or sample.recommendation is None:
        raise ApplicationError(
            _(
                "Choose offers first: the test shows a real customer's email with the offer "
                "chosen for them."
            ),
            code="no_sample",
        )
    message = offer_email(
        campaign=campaign,
        recipient=sample,
        recommendation=sample.recommendation,
        base_url=base_url,
        test_to=address,
    )
    try:
        message.send()
    except (OSError, smtplib.SMTPException) as exc:
        logger.warning("campaign %s: test email failed (%s)", campaign.pk, type(exc).__name__)
        raise ApplicationError(
            _("The mail server could not be reached. Try again in a minute."),
            code="mail_server",
        ) from exc
    logger.info("campaign %s: test email sent to a staff member", campaign.pk)
    return address


@dataclass(frozen=True)
class SendOutcome:
    # Nothing left to do for this campaign (sent, stopped, or not sending).
    done: bool
    # Seconds until the rate limit allows the next email (0 when not waiting).
    wait_seconds: float = 0.0
    sent: int = 0


def _budget(now: datetime) -> tuple[int, float]:
    """Emails the rate limit still allows this minute, and when the next one frees up.

    Counted in the database over every campaign, so duplicated tasks share one budget."""
    window_start = now - timedelta(seconds=60)
    # Claims that became emails (or attempts); a recipient skipped by the checks is not one.
    recent = CampaignRecipient.objects.filter(
        claimed_at__gt=window_start,
        status__in=(RecipientStatus.SENDING, RecipientStatus.SENT, RecipientStatus.FAILED),
    )
    used = recent.count()
    left = settings.CAMPAIGN_EMAILS_PER_MINUTE - used
    if left > 0:
        return left, 0.0
    oldest = recent.aggregate(oldest=Min("claimed_at"))["oldest"] or now
    return 0, max(0.5, (oldest - window_start).total_seconds())


def _skip(recipient_id: int, reason: str) -> None:
    CampaignRecipient.objects.filter(pk=recipient_id, status=RecipientStatus.SENDING).update(
        status=RecipientStatus.SKIPPED, skip_reason=reason
    )


def _send_check(recipient: CampaignRecipient) -> str | Recommendation:
    """Re-checked for every email just before it goes: the skip reason, or the offer."""
    customer = recipient.customer
    if effective_mode(profile=customer) is not PersonalizationMode.ON:
        return SkipReason.MODE_OFF
    allowed = selectors.marketing_categories(customer_ids=[customer.pk]).get(customer.pk, set())
    if not allowed:
        return SkipReason.NO_CONSENT
    rec = recipient.recommendation
    if rec is None:
        return SkipReason.OFFER_UNAVAILABLE
    rec = (
        Recommendation.objects.select_related("item__category")
        .prefetch_related("item__attributes")
        .get(pk=rec.pk)
    )
    problem = selectors.offer_problem(
        customer=customer,
        offer=rec,
        allowed=allowed,
        refused=selectors.refused_items(customer=customer),
    )
    if problem is not None:
        return problem
    if not customer_address(customer):
        return SkipReason.NO_ADDRESS
    return rec


def campaign_send_batch(*, campaign_id: int, now: datetime | None = None) -> SendOutcome:
    """Send emails until the campaign is done, stopped, or the rate limit says wait.

    Before each email: the kill switch and the campaign's own status, then the customer's
    mode, marketing consent and the offer's approval. Safe to run several at once.
    """
    sent = 0
    connection = mail.get_connection()
    while True:
        moment = now or timezone.now()
        status = Campaign.objects.filter(pk=campaign_id).values_list("status", flat=True).first()
        if status != CampaignStatus.SENDING:
            return SendOutcome(done=True, sent=sent)
        if (reason := selectors.offer_emails_halt_reason()) is not None:
            _stop(campaign_id, reason=reason, user=None)
            return SendOutcome(done=True, sent=sent)
        left, wait = _budget(moment)
        if left <= 0:
            return SendOutcome(done=False, wait_seconds=wait, sent=sent)
        next_pk = (
            CampaignRecipient.objects.filter(campaign_id=campaign_id, status=RecipientStatus.QUEUED)
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
        if next_pk is None:
            _finish(campaign_id)
            return SendOutcome(done=True, sent=sent)
        # The claim: only one task can move this row out of "queued" (autocommitted).
        claimed = CampaignRecipient.objects.filter(
            pk=next_pk, status=RecipientStatus.QUEUED
        ).update(status=RecipientStatus.SENDING, claimed_at=moment)
        if not claimed:
            continue
        recipient = CampaignRecipient.objects.select_related(
            "campaign", "customer", "customer__user", "recommendation"
        ).get(pk=next_pk)
        offer = _send_check(recipient)
        if isinstance(offer, str):
            _skip(next_pk, offer)
            continue
        message = offer_email(
            campaign=recipient.campaign,
            recipient=recipient,
            recommendation=offer,
            base_url=recipient.campaign.link_base_url,
        )
        message.connection = connection
        try:
            opened = connection.open()
        except (OSError, smtplib.SMTPException):
            # The mail server could not be reached, so this email certainly did not go
            # out: it goes back in the queue and sending tries again later.
            CampaignRecipient.objects.filter(pk=next_pk, status=RecipientStatus.SENDING).update(
                status=RecipientStatus.QUEUED, claimed_at=None
            )
            logger.warning("campaign %s: mail server unreachable, retrying later", campaign_id)
            return SendOutcome(done=False, wait_seconds=MAIL_SERVER_RETRY_SECONDS, sent=sent)
        try:
            message.send()
        except Exception as exc:  # a refused message must not stop the rest
            # Possibly half-sent: never retried (at most once), shown as failed.
            CampaignRecipient.objects.filter(pk=next_pk, status=RecipientStatus.SENDING).update(
                status=RecipientStatus.FAILED, failure=type(exc).__name__[:300]
            )
            logger.warning("campaign %s: email to recipient %s failed", campaign_id, next_pk)
            continue
        finally:
            if opened:
                connection.close()
        pause_point(PAUSE_DIR_ENV)
        CampaignRecipient.objects.filter(pk=next_pk, status=RecipientStatus.SENDING).update(
            status=RecipientStatus.SENT, sent_at=timezone.now()
        )
        Recommendation.objects.filter(pk=offer.pk, status=RecommendationStatus.APPROVED).update(
            status=RecommendationStatus.DELIVERED
        )
        sent += 1


def _finish(campaign_id: int) -> None:
    Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.SENDING).update(
        status=CampaignStatus.SENT, finished_at=timezone.now(), updated_at=timezone.now()
    )
    logger.info("campaign %s sent", campaign_id)
