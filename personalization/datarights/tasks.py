"""Celery tasks for data requests and retention: take ids, call one service.

All are idempotent (the services check the request's status under a row lock) and
acknowledged late, so a message redelivered after a worker died runs again safely.
Only database hiccups are retried; anything else marks the request failed, with the
reason, on the staff console.
"""

from __future__ import annotations

from celery import Task, shared_task

from core.retry import RETRY_ON_TRANSIENT
from personalization.datarights import services


class DataRequestTask(Task):
    """Records a task that gave up on its request, where staff will see it."""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        request_id = kwargs.get("request_id", args[0] if args else None)
        if request_id is not None:
            message = f"{type(exc).__name__}: {exc}"
            services.data_request_record_failure(request_id=int(request_id), message=message)


@shared_task(
    base=DataRequestTask,
    name="datarights.export_build",
    acks_late=True,
    ignore_result=True,
    **RETRY_ON_TRANSIENT,
)
def export_build(request_id: int) -> None:
    """Build a customer's export ZIP."""
    services.export_run(request_id=request_id)


@shared_task(
    base=DataRequestTask,
    name="datarights.erasure_run",
    acks_late=True,
    ignore_result=True,
    **RETRY_ON_TRANSIENT,
)
def erasure_run(request_id: int) -> None:
    """Erase a customer's data (after the cancel window)."""
    services.erasure_run(request_id=request_id)


@shared_task(name="datarights.requests_dispatch", acks_late=True, ignore_result=True)
def requests_dispatch() -> None:
    """Beat, every minute: start erasures whose cancel window ended; re-queue stuck ones."""
    services.erasures_start_due()
    services.data_requests_requeue_stuck()


@shared_task(name="datarights.exports_purge", acks_late=True, ignore_result=True)
def exports_purge() -> None:
    """Beat, hourly: delete export files past their download period."""
    services.exports_purge()


@shared_task(name="datarights.retention_enforce", acks_late=True, ignore_result=True)
def retention_enforce() -> None:
    """Beat, daily: delete data older than its category's retention."""
    services.retention_enforce()
