"""Queue a Celery task after commit without letting a broker outage reach the user.

The work is a row first; the message only says "look at row N". When the broker is
down the row is committed all the same, the failure is logged (the task's name only,
never its arguments) and the row waits for its sweeper, which beat runs every minute:
data requests (datarights.requests_dispatch), audits (audits.requeue_stuck) and webhook
deliveries never attempted (webhooks.send_unsent). Callers whose work has no sweeper
look at `enqueue()`'s answer and say so (retention run now, a generation run's chunks);
campaigns are sent again by pressing "send" again.
"""

from __future__ import annotations

import logging
from functools import partial

from celery import Task
from django.db import transaction

from core.outage import REDIS_ERRORS, Outage

logger = logging.getLogger(__name__)

broker = Outage("broker", retry_after=5.0)


def enqueue(task: Task, *args: object, queue: str | None = None) -> bool:
    """Send `task(*args)` now (to `queue`, or the task's own); False when the broker could
    not take it, the work then being left to its sweeper."""
    if task.app.conf.task_always_eager:
        task.delay(*args)  # runs here: nothing to lose, and its own errors are its own
        return True
    if broker.skipping():
        logger.info("task %s left for its sweeper: the broker is down", task.name)
        return False
    try:
        if queue:
            task.apply_async(args=args, queue=queue)
        else:
            task.delay(*args)
    except REDIS_ERRORS as exc:
        broker.failed(exc, fallback="queued work is left for the sweepers until it returns")
        logger.info("task %s left for its sweeper: %s", task.name, type(exc).__name__)
        return False
    broker.succeeded()
    return True


def enqueue_on_commit(task: Task, *args: object, using: str | None = None) -> None:
    """Queue `task(*args)` once the current transaction commits (never before: a worker
    must find the row), without ever failing the request that committed it."""
    transaction.on_commit(partial(enqueue, task, *args), using=using)
