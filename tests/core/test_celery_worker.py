"""A real Celery worker process consumes a task from Redis and writes to PostgreSQL."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from config.celery_app import app as celery_app
from core.models import Heartbeat
from core.tasks import record_heartbeat

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def database_url_of_test_db() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def worker(tmp_path):
    if not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is not set: the worker integration test needs Redis")
    if connection.vendor != "postgresql":
        pytest.skip("DATABASE_URL does not point at PostgreSQL: the worker needs a shared database")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url_of_test_db(),
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    log = open(tmp_path / "worker.log", "w+")  # noqa: SIM115 - closed below
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
            f"--hostname={queue}@%h",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield queue, process, tmp_path / "worker.log"
    finally:
        celery_app.conf.task_always_eager = eager
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_task_sent_through_redis_is_run_by_a_worker_and_lands_in_postgres(worker):
    queue, process, log = worker
    name = f"integration-{queue}"
    # when the task goes through the broker (not run in this process)
    record_heartbeat.apply_async(args=[name], queue=queue)
    # then the worker process writes its row to the shared database
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if Heartbeat.objects.filter(name=name).exists():
            break
        time.sleep(0.5)
    beat = Heartbeat.objects.filter(name=name).first()
    if beat is None:
        pytest.fail("the worker did not run the task:\n" + log.read_text()[-3000:])
    assert beat.beats == 1
    assert not Heartbeat.objects.exclude(name=name).exists()
