"""The retry policy every Celery task of this project shares.

Only database hiccups are retried (the database restarting, SQLite busy, a dropped
connection), with jittered exponential backoff; any other failure is the task's own to
record where people will see it.
"""

from django.db import InterfaceError, OperationalError

TRANSIENT = (OperationalError, InterfaceError)

# Spread into @shared_task(...): retried up to 5 times, 5 s doubling to at most 5 min.
RETRY_ON_TRANSIENT = {
    "autoretry_for": TRANSIENT,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
}
