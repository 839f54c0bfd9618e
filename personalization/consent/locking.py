"""The one lock order for writing a customer's consent, and the retry around it.

Every path that writes a customer's consent, mode or data requests takes its locks in
this order, and only in this order:

1. the customer's profile row (`accounts.services.customer_profile_lock`);
2. the consent ledger's advisory lock (PostgreSQL; it serializes the hash chain);
3. the rows it then changes (data requests, current-consent rows).

A transaction that held the ledger's lock and then waited for a customer's row (the
foreign-key check of a new ledger event waits for a customer row another transaction
holds) could deadlock with one that held the row and waited for the ledger. `consent_lock`
takes both in order; `atomic_retrying` runs a service in its own transaction and tries it
again after a deadlock or a serialization failure, a bounded number of times.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import DatabaseError, connection, transaction

from accounts.models import CustomerProfile
from accounts.services import customer_profile_lock

logger = logging.getLogger(__name__)

# Any constant: PostgreSQL advisory lock that serializes appends to the ledger.
LEDGER_LOCK = 727_001

# Tries in all (the first and two more), and the first pause before trying again; each
# pause is a random part of a doubling window, so two sessions do not collide again.
ATTEMPTS = 3
FIRST_PAUSE_SECONDS = 0.02

# SQLSTATEs after which running the whole transaction again can succeed.
RETRYABLE = {"40P01": "deadlock detected", "40001": "serialization failure"}

P = ParamSpec("P")
R = TypeVar("R")


def ledger_lock() -> None:
    """The ledger's lock, held to the end of the transaction. Take the customer row first."""
    # SQLite's IMMEDIATE transactions already serialize writers.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LEDGER_LOCK])


def consent_lock(*, customer_id: int) -> CustomerProfile:
    """Take what a consent write needs, in the one order: the customer's row, then the ledger.

    Returns the customer's fresh row. Taking it again in the same transaction is free
    (both locks are already held). Raises CustomerProfile.DoesNotExist when the
    customer was erased meanwhile.
    """
    profile = customer_profile_lock(profile_id=customer_id)
    ledger_lock()
    return profile


def retryable_reason(error: BaseException) -> str | None:
    """Why running the transaction again may succeed (None when it would not)."""
    cause = error.__cause__
    sqlstate = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return RETRYABLE.get(sqlstate or "")


def _pause(attempt: int) -> None:
    # Jitter only; nothing secret depends on it.
    time.sleep(random.uniform(0, FIRST_PAUSE_SECONDS * 2 ** (attempt - 1)))  # noqa: S311


def atomic_retrying(service: Callable[P, R]) -> Callable[P, R]:
    """`transaction.atomic`, tried again after a deadlock or serialization failure.

    Only when the transaction is the service's own: called inside a caller's atomic
    block, the service runs once in a savepoint and any error is the caller's (its
    earlier work is lost with the transaction, so only the caller can start again).
    Gives up after ATTEMPTS tries and raises the last error. Everything a try did is
    rolled back with it, including its `transaction.on_commit` callbacks.
    """

    @functools.wraps(service)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():
                return service(*args, **kwargs)
        attempt = 1
        while True:
            try:
                with transaction.atomic():
                    return service(*args, **kwargs)
            except DatabaseError as error:
                reason = retryable_reason(error)
                if reason is None or attempt >= ATTEMPTS:
                    raise
                logger.warning(
                    "%s: %s; trying again (%d of %d)",
                    service.__qualname__,
                    reason,
                    attempt + 1,
                    ATTEMPTS,
                )
            _pause(attempt)
            attempt += 1

    return run
