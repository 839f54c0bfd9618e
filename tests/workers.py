"""Real Celery worker processes for integration tests.

Each test gets a queue of its own, workers started as separate processes against the
test database (PostgreSQL) and the Redis broker, its tasks routed to that queue, and
every worker stopped afterwards. Without Redis or PostgreSQL the test skips, saying why.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

from config.celery_app import app as celery_app

ROOT = Path(__file__).resolve().parent.parent
# How long to wait for the workers at each step (a wait limit, never asserted on).
WAIT_SECONDS = 120


def require_worker_services(what: str) -> None:
    if not os.environ.get("REDIS_URL"):
        pytest.skip(f"REDIS_URL is not set: {what} needs Redis")
    if connection.vendor != "postgresql":
        pytest.skip("DATABASE_URL does not point at PostgreSQL: the worker needs a shared database")


def database_url_of_test_db() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Workers:
    """Starts worker processes consuming `queue`; each logs to a file in `folder`."""

    def __init__(self, *, queue: str, folder: Path, env: dict[str, str] | None = None) -> None:
        self.queue = queue
        self.folder = folder
        self.env = env or {}
        self.started: list[subprocess.Popen] = []

    def start(self, name: str, **extra_env: str) -> tuple[subprocess.Popen, Path]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url_of_test_db(),
            "CELERY_TASK_ALWAYS_EAGER": "false",
            **self.env,
            **extra_env,
        }
        log_path = self.folder / f"{name}.log"
        log = open(log_path, "w")  # the process writes to it until it ends
        process = subprocess.Popen(  # fixed command
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
                self.queue,
                f"--hostname={name}-{self.queue}@%h",
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
        self.started.append(process)
        return process, log_path

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()


@contextmanager
def worker_pool(
    *,
    tmp_path: Path,
    monkeypatch,
    prefix: str,
    tasks: Iterable,
    env: dict[str, str] | None = None,
) -> Iterator[Workers]:
    """Workers on a fresh queue; `tasks` queued with .delay() go to it (what beat sends
    goes to the default queue). Tasks run through the broker, not eagerly, meanwhile."""
    pool = Workers(queue=f"{prefix}-{uuid.uuid4().hex[:8]}", folder=tmp_path, env=env)
    for task in tasks:
        monkeypatch.setattr(
            task, "delay", lambda *args, _task=task: _task.apply_async(args=args, queue=pool.queue)
        )
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield pool
    finally:
        celery_app.conf.task_always_eager = eager
        pool.stop_all()


def wait_for(
    condition: Callable[[], bool],
    *,
    processes: Iterable[subprocess.Popen],
    logs: Iterable[Path],
    what: str,
) -> None:
    """Until `condition()` holds; fails with the workers' logs if they all ended first or
    the wait limit passed."""
    processes, logs = list(processes), list(logs)
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        if all(p.poll() is not None for p in processes):
            break
        time.sleep(0.2)
    pytest.fail(f"the worker did not {what}:\n" + "\n".join(p.read_text()[-3000:] for p in logs))
