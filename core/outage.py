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

logger = logging.getLogger(__name__)


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
