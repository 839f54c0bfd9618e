"""Bias audits: the owner's policy, runs with progress, per-group results and findings.

The arithmetic is `audits/metrics/` (pure numpy); `audits/services.py` runs it and
writes the policy, runs and results; `audits/findings.py` writes the findings.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Metric(models.TextChoices):
    """What an audit measures per group (codes are stable: stored and in the API)."""

    EXPOSURE = "exposure", _("Shown the category")
    RANK_EXPOSURE = "rank_exposure", _("Rank-weighted exposure")
    TRUE_POSITIVE_RATE = "true_positive_rate", _("Recommended what they went on to buy")
    NDCG = "ndcg@10", _("Usefulness (nDCG@10)")
    HIT_RATE = "hit_rate@10", _("Hit rate (a later purchase in the top 10)")
    FLAGGED = "flagged", _("Recommendations flagged for review")
    REJECTED = "rejected", _("Recommendations rejected by staff")
    COMPLAINED = "complained", _("Recommendations complained about")
    OPT_OUT = "opt_out", _("Switched personalization off")


DEFAULT_METRICS = [m.value for m in Metric]


def default_metrics() -> list[str]:
    return list(DEFAULT_METRICS)


class AuditPolicy(models.Model):
    """The shop's one audit policy (a single row, edited in the owner's console).

    The schedule itself is the django-celery-beat PeriodicTask named in
    `audits/schedules.py`, edited from the policy page.
    """

    # Attribute names (as declared, e.g. "age_band"); empty: every declared attribute.
    attributes = models.JSONField(_("attributes audited"), default=list, blank=True)
    metrics = models.JSONField(_("measures"), default=default_metrics)
    ratio_threshold = models.FloatField(
        _("ratio threshold"),
        default=0.8,
        validators=[MinValueValidator(0.01), MaxValueValidator(1.0)],
        help_text=_("A group measured below this share of the reference group's value is flagged."),
    )
    difference_threshold = models.FloatField(
        _("difference threshold"),
        default=0.1,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_("A gap to the reference group larger than this is flagged."),
    )
    min_group_size = models.PositiveIntegerField(
        _("minimum group size"),
        default=20,
        validators=[MinValueValidator(5), MaxValueValidator(10_000)],
        help_text=_("Smaller groups are reported as too few to measure, never with a value."),
    )
    # attribute -> value of the reference group; an attribute not named: its largest group.
    reference_groups = models.JSONField(_("reference groups"), default=dict, blank=True)
    drift_threshold = models.FloatField(
        _("drift threshold"),
        default=0.05,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_("A figure that moved more than this since the last run or the baseline."),
    )
    baseline_run = models.ForeignKey(
        "AuditRun",
        verbose_name=_("baseline run"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    notify_owners = models.BooleanField(_("email the owners about findings"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("audit policy")
        verbose_name_plural = _("audit policies")

    def __str__(self) -> str:
        return str(_("Audit policy"))


class AuditRun(models.Model):
    """One audit: queued, then measured chunk by chunk (one chunk per measure), then
    compared with earlier runs. A run whose worker died is resumed from its last
    committed chunk (`audit_runs_requeue_stuck`)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        COMPLETED = "completed", _("Completed")
        FAILED = "failed", _("Failed")

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("Schedule")
        COMMAND = "command", _("Command line")
        CONSOLE = "console", _("Owner's console")

    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    trigger = models.CharField(_("started by"), max_length=10, choices=Trigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The policy as it was when the run started (thresholds, attributes, measures).
    policy = models.JSONField(_("policy used"), default=dict)
    # Code of the current step ("measure:exposure", "compare", ...) and overall percent.
    step = models.CharField(_("step"), max_length=50, blank=True)
    percent = models.PositiveSmallIntegerField(
        _("progress (%)"), default=0, validators=[MaxValueValidator(100)]
    )
    chunks_total = models.PositiveSmallIntegerField(_("chunks"), default=0)
    customers = models.PositiveIntegerField(_("customers"), default=0)
    customers_declared = models.PositiveIntegerField(_("customers with attributes"), default=0)
    previous_run = models.ForeignKey(
        "self",
        verbose_name=_("compared with"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    baseline_run = models.ForeignKey(
        "self",
        verbose_name=_("baseline"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("queued"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    # Touched after every chunk: a running run not touched for a while lost its worker.
    heartbeat_at = models.DateTimeField(_("last progress"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Times a stuck run was queued again for a fresh worker.
    restarts = models.PositiveSmallIntegerField(_("restarts"), default=0)
    notified_at = models.DateTimeField(_("owners notified"), null=True, blank=True)
    failure = models.TextField(_("failure"), blank=True)

    class Meta:
        verbose_name = _("audit run")
        verbose_name_plural = _("audit runs")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "-finished_at"], name="auditrun_latest")]

    def __str__(self) -> str:
        return f"audit #{self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class AuditRunChunk(models.Model):
    """A finished chunk of a run: its results were committed in the same transaction,
    so a chunk is either done with all its results or not done with none."""

    run = models.ForeignKey(
        AuditRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="chunks"
    )
    name = models.CharField(_("chunk"), max_length=50)
    results = models.PositiveIntegerField(_("results"), default=0)
    done_at = models.DateTimeField(_("done"))

    class Meta:
        verbose_name = _("audit chunk")
        verbose_name_plural = _("audit chunks")
        ordering = ["run", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["run", "name"], name="auditrunchunk_once"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.name}"


class AuditResult(models.Model):
    """One measure for one group (of one attribute or an intersection) in one segment.

    `value`, `low`, `high`, `n` and `customers` are empty when `suppressed`: a group
    too small to measure never carries a figure.
    """

    run = models.ForeignKey(
        AuditRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="results"
    )
    metric = models.CharField(_("measure"), max_length=30, choices=Metric.choices)
    # The category (or other segment) measured; blank when the measure has none.
    segment = models.CharField(_("segment"), max_length=100, blank=True)
    attributes = models.JSONField(_("attributes"))
    group = models.JSONField(_("group"))
    # "age_band|gender" and "55+|woman": the same, as plain keys for uniqueness and lookups.
    attributes_key = models.CharField(_("attributes key"), max_length=200)
    group_key = models.CharField(_("group key"), max_length=400)
    order = models.PositiveSmallIntegerField(_("attributes in the group"), default=1)
    n = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    customers = models.PositiveIntegerField(_("customers"), null=True, blank=True)
    suppressed = models.BooleanField(_("too few to measure"), default=False)
    # "too_few" or "complementary" (hidden so a smaller group cannot be worked out).
    suppression = models.CharField(_("why hidden"), max_length=20, blank=True)
    value = models.FloatField(_("value"), null=True, blank=True)
    low = models.FloatField(_("interval low"), null=True, blank=True)
    high = models.FloatField(_("interval high"), null=True, blank=True)
    interval = models.CharField(_("interval"), max_length=10)
    higher_is_better = models.BooleanField(_("higher is better"), default=True)
    reference_key = models.CharField(_("reference group"), max_length=400, blank=True)
    is_reference = models.BooleanField(_("is the reference group"), default=False)
    difference = models.FloatField(_("difference to reference"), null=True, blank=True)
    ratio = models.FloatField(_("ratio to reference"), null=True, blank=True)
    # xgettext:no-python-format
    fails_four_fifths_rule = models.BooleanField(_("below the 80% rule"), default=False)
    finding = models.BooleanField(_("finding"), default=False)

    class Meta:
        verbose_name = _("audit result")
        verbose_name_plural = _("audit results")
        ordering = ["run", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "metric", "segment", "attributes_key", "group_key"],
                name="auditresult_once_per_figure",
            ),
            models.CheckConstraint(
                condition=models.Q(suppressed=False)
                | models.Q(value__isnull=True, low__isnull=True, high__isnull=True, n__isnull=True),
                name="auditresult_suppressed_has_no_value",
            ),
        ]
        indexes = [models.Index(fields=["metric", "attributes_key"], name="auditresult_table")]

    def __str__(self) -> str:
        return f"{self.metric} {self.group_key} {self.segment}"


class AuditFinding(models.Model):
    """A breach (threshold crossed with the interval clear of it) or a drift (a figure
    that moved more than the drift threshold since the previous run or the baseline)."""

    class Kind(models.TextChoices):
        BREACH = "breach", _("Threshold breach")
        DRIFT = "drift", _("Drift")

    class ComparedWith(models.TextChoices):
        REFERENCE = "reference", _("The reference group")
        PREVIOUS = "previous", _("The previous run")
        BASELINE = "baseline", _("The baseline run")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        RESOLVED = "resolved", _("Resolved")

    run = models.ForeignKey(
        AuditRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="findings"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    compared_with = models.CharField(
        _("compared with"), max_length=10, choices=ComparedWith.choices
    )
    metric = models.CharField(_("measure"), max_length=30, choices=Metric.choices)
    segment = models.CharField(_("segment"), max_length=100, blank=True)
    attributes = models.JSONField(_("attributes"))
    group = models.JSONField(_("group"))
    attributes_key = models.CharField(_("attributes key"), max_length=200)
    group_key = models.CharField(_("group key"), max_length=400)
    reference_key = models.CharField(_("reference group"), max_length=400, blank=True)
    value = models.FloatField(_("value"))
    low = models.FloatField(_("interval low"), null=True, blank=True)
    high = models.FloatField(_("interval high"), null=True, blank=True)
    # The reference group's value (breach) or the earlier run's value (drift).
    compared_value = models.FloatField(_("compared with value"))
    ratio = models.FloatField(_("ratio"), null=True, blank=True)
    difference = models.FloatField(_("difference"))
    # The plain-language sentence, written when the finding was made (email, review task).
    sentence = models.TextField(_("in words"))
    status = models.CharField(
        _("status"), max_length=15, choices=Status.choices, default=Status.OPEN
    )
    explanation = models.TextField(_("owner's explanation"), blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acknowledged by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    # The task opened in the staff review queue for this finding.
    review_item = models.ForeignKey(
        "personalization.ReviewItem",
        verbose_name=_("review task"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_findings",
    )
    created_at = models.DateTimeField(_("found"), auto_now_add=True)

    class Meta:
        verbose_name = _("audit finding")
        verbose_name_plural = _("audit findings")
        ordering = ["run", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "run",
                    "kind",
                    "compared_with",
                    "metric",
                    "segment",
                    "attributes_key",
                    "group_key",
                ],
                name="auditfinding_once_per_figure",
            ),
        ]
        indexes = [models.Index(fields=["status", "run"], name="auditfinding_open")]

    def __str__(self) -> str:
        return f"{self.kind} {self.metric} {self.group_key} ({self.status})"


class AuditFindingEvent(models.Model):
    """The history of a finding: each acknowledgement, explanation and resolution."""

    class Action(models.TextChoices):
        FOUND = "found", _("Found")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        EXPLAINED = "explained", _("Explanation updated")
        RESOLVED = "resolved", _("Resolved")
        REOPENED = "reopened", _("Reopened")

    finding = models.ForeignKey(
        AuditFinding, verbose_name=_("finding"), on_delete=models.CASCADE, related_name="events"
    )
    action = models.CharField(_("action"), max_length=15, choices=Action.choices)
    note = models.TextField(_("note"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(_("when"))

    class Meta:
        verbose_name = _("finding history entry")
        verbose_name_plural = _("finding history")
        ordering = ["finding", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.finding_id} {self.action}"
