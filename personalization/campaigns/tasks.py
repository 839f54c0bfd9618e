"""Celery tasks for offer campaigns: take an id, call one service.

Both are safe to run twice or at the same time: choosing offers skips customers who
already have one, and sending claims each recipient once (see sending.py). Only
database hiccups are retried; anything else stops the campaign with the reason shown.
"""

from __future__ import annotations

import time

from celery import Task, shared_task

from core.retry import RETRY_ON_TRANSIENT
from personalization.campaigns import sending, services
from personalization.campaigns.models import Campaign, CampaignStatus


class CampaignTask(Task):
    """Records a task that gave up, on the campaign's page."""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        campaign_id = kwargs.get("campaign_id", args[0] if args else None)
        if campaign_id is None:
            return
        message = f"{type(exc).__name__}: {exc}"[:2000]
        Campaign.objects.filter(
            pk=int(campaign_id), status__in=(CampaignStatus.GENERATING, CampaignStatus.SENDING)
        ).update(status=CampaignStatus.STOPPED, failure=message, stop_reason=message)


@shared_task(
    base=CampaignTask,
    name="campaigns.generate",
    acks_late=True,
    ignore_result=True,
    **RETRY_ON_TRANSIENT,
)
def campaign_generate(campaign_id: int) -> None:
    """Choose and screen an offer for every customer in the audience."""
    services.campaign_generate_run(campaign_id=campaign_id)


@shared_task(
    base=CampaignTask,
    name="campaigns.send",
    bind=True,
    acks_late=True,
    ignore_result=True,
    **RETRY_ON_TRANSIENT,
)
def campaign_send(self, campaign_id: int) -> None:
    """Send until done; when the rate limit says wait, queue itself again for later
    (on the queue it came from) instead of holding the worker."""
    while True:
        outcome = sending.campaign_send_batch(campaign_id=campaign_id)
        if outcome.done:
            return
        if self.request.is_eager:
            time.sleep(outcome.wait_seconds)
            continue
        queue = (self.request.delivery_info or {}).get("routing_key")
        self.apply_async(
            args=[campaign_id],
            countdown=outcome.wait_seconds,
            **({"queue": queue} if queue else {}),
        )
        return


@shared_task(name="campaigns.requeue_stuck", acks_late=True, ignore_result=True)
def campaigns_requeue_stuck() -> None:
    """Beat, every minute: campaigns whose choosing of offers lost its task go on."""
    services.campaigns_requeue_stuck()
