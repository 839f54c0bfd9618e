"""A real Celery worker killed (SIGKILL) in the middle of an erasure leaves the request
not completed and re-runnable; a fresh worker then completes it.

How the kill lands mid-way: erasure deletes in chunks, each committed on its own
(personalization/datarights/erasure.py), and a test-only hook makes the worker stop
after its first committed chunk when FAIRSHARE_ERASURE_TEST_PAUSE_DIR is set in its
environment (read at run time). The test waits for that point, checks what is
committed, then kills the process: no timing guesses.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import CustomerProfile, User
from accounts.roles import Role
from config.celery_app import app as celery_app
from personalization.consent.services import ConsentChange, consent_set
from personalization.datarights import services, tasks
from personalization.datarights.erasure import CHUNK_SIZE, PAUSE_DIR_ENV
from personalization.models import ConsentEvent, DataRequest, Interaction
from tests.factories import ItemFactory

ROOT = Path(__file__).resolve().parents[2]
INTERACTIONS = CHUNK_SIZE * 2 + 200
# How long to wait for the worker at each step (a wait limit, never asserted on).
WAIT_SECONDS = 90

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def database_url_of_test_db() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def workers(tmp_path, monkeypatch):
    """Starts worker processes on a queue of this test's own; stops them afterwards."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is not set: the erasure worker test needs Redis")
    if connection.vendor != "postgresql":
        pytest.skip("DATABASE_URL does not point at PostgreSQL: the worker needs a shared database")
    queue = f"test-erasure-{uuid.uuid4().hex[:8]}"
    started: list[tuple[subprocess.Popen, Path]] = []

    def start(name: str, **extra_env: str) -> tuple[subprocess.Popen, Path]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url_of_test_db(),
            "CELERY_TASK_ALWAYS_EAGER": "false",
            **extra_env,
        }
        log_path = tmp_path / f"{name}.log"
        log = open(log_path, "w")  # noqa: SIM115 - the process writes to it until it ends
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "-Q",
                queue,
                f"--hostname={name}-{queue}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        log.close()
        started.append((process, log_path))
        return process, log_path

    # This test's tasks go to its own queue (what beat sends goes to the default one).
    for task in (tasks.erasure_run, tasks.export_build):
        monkeypatch.setattr(
            task, "delay", lambda *args, _task=task: _task.apply_async(args=args, queue=queue)
        )
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield queue, start
    finally:
        celery_app.conf.task_always_eager = eager
        for process, _ in started:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()


def wait_for(condition, *, process, log: Path, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        if process.poll() is not None:
            break
        time.sleep(0.2)
    pytest.fail(f"the worker did not {what}:\n" + log.read_text()[-4000:])


@pytest.fixture
def customer(make_user):
    user = make_user(Role.CUSTOMER, email="killed-mid-erasure@example.com")
    profile = CustomerProfile.objects.get(user=user)
    item = ItemFactory()
    Interaction.objects.bulk_create(
        Interaction(
            event_id=f"evt-kill-{n}",
            customer=profile,
            item=item,
            kind="purchase",
            data_category="purchase_history",
            occurred_at=timezone.now() - timedelta(days=n % 300),
        )
        for n in range(INTERACTIONS)
    )
    for purpose in ("personalization", "marketing"):
        consent_set(
            customer=profile,
            changes=[ConsentChange(purpose, "purchase_history", True)],
            method="ui",
            actor="customer",
            notice_version=1,
        )
    return user, profile


def test_a_worker_killed_mid_erasure_leaves_it_rerunnable_and_a_fresh_worker_completes_it(
    workers, customer, tmp_path
):
    queue, start = workers
    user, profile = customer
    pause_dir = tmp_path / "pause"
    pause_dir.mkdir()

    # given an erasure whose cancel window has passed, queued for a worker
    request = services.data_request_create(customer=profile, kind="erasure")
    DataRequest.objects.filter(pk=request.pk).update(not_before=timezone.now())
    assert services.erasures_start_due() == [request.pk]

    # when a worker takes it and has committed its first chunk...
    first, first_log = start("first", **{PAUSE_DIR_ENV: str(pause_dir)})
    wait_for(
        (pause_dir / "paused").exists,
        process=first,
        log=first_log,
        what="reach the middle of the erasure",
    )
    request.refresh_from_db()
    assert request.status == "in_progress"
    assert Interaction.objects.filter(customer=profile).count() == INTERACTIONS - CHUNK_SIZE
    assert ConsentEvent.objects.filter(customer=profile, method="erasure").count() == 2

    # ...and is killed there
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)

    # then the request is not completed and the customer is only partly erased
    request.refresh_from_db()
    assert request.status == "in_progress"
    assert request.completed_at is None
    assert CustomerProfile.objects.filter(pk=profile.pk).exists()
    assert User.objects.filter(pk=user.pk).exists()
    assert Interaction.objects.filter(customer=profile).count() == INTERACTIONS - CHUNK_SIZE
    assert request.outcome["rows"]["personalization.Interaction"] == CHUNK_SIZE

    # and beat's check finds it stuck and queues it again, for a fresh worker
    assert services.data_requests_stuck(stuck_after=timedelta(0)) == [request.pk]
    second, second_log = start("second")
    assert services.data_requests_requeue_stuck(stuck_after=timedelta(0)) == [request.pk]

    def completed() -> bool:
        request.refresh_from_db()
        return request.status == "completed"

    wait_for(completed, process=second, log=second_log, what="complete the erasure")

    # which finishes the job exactly once
    assert not CustomerProfile.objects.filter(pk=profile.pk).exists()
    assert not User.objects.filter(pk=user.pk).exists()
    assert not Interaction.objects.filter(customer_id=profile.pk).exists()
    assert request.outcome["rows"]["personalization.Interaction"] == INTERACTIONS
    ledger = ConsentEvent.objects.filter(customer_ref=profile.pk)
    assert ledger.filter(method="erasure").count() == 2  # not withdrawn twice
    assert not ledger.filter(customer__isnull=False).exists()
    actions = list(request.events.values_list("action", flat=True))
    assert actions == ["received", "queued", "started", "requeued", "resumed", "completed"]
