"""The recommender's records: model versions, generation runs, recommendations, feedback."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import CustomerProfile
from personalization.models.catalog import Item


class ModelVersion(models.Model):
    """One trained recommender. Serving uses the newest active version; a version being
    trained never replaces it until training completed."""

    class Status(models.TextChoices):
        TRAINING = "training", _("Training")
        ACTIVE = "active", _("Active")
        RETIRED = "retired", _("Retired")
        FAILED = "failed", _("Failed")

    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.TRAINING
    )
    parameters = models.JSONField(_("parameters"), default=dict)
    # Customers, items and events per data category the version was trained on.
    training_counts = models.JSONField(_("training data"), default=dict, blank=True)
    # Offline evaluation (temporal hold-out) against the baselines, when run.
    metrics = models.JSONField(_("offline metrics"), default=dict, blank=True)
    # The trained item neighbourhood and popularity (numpy, compressed); no customer data.
    artifact = models.BinaryField(_("trained model"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    trained_at = models.DateTimeField(_("trained"), null=True, blank=True)
    failure = models.TextField(_("failure"), blank=True)

    class Meta:
        verbose_name = _("model version")
        verbose_name_plural = _("model versions")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "-trained_at"], name="modelversion_serving")]

    def __str__(self) -> str:
        return f"v{self.pk} ({self.status})"


class GenerationRun(models.Model):
    """Recommendations generated for every customer, in chunks, with progress."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        COMPLETED = "completed", _("Completed")
        FAILED = "failed", _("Failed")

    model_version = models.ForeignKey(
        ModelVersion,
        verbose_name=_("model version"),
        on_delete=models.PROTECT,
        related_name="generation_runs",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RUNNING
    )
    customers_total = models.PositiveIntegerField(_("customers"), default=0)
    customers_done = models.PositiveIntegerField(_("customers done"), default=0)
    chunks_total = models.PositiveIntegerField(_("chunks"), default=0)
    # Chunk numbers already finished, so a retried chunk is not counted twice.
    chunks_done = models.JSONField(_("chunks done"), default=list, blank=True)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    failure = models.TextField(_("failure"), blank=True)

    class Meta:
        verbose_name = _("generation run")
        verbose_name_plural = _("generation runs")
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.customers_done}/{self.customers_total})"

    @property
    def progress(self) -> float:
        return self.customers_done / self.customers_total if self.customers_total else 1.0


class RecommendationStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    HELD = "held", _("Held for review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    DELIVERED = "delivered", _("Delivered")


# A list's rows by what has happened to them; the one definition every module uses.
# Nobody has seen or decided on these: a newer list simply replaces them.
RECOMMENDATION_UNDECIDED = (RecommendationStatus.PROPOSED, RecommendationStatus.HELD)
# These are what the customer sees of a stored list.
RECOMMENDATION_SHOWN = (
    RecommendationStatus.PROPOSED,
    RecommendationStatus.APPROVED,
    RecommendationStatus.DELIVERED,
)


class Channel(models.TextChoices):
    ONSITE = "onsite", _("On the site")
    API = "api", _("Through the API")
    EMAIL = "email", _("Offer email")


class Recommendation(models.Model):
    """One suggested item for one customer, with the reasons its score is made of.

    `reasons` is the engine's exact decomposition: a list of
    {"kind", "contribution", "data_category"?, "item"?, "name"?, "counts"?, "category"?}
    whose contributions sum to `score`.
    """

    customer = models.ForeignKey(
        CustomerProfile,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="recommendations",
    )
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.CASCADE, related_name="recommendations"
    )
    score = models.FloatField(_("score"))
    rank = models.PositiveSmallIntegerField(_("rank"))
    model_version = models.ForeignKey(
        ModelVersion,
        verbose_name=_("model version"),
        on_delete=models.PROTECT,
        related_name="recommendations",
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.ONSITE
    )
    reasons = models.JSONField(_("reasons"), default=list)
    sentence = models.CharField(_("why, in words"), max_length=300, blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=RecommendationStatus.choices,
        default=RecommendationStatus.PROPOSED,
    )
    # Marks for the oversight rules, e.g. "premium_price", "missing_allergen_data".
    flags = models.JSONField(_("flags"), default=list, blank=True)
    # The mark on each row of a list shorter than the model's length (decision 60).
    SHORT_LIST = "short_list"
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # Set when a newer list replaced this one; kept only once it was decided or shown.
    superseded_at = models.DateTimeField(_("replaced"), null=True, blank=True)

    class Meta:
        verbose_name = _("recommendation")
        verbose_name_plural = _("recommendations")
        ordering = ["customer", "channel", "rank"]
        indexes = [
            models.Index(
                fields=["customer", "channel", "superseded_at", "rank"],
                name="recommendation_current_list",
            ),
            models.Index(fields=["status", "created_at"], name="recommendation_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(rank__gte=1), name="recommendation_rank_1"),
            # One row per place on a customer's current list. A rejected row stays
            # current beside the staff's replacement at its rank, so it is left out.
            models.UniqueConstraint(
                fields=["customer", "channel", "rank"],
                condition=models.Q(superseded_at__isnull=True)
                & ~models.Q(status=RecommendationStatus.REJECTED),
                name="recommendation_current_rank",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} #{self.rank} {self.item_id} ({self.status})"


class FeedbackKind(models.TextChoices):
    NOT_FOR_ME = "not_for_me", _("Not for me")
    CANT_HAVE = "cant_have", _("I can't have this")
    FEWER_LIKE_THIS = "fewer_like_this", _("Fewer like this")


class Feedback(models.Model):
    """What a customer said about a suggestion; read by the engine, audits and staff."""

    customer = models.ForeignKey(
        CustomerProfile,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="feedback",
    )
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.CASCADE, related_name="feedback"
    )
    recommendation = models.ForeignKey(
        Recommendation,
        verbose_name=_("recommendation"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="feedback",
    )
    kind = models.CharField(_("feedback"), max_length=20, choices=FeedbackKind.choices)
    created_at = models.DateTimeField(_("given"), auto_now_add=True)

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["customer", "kind"], name="feedback_customer_kind")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=FeedbackKind.values), name="feedback_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind} {self.item_id}"
