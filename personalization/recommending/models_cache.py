"""The active model, loaded once per process and swapped when a newer version is active."""

from __future__ import annotations

import threading
from datetime import datetime

from core import sql
from core.sql import aware
from personalization import engine
from personalization.engine.serialize import model_from_bytes
from personalization.models import ModelVersion

_lock = threading.Lock()
# (version id, trained at) -> model: the time guards against a reused id (a test
# database rolled back, a restored backup) serving another model.
_cache: dict[tuple[int, datetime | None], engine.Model] = {}


# The version serving now: the newest active one. One definition for the ORM
# (`ModelVersion.objects.filter(status=ACTIVE).order_by(*ACTIVE_NEWEST)`) and the plain SQL
# reads below and in serving.py (decision 27).
ACTIVE_NEWEST = ("-trained_at", "-pk")
ACTIVE_PARAMS = {"active_status": ModelVersion.Status.ACTIVE}


def _active_from() -> str:
    status = sql.column(ModelVersion, "status")
    newest = sql.order_by(ModelVersion, ACTIVE_NEWEST)
    return (  # names from the model's metadata; the status is a parameter
        f"FROM {sql.table(ModelVersion)} WHERE {status} = %(active_status)s "
        f"ORDER BY {newest} LIMIT 1"
    )


def active_version_sql() -> str:
    """The id of the version serving now as an SQL expression (NULL before any training);
    pass `ACTIVE_PARAMS` with it."""
    return f"(SELECT {sql.column(ModelVersion, 'pk')} {_active_from()})"


def active_version() -> tuple[int, datetime | None] | None:
    """The newest active version's (id, trained at), one query; None before any training.

    Plain SQL: every generation and every served page asks (core/sql.py)."""
    columns = f"{sql.column(ModelVersion, 'pk')}, {sql.column(ModelVersion, 'trained_at')}"
    with sql.cursor() as cursor:
        cursor.execute(f"SELECT {columns} {_active_from()}", ACTIVE_PARAMS)
        row = cursor.fetchone()
    return (row[0], aware(row[1])) if row else None


def active_version_id() -> int | None:
    version = active_version()
    return version[0] if version else None


def model_for(version_id: int, trained_at: datetime | None = None) -> engine.Model:
    """The trained model of a version; its artifact is read at most once per process."""
    if trained_at is None:
        trained_at = ModelVersion.objects.values_list("trained_at", flat=True).get(pk=version_id)
    key = (version_id, trained_at)
    model = _cache.get(key)
    if model is not None:
        return model
    artifact = ModelVersion.objects.values_list("artifact", flat=True).get(pk=version_id)
    if artifact is None:
        raise LookupError(f"model version {version_id} has no trained model")
    model = model_from_bytes(artifact)
    with _lock:
        # Keep the newest two: the one serving and the one before it.
        for stale in sorted(_cache, key=lambda k: k[0])[:-1]:
            _cache.pop(stale, None)
        _cache[key] = model
    return model
