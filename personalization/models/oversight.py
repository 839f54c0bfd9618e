"""Human oversight: the review queue, its append-only trail, and the owner's thresholds."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import CustomerProfile
from personalization.models.catalog import Item
from personalization.models.engine import Channel, Recommendation


class ReviewSource(models.TextChoices):
    RECOMMENDATION = "recommendation", _("Recommendation")
    AUDIT_FINDING = "audit_finding", _("Bias-audit finding")
    OTHER = "other", _("Other task")


class ReviewStatus(models.TextChoices):
    OPEN = "open", _("Waiting for a decision")
    ESCALATED = "escalated", _("Escalated to the owner")
    AWAITING_SECOND = "awaiting_second_approval", _("Waiting for a second person")
    DECIDED = "decided", _("Decided")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ReviewKind(models.TextChoices):
    HOLD = "hold", _("Held before the customer sees it")
    SPOT_CHECK = "spot_check", _("Spot check after delivery")


# Statuses in which an item still waits for someone.
UNDECIDED_STATUSES = (ReviewStatus.OPEN, ReviewStatus.ESCALATED, ReviewStatus.AWAITING_SECOND)


class ReviewDecision(models.TextChoices):
    APPROVE = "approve", _("Approve")
    REJECT = "reject", _("Reject")
    REPLACE = "replace", _("Replace with another item")
    CLOSE = "close", _("Close")


class ReasonCode(models.TextChoices):
    FITS_CUSTOMER = "fits_customer", _("Fits the customer's history and restrictions")
    DATA_CHECKED = "data_checked", _("Item data checked: nothing conflicts")
    SAMPLE_OK = "sample_ok", _("Sample of the new model looks right")
    CONFLICTS_RESTRICTION = "conflicts_restriction", _("Conflicts with a restriction")
    DATA_MISSING = "data_missing", _("Item data missing or unclear")
    TOO_EXPENSIVE = "too_expensive", _("Too far above what the customer usually spends")
    NOT_APPROPRIATE = "not_appropriate", _("Not appropriate for this customer")
    CUSTOMER_COMPLAINED = "customer_complained", _("Customer recently complained")
    BETTER_ITEM = "better_item", _("A better item fits")
    FINDING_ADDRESSED = "finding_addressed", _("Finding addressed")
    NOT_AN_ISSUE = "not_an_issue", _("Checked: not an issue")
    OTHER = "other", _("Other (see note)")


class ReviewItem(models.Model):
    """One thing a person must decide: a held recommendation or another task.

    A recommendation's item goes with it (CASCADE): when a customer's undecided list is
    regenerated, its held rows are deleted and so are their queue items; the trail
    (`ReviewAction`) keeps what happened.
    """

    source = models.CharField(
        _("source"),
        max_length=20,
        choices=ReviewSource.choices,
        default=ReviewSource.RECOMMENDATION,
    )
    recommendation = models.ForeignKey(
        Recommendation,
        verbose_name=_("recommendation"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="review_items",
    )
    customer = models.ForeignKey(
        CustomerProfile,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="review_items",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, blank=True)
    # A hold keeps the recommendation from the customer until someone decides; a spot
    # check is a random sample of what went out unreviewed (over the review budget),
    # looked at after delivery.
    kind = models.CharField(
        _("kind"), max_length=12, choices=ReviewKind.choices, default=ReviewKind.HOLD
    )
    # Every rule that fired: [{"rule", "high_risk", "facts", "words"}].
    flags = models.JSONField(_("flags"), default=list, blank=True)
    high_risk = models.BooleanField(_("high risk"), default=False)
    # The flags' rule codes as ",code,code," so the queue filters by rule in SQL on every
    # database (JSON containment is not portable).
    rules = models.CharField(_("rules"), max_length=300, blank=True, db_index=True)
    # For tasks that are not a recommendation (e.g. a bias-audit finding).
    title = models.CharField(_("title"), max_length=200, blank=True)
    detail = models.TextField(_("detail"), blank=True)
    link = models.CharField(_("link"), max_length=500, blank=True)

    status = models.CharField(
        _("status"), max_length=30, choices=ReviewStatus.choices, default=ReviewStatus.OPEN
    )
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("claimed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    claim_expires_at = models.DateTimeField(_("claim expires"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)
    # Set by the owner: a decision on this item takes effect only once a second,
    # different person confirmed it (four-eyes).
    policy_level = models.BooleanField(_("policy-level decision"), default=False)

    decision = models.CharField(
        _("decision"), max_length=10, choices=ReviewDecision.choices, blank=True
    )
    reason_code = models.CharField(
        _("reason"), max_length=30, choices=ReasonCode.choices, blank=True
    )
    note = models.TextField(_("note"), blank=True)
    replacement_item = models.ForeignKey(
        Item,
        verbose_name=_("replacement item"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The approved row that took the held one's place.
    replacement = models.ForeignKey(
        Recommendation,
        verbose_name=_("replacement"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Who made the decision (for a policy-level one: who proposed it).
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The second person of a policy-level decision.
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # When the decision took effect.
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    # Since when a person has been asked to look: a list regenerated with the same held
    # item (e.g. by the nightly refresh) opens a new item that keeps this, so its age and
    # deadline run on instead of starting again.
    waiting_since = models.DateTimeField(_("waiting since"), default=timezone.now)

    class Meta:
        verbose_name = _("review item")
        verbose_name_plural = _("review items")
        ordering = ["waiting_since", "pk"]
        indexes = [
            models.Index(fields=["status", "waiting_since"], name="reviewitem_queue"),
            models.Index(fields=["decided_at"], name="reviewitem_decided"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["recommendation"],
                condition=models.Q(recommendation__isnull=False),
                name="reviewitem_one_per_recommendation",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=ReviewStatus.values),
                name="reviewitem_status_known",
            ),
        ]

    def __str__(self) -> str:
        return f"review #{self.pk} ({self.status})"

    @property
    def rule_codes(self) -> list[str]:
        return [flag.get("rule", "") for flag in self.flags]


class ReviewActionKind(models.TextChoices):
    OPENED = "opened", _("Held for review")
    CLAIMED = "claimed", _("Claimed")
    RELEASED = "released", _("Released")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    REPLACED = "replaced", _("Replaced")
    CLOSED = "closed", _("Closed")
    REFUSED = "refused", _("Refused")
    ESCALATED = "escalated", _("Escalated")
    MARKED_POLICY = "marked_policy_level", _("Marked policy-level")
    PROPOSED = "proposed", _("Decision proposed, waiting for a second person")
    CONFIRMED = "confirmed", _("Second person confirmed")
    DECLINED = "declined", _("Second person declined")
    SETTINGS = "settings", _("Thresholds changed")


class ReviewAction(models.Model):
    """One entry of the oversight trail: who did what, when and why. Append-only.

    Kept when the item goes (`item` is nulled; `item_ref` keeps its number) and when a
    customer is erased (`customer_ref` is a bare number, not a link).
    """

    item = models.ForeignKey(
        ReviewItem,
        verbose_name=_("review item"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="actions",
    )
    item_ref = models.PositiveBigIntegerField(_("review item number"), null=True, blank=True)
    customer_ref = models.PositiveBigIntegerField(
        _("customer number"), null=True, blank=True, db_index=True
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    action = models.CharField(_("action"), max_length=30, choices=ReviewActionKind.choices)
    reason_code = models.CharField(_("reason"), max_length=30, blank=True)
    note = models.TextField(_("note"), blank=True)
    # What was decided, as it stood then: rules, item, channel, decision (no personal data).
    snapshot = models.JSONField(_("snapshot"), default=dict, blank=True)

    class Meta:
        verbose_name = _("review action")
        verbose_name_plural = _("review trail")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["actor", "action", "at"], name="reviewaction_actor")]

    def __str__(self) -> str:
        return f"{self.action} #{self.item_ref} at {self.at:%Y-%m-%d %H:%M}"


def default_sensitive_attributes() -> list[str]:
    return ["alcohol"]


class OversightSettings(models.Model):
    """The owner's guardrail thresholds and queue timings (one row, pk=1)."""

    # Defaults calibrated on Online Retail and the demo (docs/decisions.md).
    premium_multiple = models.FloatField(
        _("premium multiple"),
        default=5.0,
        validators=[MinValueValidator(1.0), MaxValueValidator(100.0)],
        help_text=_("Hold items priced above this many times the customer's usual spend."),
    )
    min_evidence = models.PositiveIntegerField(
        _("minimum evidence (events)"),
        default=2,
        validators=[MaxValueValidator(1_000)],
        help_text=_(
            "Hold a suggestion that rests on fewer of the customer's own events than this "
            "(0: never)."
        ),
    )
    review_budget = models.PositiveIntegerField(
        _("review budget (items a day)"),
        default=50,
        validators=[MinValueValidator(1), MaxValueValidator(1_000_000)],
        help_text=_(
            "About how many items people can review a day. Beyond it, the lowest-risk "
            "flags go out and a random sample is checked after delivery instead; "
            "high-risk flags are always held."
        ),
    )
    spot_check_percent = models.FloatField(
        _("spot checks (% of unreviewed items)"),
        default=0.2,
        validators=[MinValueValidator(0.0), MaxValueValidator(100.0)],
        help_text=_(
            "When a regeneration goes over the review budget, this share of what it sends "
            "out unreviewed is sampled at random for a check after delivery."
        ),
    )
    # Attribute codes and category slugs whose items always need a person's look.
    sensitive_attributes = models.JSONField(
        _("sensitive attributes"), default=default_sensitive_attributes, blank=True
    )
    sensitive_categories = models.JSONField(_("sensitive categories"), default=list, blank=True)
    # Off until the owner picks a size: a fresh shop's first model would otherwise hold
    # its first customers' whole lists until someone works the queue.
    new_model_sample = models.PositiveIntegerField(
        _("new-model sample"),
        default=0,
        validators=[MaxValueValidator(100_000)],
        help_text=_(
            "Hold the first this many recommendations of each new model version (0: none)."
        ),
    )
    complaint_window_days = models.PositiveIntegerField(
        _("recent-complaint window (days)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(3_650)],
    )
    sla_hours = models.FloatField(
        _("decision deadline (hours)"),
        default=24.0,
        validators=[MinValueValidator(0.5), MaxValueValidator(24 * 90)],
    )
    claim_minutes = models.PositiveIntegerField(
        _("claim lasts (minutes)"),
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("oversight settings")
        verbose_name_plural = _("oversight settings")

    def __str__(self) -> str:
        return "oversight settings"
