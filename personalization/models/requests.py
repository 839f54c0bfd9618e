"""Customers' data-rights requests (export, erasure, objection) and retention runs."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import CustomerProfile


class DataRequestKind(models.TextChoices):
    EXPORT = "export", _("Export of my data")
    ERASURE = "erasure", _("Erasure of my data")
    OBJECTION = "objection", _("Objection to profiling")


class DataRequestStatus(models.TextChoices):
    # Erasure waits out a short window in which the customer can cancel.
    SCHEDULED = "scheduled", _("Waiting (can still be cancelled)")
    PENDING = "pending", _("Pending")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Failed (staff will retry)")


class DataRequest(models.Model):
    """A customer's request under GDPR Art. 15-21; kept after erasure as proof.

    `customer` is nulled by erasure; `customer_ref` keeps the number the ledger uses.
    """

    customer = models.ForeignKey(
        CustomerProfile,
        verbose_name=_("customer"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="data_requests",
    )
    customer_ref = models.PositiveBigIntegerField(_("customer number"), db_index=True)
    kind = models.CharField(_("request"), max_length=10, choices=DataRequestKind.choices)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=DataRequestStatus.choices,
        default=DataRequestStatus.PENDING,
    )
    method = models.CharField(_("received through"), max_length=10, default="ui")
    requested_at = models.DateTimeField(_("requested"))
    # The legal deadline (GDPR Art. 12(3): one month).
    due_at = models.DateTimeField(_("due"))
    # For erasure: when the cancel window ends and the work may start.
    not_before = models.DateTimeField(_("starts after"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    # Export: the ZIP under MEDIA_ROOT, downloadable only by its customer.
    export_file = models.CharField(_("export file"), max_length=300, blank=True)
    # What was done, in counts only (e.g. rows erased per table); no personal data.
    outcome = models.JSONField(_("outcome"), default=dict, blank=True)
    failure = models.TextField(_("failure"), blank=True)
    # Erasure: when the served recommendation model stopped depending on the customer's
    # data (taken out of it, or it never held any); the receipt says so.
    removed_from_model_at = models.DateTimeField(
        _("removed from the recommendation model"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("data request")
        verbose_name_plural = _("data requests")
        ordering = ["due_at", "pk"]
        indexes = [models.Index(fields=["status", "due_at"], name="datarequest_open_due")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} ({self.status})"


class DataRequestEvent(models.Model):
    """Append-only log of what happened to a request, by whom."""

    request = models.ForeignKey(
        DataRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="events"
    )
    at = models.DateTimeField(_("when"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=50)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("data request event")
        verbose_name_plural = _("data request events")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.request_id} {self.action}"


class RetentionRun(models.Model):
    """One run of the retention task: what expired and how much was removed."""

    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # {"purchase_history": 120, ...}: rows removed per data category.
    removed = models.JSONField(_("removed"), default=dict)

    class Meta:
        verbose_name = _("retention run")
        verbose_name_plural = _("retention runs")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"retention {self.started_at:%Y-%m-%d %H:%M}"


class ModelUnlearning(models.Model):
    """One customer's data taken out of the served recommendation model (append-only).

    A row names the model trained from data (`root`), the version the rows were taken
    out of (`source`) and the version that came of it (`result`, None when a retrain was
    needed instead). `customer_ref` is the bare number the consent ledger uses, so the
    record outlives the erased customer and no category is ever taken out twice.
    """

    class Method(models.TextChoices):
        # A low-rank update of the model (EASE^R's inverse Gram matrix).
        DOWNDATE = "downdate", _("Taken out of the model")
        # The model family cannot drop rows exactly: a new version trained without them.
        RETRAIN = "retrain", _("Model retrained without it")

    class Reason(models.TextChoices):
        ERASURE = "erasure", _("Erasure")
        CONSENT = "consent", _("Consent withdrawn")

    root = models.ForeignKey(
        "personalization.ModelVersion",
        verbose_name=_("trained version"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    source = models.ForeignKey(
        "personalization.ModelVersion",
        verbose_name=_("from version"),
        on_delete=models.CASCADE,
        related_name="unlearnings",
    )
    result = models.ForeignKey(
        "personalization.ModelVersion",
        verbose_name=_("to version"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    customer_ref = models.PositiveBigIntegerField(_("customer number"))
    # The data categories whose rows were taken out.
    data_categories = models.JSONField(_("data categories"), default=list)
    method = models.CharField(_("method"), max_length=10, choices=Method.choices)
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices)
    applied_at = models.DateTimeField(_("applied"))

    class Meta:
        verbose_name = _("model unlearning")
        verbose_name_plural = _("model unlearnings")
        ordering = ["applied_at", "pk"]
        indexes = [
            models.Index(fields=["root", "customer_ref"], name="unlearning_root_customer"),
        ]

    def __str__(self) -> str:
        return f"customer {self.customer_ref} out of v{self.source_id}"
