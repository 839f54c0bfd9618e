"""Every task beat sends is registered on a real worker (issue 13, item 3)."""

import socket
import time

import pytest
from django.conf import settings

from config.celery_app import app as celery_app
from config.celery_app import task_packages
from core.services import schedules_sync
from tests.workers import WAIT_SECONDS, require_worker_services, worker_pool

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _scheduled_task_names() -> set[str]:
    """What beat sends: every schedule `sync_schedules` creates, and CELERY_BEAT_SCHEDULE."""
    from django_celery_beat.models import PeriodicTask

    schedules_sync()
    names = set(PeriodicTask.objects.values_list("task", flat=True))
    names |= {entry["task"] for entry in getattr(settings, "CELERY_BEAT_SCHEDULE", {}).values()}
    return names


def _registered_on(hostname: str, process, log) -> set[str]:
    """Ask the running worker which tasks it knows (`celery inspect registered`)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        replies = celery_app.control.inspect(destination=[hostname], timeout=2).registered()
        if replies and hostname in replies:
            return {name.split(" ")[0] for name in replies[hostname]}
        time.sleep(0.5)
    pytest.fail("the worker never answered `inspect registered`:\n" + log.read_text()[-3000:])


def test_every_scheduled_task_is_registered_on_a_real_worker(tmp_path, monkeypatch):
    require_worker_services("the task registry test")
    # given every periodic task an installation gets
    scheduled = _scheduled_task_names()
    assert "governance.record_mode_snapshot" in scheduled
    with worker_pool(
        tmp_path=tmp_path, monkeypatch=monkeypatch, prefix="registry", tasks=[]
    ) as pool:
        process, log = pool.start("registry")
        hostname = f"registry-{pool.queue}@{socket.gethostname()}"
        # when the worker says which tasks it runs
        registered = _registered_on(hostname, process, log)
    # then none of beat's messages would be discarded as unregistered
    assert sorted(scheduled - registered) == []


def test_task_packages_come_from_the_installed_apps_and_their_sub_packages():
    packages = task_packages()
    for app_label in ("core", "accounts", "governance", "personalization", "audits"):
        assert app_label in packages
    # sub-packages with a tasks.py, which Celery does not look into by itself
    assert "personalization.datarights" in packages
    assert "personalization.webhooks" in packages
    assert len(packages) == len(set(packages))
