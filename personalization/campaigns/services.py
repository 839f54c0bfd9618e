"""Writes for offer campaigns: compose, choose offers, stop; the email links.

Sending (at most once per customer and campaign) is in
`personalization.campaigns.sending`; it stops a campaign with `_stop` from here and
checks the kill switch and the Features & risk gate with the helpers below.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import CustomerProfile, PersonalizationMode, User
from accounts.services import customer_profile_set_mode
from core.enqueue import enqueue_on_commit
from core.errors import ApplicationError
from governance.selectors import kill_switch_engaged
from personalization import registry
from personalization.campaigns import selectors
from personalization.campaigns.emails import NAME_PLACEHOLDER
from personalization.campaigns.links import LinkAction, link_read
from personalization.campaigns.models import (
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    RecipientStatus,
    SkipReason,
)
from personalization.consent.notices import notice_current
from personalization.consent.services import ConsentChange, RequestFingerprint, consent_set
from personalization.models import Channel, ConsentMethod, Recommendation
from personalization.recommending.models_cache import active_version
from personalization.recommending.storing import UNDECIDED

logger = logging.getLogger(__name__)

# Customers whose offers are chosen per step (progress is saved after each).
GENERATE_CHUNK = 200
# Any constant: the PostgreSQL advisory lock that lets one campaign start at a time.
_CAMPAIGN_START_LOCK = 727_301


# --- compose ------------------------------------------------------------------------


def _clean_greeting(greeting: str) -> str:
    greeting = (greeting or "").strip()
    if "\n" in greeting or "\r" in greeting or "\x00" in greeting:
        raise ApplicationError(
            _("The greeting must be a single line."), code="invalid", field="greeting"
        )
    if greeting.replace(NAME_PLACEHOLDER, "").count("{") or greeting.replace(
        NAME_PLACEHOLDER, ""
    ).count("}"):
        raise ApplicationError(
            _("Only {name} can be filled in: remove the other curly brackets."),
            code="invalid",
            field="greeting",
        )
    return greeting


def _clean(*, name: str, subject: str, message: str) -> tuple[str, str, str]:
    name, subject, message = (name or "").strip(), (subject or "").strip(), (message or "").strip()
    if not name:
        raise ApplicationError(_("Give the campaign a name."), code="required", field="name")
    if not subject:
        raise ApplicationError(_("Write a subject line."), code="required", field="subject")
    if "\n" in subject or "\r" in subject:
        raise ApplicationError(
            _("The subject must be a single line."), code="invalid", field="subject"
        )
    if not message:
        raise ApplicationError(_("Write the message."), code="required", field="message")
    for field, value in (("name", name), ("subject", subject), ("message", message)):
        if "\x00" in value:
            raise ApplicationError(
                _("Remove the invisible control characters."), code="invalid", field=field
            )
    return name, subject, message


@transaction.atomic
def campaign_create(
    *, name: str, subject: str, message: str, created_by: User, greeting: str = ""
) -> Campaign:
    """A draft campaign; nothing is chosen or sent yet. `greeting` starts every email as
    written ("{name}" becomes the customer's name); empty: no greeting line."""
    name, subject, message = _clean(name=name, subject=subject, message=message)
    return Campaign.objects.create(
        name=name,
        subject=subject,
        greeting=_clean_greeting(greeting),
        message=message,
        created_by=created_by,
    )


@transaction.atomic
def campaign_update(
    *, campaign: Campaign, name: str, subject: str, message: str, greeting: str = ""
) -> Campaign:
    """Edit a draft, or the wording of a campaign in review (the offers stay)."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.IN_REVIEW):
        raise ApplicationError(
            _("Only a draft or a campaign in review can be changed."), code="not_editable"
        )
    campaign.name, campaign.subject, campaign.message = _clean(
        name=name, subject=subject, message=message
    )
    campaign.greeting = _clean_greeting(greeting)
    campaign.save(update_fields=["name", "subject", "greeting", "message", "updated_at"])
    return campaign


# --- choose offers ------------------------------------------------------------------


def _refuse_when_paused() -> None:
    if kill_switch_engaged():
        raise ApplicationError(
            _("AI personalization is paused with the kill switch: no campaign can run."),
            code="kill_switch",
        )
    if selectors.offer_emails_switched_off():
        raise ApplicationError(
            _(
                "Offer emails are switched off under Features & risk: switch them on (with "
                "an approved risk assessment) before running a campaign."
            ),
            code="feature_off",
        )


def _campaign_start_lock() -> None:
    """Within the caller's transaction (PostgreSQL; SQLite runs one writer at a time)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CAMPAIGN_START_LOCK])


def campaign_generate_start(*, campaign: Campaign) -> Campaign:
    """Choose an offer for every customer in the audience, in a Celery task (queued when
    this transaction commits); the offers then wait for staff review."""
    from personalization.campaigns import tasks

    _refuse_when_paused()
    if active_version() is None:
        raise ApplicationError(
            _("No recommender has been trained yet, so there are no offers to choose."),
            code="no_model",
        )
    with transaction.atomic():
        # One start at a time: two campaigns started at once would each find the other
        # not busy yet.
        _campaign_start_lock()
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status != CampaignStatus.DRAFT:
            raise ApplicationError(
                _("Offers for this campaign were already chosen."), code="not_draft"
            )
        busy = selectors.campaign_busy(exclude_pk=campaign.pk)
        if busy is not None:
            raise ApplicationError(
                _(
                    "Campaign “%(name)s” is still being reviewed or sent. Finish or stop it "
                    "first: both would use the same offer emails."
                )
                % {"name": busy.name},
                code="busy",
            )
        total = selectors.audience_count()
        if total == 0:
            raise ApplicationError(
                _(
                    "Nobody can receive this campaign: no customer has personalization on "
                    "and allows offer emails."
                ),
                code="empty_audience",
            )
        campaign.status = CampaignStatus.GENERATING
        campaign.audience_total = total
        campaign.generated_count = 0
        campaign.save(update_fields=["status", "audience_total", "generated_count", "updated_at"])
        enqueue_on_commit(tasks.campaign_generate, campaign.pk)
    return campaign


def _choose(rows: list[Recommendation], allowed: set[str]) -> Recommendation | None:
    """The customer's best offer that rests only on data allowed for marketing; offers
    the engine itself flagged (e.g. missing allergen data) only if nothing else fits."""
    fitting = [
        r
        for r in rows
        if r.status in UNDECIDED
        and selectors.offer_fits_marketing_consent(reasons=r.reasons, allowed=allowed)
    ]
    fitting.sort(key=lambda r: (bool(r.flags), r.rank))
    return fitting[0] if fitting else None


def _screen(rows: list[Recommendation]) -> None:
    """Every campaign offer waits for a person (the "campaign" rule)."""
    from personalization.oversight.screening import recommendations_screen

    recommendations_screen(recommendations=rows, is_campaign=True)


def campaign_generate_run(*, campaign_id: int, chunk_size: int = GENERATE_CHUNK) -> Campaign:
    """The task's work: customers already given an offer are skipped, so a retried task
    carries on where the last one stopped."""
    from personalization.recommending.services import recommendations_generate_for_channel

    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status != CampaignStatus.GENERATING:
        return campaign
    done = set(
        CampaignRecipient.objects.filter(campaign=campaign).values_list("customer_id", flat=True)
    )
    ids = [pk for pk in selectors.audience_queryset().order_by("pk").values_list("pk", flat=True)]
    todo = [pk for pk in ids if pk not in done]
    for start in range(0, len(todo), chunk_size):
        if (reason := selectors.offer_emails_halt_reason()) is not None:
            return _stop(campaign_id, reason=reason, user=None)
        with transaction.atomic():
            # A task delivered twice runs one chunk at a time, and skips the customers
            # the other one gave an offer meanwhile (a second list would replace the
            # first one's offer and leave its review item without an email).
            campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
            if campaign.status != CampaignStatus.GENERATING:
                return campaign
            chunk = todo[start : start + chunk_size]
            given = set(
                CampaignRecipient.objects.filter(
                    campaign=campaign, customer_id__in=chunk
                ).values_list("customer_id", flat=True)
            )
            profiles = list(
                CustomerProfile.objects.filter(pk__in=[pk for pk in chunk if pk not in given])
            )
            if profiles:
                _generate_chunk(campaign, profiles, recommendations_generate_for_channel)
            Campaign.objects.filter(pk=campaign_id).update(
                generated_count=CampaignRecipient.objects.filter(campaign_id=campaign_id).count(),
                updated_at=timezone.now(),
            )
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.status == CampaignStatus.GENERATING:
            total = CampaignRecipient.objects.filter(campaign=campaign).count()
            campaign.status = CampaignStatus.IN_REVIEW
            campaign.audience_total = total
            campaign.generated_count = total
            campaign.generated_at = timezone.now()
            campaign.save(
                update_fields=[
                    "status",
                    "audience_total",
                    "generated_count",
                    "generated_at",
                    "updated_at",
                ]
            )
    logger.info("campaign %s: offers chosen for %s customers", campaign_id, campaign.audience_total)
    return campaign


# A campaign choosing offers whose row has not moved for this long lost its task (the
# broker was down when it was queued, or the worker died): each chunk of 200 customers
# takes well under a minute, and stamps `updated_at`.
GENERATING_STUCK_AFTER = timedelta(minutes=3)


def campaigns_requeue_stuck(
    *, now: datetime | None = None, stuck_after: timedelta = GENERATING_STUCK_AFTER
) -> list[int]:
    """Queue again the choosing of offers for campaigns with no progress (beat, every
    minute). Safe with a live task: offers already chosen are skipped."""
    from personalization.campaigns import tasks

    limit = (now or timezone.now()) - stuck_after
    ids = []
    stuck = Campaign.objects.filter(status=CampaignStatus.GENERATING, updated_at__lte=limit)
    for campaign_id in stuck.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            # Locked: a live worker is choosing a chunk of it right now (PostgreSQL).
            campaign = (
                Campaign.objects.select_for_update(skip_locked=True)
                .filter(pk=campaign_id, status=CampaignStatus.GENERATING, updated_at__lte=limit)
                .first()
            )
            if campaign is None:
                continue
            campaign.save(update_fields=["updated_at"])
            enqueue_on_commit(tasks.campaign_generate, campaign.pk)
        ids.append(campaign_id)
        logger.warning("campaign %s: choosing offers made no progress, queued again", campaign_id)
    return ids


def _generate_chunk(campaign: Campaign, profiles: list[CustomerProfile], generate) -> None:
    # Unscreened: only the offer kept for each customer is screened (below), so the
    # review queue and its trail get one item per customer, not one per candidate.
    lists = generate(customers=profiles, channel=Channel.EMAIL, screen=False)
    allowed = selectors.marketing_categories(customer_ids=[p.pk for p in profiles])
    chosen: list[Recommendation] = []
    recipients: list[CampaignRecipient] = []
    leftovers: list[int] = []
    for profile in profiles:
        rows = lists.get(profile.pk, [])
        offer = _choose(rows, allowed.get(profile.pk, set()))
        leftovers += [r.pk for r in rows if offer is None or r.pk != offer.pk]
        if offer is None:
            recipients.append(
                CampaignRecipient(
                    campaign=campaign,
                    customer=profile,
                    status=RecipientStatus.SKIPPED,
                    skip_reason=SkipReason.NO_OFFER,
                )
            )
            continue
        chosen.append(offer)
        recipients.append(
            CampaignRecipient(campaign=campaign, customer=profile, recommendation=offer)
        )
    items = {
        r.pk: (r.item.category.slug, r.item.category.name)
        for r in Recommendation.objects.filter(pk__in=[o.pk for o in chosen]).select_related(
            "item__category"
        )
    }
    for recipient in recipients:
        if recipient.recommendation is not None:
            recipient.segment, recipient.segment_name = items.get(
                recipient.recommendation.pk, ("", "")
            )
    with transaction.atomic():
        # One offer per email: the other candidates nobody saw or decided on go (with
        # any queue items opened for them).
        Recommendation.objects.filter(pk__in=leftovers, status__in=UNDECIDED).delete()
        CampaignRecipient.objects.bulk_create(recipients, ignore_conflicts=True)
        _screen(chosen)


# --- stop ---------------------------------------------------------------------------


def _stop(campaign_id: int, *, reason: str, user: User | None) -> Campaign:
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.status not in (
            CampaignStatus.GENERATING,
            CampaignStatus.IN_REVIEW,
            CampaignStatus.SENDING,
        ):
            return campaign
        waiting = CampaignRecipient.objects.filter(
            campaign=campaign, status__in=(RecipientStatus.IN_REVIEW, RecipientStatus.QUEUED)
        )
        undecided = list(
            waiting.filter(recommendation__status__in=UNDECIDED).values_list(
                "recommendation_id", flat=True
            )
        )
        waiting.update(status=RecipientStatus.SKIPPED, skip_reason=SkipReason.STOPPED)
        # Their offers leave the staff queue: nobody needs to review them any more.
        Recommendation.objects.filter(pk__in=undecided, status__in=UNDECIDED).delete()
        campaign.status = CampaignStatus.STOPPED
        campaign.stop_reason = reason
        campaign.stopped_by = user
        campaign.finished_at = timezone.now()
        campaign.save(
            update_fields=["status", "stop_reason", "stopped_by", "finished_at", "updated_at"]
        )
    logger.info("campaign %s stopped", campaign_id)
    return campaign


def campaign_stop(*, campaign: Campaign, user: User, reason: str = "") -> Campaign:
    """Stop choosing, reviewing or sending; emails already sent stay sent. Final."""
    reason = (reason or "").strip()[:500]
    if campaign.status not in (
        CampaignStatus.GENERATING,
        CampaignStatus.IN_REVIEW,
        CampaignStatus.SENDING,
    ):
        raise ApplicationError(_("This campaign is not running."), code="not_running")
    return _stop(campaign.pk, reason=reason or _("Stopped by a person at the shop."), user=user)


# --- the links in the email ---------------------------------------------------------


def _customer_of(action: LinkAction, token: str) -> CustomerProfile | None:
    """The customer a link names (None once erased); raises LinkInvalid / LinkExpired."""
    target = link_read(action=action, token=token)
    return CustomerProfile.objects.filter(pk=target.customer_id).first()


def offers_unsubscribe(
    *, token: str, fingerprint: RequestFingerprint | None = None
) -> CustomerProfile | None:
    """Withdraw marketing consent for every data category, through the consent ledger.

    Idempotent: a second click adds nothing to the ledger."""
    customer = _customer_of(LinkAction.UNSUBSCRIBE, token)
    if customer is None:
        return None
    notice = notice_current()
    consent_set(
        customer=customer,
        changes=[
            ConsentChange(registry.MARKETING, category, False)
            for category in selectors.MARKETING_CATEGORIES
        ],
        # The customer's own click on the link in their email (or their mail client's
        # one-click unsubscribe), told apart from a change on their dashboard.
        method=ConsentMethod.EMAIL_LINK,
        actor="customer",
        notice_version=notice.version if notice is not None else None,
        fingerprint=fingerprint,
    )
    return customer


def offers_stop_personalizing(*, token: str) -> CustomerProfile | None:
    """Switch the customer's personalization off (the same list as any visitor)."""
    customer = _customer_of(LinkAction.STOP_PERSONALIZING, token)
    if customer is None:
        return None
    if customer.personalization_mode in (PersonalizationMode.OFF, PersonalizationMode.NONE):
        return customer
    return customer_profile_set_mode(profile=customer, mode=PersonalizationMode.OFF)
