"""Celery tasks for governance: each calls one service."""

from celery import shared_task

from governance import services


@shared_task(name="governance.record_mode_snapshot", acks_late=True, ignore_result=True)
def record_mode_snapshot() -> None:
    """Beat, daily: today's customer counts per personalization mode (idempotent)."""
    services.mode_snapshot_record()
