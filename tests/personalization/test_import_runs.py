"""The owner's imports (ImportRun): upload, dry run, confirm, import, sweeper.

Tasks run eagerly here (test settings) once the transaction commits; the real worker is
in test_import_worker.py.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import CustomerProfile
from accounts.roles import Role
from core.errors import ApplicationError
from personalization.importing import runs
from personalization.models import ImportRun, ImportRunStatus, Interaction, Item
from tests.personalization.import_samples import EVENTS_BAD_DATE, shop_uploads


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "imports"
    return settings.IMPORT_UPLOAD_DIR


@pytest.fixture
def owner(make_user):
    return make_user(Role.OWNER)


def rows_stored() -> tuple[int, int, int]:
    return Item.objects.count(), CustomerProfile.objects.count(), Interaction.objects.count()


def upload(owner, django_capture_on_commit_callbacks, **kwargs) -> ImportRun:
    """Upload the sample shop and let the (eager) dry run happen after the commit."""
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.import_run_create(
            profile="fairshare", uploads=shop_uploads(**kwargs), user=owner
        )
    run.refresh_from_db()
    return run


def confirm(run, owner, django_capture_on_commit_callbacks) -> ImportRun:
    with django_capture_on_commit_callbacks(execute=True):
        runs.import_run_confirm(run_id=run.pk, user=owner)
    run.refresh_from_db()
    return run


@pytest.mark.django_db
def test_upload_checks_the_files_and_writes_nothing(
    owner, upload_dir, django_capture_on_commit_callbacks
):
    # given an empty shop
    before = rows_stored()

    # when the owner uploads the three files (events gzipped)
    run = upload(owner, django_capture_on_commit_callbacks, gzip_events=True)

    # then the preview counts every file and nothing is stored yet
    assert run.status == ImportRunStatus.CHECKED
    assert run.created_by == owner and run.error_count == 0
    files = {f["name"]: f for f in run.preview["files"]}
    assert files["catalog.csv"]["rows"] == 3 and files["catalog.csv"]["created"] == 3
    assert files["customers.csv"]["created"] == 2
    assert files["events.csv.gz"]["rows"] == 4 and files["events.csv.gz"]["created"] == 4
    assert rows_stored() == before
    # the files wait in the run's private folder under their own names
    stored = sorted(p.name for p in (upload_dir / str(run.pk)).iterdir() if p.suffix != ".json")
    assert stored == ["01-catalog.csv", "02-customers.csv", "03-events.csv.gz"]


@pytest.mark.django_db
def test_confirmed_import_writes_everything_and_deletes_the_files(
    owner, upload_dir, django_capture_on_commit_callbacks
):
    run = upload(owner, django_capture_on_commit_callbacks)

    run = confirm(run, owner, django_capture_on_commit_callbacks)

    assert run.status == ImportRunStatus.COMPLETED
    assert run.confirmed_by == owner and run.finished_at is not None
    assert rows_stored() == (3, 2, 4)
    events = next(f for f in run.summary["files"] if f["name"] == "events.csv")
    assert events["created"] == 4 and run.summary["ok"] is True
    assert not (upload_dir / str(run.pk)).exists()
    assert runs.import_run_progress(run=run) == {
        "status": "completed",
        "status_label": "Imported",
        "percent": 100,
        "text": "Imported",
        "done": True,
    }


@pytest.mark.django_db
def test_the_same_files_again_add_nothing(owner, django_capture_on_commit_callbacks):
    confirm(
        upload(owner, django_capture_on_commit_callbacks), owner, django_capture_on_commit_callbacks
    )

    again = confirm(
        upload(owner, django_capture_on_commit_callbacks), owner, django_capture_on_commit_callbacks
    )

    assert again.status == ImportRunStatus.COMPLETED
    events = next(f for f in again.summary["files"] if f["name"] == "events.csv")
    assert events["created"] == 0 and events["already_imported"] == 4
    assert rows_stored() == (3, 2, 4)


@pytest.mark.django_db
def test_a_bad_date_refuses_the_whole_upload_with_its_line(
    owner, django_capture_on_commit_callbacks
):
    run = upload(owner, django_capture_on_commit_callbacks, events=EVENTS_BAD_DATE)

    assert run.status == ImportRunStatus.REFUSED
    assert run.error_count == 1
    # the error names the file as uploaded, not where it was stored
    assert run.preview["errors"][0].startswith("events.csv:3: ")
    with pytest.raises(ApplicationError, match="not waiting for confirmation"):
        runs.import_run_confirm(run_id=run.pk, user=owner)
    assert rows_stored() == (0, 0, 0)


@pytest.mark.django_db
def test_only_csv_files_of_a_known_profile_are_taken(owner, upload_dir):
    from django.core.files.uploadedfile import SimpleUploadedFile

    with pytest.raises(ApplicationError, match="not a .csv or .csv.gz file"):
        runs.import_run_create(
            profile="fairshare",
            uploads=[SimpleUploadedFile("orders.xlsx", b"PK\x03\x04")],
            user=owner,
        )
    with pytest.raises(ApplicationError, match="Choose one of the listed profiles"):
        runs.import_run_create(profile="sap", uploads=shop_uploads(), user=owner)
    assert ImportRun.objects.count() == 0
    assert not upload_dir.exists() or not any(upload_dir.iterdir())


@pytest.mark.django_db
def test_a_step_is_claimed_once(owner, django_capture_on_commit_callbacks):
    # given a confirmed import whose message was delivered twice
    run = upload(owner, django_capture_on_commit_callbacks)
    runs.import_run_confirm(run_id=run.pk, user=owner)  # its message is not run here

    first = runs.import_run_work(run_id=run.pk)
    second = runs.import_run_work(run_id=run.pk)

    assert first is not None and first.status == ImportRunStatus.COMPLETED
    assert second is None
    assert rows_stored() == (3, 2, 4)


@pytest.mark.django_db
def test_discarding_a_preview_deletes_its_files(
    owner, upload_dir, django_capture_on_commit_callbacks
):
    run = upload(owner, django_capture_on_commit_callbacks)

    runs.import_run_discard(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == ImportRunStatus.DISCARDED
    assert not (upload_dir / str(run.pk)).exists()
    with pytest.raises(ApplicationError):
        runs.import_run_confirm(run_id=run.pk, user=owner)


@pytest.mark.django_db
def test_a_worker_error_fails_the_run_and_writes_nothing(
    owner, upload_dir, django_capture_on_commit_callbacks, monkeypatch
):
    # given a confirmed import whose worker breaks down after writing some rows
    from personalization.importing import tasks

    run = upload(owner, django_capture_on_commit_callbacks)
    real = runs.import_profile

    def breaks_after_writing(profile, paths, **kwargs):
        real(profile, paths, **kwargs)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(runs, "import_profile", breaks_after_writing)

    # when its task runs (eagerly: Celery calls on_failure as a worker would)
    runs.import_run_confirm(run_id=run.pk, user=owner)
    result = tasks.import_run_work.apply(args=[run.pk])

    # then the run says why, and none of the rows it wrote were kept
    assert result.failed()
    run.refresh_from_db()
    assert run.status == ImportRunStatus.FAILED
    assert run.failure == "RuntimeError: disk on fire"
    assert rows_stored() == (0, 0, 0)
    assert not (upload_dir / str(run.pk)).exists()


# --- the sweeper ------------------------------------------------------------------------


def _stuck_running(run: ImportRun, *, restarts: int = 0) -> None:
    """As a killed worker leaves it: claimed ("running"), nothing written, long ago."""
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportRunStatus.RUNNING,
        restarts=restarts,
        heartbeat_at=timezone.now() - timedelta(minutes=10),
    )
    progress = runs.run_folder(run.pk) / runs.PROGRESS_FILE
    if progress.exists():
        progress.unlink()


@pytest.mark.django_db
def test_the_sweeper_imports_a_run_whose_worker_died_from_scratch(
    owner, django_capture_on_commit_callbacks
):
    run = upload(owner, django_capture_on_commit_callbacks)
    runs.import_run_confirm(run_id=run.pk, user=owner)
    _stuck_running(run)

    with django_capture_on_commit_callbacks(execute=True):
        requeued = runs.import_runs_sweep()

    assert requeued == [run.pk]
    run.refresh_from_db()
    assert run.status == ImportRunStatus.COMPLETED and run.restarts == 1
    assert rows_stored() == (3, 2, 4)


@pytest.mark.django_db
def test_the_sweeper_leaves_a_run_with_recent_progress(owner, django_capture_on_commit_callbacks):
    run = upload(owner, django_capture_on_commit_callbacks)
    runs.import_run_confirm(run_id=run.pk, user=owner)
    _stuck_running(run)
    # its worker wrote progress a moment ago (how SQLite tells a live worker)
    runs._write_progress(run.pk, {"percent": 40, "file": "events.csv", "rows": 2})

    assert runs.import_runs_sweep() == []
    run.refresh_from_db()
    assert run.status == ImportRunStatus.RUNNING and run.restarts == 0


@pytest.mark.django_db
def test_the_sweeper_fails_a_run_that_stopped_too_often(
    owner, upload_dir, django_capture_on_commit_callbacks
):
    run = upload(owner, django_capture_on_commit_callbacks)
    runs.import_run_confirm(run_id=run.pk, user=owner)
    _stuck_running(run, restarts=runs.MAX_RESTARTS)

    with django_capture_on_commit_callbacks(execute=True):
        assert runs.import_runs_sweep() == []

    run.refresh_from_db()
    assert run.status == ImportRunStatus.FAILED
    assert "A worker stopped 4 times during this import; nothing was imported" in run.failure
    assert rows_stored() == (0, 0, 0)
    assert not (upload_dir / str(run.pk)).exists()


@pytest.mark.django_db
def test_the_sweeper_discards_a_preview_left_for_a_day(
    owner, upload_dir, django_capture_on_commit_callbacks
):
    run = upload(owner, django_capture_on_commit_callbacks)

    assert runs.import_runs_sweep(now=timezone.now() + timedelta(hours=23)) == []
    assert ImportRun.objects.get(pk=run.pk).status == ImportRunStatus.CHECKED
    runs.import_runs_sweep(now=timezone.now() + timedelta(hours=25))

    assert ImportRun.objects.get(pk=run.pk).status == ImportRunStatus.DISCARDED
    assert not (upload_dir / str(run.pk)).exists()


@pytest.mark.django_db
def test_the_sweeper_queues_again_a_run_whose_message_was_lost(
    owner, django_capture_on_commit_callbacks
):
    # given an upload whose dry-run message never reached a worker (broker down)
    run = runs.import_run_create(profile="fairshare", uploads=shop_uploads(), user=owner)
    ImportRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))

    with django_capture_on_commit_callbacks(execute=True):
        assert runs.import_runs_sweep() == [run.pk]

    run.refresh_from_db()
    assert run.status == ImportRunStatus.CHECKED and run.restarts == 0


# --- two PostgreSQL sessions -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_live_workers_run_is_never_taken_for_stuck(owner):
    """While one session holds the run's row (a worker importing), the sweeper in another
    session skips it even though its heartbeat is old; once the worker's session is gone
    (killed), the sweeper takes it."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (set DATABASE_URL)")
    run = runs.import_run_create(profile="fairshare", uploads=shop_uploads(), user=owner)
    runs.import_run_work(run_id=run.pk)
    runs.import_run_confirm(run_id=run.pk, user=owner)
    _stuck_running(run)
    holding, release, swept = threading.Event(), threading.Event(), {}

    def worker():
        with transaction.atomic():
            ImportRun.objects.select_for_update().get(pk=run.pk)
            holding.set()
            release.wait(30)
        connection.close()

    def sweeper():
        swept["ids"] = runs.import_runs_sweep()
        connection.close()

    live = threading.Thread(target=worker)
    live.start()
    assert holding.wait(30)
    other = threading.Thread(target=sweeper)
    other.start()
    other.join(30)
    assert swept["ids"] == []
    assert ImportRun.objects.get(pk=run.pk).status == ImportRunStatus.RUNNING

    release.set()
    live.join(30)
    assert runs.import_runs_sweep() == [run.pk]


@pytest.mark.django_db
def test_beat_runs_the_import_sweeper_every_minute():
    from django_celery_beat.models import PeriodicTask

    from core.services import schedules_sync

    schedules_sync()

    task = PeriodicTask.objects.get(task="importing.sweep")
    assert (task.interval.every, task.interval.period) == (60, "seconds")
    assert "deletes the files of previews nobody confirmed within a day" in task.description


@pytest.mark.django_db
def test_the_sweeper_deletes_files_a_finished_run_left_behind(
    owner, upload_dir, django_capture_on_commit_callbacks
):
    # given a completed import whose worker stopped before deleting its files
    run = confirm(
        upload(owner, django_capture_on_commit_callbacks), owner, django_capture_on_commit_callbacks
    )
    left = upload_dir / str(run.pk)
    left.mkdir(parents=True)
    (left / "01-catalog.csv").write_text("sku\n")
    waiting = upload(owner, django_capture_on_commit_callbacks)

    runs.import_runs_sweep()

    assert not left.exists()
    assert (upload_dir / str(waiting.pk) / "01-catalog.csv").exists()
