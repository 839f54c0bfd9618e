"""Emit and deliver webhooks."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.enqueue import enqueue, enqueue_on_commit
from personalization.models import Webhook, WebhookDelivery
from personalization.webhooks import targets
from personalization.webhooks.signing import HEADER, sign

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10


class DeliveryFailed(Exception):
    """The receiver did not accept the delivery; Celery retries with backoff."""

    def __init__(self, message: str, *, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


# Eight attempts in all; retries wait 30 s, 1 min, 2 min ... capped at one hour (about
# four hours in all). The task's Celery backoff uses the same numbers.
MAX_ATTEMPTS = 8
RETRY_BACKOFF_SECONDS = 30
RETRY_BACKOFF_MAX_SECONDS = 3600


def retry_wait(attempts: int) -> timedelta:
    """The longest wait before the retry that follows attempt number `attempts`."""
    return timedelta(
        seconds=min(RETRY_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), RETRY_BACKOFF_MAX_SECONDS)
    )


def webhooks_emit(*, event: str, payload: dict[str, Any]) -> list[WebhookDelivery]:
    """Queue `event` for every active webhook subscribed to it (sent after commit)."""
    from personalization.webhooks.tasks import deliver_webhook

    deliveries = [
        WebhookDelivery.objects.create(webhook=hook, event=event, payload=payload)
        for hook in Webhook.objects.filter(active=True)
        if event in hook.events
    ]
    for delivery in deliveries:
        # Broker down: the delivery stays pending, never attempted, until the sweeper.
        enqueue_on_commit(deliver_webhook, delivery.pk)
    return deliveries


def webhook_deliver(*, delivery_id: int) -> WebhookDelivery:
    """POST one delivery; raise DeliveryFailed on anything but a 2xx answer."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .select_related("webhook")
            .get(pk=delivery_id)
        )
        if delivery.status != WebhookDelivery.Status.PENDING:
            return delivery  # already delivered or given up: a retry is a no-op
        delivery.attempts += 1
        delivery.last_attempt_at = timezone.now()
        delivery.save(update_fields=["attempts", "last_attempt_at"])
    body = json.dumps(
        {
            "id": delivery.pk,
            "event": delivery.event,
            "created_at": delivery.created_at.isoformat(),
            "data": delivery.payload,
        },
        sort_keys=True,
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - the owner configures an http(s) URL
        delivery.webhook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Fairshare-Webhooks/1",
            "X-Fairshare-Event": delivery.event,
            "X-Fairshare-Delivery": str(delivery.pk),
            HEADER: sign(delivery.webhook.secret, int(time.time()), body),
        },
    )
    status, error = None, ""
    try:
        # Checks the target again (https, public addresses only) and sends only there.
        with targets.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status, error = exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        error = type(exc).__name__ + (f": {exc.reason}" if hasattr(exc, "reason") else "")
    delivery.last_status_code = status
    delivery.last_error = error[:300]
    if status is not None and 200 <= status < 300:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = timezone.now()
        delivery.last_error = ""
    delivery.save(update_fields=["last_status_code", "last_error", "status", "delivered_at"])
    if delivery.status != WebhookDelivery.Status.DELIVERED:
        logger.warning("webhook delivery %s failed: %s", delivery.pk, delivery.last_error)
        raise DeliveryFailed(delivery.last_error or f"HTTP {status}", attempts=delivery.attempts)
    return delivery


def webhook_delivery_give_up(*, delivery_id: int) -> None:
    WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.FAILED
    )


# A delivery never attempted this long after it was created lost its message (the broker
# was down when it was queued, or the process died before sending): the sweeper sends it.
UNSENT_AFTER = timedelta(minutes=1)
# A retry this long past its latest due time lost its message too.
RETRY_LOST_AFTER = timedelta(minutes=2)


def webhook_deliveries_send_unsent(
    *, now: datetime | None = None, unsent_after: timedelta = UNSENT_AFTER
) -> list[int]:
    """Queue again every pending delivery whose message was lost (beat, every minute).

    Two kinds: never attempted a minute after it was created (the broker was down when it
    was queued), and a failed attempt whose retry is overdue by more than `RETRY_LOST_AFTER`
    (the broker was down when the retry was scheduled, or the worker died). A delivery
    that already had its last attempt is given up instead.

    A second message for a delivery already in the queue is harmless: the first to run
    sends it, the other finds it delivered (receivers dedupe on X-Fairshare-Delivery).
    """
    from personalization.webhooks.tasks import deliver_webhook

    now = now or timezone.now()
    pending = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING)
    overdue = Q(attempts=0, created_at__lte=now - unsent_after)
    for attempts in range(1, MAX_ATTEMPTS):
        limit = now - retry_wait(attempts) - RETRY_LOST_AFTER
        overdue |= Q(attempts=attempts) & (
            Q(last_attempt_at__lte=limit) | Q(last_attempt_at=None, created_at__lte=limit)
        )
    ids = list(pending.filter(overdue).order_by("created_at", "pk").values_list("pk", flat=True))
    sent = []
    for delivery_id in ids:
        if not enqueue(deliver_webhook, delivery_id):
            break  # still down: the next sweep tries again
        sent.append(delivery_id)
    last_attempt_long_ago = now - retry_wait(MAX_ATTEMPTS) - RETRY_LOST_AFTER
    pending.filter(attempts__gte=MAX_ATTEMPTS, last_attempt_at__lte=last_attempt_long_ago).update(
        status=WebhookDelivery.Status.FAILED
    )
    return sent
