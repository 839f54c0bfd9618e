"""A Redis cache that keeps the site up when Redis is not.

The cache holds allauth's rate limits (sign-in, sign-up, password reset, login by code)
and the API throttle's counters. With Redis down, Django's RedisCache raises on every
read, and every one of those pages and every API call answered 500. This backend counts
in this process's memory instead until Redis answers again: the limits still hold, per
process rather than shared (at most the number of web processes times the limit), and
the switch is logged once each way (core.outage), not per request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

from core.outage import REDIS_ERRORS, Outage

FALLBACK = "counting rate limits and API throttles in this process until it returns"

# Django makes one cache object per thread: the outage state and the memory fallback are
# shared by every thread of the process (LocMemCache shares its store by name).
_outages: dict[str, Outage] = {}
_outages_lock = threading.Lock()


def _outage_for(location: str, retry_after: float) -> Outage:
    with _outages_lock:
        if location not in _outages:
            _outages[location] = Outage("cache", retry_after=retry_after)
        return _outages[location]


def _fail_safe(name: str) -> Callable[..., Any]:
    def method(self: FailSafeRedisCache, *args: Any, **kwargs: Any) -> Any:
        if not self.outage.skipping():
            try:
                result = getattr(RedisCache, name)(self, *args, **kwargs)
            except REDIS_ERRORS as exc:
                self.outage.failed(exc, fallback=FALLBACK)
            else:
                self.outage.succeeded()
                return result
        return getattr(self.fallback, name)(*args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"RedisCache.{name}, or this process's memory while Redis is down."
    return method


class FailSafeRedisCache(RedisCache):
    """RedisCache that falls back to a per-process memory cache while Redis is down.

    OPTIONS may hold `retry_after` (seconds to skip Redis after a failure, default 5)
    besides redis-py's own connection options (socket timeouts).
    """

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        params = dict(params)
        options = dict(params.get("OPTIONS") or {})
        retry_after = float(options.pop("retry_after", 5.0))
        params["OPTIONS"] = options
        super().__init__(server, params)
        self.outage = _outage_for(str(server), retry_after)
        self.fallback = LocMemCache(f"fail-safe:{server}", {"TIMEOUT": params.get("TIMEOUT", 300)})

    add = _fail_safe("add")
    get = _fail_safe("get")
    set = _fail_safe("set")
    touch = _fail_safe("touch")
    delete = _fail_safe("delete")
    get_many = _fail_safe("get_many")
    has_key = _fail_safe("has_key")
    incr = _fail_safe("incr")
    set_many = _fail_safe("set_many")
    delete_many = _fail_safe("delete_many")
    clear = _fail_safe("clear")
