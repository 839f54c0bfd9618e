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
from django.utils import timezone

from core.enqueue import enqueue, enqueue_on_commit
from personalization.models import Webhook, WebhookDelivery
from personalization.webhooks import targets
from personalization.webhooks.signing import HEADER, sign

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10


class DeliveryFailed(Exception):
    """The receiver did not accept the delivery; Celery retries with backoff."""


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
        delivery.save(update_fields=["attempts"])
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
        raise DeliveryFailed(delivery.last_error or f"HTTP {status}")
    return delivery


def webhook_delivery_give_up(*, delivery_id: int) -> None:
    WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.FAILED
    )


# A delivery never attempted this long after it was created lost its message (the broker
# was down when it was queued, or the process died before sending): the sweeper sends it.
UNSENT_AFTER = timedelta(minutes=1)


def webhook_deliveries_send_unsent(
    *, now: datetime | None = None, unsent_after: timedelta = UNSENT_AFTER
) -> list[int]:
    """Queue again every pending delivery never attempted (beat, every minute).

    A second message for a delivery already in the queue is harmless: the first to run
    sends it, the other finds it delivered (receivers dedupe on X-Fairshare-Delivery).
    """
    from personalization.webhooks.tasks import deliver_webhook

    limit = (now or timezone.now()) - unsent_after
    ids = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, attempts=0, created_at__lte=limit
        )
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
    )
    sent = []
    for delivery_id in ids:
        if not enqueue(deliver_webhook, delivery_id):
            break  # still down: the next sweep tries again
        sent.append(delivery_id)
    return sent
