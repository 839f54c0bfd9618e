"""A generation run's chunks go through the broker to a real Celery worker process."""

import time

import pytest

from config.celery_app import app as celery_app
from personalization.models import GenerationRun, Recommendation
from personalization.recommending import services
from tests.builders import Shop

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_a_chunked_run_is_generated_by_a_worker_with_progress(worker):
    queue, process, log = worker
    shop = Shop()
    services.model_version_train(model_version=services.model_version_create(), with_metrics=False)
    default_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    try:
        # when: the run is started (its chunk tasks are queued on commit)
        run = services.generation_run_start(chunk_size=5)
    finally:
        celery_app.conf.task_default_queue = default_queue
    # then: the worker generates every chunk and counts it once
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        run.refresh_from_db()
        if run.status != GenerationRun.Status.RUNNING:
            break
        time.sleep(0.5)
    if run.status != GenerationRun.Status.COMPLETED:
        pytest.fail(f"run {run.status}: {run.failure}\n" + log.read_text()[-3000:])
    assert (run.customers_done, run.customers_total, run.chunks_total) == (13, 13, 3)
    assert sorted(run.chunks_done) == [0, 1, 2]
    assert Recommendation.objects.filter(customer=shop.alice, superseded_at__isnull=True).exists()
