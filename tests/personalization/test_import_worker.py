"""The owner's import with real Celery workers (Redis broker, PostgreSQL): all or nothing,
even when the worker is killed.

The worst moment to lose a worker is after the import wrote its rows and before it
committed them. A test-only pause hook (runs.PAUSE_DIR_ENV) stops the worker exactly
there, without timing guesses; the test checks that none of its rows are visible, kills
it, lets the sweeper hand the run to a fresh worker, and finds every row stored once and
a summary that counts them all as new (the first attempt left nothing behind).
"""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.roles import Role
from personalization.importing import runs, tasks
from personalization.models import ImportRun, ImportRunStatus, Interaction, Item
from tests.personalization.import_samples import shop_uploads
from tests.workers import require_worker_services, wait_for, worker_pool

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def upload_dir(settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "imports"
    return settings.IMPORT_UPLOAD_DIR


@pytest.fixture
def pause_dir(tmp_path):
    folder = tmp_path / "pause"
    folder.mkdir()
    return folder


@pytest.fixture
def workers(tmp_path, monkeypatch, upload_dir, pause_dir):
    require_worker_services("the import worker test")
    with worker_pool(
        tmp_path=tmp_path,
        monkeypatch=monkeypatch,
        prefix="test-imports",
        tasks=[tasks.import_run_work],
        env={"IMPORT_UPLOAD_DIR": str(upload_dir), runs.PAUSE_DIR_ENV: str(pause_dir)},
    ) as pool:
        yield pool


def status_of(run: ImportRun) -> str:
    return ImportRun.objects.get(pk=run.pk).status


def test_a_worker_killed_before_the_commit_leaves_nothing_and_a_fresh_one_imports_it_all(
    workers, make_user, pause_dir, upload_dir
):
    owner = make_user(Role.OWNER)
    first, first_log = workers.start("first")
    watch = {"processes": [first], "logs": [first_log]}

    # given an upload the worker checked
    run = runs.import_run_create(profile="fairshare", uploads=shop_uploads(), user=owner)
    wait_for(lambda: status_of(run) == ImportRunStatus.CHECKED, what="check the files", **watch)

    # when the owner confirms and the worker has written every row but not committed
    runs.import_run_confirm(run_id=run.pk, user=owner)
    wait_for(lambda: (pause_dir / "paused").exists(), what="reach the pause point", **watch)

    # then nothing of it is visible, the run says "importing", and the bar has moved
    assert status_of(run) == ImportRunStatus.RUNNING
    assert (Item.objects.count(), Interaction.objects.count()) == (0, 0)
    progress = runs.import_run_progress(run=ImportRun.objects.get(pk=run.pk))
    assert progress["percent"] > 0 and progress["text"].startswith("Importing")

    # when that worker is killed there
    os.kill(first.pid, signal.SIGKILL)
    first.wait(30)
    assert (Item.objects.count(), Interaction.objects.count()) == (0, 0)

    # and the sweeper finds the run stuck, while a fresh worker is running
    (pause_dir / "resume").touch()
    second, second_log = workers.start("second")
    later = timezone.now() + runs.STUCK_AFTER + timedelta(seconds=1)
    wait_for(
        lambda: runs.import_runs_sweep(now=later) == [run.pk],
        what="let the sweeper take the dead worker's run",
        processes=[second],
        logs=[second_log],
    )
    wait_for(
        lambda: status_of(run) == ImportRunStatus.COMPLETED,
        what="import the run again",
        processes=[second],
        logs=[second_log],
    )

    # then every row is stored once, and the summary counts them all as new
    run.refresh_from_db()
    assert run.restarts == 1
    assert (Item.objects.count(), Interaction.objects.count()) == (3, 4)
    events = next(f for f in run.summary["files"] if f["name"] == "events.csv")
    assert events["created"] == 4 and events["already_imported"] == 0
    assert not (upload_dir / str(run.pk)).exists()


def test_a_message_delivered_twice_to_two_workers_imports_once(workers, make_user, pause_dir):
    (pause_dir / "resume").touch()  # no pause in this test
    owner = make_user(Role.OWNER)
    started = [workers.start("one"), workers.start("two")]
    watch = {"processes": [p for p, _ in started], "logs": [log for _, log in started]}
    run = runs.import_run_create(profile="fairshare", uploads=shop_uploads(), user=owner)
    wait_for(lambda: status_of(run) == ImportRunStatus.CHECKED, what="check the files", **watch)

    runs.import_run_confirm(run_id=run.pk, user=owner)
    tasks.import_run_work.delay(run.pk)  # the same message once more
    wait_for(lambda: status_of(run) == ImportRunStatus.COMPLETED, what="import", **watch)

    run.refresh_from_db()
    events = next(f for f in run.summary["files"] if f["name"] == "events.csv")
    assert events["created"] == 4
    assert Interaction.objects.count() == 4 and run.restarts == 0
