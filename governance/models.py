"""The shop's rules for its AI: the kill switch, the AI policy and who acknowledged it,
the risk gate for personalization features, the vendor register and the trust survey.

This app's models, services and selectors import only `accounts` and `core`, so the
personalization code that must obey them (every delivery channel, the review queue) can
read them without an import cycle. Pages that report across apps live above it.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class KillSwitchEvent(models.Model):
    """One flip of the switch that pauses all AI personalization at once.

    Append-only: the newest row is the switch's state; the rows are its log.
    """

    engaged = models.BooleanField(_("personalization paused"))
    reason = models.TextField(_("reason"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("kill switch event")
        verbose_name_plural = _("kill switch events")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{'paused' if self.engaged else 'resumed'} at {self.at:%Y-%m-%d %H:%M}"


class AIPolicy(models.Model):
    """A version of the shop's internal AI policy; unchanged once published."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("policy"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("written by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)

    class Meta:
        verbose_name = _("AI policy")
        verbose_name_plural = _("AI policies")
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"v{self.version} {self.title}"


class PolicyAcknowledgement(models.Model):
    """A staff member confirmed they read one published version of the AI policy."""

    policy = models.ForeignKey(
        AIPolicy,
        verbose_name=_("policy"),
        on_delete=models.PROTECT,
        related_name="acknowledgements",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff member"),
        on_delete=models.CASCADE,
        related_name="policy_acknowledgements",
    )
    at = models.DateTimeField(_("acknowledged"), auto_now_add=True)

    class Meta:
        verbose_name = _("policy acknowledgement")
        verbose_name_plural = _("policy acknowledgements")
        ordering = ["-at"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "user"], name="acknowledgement_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read v{self.policy_id}"


class PersonalizationFeature(models.Model):
    """Something the AI does for the shop (on-site lists, offer emails, a model type).

    It may only be switched on while its current risk assessment is approved and covers
    what the feature uses now (`data_categories`, `model_type`).
    """

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("what it does"), blank=True)
    # What the feature uses now; a new category or model type is a material change.
    data_categories = models.JSONField(_("data categories used"), default=list, blank=True)
    model_type = models.CharField(_("model type"), max_length=50, blank=True)
    enabled = models.BooleanField(_("switched on"), default=False)
    built_in = models.BooleanField(_("built in"), default=False, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("personalization feature")
        verbose_name_plural = _("personalization features")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.code


class RiskAssessment(models.Model):
    """A written assessment of one feature's risks, signed off by a reviewer.

    Drafts can be edited; an approved assessment never changes. Approving a newer one,
    or a material change to the feature, supersedes it.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")
        SUPERSEDED = "superseded", _("Superseded")

    feature = models.ForeignKey(
        PersonalizationFeature,
        verbose_name=_("feature"),
        on_delete=models.PROTECT,
        related_name="assessments",
    )
    version = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.DRAFT
    )
    data_categories = models.JSONField(_("data categories used"), default=list)
    model_type = models.CharField(_("model type"), max_length=50, blank=True)
    people_affected = models.TextField(_("people affected"))
    harm_bias = models.TextField(_("bias: who could be treated unfairly"))
    harm_manipulation = models.TextField(_("manipulation: could it push people"))
    harm_filter_bubble = models.TextField(_("filter bubbles: could it narrow choices"))
    harm_privacy = models.TextField(_("privacy: what could leak or surprise"))
    mitigations = models.TextField(_("mitigations"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("written by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("signed off by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("signed off"), null=True, blank=True)
    sign_off_note = models.TextField(_("reviewer's note"), blank=True)
    superseded_at = models.DateTimeField(_("superseded"), null=True, blank=True)
    superseded_reason = models.TextField(_("why superseded"), blank=True)

    class Meta:
        verbose_name = _("risk assessment")
        verbose_name_plural = _("risk assessments")
        ordering = ["feature", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["feature", "version"], name="assessment_version"),
            models.UniqueConstraint(
                fields=["feature"],
                condition=models.Q(status="approved"),
                name="assessment_one_approved",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.feature_id} v{self.version} ({self.status})"


class FeatureEvent(models.Model):
    """The feature log: every switch, sign-off and material change, with its assessment."""

    class Action(models.TextChoices):
        ENABLED = "enabled", _("Switched on")
        DISABLED = "disabled", _("Switched off")
        ASSESSMENT_APPROVED = "approved", _("Assessment signed off")
        MATERIAL_CHANGE = "changed", _("Material change")

    feature = models.ForeignKey(
        PersonalizationFeature,
        verbose_name=_("feature"),
        on_delete=models.PROTECT,
        related_name="events",
    )
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    assessment = models.ForeignKey(
        RiskAssessment,
        verbose_name=_("assessment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
    )
    reason = models.TextField(_("reason"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("feature event")
        verbose_name_plural = _("feature events")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.feature_id} {self.action}"


class Vendor(models.Model):
    """A third-party AI or data vendor and what the shop knows about how it behaves."""

    class DpaStatus(models.TextChoices):
        SIGNED = "signed", _("Signed")
        REQUESTED = "requested", _("Requested, not signed yet")
        NONE = "none", _("None")
        NOT_NEEDED = "not_needed", _("Not needed (receives no personal data)")

    name = models.CharField(_("name"), max_length=150, unique=True)
    service = models.CharField(_("what they do for the shop"), max_length=300)
    receives = models.TextField(_("what they receive"))
    dpa_status = models.CharField(
        _("data processing agreement"), max_length=12, choices=DpaStatus.choices
    )
    bias_answers = models.TextField(_("their answers on bias"), blank=True)
    privacy_answers = models.TextField(_("their answers on privacy"), blank=True)
    last_reviewed = models.DateField(_("last reviewed"), null=True, blank=True)
    next_review = models.DateField(_("next review"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("vendor")
        verbose_name_plural = _("vendors")
        ordering = ["next_review", "name"]

    def __str__(self) -> str:
        return self.name


class TrustSurveyAnswer(models.Model):
    """A customer's answer to "How much do you trust our recommendations?" (1-5).

    One per customer per calendar quarter (`period` is the quarter's first day);
    answering again in the same quarter replaces the answer.
    """

    customer = models.ForeignKey(
        "accounts.CustomerProfile",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="trust_answers",
    )
    period = models.DateField(_("quarter"))
    score = models.PositiveSmallIntegerField(_("trust (1-5)"))
    comment = models.TextField(_("comment"), blank=True)
    answered_at = models.DateTimeField(_("answered"))

    class Meta:
        verbose_name = _("trust survey answer")
        verbose_name_plural = _("trust survey answers")
        ordering = ["-period", "-answered_at"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "period"], name="trust_answer_once"),
            models.CheckConstraint(
                condition=models.Q(score__gte=1, score__lte=5), name="trust_score_1_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.period:%Y-%m} {self.score}"


class ModeSnapshot(models.Model):
    """How many customers were in each personalization mode on one day (counts only).

    Customers' modes keep no history of their own; a daily task records these counts so
    the owner's dashboard can show pause and off rates over time.
    """

    day = models.DateField(_("day"), unique=True)
    customers = models.PositiveIntegerField(_("customers"))
    on = models.PositiveIntegerField(_("on"))
    paused = models.PositiveIntegerField(_("paused"))
    off = models.PositiveIntegerField(_("off"))
    none = models.PositiveIntegerField(_("none"))

    class Meta:
        verbose_name = _("mode snapshot")
        verbose_name_plural = _("mode snapshots")
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.day}: {self.paused} paused, {self.off} off, {self.none} none"
