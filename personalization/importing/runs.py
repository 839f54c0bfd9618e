"""Imports started from the owner's upload page, from upload to summary (ImportRun).

    upload -> check_queued -> checking -> checked | refused      (the dry run: the preview)
    checked -> (owner confirms) queued -> running -> completed | failed
    checked | refused -> discarded (by the owner, or a day later by the sweeper)

The work is the CLI's: `import_profile`, one transaction, all or nothing. A worker claims
a step with one conditional UPDATE (`check_queued -> checking`, `queued -> running`), so
two copies of a message never both work; it then holds the run's row locked in the very
transaction that writes the rows and marks the run finished, so the rows and the
"completed" appear together or not at all. A worker that dies rolls both back: the run
still says "running" with nothing written, its row is no longer locked, and the sweeper
(beat, every minute) queues it again from scratch; the import is idempotent, so the
second attempt writes what the first would have. After MAX_RESTARTS the run fails.

Progress is written to a small file next to the uploads, not to the database: the rows
of the import's transaction are invisible to the page until it commits, and on SQLite
no other connection may write meanwhile.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.move import file_move_safe
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from core.enqueue import enqueue_on_commit
from core.errors import ApplicationError
from core.pause import pause_point
from core.retry import TRANSIENT
from personalization.importing import PROFILE_NAMES, FileReport, ImportReport, import_profile
from personalization.models import ImportRun, ImportRunStatus
from personalization.models.import_runs import (
    IMPORT_RUN_FINISHED,
    IMPORT_RUN_WAITING,
    IMPORT_RUN_WORKING,
)

logger = logging.getLogger(__name__)

SUFFIXES = (".csv", ".csv.gz")
MAX_FILES = 10
# Errors a summary keeps (the count is always complete).
FIRST_ERRORS = 50
# A run waiting or working this long without a sign of its worker is taken for lost.
STUCK_AFTER = timedelta(minutes=3)
MAX_RESTARTS = 3
# A preview nobody confirmed is discarded (and its files deleted) after this long.
PREVIEW_KEPT = timedelta(days=1)
PROGRESS_FILE = "progress.json"
# Test-only hook (tests/personalization/test_import_worker.py, the browser test): when
# this environment variable names a folder, a worker stops after the import (not the dry
# run) wrote its rows and before it commits, so a test can kill it at the worst moment or
# watch its progress bar. Never set outside those tests.
PAUSE_DIR_ENV = "FAIRSHARE_IMPORT_TEST_PAUSE_DIR"

_NEXT = {
    ImportRunStatus.CHECK_QUEUED: ImportRunStatus.CHECKING,
    ImportRunStatus.QUEUED: ImportRunStatus.RUNNING,
}
_BACK = {
    ImportRunStatus.CHECKING: ImportRunStatus.CHECK_QUEUED,
    ImportRunStatus.RUNNING: ImportRunStatus.QUEUED,
}


# --- files ------------------------------------------------------------------------------


def run_folder(run_id: int) -> Path:
    return Path(settings.IMPORT_UPLOAD_DIR) / str(int(run_id))


def _stored_name(index: int, name: str) -> str:
    base = get_valid_filename(os.path.basename(name)) or "upload.csv"
    return f"{index + 1:02d}-{base}"[:120]


def _delete_files(run_id: int) -> None:
    shutil.rmtree(run_folder(run_id), ignore_errors=True)


def _write_progress(run_id: int, data: dict[str, Any]) -> None:
    folder = run_folder(run_id)
    if not folder.is_dir():
        return
    temporary = folder / f".{PROGRESS_FILE}.{os.getpid()}"
    # When it was written, by the same clock the sweeper reads (not the file's mtime).
    temporary.write_text(json.dumps({**data, "written_at": timezone.now().timestamp()}))
    os.replace(temporary, folder / PROGRESS_FILE)


def _read_progress(run_id: int) -> dict[str, Any] | None:
    try:
        return json.loads((run_folder(run_id) / PROGRESS_FILE).read_text())
    except (OSError, ValueError):
        return None


def _progress_age_ok(run_id: int, limit: datetime) -> bool:
    """True when the worker wrote progress after `limit` (it is alive)."""
    written = (_read_progress(run_id) or {}).get("written_at")
    return isinstance(written, int | float) and written > limit.timestamp()


# --- upload, confirm, discard -------------------------------------------------------------


def import_run_create(
    *, profile: str, uploads: Iterable[UploadedFile], user, now: datetime | None = None
) -> ImportRun:
    """Store the uploaded files in the run's private folder and queue the dry run."""
    from personalization.importing import tasks

    uploads = list(uploads)
    if profile not in PROFILE_NAMES:
        raise ApplicationError(_("Choose one of the listed profiles."), field="profile")
    if not uploads:
        raise ApplicationError(_("Choose at least one file."), field="uploads")
    if len(uploads) > MAX_FILES:
        raise ApplicationError(
            _("At most %(n)d files per import.") % {"n": MAX_FILES}, field="uploads"
        )
    for upload in uploads:
        name = upload.name or ""
        if not name.lower().endswith(SUFFIXES):
            raise ApplicationError(
                _("%(name)s is not a .csv or .csv.gz file.") % {"name": name}, field="uploads"
            )
    now = now or timezone.now()
    with transaction.atomic():
        run = ImportRun.objects.create(
            profile=profile, created_by=user, created_at=now, heartbeat_at=now
        )
        folder = run_folder(run.pk)
        try:
            folder.mkdir(parents=True, exist_ok=False)
            files = []
            for index, upload in enumerate(uploads):
                stored = _stored_name(index, upload.name or "")
                _store(upload, folder / stored)
                files.append({"name": upload.name, "stored": stored, "size": upload.size})
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        run.files = files
        run.save(update_fields=["files"])
        enqueue_on_commit(tasks.import_run_work, run.pk)
    return run


def _store(upload: UploadedFile, target: Path) -> None:
    path = getattr(upload, "temporary_file_path", None)
    if path is not None:
        # Moved, not copied, when the temporary folder is on the same disk.
        if upload.file is not None:
            upload.file.flush()
        file_move_safe(path(), str(target), allow_overwrite=False)
        return
    with open(target, "xb") as out:  # an in-memory upload (tests, other handlers)
        for chunk in upload.chunks():
            out.write(chunk)


def import_run_confirm(*, run_id: int, user, now: datetime | None = None) -> None:
    """Queue the import of a checked preview (once: a second click finds it queued)."""
    from personalization.importing import tasks

    now = now or timezone.now()
    with transaction.atomic():
        confirmed = ImportRun.objects.filter(
            pk=run_id, status=ImportRunStatus.CHECKED, error_count=0
        ).update(
            status=ImportRunStatus.QUEUED, confirmed_by=user, confirmed_at=now, heartbeat_at=now
        )
        if not confirmed:
            raise ApplicationError(
                _("This import is not waiting for confirmation any more."),
                code="not_checked",
                status=409,
            )
        enqueue_on_commit(tasks.import_run_work, run_id)


def import_run_discard(*, run_id: int, now: datetime | None = None) -> None:
    """Drop a preview and delete its files."""
    discarded = ImportRun.objects.filter(
        pk=run_id, status__in=(ImportRunStatus.CHECKED, ImportRunStatus.REFUSED)
    ).update(status=ImportRunStatus.DISCARDED, finished_at=now or timezone.now())
    if not discarded:
        raise ApplicationError(
            _("Only a checked import that was not confirmed can be discarded."),
            code="not_checked",
            status=409,
        )
    _delete_files(run_id)


# --- the worker's step ----------------------------------------------------------------


def _claim(run_id: int, now: datetime) -> ImportRunStatus | None:
    """The status this worker moved the run to, or None when there was nothing to take."""
    for waiting, working in _NEXT.items():
        changes: dict[str, Any] = {"status": working, "heartbeat_at": now}
        if working == ImportRunStatus.RUNNING:
            changes["started_at"] = now
        if ImportRun.objects.filter(pk=run_id, status=waiting).update(**changes):
            return working
    return None


def import_run_work(*, run_id: int, now: datetime | None = None) -> ImportRun | None:
    """Do the run's waiting step (the dry run, or the import) in this process.

    Safe to call twice or at the same time: only one caller claims the step.
    """
    claimed = _claim(run_id, now or timezone.now())
    if claimed is None:
        return None
    try:
        return _work(run_id, claimed)
    except TRANSIENT:
        # The database hiccuped: hand the step back so the retry can claim it again.
        try:
            ImportRun.objects.filter(pk=run_id, status=claimed).update(status=_BACK[claimed])
        except TRANSIENT:
            pass  # the sweeper hands it back once the database is back
        raise


def _work(run_id: int, claimed: ImportRunStatus) -> ImportRun | None:
    dry_run = claimed == ImportRunStatus.CHECKING
    with transaction.atomic():
        # Held until the commit: a live worker's run is never taken for stuck.
        run = ImportRun.objects.select_for_update().filter(pk=run_id, status=claimed).first()
        if run is None:
            return None
        folder = run_folder(run.pk)
        paths = [str(folder / f["stored"]) for f in run.files]
        names = {str(folder / f["stored"]): f["name"] for f in run.files}
        missing = [f["name"] for f in run.files if not (folder / f["stored"]).is_file()]
        if missing:
            _finish_failed(
                run,
                _(
                    "The uploaded files are gone (%(names)s): upload them again. Web and "
                    "workers must share the upload folder."
                )
                % {"names": ", ".join(missing)},
            )
            return run
        progress = _Progress(run, names)
        progress.write(0)
        report = import_profile(run.profile, paths, dry_run=dry_run, on_progress=progress)
        summary = report_summary(report, names)
        if not dry_run:
            pause_point(PAUSE_DIR_ENV)
        now = timezone.now()
        run.error_count = report.error_count
        if dry_run:
            run.preview = summary
            run.checked_at = now
            run.status = ImportRunStatus.CHECKED if report.ok else ImportRunStatus.REFUSED
        else:
            run.summary = summary
            run.finished_at = now
            run.status = ImportRunStatus.COMPLETED if report.ok else ImportRunStatus.FAILED
            if not report.ok:
                run.failure = _(
                    "The import found %(n)d error(s) the check had not (the shop's data "
                    "changed meanwhile); nothing was written."
                ) % {"n": report.error_count}
        run.heartbeat_at = now
        run.save()
        if run.status in IMPORT_RUN_FINISHED:
            transaction.on_commit(partial(_delete_files, run_id))
    logger.info("import %s: %s", run.pk, run.status)
    return run


def _finish_failed(run: ImportRun, message: str) -> None:
    run.status = (
        ImportRunStatus.REFUSED
        if run.status == ImportRunStatus.CHECKING
        else ImportRunStatus.FAILED
    )
    run.failure = message[:2000]
    run.finished_at = run.heartbeat_at = timezone.now()
    run.save()


def import_run_fail(*, run_id: int, message: str) -> None:
    """A worker gave up on the run (an unexpected error): say so, delete the files."""
    failed = ImportRun.objects.filter(pk=run_id, status__in=IMPORT_RUN_WORKING).update(
        status=ImportRunStatus.FAILED, failure=message[:2000], finished_at=timezone.now()
    )
    if failed:  # a run handed back for a retry keeps its files
        _delete_files(run_id)


@dataclass
class _Progress:
    """The callback `import_profile` reports to: a share of all the run's bytes."""

    run: ImportRun
    names: dict[str, str]

    def __post_init__(self) -> None:
        self.sizes = [int(f.get("size") or 0) for f in self.run.files]
        self.paths = list(self.names)
        self.total = sum(self.sizes) or 1
        self.rows = 0

    def __call__(self, file: FileReport, done: int, total: int) -> None:
        index = self.paths.index(file.path) if file.path in self.paths else 0
        before = sum(self.sizes[:index])
        self.rows = file.rows
        self.write(before + min(done, self.sizes[index] if self.sizes else done), file)

    def write(self, done: int, file: FileReport | None = None) -> None:
        _write_progress(
            self.run.pk,
            {
                "percent": min(99, int(100 * done / self.total)),
                "file": self.names.get(file.path, "") if file else "",
                "rows": file.rows if file else 0,
            },
        )


# --- the summary -----------------------------------------------------------------------


def report_summary(report: ImportReport, names: dict[str, str]) -> dict[str, Any]:
    """What the page shows of a report, with the uploaded files' own names in errors."""

    def renamed(text: str) -> str:
        for stored, name in names.items():
            if text.startswith(stored):
                return name + text[len(stored) :]
        return text

    return {
        "ok": report.ok,
        "dry_run": report.dry_run,
        "files": [
            {
                "name": names.get(f.path, os.path.basename(f.path)),
                "kind": f.kind,
                "rows": f.rows,
                "created": f.created,
                "updated": f.updated,
                "already_imported": f.already_imported,
                "errors": f.errors,
            }
            for f in report.files
        ],
        "counts": [[key, str(label), int(n)] for key, label, n in report.count_labels()],
        "tag_mapping": sorted(report.tag_mapping.items()),
        "non_product_codes": sorted(report.non_product_codes.items()),
        "errors": [renamed(e) for e in report.errors[:FIRST_ERRORS]],
        "error_count": report.error_count,
    }


# --- progress for the page ----------------------------------------------------------------


def import_run_progress(*, run: ImportRun) -> dict[str, Any]:
    """The progress bar's figures: percent, a line of text, and whether it has finished."""
    working = run.status in IMPORT_RUN_WORKING
    waiting = run.status in IMPORT_RUN_WAITING
    data = (_read_progress(run.pk) if working else None) or {}
    percent = int(data.get("percent", 0)) if working else (0 if waiting else 100)
    if waiting:
        text = _("Waiting for a worker…")
    elif working:
        verb = _("Checking") if run.status == ImportRunStatus.CHECKING else _("Importing")
        text = _("%(verb)s %(file)s: %(percent)d%% · %(rows)s rows read") % {
            "verb": verb,
            "file": data.get("file") or "",
            "percent": percent,
            "rows": f"{int(data.get('rows', 0)):,}",
        }
    else:
        text = str(run.get_status_display())
    return {
        "status": run.status,
        "status_label": str(run.get_status_display()),
        "percent": percent,
        "text": text,
        "done": not (working or waiting),
    }


# --- the sweeper ------------------------------------------------------------------------


def import_runs_sweep(
    *, now: datetime | None = None, stuck_after: timedelta = STUCK_AFTER
) -> list[int]:
    """Beat, every minute: queue again runs whose worker stopped or whose message was
    lost; fail those that stopped MAX_RESTARTS times; discard old previews. Returns the
    ids queued again."""
    from personalization.importing import tasks

    now = now or timezone.now()
    limit = now - stuck_after
    requeued = []
    stale = ImportRun.objects.filter(
        status__in=(*IMPORT_RUN_WAITING, *IMPORT_RUN_WORKING), heartbeat_at__lte=limit
    )
    for run_id in list(stale.order_by("pk").values_list("pk", flat=True)):
        if _progress_age_ok(run_id, limit):
            continue  # its worker wrote progress lately (SQLite has no row locks to tell)
        with transaction.atomic():
            # Locked: a live worker is importing it right now (PostgreSQL).
            run = (
                ImportRun.objects.select_for_update(skip_locked=True)
                .filter(
                    pk=run_id,
                    status__in=(*IMPORT_RUN_WAITING, *IMPORT_RUN_WORKING),
                    heartbeat_at__lte=limit,
                )
                .first()
            )
            if run is None:
                continue
            if run.status in IMPORT_RUN_WORKING and run.restarts >= MAX_RESTARTS:
                _finish_failed(
                    run,
                    _(
                        "A worker stopped %(n)d times during this import; nothing was "
                        "imported. Upload the files again, or ask for the workers' logs."
                    )
                    % {"n": run.restarts + 1},
                )
                transaction.on_commit(partial(_delete_files, run_id))
                continue
            changes: dict[str, Any] = {"heartbeat_at": now}
            if run.status in IMPORT_RUN_WORKING:
                changes["status"] = _BACK[ImportRunStatus(run.status)]
                changes["restarts"] = F("restarts") + 1
            ImportRun.objects.filter(pk=run_id).update(**changes)
            enqueue_on_commit(tasks.import_run_work, run_id)
        requeued.append(run_id)
        logger.warning("import %s: no sign of its worker, queued again", run_id)
    # Previews nobody confirmed: their files hold customers' data, so they go.
    for run_id in list(
        ImportRun.objects.filter(
            status__in=(ImportRunStatus.CHECKED, ImportRunStatus.REFUSED),
            heartbeat_at__lte=now - PREVIEW_KEPT,
        ).values_list("pk", flat=True)
    ):
        try:
            import_run_discard(run_id=run_id, now=now)
        except ApplicationError:
            continue  # confirmed meanwhile
    _delete_leftover_files()
    return requeued


def _delete_leftover_files() -> None:
    """Folders of finished runs whose worker stopped right after the commit."""
    root = Path(settings.IMPORT_UPLOAD_DIR)
    if not root.is_dir():
        return
    ids = {int(p.name) for p in root.iterdir() if p.is_dir() and p.name.isdigit()}
    if not ids:
        return
    live = set(
        ImportRun.objects.filter(pk__in=ids)
        .exclude(status__in=IMPORT_RUN_FINISHED)
        .values_list("pk", flat=True)
    )
    for run_id in ids - live:
        _delete_files(run_id)


# --- reads for the page ---------------------------------------------------------------


def import_runs_recent(*, limit: int = 30) -> list[ImportRun]:
    """The history, newest first, with who uploaded and confirmed (one query)."""
    return list(ImportRun.objects.select_related("created_by", "confirmed_by")[:limit])
