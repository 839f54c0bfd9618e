from celery import shared_task

from personalization.webhooks import services

# 30 s, 1 min, 2 min ... capped at one hour, eight attempts in all (about four hours).
MAX_RETRIES = services.MAX_ATTEMPTS - 1


@shared_task(
    bind=True,
    name="personalization.deliver_webhook",
    acks_late=True,
    autoretry_for=(services.DeliveryFailed,),
    retry_backoff=services.RETRY_BACKOFF_SECONDS,
    retry_backoff_max=services.RETRY_BACKOFF_MAX_SECONDS,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def deliver_webhook(self, delivery_id: int) -> None:
    try:
        services.webhook_deliver(delivery_id=delivery_id)
    except services.DeliveryFailed as failed:
        # Counted on the delivery, not the message: a message the sweeper sent again
        # starts Celery's own count from zero.
        if failed.attempts >= services.MAX_ATTEMPTS or self.request.retries >= MAX_RETRIES:
            services.webhook_delivery_give_up(delivery_id=delivery_id)
            return
        raise


@shared_task(name="webhooks.send_unsent", acks_late=True, ignore_result=True)
def send_unsent() -> None:
    """Beat, every minute: queue deliveries whose message never reached the broker."""
    services.webhook_deliveries_send_unsent()
