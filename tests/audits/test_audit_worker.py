"""A real Celery worker killed (SIGKILL) in the middle of an audit leaves a run that a
fresh worker resumes from its last committed chunk, with no duplicated results and the
same figures as an uninterrupted run.

How the kill lands mid-way: each chunk (one measure) commits its results with its chunk
row, and a test-only hook makes the worker stop after its first committed chunk when
FAIRSHARE_AUDIT_TEST_PAUSE_DIR is set in its environment (read at run time). The test
waits for that point, checks what is committed, then kills the process.
"""

from __future__ import annotations

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

from audits import services, tasks
from audits.models import AuditFinding, AuditResult, AuditRun, AuditRunChunk
from config.celery_app import app as celery_app
from tests.audits.conftest import build_audit_shop

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 120  # a wait limit, never asserted on

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def database_url_of_test_db() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def workers(tmp_path, monkeypatch):
    if not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is not set: the audit worker test needs Redis")
    if connection.vendor != "postgresql":
        pytest.skip("DATABASE_URL does not point at PostgreSQL: the worker needs a shared database")
    queue = f"test-audit-{uuid.uuid4().hex[:8]}"
    started: list[subprocess.Popen] = []

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
        started.append(process)
        return process, log_path

    monkeypatch.setattr(
        tasks.audit_run_step,
        "delay",
        lambda *args: tasks.audit_run_step.apply_async(args=args, queue=queue),
    )
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield start
    finally:
        celery_app.conf.task_always_eager = eager
        for process in started:
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


def figures(run: AuditRun) -> dict[tuple, tuple]:
    return {
        (r.metric, r.segment, r.attributes_key, r.group_key): (r.value, r.low, r.high, r.n)
        for r in AuditResult.objects.filter(run=run)
    }


def test_a_worker_killed_mid_audit_is_resumed_by_a_fresh_one_without_duplicates(workers, tmp_path):
    build_audit_shop()
    pause_dir = tmp_path / "pause"
    pause_dir.mkdir()

    # given an audit queued for a worker
    run = services.audit_run_start(trigger="schedule")

    # when a worker has committed its first chunk...
    first, first_log = workers("first", FAIRSHARE_AUDIT_TEST_PAUSE_DIR=str(pause_dir))
    wait_for((pause_dir / "paused").exists, process=first, log=first_log, what="reach the middle")
    run.refresh_from_db()
    assert run.status == "running"
    assert list(AuditRunChunk.objects.filter(run=run).values_list("name", flat=True)) == [
        "exposure"
    ]
    committed = AuditResult.objects.filter(run=run).count()
    assert committed == AuditRunChunk.objects.get(run=run).results > 0

    # ...and is killed there
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    run.refresh_from_db()
    assert run.status == "running" and run.finished_at is None
    assert AuditResult.objects.filter(run=run).count() == committed

    # then beat's check finds it stuck and a fresh worker continues it
    assert services.audit_runs_stuck(stuck_after=timedelta(0)) == [run.pk]
    second, second_log = workers("second")
    assert services.audit_runs_requeue_stuck(stuck_after=timedelta(0)) == [run.pk]

    def completed() -> bool:
        run.refresh_from_db()
        return run.status == "completed" and run.notified_at is not None

    wait_for(completed, process=second, log=second_log, what="complete the audit")

    # every chunk exactly once, no result twice, findings once
    chunks = list(AuditRunChunk.objects.filter(run=run).values_list("name", "results"))
    assert [name for name, _ in chunks] == run.policy["metrics"]
    assert AuditResult.objects.filter(run=run).count() == sum(n for _, n in chunks)
    assert run.restarts == 1
    breaches = AuditFinding.objects.filter(
        run=run, kind="breach", metric="exposure", segment="Breads"
    )
    assert breaches.count() == 1 and breaches.get().review_item_id is not None

    # and the figures are those of an audit nobody interrupted
    fresh = services.audit_run_execute(run=services.audit_run_create(trigger="command"))
    assert figures(run) == figures(fresh)
