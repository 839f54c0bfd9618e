"""Batches from the REST API: the importer's row checks, reported by index.

Each batch is its own transaction, tried again after a deadlock (a batch and an import
whose chunks cross can wait for each other's rows; the database aborts one of them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.utils import timezone

from accounts.models import CustomerProfile
from core.errors import ApplicationError
from personalization.consent.locking import atomic_retrying
from personalization.importing import rows as R
from personalization.importing import writers as W
from personalization.models import Item

MAX_BATCH = 10_000
T = TypeVar("T")


@dataclass
class BatchResult:
    received: int = 0
    created: int = 0
    updated: int = 0
    already_stored: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    stored: bool = True


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def _parse_all(
    items: list[Any],
    columns: tuple[str, ...],
    parse: Callable[[dict[str, str]], T],
    *,
    key: Callable[[T], str],
    key_name: str,
    allow_extra: Callable[[str], bool] = lambda name: False,
) -> tuple[list[tuple[int, T]], list[dict[str, Any]]]:
    """Validate every element; return (index, row) for the good ones and the rejections."""
    good: list[tuple[int, T]] = []
    rejected: list[dict[str, Any]] = []
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            rejected.append({"index": index, "message": "must be an object"})
            continue
        missing = [c for c in columns if c not in item]
        unknown = [k for k in item if k not in columns and not allow_extra(str(k))]
        if missing or unknown:
            message = "; ".join(
                [f"missing field '{c}'" for c in missing]
                + [f"unknown field '{k}'" for k in unknown]
            )
            rejected.append({"index": index, "field": (missing or unknown)[0], "message": message})
            continue
        try:
            row = parse({str(k): _as_text(v) for k, v in item.items()})
        except R.RowError as exc:
            message = str(exc)
            rejected.append({"index": index, "field": message.split(" ", 1)[0], "message": message})
            continue
        if key(row) in first:
            rejected.append(
                {
                    "index": index,
                    "field": key_name,
                    "message": (
                        f"duplicate {key_name} '{key(row)}' (first at index {first[key(row)]})"
                    ),
                }
            )
            continue
        first[key(row)] = index
        good.append((index, row))
    return good, rejected


def _too_large(items: list[Any]) -> None:
    if len(items) > MAX_BATCH:
        raise ApplicationError(
            f"A batch holds at most {MAX_BATCH:,} entries; this one has {len(items):,}.",
            code="batch_too_large",
            field="items",
        )


@atomic_retrying
def events_ingest(*, events: list[Any], all_or_nothing: bool = False) -> BatchResult:
    """Store a batch of events; idempotent on event_id.

    Invalid events are reported by index. The valid ones are stored, unless
    `all_or_nothing` is set and any event is invalid: then nothing is.
    """
    _too_large(events)
    now = timezone.now()
    result = BatchResult(received=len(events))
    good, result.rejected = _parse_all(
        events,
        R.EVENT_COLUMNS,
        lambda raw: R.parse_event(raw, now=now),
        key=lambda row: row.event_id,
        key_name="event_id",
    )
    customers = {
        external_id: pk
        for external_id, pk in CustomerProfile.objects.filter(
            external_id__in={row.customer_external_id for _, row in good}
        ).values_list("external_id", "id")
        if external_id is not None  # matched above; the column itself is nullable
    }
    skus = dict(Item.objects.filter(sku__in={row.sku for _, row in good}).values_list("sku", "id"))
    valid = []
    for index, row in good:
        if row.customer_external_id not in customers:
            result.rejected.append(
                {
                    "index": index,
                    "field": "customer_external_id",
                    "message": f"unknown customer_external_id '{row.customer_external_id}'",
                }
            )
        elif row.sku not in skus:
            result.rejected.append(
                {"index": index, "field": "sku", "message": f"unknown sku '{row.sku}'"}
            )
        else:
            valid.append(row)
    result.rejected.sort(key=lambda r: r["index"])
    if result.rejected and all_or_nothing:
        result.stored = False
        return result
    if valid:
        result.created = W.events_write(valid, customer_ids=customers, sku_ids=skus, now=now)
    result.already_stored = len(valid) - result.created
    return result


@atomic_retrying
def items_upsert(*, items: list[Any], all_or_nothing: bool = False) -> BatchResult:
    """Create or update items by sku; invalid ones reported by index."""
    _too_large(items)
    result = BatchResult(received=len(items))
    good, result.rejected = _parse_all(
        items,
        R.CATALOG_COLUMNS,
        R.parse_catalog,
        key=lambda row: row.sku,
        key_name="sku",
        allow_extra=lambda name: name in R.CATALOG_OPTIONAL,
    )
    if result.rejected and all_or_nothing:
        result.stored = False
        return result
    if good:
        written = W.catalog_write([row for _, row in good])
        result.created, result.updated = written.created, written.updated
    return result


@atomic_retrying
def customers_upsert(*, customers: list[Any], all_or_nothing: bool = False) -> BatchResult:
    """Create or update customers by external_id; invalid ones reported by index."""
    _too_large(customers)
    result = BatchResult(received=len(customers))
    good, result.rejected = _parse_all(
        customers,
        R.CUSTOMER_COLUMNS,
        R.parse_customer,
        key=lambda row: row.external_id,
        key_name="external_id",
        allow_extra=lambda name: name.startswith(R.AUDIT_PREFIX),
    )
    first_with_email: dict[str, int] = {}
    for index, row in good:
        if row.email and row.email in first_with_email:
            first = first_with_email[row.email]
            result.rejected.append(
                {
                    "index": index,
                    "field": "email",
                    "message": f"email '{row.email}' is also at index {first}",
                }
            )
        elif row.email:
            first_with_email[row.email] = index
    good = [(i, row) for i, row in good if i not in {r["index"] for r in result.rejected}]
    index_of = {row.external_id: index for index, row in good}
    for row, owner in W.customer_email_conflicts([row for _, row in good]):
        result.rejected.append(
            {
                "index": index_of[row.external_id],
                "field": "email",
                "message": f"email '{row.email}' already belongs to customer '{owner}'",
            }
        )
    conflicted = {r["index"] for r in result.rejected}
    good = [(index, row) for index, row in good if index not in conflicted]
    result.rejected.sort(key=lambda r: r["index"])
    if result.rejected and all_or_nothing:
        result.stored = False
        return result
    if good:
        written = W.customers_write(
            [row for _, row in good], now=timezone.now(), consent_method="api"
        )
        result.created, result.updated = written.created, written.updated
    return result
