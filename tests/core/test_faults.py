"""Faults: brief database errors, a database that never answers, stuck work (issue 13)."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.db.utils import ConnectionHandler
from django.utils import timezone

from audits import services as audit_services
from audits import tasks as audit_tasks
from audits.models import AuditRun
from config.celery_app import app as celery_app
from config.celery_app import use_statement_timeout


def test_a_brief_database_error_retries_the_audit_step_instead_of_failing_the_audit(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    # given the database drops the connection once, during the audit's first step
    real_advance = audit_services.audit_run_advance
    errors = ["server closed the connection unexpectedly"]

    def advance_failing_once(*, run_id: int) -> bool:
        if errors:
            raise OperationalError(errors.pop())
        return real_advance(run_id=run_id)

    monkeypatch.setattr(audit_tasks.services, "audit_run_advance", advance_failing_once)
    # when the owner starts an audit (the worker runs eagerly in tests)
    with django_capture_on_commit_callbacks(execute=True):
        run = audit_services.audit_run_start(trigger="console")
    # then the step was tried again and the audit completed
    run.refresh_from_db()
    assert errors == []
    assert run.failure == ""
    assert run.status == AuditRun.Status.COMPLETED


# --- a database (and broker) that accepts TCP and never answers ----------------------


@pytest.fixture
def silent_server():
    """A socket server of this test's own on 127.0.0.1: accepts, never answers. Yields its
    port; closing it at the end lets every waiting client fail and its thread end."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    for conn in accepted:
        conn.close()
    server.close()


def test_healthz_answers_503_when_the_database_and_broker_never_answer(
    client, db, monkeypatch, silent_server
):
    # given a database server that takes the connection and then says nothing
    hung = ConnectionHandler(
        {
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": "fairshare",
                "USER": "postgres",
                "HOST": "127.0.0.1",
                "PORT": silent_server,
                "OPTIONS": {
                    "connect_timeout": settings.DATABASES["default"]
                    .get("OPTIONS", {})
                    .get("connect_timeout", 3)
                },
            }
        }
    )
    monkeypatch.setattr("core.health.connections", hung)
    # and a broker at the same silent address
    conf = celery_app.conf
    original = conf.broker_url, conf.broker_transport_options
    conf.broker_url, conf.broker_transport_options = f"redis://127.0.0.1:{silent_server}/0", {}
    try:
        # when the load balancer asks
        response = client.get("/healthz/")
    finally:
        conf.broker_url, conf.broker_transport_options = original
    # then it hears "down", in JSON, instead of waiting until the worker is killed
    assert response.status_code == 503
    assert response.json() == {
        "status": "down",
        "database": {"ok": False, "detail": "no answer"},
        "broker": {"ok": False, "detail": "no answer"},
    }


def test_web_connections_carry_a_connect_and_a_statement_timeout(db):
    if connection.vendor != "postgresql":
        pytest.skip("statement_timeout is PostgreSQL's; SQLite is a local file")
    assert connection.settings_dict["OPTIONS"]["connect_timeout"] == 3
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "20s"


def test_workers_get_their_own_longer_statement_timeout():
    databases = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "OPTIONS": {"options": "-c statement_timeout=20000"},
        },
        "embedded": {"ENGINE": "django.db.backends.sqlite3", "OPTIONS": {}},
    }
    use_statement_timeout(databases, settings.DATABASE_WORKER_STATEMENT_TIMEOUT)
    assert databases["default"]["OPTIONS"]["options"] == "-c statement_timeout=600000"
    assert databases["embedded"]["OPTIONS"] == {}


# --- stuck work: the recovery decision ------------------------------------------------


def test_an_audit_whose_worker_died_is_taken_for_stuck_after_three_minutes(db):
    run = audit_services.audit_run_create(trigger="console")
    created = run.created_at
    assert audit_services.audit_runs_stuck(now=created + timedelta(minutes=2)) == []
    assert audit_services.audit_runs_stuck(now=created + timedelta(minutes=3)) == [run.pk]


SWEEPERS = (
    "audits.requeue_stuck",
    "datarights.requests_dispatch",
    "webhooks.send_unsent",
    "campaigns.requeue_stuck",
)


def test_the_sweepers_run_every_minute(db):
    from django_celery_beat.models import PeriodicTask

    from core.services import schedules_sync

    schedules_sync()

    every = {
        t.task: (t.interval.every, t.interval.period)
        for t in PeriodicTask.objects.all()
        if t.interval
    }
    assert {task: every.get(task) for task in SWEEPERS} == dict.fromkeys(SWEEPERS, (60, "seconds"))


def test_an_installed_sweeper_at_the_old_default_moves_to_the_new_one_an_owners_edit_stays(db):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from core.services import schedules_sync

    # given: an installation from before, one schedule at the old default, one the owner set
    def installed(name: str, task: str, seconds: int) -> None:
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=seconds, period=IntervalSchedule.SECONDS
        )
        PeriodicTask.objects.create(name=name, task=task, interval=interval)

    installed("Resume stuck bias audits", "audits.requeue_stuck", 300)
    installed("Worker heartbeat", "core.record_heartbeat", 120)

    # when a deploy syncs the schedules
    schedules_sync()

    # then the untouched default follows the release, the owner's choice stays
    audits = PeriodicTask.objects.get(name="Resume stuck bias audits")
    heartbeat = PeriodicTask.objects.get(name="Worker heartbeat")
    assert (audits.interval.every, heartbeat.interval.every) == (60, 120)


@pytest.mark.django_db(transaction=True)
def test_an_audit_a_live_worker_is_measuring_is_not_queued_again(
    django_capture_on_commit_callbacks,
):
    if connection.vendor != "postgresql":
        pytest.skip("row locks seen from another session need PostgreSQL")
    run = audit_services.audit_run_create(trigger="console")
    later = timezone.now() + timedelta(minutes=10)
    locked, release = threading.Event(), threading.Event()

    def worker_measuring() -> None:
        # a second session holds the run's row, as audit_run_advance does during a chunk
        from django.db import connection as own
        from django.db import transaction

        try:
            with transaction.atomic():
                AuditRun.objects.select_for_update().get(pk=run.pk)
                locked.set()
                release.wait(10)
        finally:
            own.close()

    thread = threading.Thread(target=worker_measuring)
    thread.start()
    try:
        assert locked.wait(10)
        with django_capture_on_commit_callbacks(execute=False):
            during = audit_services.audit_runs_requeue_stuck(now=later)
    finally:
        release.set()
        thread.join(10)
    assert during == []
    run.refresh_from_db()
    assert run.restarts == 0
    # once the worker is gone (its lock with it), the run is queued again
    with django_capture_on_commit_callbacks(execute=False):
        assert audit_services.audit_runs_requeue_stuck(now=later) == [run.pk]
