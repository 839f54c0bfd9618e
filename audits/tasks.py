"""Celery tasks for bias audits: thin, take ids, call one service."""

from __future__ import annotations

from celery import shared_task

from audits import findings, services
from core.enqueue import enqueue
from core.retry import RETRY_ON_TRANSIENT


def _record_failure(self, exc, task_id, args, kwargs, einfo) -> None:
    if args:
        services.audit_run_fail(run_id=int(args[0]), message=f"{type(exc).__name__}: {exc}")


@shared_task(
    name="audits.run_step",
    bind=True,
    acks_late=True,
    ignore_result=True,
    on_failure=_record_failure,
    # A brief database error retries the step (its chunk commits whole or not at all)
    # instead of failing the whole audit.
    **RETRY_ON_TRANSIENT,
)
def audit_run_step(self, run_id: int) -> None:
    """One step of a run (a chunk or the comparison); queues the next step itself, so a
    large audit is spread over task messages and a killed worker loses one chunk at most."""
    if services.audit_run_advance(run_id=run_id):
        # The next step goes to the queue this one came from. Broker down: the stuck
        # check queues it again once it is back (the run is not failed for it).
        queue = (self.request.delivery_info or {}).get("routing_key")
        enqueue(audit_run_step, run_id, queue=None if self.request.is_eager else queue)
    else:
        findings.audit_run_notify(run_id=run_id)


@shared_task(name="audits.run_scheduled", acks_late=True, ignore_result=True)
def audit_run_scheduled() -> None:
    """Beat's weekly audit (the schedule the owner edits on the policy page)."""
    from core.errors import ApplicationError

    try:
        services.audit_run_start(trigger="schedule")
    except ApplicationError:
        # An audit is still running: this week's is that one.
        return


@shared_task(name="audits.requeue_stuck", acks_late=True, ignore_result=True)
def audit_runs_requeue_stuck() -> None:
    """Queue again audits whose worker stopped making progress."""
    services.audit_runs_requeue_stuck()
