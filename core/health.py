"""Liveness checks of the components the app depends on.

Each check runs in a thread of its own and is given up after a deadline: a database or
broker that accepts connections and never answers makes /healthz/ answer 503 within
about 2.5 s, instead of hanging the web worker until the server kills it (a 500). A
given-up check's thread ends by itself once the connect timeout fires
(DATABASE_CONNECT_TIMEOUT, the broker's socket timeouts).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.db import DatabaseError, connections
from django.db import connections as thread_connections

logger = logging.getLogger(__name__)

# Seconds each check may take before it counts as down (two checks: 2.5 s in all).
CHECK_SECONDS = 1.25


@dataclass(frozen=True)
class ComponentState:
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "detail": self.detail}


def _within(seconds: float, what: str, check: Callable[[], ComponentState]) -> ComponentState:
    """`check()` in its own thread; 'no answer' when it has not finished in `seconds`."""
    outcome: list[ComponentState] = []

    def run() -> None:
        try:
            outcome.append(check())
        finally:
            # The thread's own database connection, opened for this check only.
            thread_connections.close_all()

    thread = threading.Thread(target=run, name=f"healthz-{what}", daemon=True)
    thread.start()
    thread.join(seconds)
    if outcome:
        return outcome[0]
    logger.warning("healthz: %s check gave no answer within %.2f s", what, seconds)
    return ComponentState(False, "no answer")


def check_database(alias: str = "default", timeout: float = CHECK_SECONDS) -> ComponentState:
    def check() -> ComponentState:
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except DatabaseError as exc:
            logger.warning("healthz: database check failed: %s", type(exc).__name__)
            return ComponentState(False, "unreachable")
        return ComponentState(True, connections[alias].vendor)

    return _within(timeout, "database", check)


def check_broker(timeout: float = CHECK_SECONDS) -> ComponentState:
    # The project's app, made current when `config` loaded; core never imports config.
    from celery import current_app as app

    transport = app.conf.broker_url.split(":", 1)[0]

    def check() -> ComponentState:
        try:
            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=0, timeout=timeout)
                # The filesystem transport "connects" even when its folder is gone.
                if transport == "filesystem":
                    channel = conn.default_channel
                    for folder in (channel.data_folder_in, channel.data_folder_out):
                        if not _writable_dir(folder):
                            return ComponentState(False, "queue folder missing")
                else:
                    # Connecting proves little: a hung Redis accepts and never answers.
                    conn.default_channel.client.ping()
        except Exception as exc:  # any failure means "broker down"
            logger.warning("healthz: broker check failed: %s", type(exc).__name__)
            return ComponentState(False, "unreachable")
        return ComponentState(True, transport)

    return _within(timeout, "broker", check)


def _writable_dir(folder: str) -> bool:
    import os

    return os.path.isdir(folder) and os.access(folder, os.W_OK)
