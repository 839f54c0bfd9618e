"""Bounds on input, shared by the CSV importer, the REST API and the pages.

Pure Python (no Django import), so the importer's row checks and the API's parser use
the same definitions. Each check runs before any arithmetic on the value: a decimal is
measured before it is quantized, a date-time is compared with the window before it is
converted to UTC (a year-1 time at +14:00 is year 0 in UTC, which Python cannot hold
and PostgreSQL stores as a BC date).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

# Event times: from the start of 1970 (UTC) to a day ahead of the server's clock (a
# till's clock may run a little fast; more is a mistake).
EARLIEST_EVENT_TIME = datetime(1970, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(days=1)

# The documented maximum lengths (characters) of the identifiers the shop's systems send.
EVENT_ID_MAX_LENGTH = 100
EXTERNAL_ID_MAX_LENGTH = 100
SKU_MAX_LENGTH = 64
# A category's name becomes its slug (personalization.Category.slug, 50 characters).
CATEGORY_SLUG_MAX_LENGTH = 50
# Entries in one API batch (events, items or customers).
BATCH_MAX_ENTRIES = 10_000
# Money as stored: (max_digits, decimal_places) of the model fields.
PRICE_DIGITS = (10, 2)
EVENT_VALUE_DIGITS = (12, 2)
EVENT_QUANTITY_MAX = 1_000_000

# JSON bodies nest no deeper than this (a batch is three levels deep).
JSON_MAX_DEPTH = 32

NUL = "\x00"


class InputError(ValueError):
    """A value outside its bounds; the message is for the person who sent it."""


def check_event_time(value: datetime, *, now: datetime, name: str, raw: str) -> datetime:
    """`value` (timezone-aware) inside the event window, returned in UTC."""
    # Aware datetimes compare without converting, so this is safe at year 1 and 9999.
    if value < EARLIEST_EVENT_TIME:
        raise InputError(f"{name} '{raw}' is before {EARLIEST_EVENT_TIME.year}")
    if value > now + FUTURE_TOLERANCE:
        raise InputError(f"{name} '{raw}' is in the future")
    return value.astimezone(UTC)


def parse_money(raw: str, *, name: str, digits: tuple[int, int]) -> Decimal:
    """A non-negative decimal that fits a field of `digits` = (max_digits, decimal_places).

    Refuses NaN, infinities, exponents beyond the field and extra places before any
    arithmetic (`quantize` of 1e27 at two places overflows the decimal context).
    """
    max_digits, places = digits
    text = raw.strip()
    example = "3.50"
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InputError(f"{name} must be a number like {example}, got '{text}'") from None
    if not value.is_finite():
        raise InputError(f"{name} must be a number like {example}, got '{text}'")
    if value.is_signed() and not value.is_zero():
        raise InputError(f"{name} must not be negative, got {text}")
    if not value.is_zero() and value.adjusted() >= max_digits - places:
        raise InputError(f"{name} is too large: {text} (at most {max_digits - places} digits)")
    # Now |value| < 10**(max_digits - places): quantizing cannot overflow.
    rounded = value.quantize(Decimal(1).scaleb(-places))
    if rounded != value:
        raise InputError(f"{name} has more than {places} decimal places: {text}")
    return abs(rounded)


def json_depth_check(value: Any, *, max_depth: int = JSON_MAX_DEPTH) -> None:
    """Refuse JSON nested deeper than `max_depth` (iterative: a document nested
    thousands deep cannot exhaust the stack here)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if isinstance(node, dict | list):
            if depth > max_depth:
                raise InputError(f"the body nests deeper than {max_depth} levels")
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def json_loads(text: str, *, max_depth: int = JSON_MAX_DEPTH) -> Any:
    """Parse JSON strictly: no NaN/Infinity, no number beyond a float (1e400), no
    nesting beyond `max_depth`. (NUL characters are refused by the fields that take
    text: the row checks and DRF's CharField.)"""
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise InputError(f"the body nests deeper than {max_depth} levels") from None
    json_depth_check(value, max_depth=max_depth)
    return value


def _refuse_constant(name: str) -> Any:
    raise InputError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise InputError(f"the number {text[:40]} is out of range")
    return number


def strict_bool(value: Any, *, name: str) -> bool:
    """Only JSON true and false are booleans (not "true", 1 or {})."""
    if value is True or value is False:
        return value
    raise InputError(f"{name} must be true or false (JSON booleans), got {json.dumps(value)[:40]}")


def max_event_batch_bytes() -> int:
    """The largest body of a valid events batch: BATCH_MAX_ENTRIES events at the
    documented maximum sizes, each text character taking four bytes (UTF-8's widest),
    pretty-printed with a two-space indent, plus 1 KiB for the envelope."""
    wide = "\U0001f35e"  # four bytes in UTF-8
    event = {
        "event_id": wide * EVENT_ID_MAX_LENGTH,
        "customer_external_id": wide * EXTERNAL_ID_MAX_LENGTH,
        "sku": wide * SKU_MAX_LENGTH,
        "kind": "purchase",
        "occurred_at": "2026-11-14T08:05:00.000000+14:00",
        "quantity": EVENT_QUANTITY_MAX,
        "value": "9" * (EVENT_VALUE_DIGITS[0] - EVENT_VALUE_DIGITS[1]) + ".99",
    }
    body = {"events": [event], "all_or_nothing": False}
    one = len(json.dumps(body, indent=2, ensure_ascii=False).encode())
    return BATCH_MAX_ENTRIES * one + 1024
