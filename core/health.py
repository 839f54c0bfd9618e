"""Liveness checks of the components the app depends on."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import DatabaseError, connections

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ComponentState:
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "detail": self.detail}


def check_database(alias: str = "default") -> ComponentState:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("healthz: database check failed: %s", type(exc).__name__)
        return ComponentState(False, "unreachable")
    return ComponentState(True, connections[alias].vendor)


def check_broker(timeout: float = 2.0) -> ComponentState:
    from config.celery_app import app

    transport = app.conf.broker_url.split(":", 1)[0]
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
            # The filesystem transport "connects" even when its folder is gone.
            if transport == "filesystem":
                channel = conn.default_channel
                for folder in (channel.data_folder_in, channel.data_folder_out):
                    if not _writable_dir(folder):
                        return ComponentState(False, "queue folder missing")
    except Exception as exc:  # any failure means "broker down"
        logger.warning("healthz: broker check failed: %s", type(exc).__name__)
        return ComponentState(False, "unreachable")
    return ComponentState(True, transport)


def _writable_dir(folder: str) -> bool:
    import os

    return os.path.isdir(folder) and os.access(folder, os.W_OK)
