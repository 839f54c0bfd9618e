from celery import shared_task

from core import services


@shared_task(name="core.record_heartbeat", acks_late=True, ignore_result=True)
def record_heartbeat(name: str = "worker") -> None:
    """Prove a worker is consuming the queue: beat schedules it every minute."""
    services.heartbeat_record(name=name)
