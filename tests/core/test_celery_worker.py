"""A real Celery worker process consumes a task from Redis and writes to PostgreSQL."""

import time

import pytest

from core.models import Heartbeat
from core.tasks import record_heartbeat

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


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
