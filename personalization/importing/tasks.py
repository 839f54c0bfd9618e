"""Celery tasks for the owner's imports: take an id, call one service (importing/runs.py).

Safe to run twice or at the same time: a step is claimed by one conditional UPDATE, and
the import is one transaction. Only database hiccups are retried; anything else fails
the run with the reason shown on the page, and nothing is written.
"""

from __future__ import annotations

from celery import Task, shared_task

from core.retry import RETRY_ON_TRANSIENT
from personalization.importing import runs


class ImportTask(Task):
    """Records a task that gave up, on the import's page."""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        run_id = kwargs.get("run_id", args[0] if args else None)
        if run_id is None:
            return
        runs.import_run_fail(run_id=int(run_id), message=f"{type(exc).__name__}: {exc}")


@shared_task(
    base=ImportTask,
    name="importing.run",
    acks_late=True,
    ignore_result=True,
    **RETRY_ON_TRANSIENT,
)
def import_run_work(run_id: int) -> None:
    """Check (dry run) or import the run's uploaded files, whichever step waits."""
    runs.import_run_work(run_id=run_id)


@shared_task(name="importing.sweep", acks_late=True, ignore_result=True)
def import_runs_sweep() -> None:
    """Beat, every minute: imports whose worker stopped go on; old previews go."""
    runs.import_runs_sweep()
