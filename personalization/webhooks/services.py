"""Emit and deliver webhooks."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from personalization.models import Webhook, WebhookDelivery
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
        transaction.on_commit(partial(deliver_webhook.delay, delivery.pk))
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
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
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
