"""Reads for offer campaigns: who is in the audience, what may be emailed, counts.

"Marketing consent" in this product (docs: decision in the lead's log):
- a customer is in a campaign's audience when their personalization mode is on today
  (not paused, off or none) AND they allow the marketing purpose for at least one data
  category (audit attributes can never be used for marketing, so they do not count);
- the offer put in their email may only rest on data they allow for marketing: every
  data category the recommendation's reasons read from must be granted for marketing
  (the engine already requires personalization consent for it). Popularity and the
  customer's own instructions read no data category.
Both are checked when offers are chosen and again for each email at send time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.humanize.templatetags.humanize import intcomma
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import CustomerProfile, PersonalizationMode
from governance.features import MODEL_ITEM_KNN, OFFER_EMAILS
from governance.selectors import feature_enabled, kill_switch_state
from personalization import registry
from personalization.campaigns.models import (
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    RecipientStatus,
    SkipReason,
)
from personalization.consent.selectors import cell_applies, consented_categories
from personalization.models import (
    Channel,
    Consent,
    Feedback,
    FeedbackKind,
    Recommendation,
    RecommendationStatus,
)

# Data categories a customer can allow the marketing purpose to use.
MARKETING_CATEGORIES: tuple[str, ...] = tuple(
    spec.code
    for spec in registry.DATA_CATEGORIES
    if cell_applies(purpose=registry.MARKETING, data_category=spec.code)
)


def _mode_on_today() -> Q:
    today = timezone.localdate()
    # A pause whose date has passed has ended by itself (accounts.selectors.effective_mode).
    return Q(personalization_mode=PersonalizationMode.ON) | Q(
        Q(personalization_mode=PersonalizationMode.PAUSED),
        Q(paused_until__isnull=True) | Q(paused_until__lt=today),
    )


def audience_queryset() -> QuerySet[CustomerProfile]:
    """Customers an offer email may go to now: mode on and marketing consent."""
    marketing = Consent.objects.filter(
        customer_id=OuterRef("pk"),
        purpose=registry.MARKETING,
        data_category__in=MARKETING_CATEGORIES,
        granted=True,
    )
    return CustomerProfile.objects.filter(_mode_on_today()).filter(Exists(marketing))


def audience_count() -> int:
    return audience_queryset().count()


def marketing_categories(*, customer_ids: Iterable[int]) -> dict[int, set[str]]:
    """For each customer, the data categories they allow for marketing (one query)."""
    granted = consented_categories(customer_ids=customer_ids, purpose=registry.MARKETING)
    allowed = {pk: categories & set(MARKETING_CATEGORIES) for pk, categories in granted.items()}
    return {pk: categories for pk, categories in allowed.items() if categories}


def cited_categories(reasons: list[dict]) -> set[str]:
    """The data categories a recommendation's reasons read from."""
    return {r["data_category"] for r in reasons or () if r.get("data_category")}


def offer_fits_marketing_consent(*, reasons: list[dict], allowed: set[str]) -> bool:
    """A customer with no marketing consent at all gets no email, whatever the offer."""
    return bool(allowed) and cited_categories(reasons) <= allowed


def offer_emails_switched_off() -> bool:
    """The risk gate: offer emails (and the model behind them) must be switched on."""
    return not (feature_enabled(OFFER_EMAILS) and feature_enabled(MODEL_ITEM_KNN))


def offer_emails_halt_reason() -> str | None:
    """Why no offer email may go now (kill switch, feature switched off), or None."""
    state = kill_switch_state()
    if state.engaged:
        if state.reason:
            return _("AI personalization was paused with the kill switch: %(reason)s") % {
                "reason": state.reason
            }
        return _("AI personalization was paused with the kill switch.")
    if offer_emails_switched_off():
        return _("Offer emails were switched off under Features & risk.")
    return None


def offer_problem(
    *,
    customer: CustomerProfile,
    offer: Recommendation,
    allowed: set[str],
    refused: set[int],
) -> str | None:
    """Why this offer may not reach the customer now (a SkipReason), or None.

    Checked before every campaign email and for the API's email channel: a person
    approved it, it rests only on data allowed for marketing (`allowed`), the item is on
    sale, carries none of the customer's restrictions and is not one they refused
    (`refused`: items they called "not for me" or "I can't have this"). `offer` comes
    with its item and the item's attributes loaded."""
    if offer.status != RecommendationStatus.APPROVED:
        # Held or rejected offers never go out, whatever happened since.
        return (
            SkipReason.REJECTED
            if offer.status == RecommendationStatus.REJECTED
            else SkipReason.NOT_APPROVED
        )
    if not offer_fits_marketing_consent(reasons=offer.reasons, allowed=allowed):
        return SkipReason.NO_CONSENT
    item = offer.item
    codes = {attribute.code for attribute in item.attributes.all()}
    if not item.active or codes & set(customer.restrictions or ()) or item.pk in refused:
        return SkipReason.OFFER_UNAVAILABLE
    return None


def refused_items(*, customer: CustomerProfile) -> set[int]:
    """Items the customer said they cannot have or do not want (one query)."""
    return set(
        Feedback.objects.filter(
            customer=customer, kind__in=(FeedbackKind.CANT_HAVE, FeedbackKind.NOT_FOR_ME)
        ).values_list("item_id", flat=True)
    )


@dataclass(frozen=True)
class EmailOffers:
    """What the shop's own email tool may put in an email to one customer now."""

    offers: list[Recommendation]
    # The customer allows the marketing purpose for at least one data category.
    marketing_consent: bool
    # Offers for this customer wait for a person's review.
    waiting: bool


def email_offers_of(*, customer: CustomerProfile) -> EmailOffers:
    """The customer's current offers for email that a person approved and that pass the
    checks of every campaign email (`offer_problem`), in rank order. Nothing is made or
    changed here: offers come from a campaign's review. The caller checks the
    customer's mode and `offer_emails_halt_reason` first."""
    allowed = marketing_categories(customer_ids=[customer.pk]).get(customer.pk, set())
    if not allowed:
        return EmailOffers(offers=[], marketing_consent=False, waiting=False)
    rows = list(
        Recommendation.objects.filter(
            customer=customer, channel=Channel.EMAIL, superseded_at__isnull=True
        )
        .select_related("item__category")
        .prefetch_related("item__attributes")
        .order_by("rank", "pk")
    )
    refused = refused_items(customer=customer)
    return EmailOffers(
        offers=[
            r
            for r in rows
            if offer_problem(customer=customer, offer=r, allowed=allowed, refused=refused) is None
        ],
        marketing_consent=True,
        waiting=any(r.status == RecommendationStatus.HELD for r in rows),
    )


# --- the console --------------------------------------------------------------------


def campaign_list() -> QuerySet[Campaign]:
    return Campaign.objects.annotate(
        recipients_total=Count("recipients"),
        recipients_sent=Count("recipients", filter=Q(recipients__status=RecipientStatus.SENT)),
    ).order_by("-created_at", "-pk")


def campaign_busy(*, exclude_pk: int | None = None) -> Campaign | None:
    """A campaign whose offers are being chosen, reviewed or sent.

    Offer emails share one channel's recommendation rows: while one campaign's offers
    wait for review or sending, another generation would replace them.
    """
    busy = Campaign.objects.filter(
        status__in=(CampaignStatus.GENERATING, CampaignStatus.IN_REVIEW, CampaignStatus.SENDING)
    )
    if exclude_pk is not None:
        busy = busy.exclude(pk=exclude_pk)
    return busy.order_by("pk").first()


@dataclass(frozen=True)
class ReviewCounts:
    held: int
    approved: int
    rejected: int
    without_offer: int

    @property
    def total(self) -> int:
        return self.held + self.approved + self.rejected


def review_counts(*, campaign: Campaign) -> ReviewCounts:
    """How the reviewers decided on this campaign's offers (one query)."""
    rows = CampaignRecipient.objects.filter(campaign=campaign).aggregate(
        held=Count(
            "pk",
            filter=Q(
                recommendation__status__in=(
                    RecommendationStatus.HELD,
                    RecommendationStatus.PROPOSED,
                )
            ),
        ),
        approved=Count(
            "pk",
            filter=Q(
                recommendation__status__in=(
                    RecommendationStatus.APPROVED,
                    RecommendationStatus.DELIVERED,
                )
            ),
        ),
        rejected=Count("pk", filter=Q(recommendation__status=RecommendationStatus.REJECTED)),
        without_offer=Count("pk", filter=Q(recommendation__isnull=True)),
    )
    return ReviewCounts(**rows)


@dataclass(frozen=True)
class Progress:
    status: str
    status_label: str
    total: int
    done: int
    sent: int
    skipped: int
    failed: int
    unconfirmed: int
    stop_reason: str

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.status in (CampaignStatus.SENT, CampaignStatus.STOPPED) else 0
        return min(100, round(100 * self.done / self.total))

    @property
    def finished(self) -> bool:
        return self.status not in (CampaignStatus.GENERATING, CampaignStatus.SENDING)

    @property
    def text(self) -> str:
        """The progress line, in words (the page's and the JSON poll's)."""
        values = {
            "done": intcomma(self.done),
            "total": intcomma(self.total),
            "percent": self.percent,
            "sent": intcomma(self.sent),
        }
        if self.status in (CampaignStatus.DRAFT, CampaignStatus.GENERATING):
            return _("Offers chosen for %(done)s of %(total)s customers (%(percent)s%%).") % values
        return _("%(done)s of %(total)s emails handled (%(percent)s%%), %(sent)s sent.") % values

    def as_json(self) -> dict:
        return {
            "text": self.text,
            "status": self.status,
            "status_label": self.status_label,
            "total": self.total,
            "done": self.done,
            "sent": self.sent,
            "skipped": self.skipped,
            "failed": self.failed,
            "unconfirmed": self.unconfirmed,
            "percent": self.percent,
            "finished": self.finished,
            "stop_reason": self.stop_reason,
        }


def campaign_progress(*, campaign: Campaign) -> Progress:
    """While offers are chosen: customers done of the audience. Otherwise: emails handled
    (sent, not sent, failed) of the recipients sending started with."""
    counts = CampaignRecipient.objects.filter(campaign=campaign).aggregate(
        **{
            status: Count("pk", filter=Q(status=status))
            for status in (
                RecipientStatus.QUEUED,
                RecipientStatus.SENDING,
                RecipientStatus.SENT,
                RecipientStatus.SKIPPED,
                RecipientStatus.FAILED,
            )
        }
    )
    sent, skipped, failed = counts["sent"], counts["skipped"], counts["failed"]
    unconfirmed = counts["sending"]
    if campaign.status in (CampaignStatus.DRAFT, CampaignStatus.GENERATING):
        total, done = campaign.audience_total, campaign.generated_count
    else:
        # Of the approved offers queued when sending started, those no longer waiting.
        total = campaign.send_total
        done = max(0, total - counts["queued"])
    return Progress(
        status=campaign.status,
        status_label=str(CampaignStatus(campaign.status).label),
        total=total,
        done=done,
        sent=sent,
        skipped=skipped,
        failed=failed,
        unconfirmed=unconfirmed,
        stop_reason=campaign.stop_reason,
    )


def skip_counts(*, campaign: Campaign) -> list[tuple[str, int]]:
    """Why recipients were not sent the email: (reason label, count), largest first."""
    from personalization.campaigns.models import SkipReason

    rows = (
        CampaignRecipient.objects.filter(campaign=campaign, status=RecipientStatus.SKIPPED)
        .values("skip_reason")
        .annotate(n=Count("pk"))
        .order_by("-n", "skip_reason")
    )
    labels = dict(SkipReason.choices)
    return [(str(labels.get(r["skip_reason"], r["skip_reason"])), r["n"]) for r in rows]


@dataclass(frozen=True)
class Segment:
    """Recipients whose offer is from one catalog category, with one sample recipient."""

    slug: str
    name: str
    count: int
    sample: CampaignRecipient


def campaign_segments(*, campaign: Campaign) -> list[Segment]:
    """One segment per offer category (largest first), each with its first recipient as
    the sample whose real email the preview shows."""
    groups = (
        CampaignRecipient.objects.filter(campaign=campaign, recommendation__isnull=False)
        .exclude(status=RecipientStatus.SKIPPED)
        .values("segment", "segment_name")
        .annotate(n=Count("pk"))
        .order_by("-n", "segment")
    )
    segments = []
    for group in groups:
        sample = (
            CampaignRecipient.objects.filter(
                campaign=campaign, segment=group["segment"], recommendation__isnull=False
            )
            .exclude(status=RecipientStatus.SKIPPED)
            .select_related("customer", "customer__user", "recommendation__item")
            .order_by("pk")
            .first()
        )
        if sample is not None:
            segments.append(
                Segment(
                    slug=group["segment"],
                    name=group["segment_name"] or group["segment"],
                    count=group["n"],
                    sample=sample,
                )
            )
    return segments


def recommendation_sendable(recommendation: Recommendation | None) -> bool:
    return recommendation is not None and recommendation.status == RecommendationStatus.APPROVED


# --- reach: who gets the email, and why the others do not ------------------------------


@dataclass(frozen=True)
class Reach:
    """Of all the shop's customers, who this campaign can reach and why the rest cannot.

    Before offers are chosen `no_fitting_offer` is None (only choosing tells). After,
    `reachable` counts the customers given an offer, `no_fitting_offer` those the engine
    found nothing for that rests on data they allow for emails, and the other reasons
    count the customers left out when offers were chosen, as they stand now."""

    customers: int
    reachable: int
    personalization_off: int
    no_marketing_consent: int
    no_fitting_offer: int | None
    # Customers who came into the audience after the offers were chosen.
    joined_later: int = 0

    @property
    def unreachable(self) -> int:
        return self.customers - self.reachable

    def reasons(self) -> list[str]:
        """Why the others get nothing, in words, largest first ("80 have not allowed
        offer emails")."""
        parts = [
            (
                self.no_marketing_consent,
                ngettext(
                    "%(n)s has not allowed offer emails",
                    "%(n)s have not allowed offer emails",
                    self.no_marketing_consent,
                ),
            ),
            (
                self.personalization_off,
                ngettext(
                    "%(n)s has personalization off or paused",
                    "%(n)s have personalization off or paused",
                    self.personalization_off,
                ),
            ),
            (
                self.no_fitting_offer or 0,
                ngettext(
                    "%(n)s has no item that fits what they allow",
                    "%(n)s have no item that fits what they allow",
                    self.no_fitting_offer or 0,
                ),
            ),
            (
                self.joined_later,
                ngettext(
                    "%(n)s allowed offer emails after the offers were chosen",
                    "%(n)s allowed offer emails after the offers were chosen",
                    self.joined_later,
                ),
            ),
        ]
        parts.sort(key=lambda part: -part[0])
        return [text % {"n": intcomma(n)} for n, text in parts if n]

    @property
    def sentence(self) -> str:
        """ "103 of 107 customers get no offer: 80 have not allowed offer emails, 23 have
        no item that fits what they allow." """
        values = {"n": intcomma(self.unreachable), "total": intcomma(self.customers)}
        if not self.unreachable:
            return (
                ngettext(
                    "Every customer (%(total)s) can get an offer.",
                    "All %(total)s customers can get an offer.",
                    self.customers,
                )
                % values
            )
        head = (
            ngettext(
                "%(n)s of %(total)s customers gets no offer",
                "%(n)s of %(total)s customers get no offer",
                self.unreachable,
            )
            % values
        )
        return _("%(head)s: %(reasons)s.") % {"head": head, "reasons": ", ".join(self.reasons())}


def campaign_reach(*, campaign: Campaign) -> Reach:
    """Who this campaign reaches (a handful of counting queries)."""
    customers = CustomerProfile.objects.count()
    mode_on = CustomerProfile.objects.filter(_mode_on_today())
    audience = audience_queryset()
    if campaign.status in (CampaignStatus.DRAFT, CampaignStatus.GENERATING):
        on, reachable = mode_on.count(), audience.count()
        return Reach(
            customers=customers,
            reachable=reachable,
            personalization_off=customers - on,
            no_marketing_consent=on - reachable,
            no_fitting_offer=None,
        )
    recipients = CampaignRecipient.objects.filter(campaign=campaign)
    counted = recipients.aggregate(
        total=Count("pk"),
        with_offer=Count("pk", filter=Q(recommendation__isnull=False)),
        no_offer=Count("pk", filter=Q(skip_reason=SkipReason.NO_OFFER)),
    )
    inside = recipients.values("customer_id")
    outside_on = mode_on.exclude(pk__in=inside).count()
    outside_audience = audience.exclude(pk__in=inside).count()
    outside = customers - counted["total"]
    return Reach(
        customers=customers,
        reachable=counted["with_offer"],
        personalization_off=outside - outside_on,
        no_marketing_consent=outside_on - outside_audience,
        no_fitting_offer=counted["no_offer"],
        joined_later=outside_audience,
    )
