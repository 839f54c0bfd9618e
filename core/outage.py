"""What one process knows of a dependency that went away (Redis: broker and cache).

The first failure is logged as a warning and the recovery once, not every request in
between; for a few seconds after a failure callers skip the dependency instead of
waiting on it again, so a Redis that is down costs one timeout now and then, not one per
request. Log lines name the dependency and the error's type only, never what was being
done for whom.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis.exceptions
from kombu.exceptions import OperationalError as BrokerOperationalError

logger = logging.getLogger(__name__)

# What talking to Redis raises when it is down, refuses or does not answer: as the cache
# (redis-py) and as the broker (kombu wraps it).
REDIS_ERRORS: tuple[type[BaseException], ...] = (
    BrokerOperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,
    TimeoutError,
)


class Outage:
    """The state of one dependency in this process (thread-safe)."""

    def __init__(
        self, name: str, *, retry_after: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.name = name
        self.retry_after = retry_after
        self.clock = clock
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._skip_until = 0.0

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def skipping(self) -> bool:
        """True while callers should not even try (shortly after a failure)."""
        return self.down and self.clock() < self._skip_until

    def failed(self, exc: BaseException, *, fallback: str) -> None:
        """Record a failure; the first of an outage is logged, saying what happens instead."""
        with self._lock:
            now = self.clock()
            first = self._down_since is None
            if first:
                self._down_since = now
            self._skip_until = now + self.retry_after
        if first:
            logger.warning("%s unreachable (%s): %s", self.name, type(exc).__name__, fallback)

    def succeeded(self) -> None:
        """Record a success; logs the end of an outage once."""
        with self._lock:
            since, self._down_since = self._down_since, None
        if since is not None:
            logger.warning("%s reachable again after %.0f s", self.name, self.clock() - since)


class ApiOutageMiddleware:
    """Under /api/, a Redis error that still reaches a view answers 503 in the API's
    error envelope with Retry-After, never a 500.

    Nothing in the API needs Redis in normal operation (the cache falls back to memory,
    queued work is left to the sweepers); this is the answer for whatever still does,
    e.g. an installation whose cache is Django's plain RedisCache.
    """

    RETRY_AFTER_SECONDS = 30

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception: Exception):
        if not request.path.startswith("/api/") or not isinstance(exception, REDIS_ERRORS):
            return None
        from django.http import JsonResponse
        from django.utils.translation import gettext as _

        from core.api import error_body

        logger.warning("api: Redis unreachable (%s): answered 503", type(exception).__name__)
        response = JsonResponse(
            error_body(
                "service_unavailable",
                _("The service is briefly unavailable. Try again in a minute."),
            ),
            status=503,
        )
        response["Retry-After"] = str(self.RETRY_AFTER_SECONDS)
        return response
