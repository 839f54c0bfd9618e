"""Offer email campaigns and who each one goes to."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import CustomerProfile
from personalization.models import Channel, Recommendation


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    GENERATING = "generating", _("Choosing offers")
    IN_REVIEW = "in_review", _("In review")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    STOPPED = "stopped", _("Stopped")


class Campaign(models.Model):
    """One offer email: a subject and message from the shop, and for each customer in
    the audience one recommended item with its reason, reviewed by staff before sending."""

    name = models.CharField(_("name"), max_length=120)
    subject = models.CharField(_("subject"), max_length=150)
    # How each email starts, shown in the editor and the preview: "{name}" becomes the
    # customer's name (and goes, with the space before it, when the shop has none).
    greeting = models.CharField(_("greeting"), max_length=120, blank=True, default="")
    message = models.TextField(_("message"), max_length=5000)
    channel = models.CharField(
        _("channel"),
        max_length=10,
        choices=[(Channel.EMAIL.value, Channel.EMAIL.label)],
        default=Channel.EMAIL,
    )
    status = models.CharField(
        _("status"), max_length=12, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("written by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    send_started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sent by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    stopped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("stopped by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    stop_reason = models.TextField(_("why it stopped"), blank=True)
    # Customers in the audience when offers were chosen, and how many are done.
    audience_total = models.PositiveIntegerField(_("audience"), default=0)
    generated_count = models.PositiveIntegerField(_("offers chosen for"), default=0)
    # Approved offers queued when sending started: the sending progress bar's 100%.
    send_total = models.PositiveIntegerField(_("emails to send"), default=0)
    # The site address the email links point at (settings, else where sending started).
    link_base_url = models.CharField(_("link address"), max_length=300, blank=True)
    failure = models.TextField(_("failure"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    generated_at = models.DateTimeField(_("offers chosen"), null=True, blank=True)
    send_started_at = models.DateTimeField(_("sending started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("offer campaign")
        verbose_name_plural = _("offer campaigns")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=CampaignStatus.values), name="campaign_status_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (CampaignStatus.GENERATING, CampaignStatus.SENDING)


class RecipientStatus(models.TextChoices):
    # Offer chosen, waiting for a reviewer's decision.
    IN_REVIEW = "in_review", _("In review")
    # Approved and waiting to be sent.
    QUEUED = "queued", _("Queued")
    # Claimed by a sender; stays here if the worker died before confirming (never retried).
    SENDING = "sending", _("Sending (unconfirmed)")
    SENT = "sent", _("Sent")
    SKIPPED = "skipped", _("Not sent")
    FAILED = "failed", _("Failed")


class SkipReason(models.TextChoices):
    NO_OFFER = "no_offer", _("No offer fitted what the customer allows for emails")
    NOT_APPROVED = "not_approved", _("The offer was not approved before sending")
    REJECTED = "rejected", _("A reviewer rejected the offer")
    MODE_OFF = "mode_off", _("The customer switched personalization off or paused it")
    NO_CONSENT = "no_consent", _("The customer withdrew marketing consent")
    OFFER_UNAVAILABLE = "offer_unavailable", _("The offer is no longer suitable or on sale")
    NO_ADDRESS = "no_address", _("No email address")
    STOPPED = "stopped", _("The campaign was stopped")


class CampaignRecipient(models.Model):
    """One customer of a campaign: the offer chosen for them and what became of it.

    Unique per campaign and customer; sending claims the row (queued -> sending) in one
    UPDATE before the email goes out, so no customer is ever sent a campaign twice.
    """

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="recipients"
    )
    customer = models.ForeignKey(
        CustomerProfile,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="campaign_recipients",
    )
    recommendation = models.ForeignKey(
        Recommendation,
        verbose_name=_("offer"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="campaign_recipients",
    )
    # The offer's catalog category (slug and name): the preview's segments.
    segment = models.CharField(_("segment"), max_length=100, blank=True)
    segment_name = models.CharField(_("segment name"), max_length=200, blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=RecipientStatus.choices,
        default=RecipientStatus.IN_REVIEW,
    )
    skip_reason = models.CharField(
        _("why not sent"), max_length=20, choices=SkipReason.choices, blank=True
    )
    failure = models.CharField(_("failure"), max_length=300, blank=True)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("campaign recipient")
        verbose_name_plural = _("campaign recipients")
        ordering = ["campaign", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "customer"], name="campaignrecipient_once_per_campaign"
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "status"], name="campaignrecipient_status"),
            models.Index(fields=["claimed_at"], name="campaignrecipient_claimed_at"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.customer_id} ({self.status})"
