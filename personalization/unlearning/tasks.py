"""Celery tasks of unlearning: take ids, call one service.

Idempotent (what is taken out is recorded under the active version's row lock, and
never taken out twice) and acknowledged late, so a redelivered message is harmless.
Only database hiccups are retried; the sweep, every minute, looks again at every
withdrawal since the served model read its data, so a lost message delays, never skips.
"""

from __future__ import annotations

from celery import shared_task

from core.retry import RETRY_ON_TRANSIENT
from personalization.models.requests import ModelUnlearning
from personalization.unlearning import services


@shared_task(name=services.FORGET_TASK, acks_late=True, ignore_result=True, **RETRY_ON_TRANSIENT)
def forget_customer(customer_ref: int) -> None:
    """Take what a withdrawn consent covered out of the served model."""
    services.model_forget_customer(customer_ref=customer_ref, reason=ModelUnlearning.Reason.CONSENT)


@shared_task(name="unlearning.sweep", acks_late=True, ignore_result=True, **RETRY_ON_TRANSIENT)
def sweep() -> None:
    """Beat, every minute: withdrawals the served model still depends on."""
    services.unlearning_sweep()
