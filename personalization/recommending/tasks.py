"""Celery tasks of the recommender: take ids, call one service.

Idempotent: training checks the version's status under a row lock, a chunk is counted
once per run. Acknowledged late, so a message redelivered after a worker died runs
again. Only database hiccups are retried; other failures mark the version or run failed,
with the reason, where the owner sees it.
"""

from __future__ import annotations

from celery import Task, shared_task

from core.retry import RETRY_ON_TRANSIENT
from personalization.models import ModelVersion
from personalization.recommending import services


def _message(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class TrainTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        version_id = kwargs.get("model_version_id", args[0] if args else None)
        if version_id is not None:
            services.model_version_record_failure(
                model_version_id=int(version_id), message=_message(exc)
            )


class ChunkTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        run_id = kwargs.get("run_id", args[0] if args else None)
        if run_id is not None:
            services.generation_run_record_failure(run_id=int(run_id), message=_message(exc))


@shared_task(
    base=TrainTask,
    name="recommending.train",
    acks_late=True,
    ignore_result=True,
    **RETRY_ON_TRANSIENT,
)
def train(model_version_id: int) -> None:
    """Train one model version (created by `model_version_create`)."""
    version = ModelVersion.objects.get(pk=model_version_id)
    services.model_version_train(model_version=version)


@shared_task(
    base=ChunkTask,
    name="recommending.generate_chunk",
    acks_late=True,
    ignore_result=True,
    **RETRY_ON_TRANSIENT,
)
def generate_chunk(run_id: int, chunk: int, customer_ids: list[int]) -> None:
    """Generate and store the lists of one chunk of customers in a generation run."""
    services.recommendations_generate_chunk(run_id=run_id, chunk=chunk, customer_ids=customer_ids)


@shared_task(
    name="recommending.generate_for_customer",
    acks_late=True,
    ignore_result=True,
    **RETRY_ON_TRANSIENT,
)
def generate_for_customer(customer_id: int) -> None:
    """Regenerate one customer's list (after a change that affects it)."""
    from accounts.models import CustomerProfile

    customer = CustomerProfile.objects.filter(pk=customer_id).first()
    if customer is not None:
        services.recommendations_generate_for_customer(customer=customer)


@shared_task(name="recommending.refresh", acks_late=True, ignore_result=True, **RETRY_ON_TRANSIENT)
def refresh() -> None:
    """Beat: train a new version, then regenerate every customer's list in chunks."""
    services.recommender_refresh()
