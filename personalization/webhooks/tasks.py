from celery import shared_task

from personalization.webhooks import services

# 30 s, 1 min, 2 min ... capped at one hour, eight attempts in all (about four hours).
MAX_RETRIES = 7


@shared_task(
    bind=True,
    name="personalization.deliver_webhook",
    acks_late=True,
    autoretry_for=(services.DeliveryFailed,),
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def deliver_webhook(self, delivery_id: int) -> None:
    try:
        services.webhook_deliver(delivery_id=delivery_id)
    except services.DeliveryFailed:
        if self.request.retries >= MAX_RETRIES:
            services.webhook_delivery_give_up(delivery_id=delivery_id)
            return
        raise


@shared_task(name="webhooks.send_unsent", acks_late=True, ignore_result=True)
def send_unsent() -> None:
    """Beat, every minute: queue deliveries whose message never reached the broker."""
    services.webhook_deliveries_send_unsent()
