"""Imports started from the owner's upload page: one row from upload to summary."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportRunStatus(models.TextChoices):
    # The dry run (the preview) waits for a worker, then runs.
    CHECK_QUEUED = "check_queued", _("Waiting to be checked")
    CHECKING = "checking", _("Being checked")
    # The preview is ready: every row valid (may be confirmed) or refused with errors.
    CHECKED = "checked", _("Ready to import")
    REFUSED = "refused", _("Refused: errors in the files")
    # Confirmed by the owner: the import waits for a worker, then runs.
    QUEUED = "queued", _("Waiting to be imported")
    RUNNING = "running", _("Importing")
    COMPLETED = "completed", _("Imported")
    FAILED = "failed", _("Failed: nothing was imported")
    DISCARDED = "discarded", _("Discarded")


# A worker is on these: the run's row is locked while it works (PostgreSQL).
IMPORT_RUN_WORKING = (ImportRunStatus.CHECKING, ImportRunStatus.RUNNING)
# Waiting for a worker to claim them.
IMPORT_RUN_WAITING = (ImportRunStatus.CHECK_QUEUED, ImportRunStatus.QUEUED)
# Nothing more happens to these; their uploaded files are deleted.
IMPORT_RUN_FINISHED = (
    ImportRunStatus.COMPLETED,
    ImportRunStatus.FAILED,
    ImportRunStatus.DISCARDED,
)


class ImportRun(models.Model):
    """Uploaded files of one profile: checked (dry run, the preview), confirmed, imported.

    The files live in a private folder (`IMPORT_UPLOAD_DIR/<id>/`) until the run is
    finished; the summaries stay for the history.
    """

    profile = models.CharField(_("profile"), max_length=40)
    status = models.CharField(
        _("status"),
        max_length=14,
        choices=ImportRunStatus.choices,
        default=ImportRunStatus.CHECK_QUEUED,
    )
    # [{"name": as uploaded, "stored": file name in the run's folder, "size": bytes}]
    files = models.JSONField(_("files"), default=list)
    # The dry run's report and the import's report (see importing/runs.py: report_summary).
    preview = models.JSONField(_("preview"), null=True, blank=True)
    summary = models.JSONField(_("summary"), null=True, blank=True)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    # Why a worker could not finish (never the rows' contents).
    failure = models.TextField(_("failure"), blank=True)
    # Times a stuck run was queued again after its worker stopped.
    restarts = models.PositiveSmallIntegerField(_("restarts"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded"))
    checked_at = models.DateTimeField(_("checked"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Last sign of a worker (claim, restart); the sweeper's clock for lost messages.
    heartbeat_at = models.DateTimeField(_("last activity"))

    class Meta:
        verbose_name = _("data import")
        verbose_name_plural = _("data imports")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="importrun_status_beat")]

    def __str__(self) -> str:
        return f"import #{self.pk} ({self.profile}, {self.status})"
