"""Small helpers for the few hot paths written in plain SQL (portable between
PostgreSQL and SQLite).

Those paths run on a customer's clock (serving a list, regenerating one on demand),
where compiling ORM querysets cost more than running them. Table and column names
always come from the models' metadata; values are always passed as parameters.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection
from django.utils.dateparse import parse_datetime


def marks(count: int) -> str:
    """`%s, %s, ...` for an IN (...) list of `count` values."""
    return ", ".join(["%s"] * count)


def epoch_seconds(column: str) -> str:
    """A timestamp column as seconds since 1970 (float), computed by the database."""
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM {column})::double precision"
    return f"((julianday({column}) - 2440587.5) * 86400.0)"


def as_float(column: str) -> str:
    """A decimal column as a float, computed by the database."""
    if connection.vendor == "postgresql":
        return f"{column}::double precision"
    return f"CAST({column} AS REAL)"


def aware(value) -> datetime | None:
    """A timestamp as an aware datetime (SQLite hands back text for computed columns)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value
