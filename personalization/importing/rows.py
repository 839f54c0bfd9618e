"""Validation of one CSV row of each import format. Pure Python (no Django).

Bounds (lengths, money digits, the event-time window) come from `core.inputs`, which
the API shares.

Each `parse_*` function takes the row as a dict keyed by column name and returns a
typed record, or raises `RowError` with a message for the person fixing the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core import inputs

# `return`: an item a customer bought and brought back (never evidence of liking it).
EVENT_KINDS = ("purchase", "view", "cart", "rating", "return")

CATALOG_COLUMNS = ("sku", "name", "category", "price", "attributes", "active")
CATALOG_OPTIONAL = ("consumable",)
CUSTOMER_COLUMNS = ("external_id", "email", "name")
AUDIT_PREFIX = "audit:"
EVENT_COLUMNS = (
    "event_id",
    "customer_external_id",
    "sku",
    "kind",
    "occurred_at",
    "quantity",
    "value",
)

_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n"}
_ATTRIBUTE = re.compile(r"^[a-z0-9][a-z0-9:_.-]*$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class RowError(ValueError):
    pass


@dataclass(frozen=True)
class CatalogRow:
    sku: str
    name: str
    category_slug: str
    category_name: str
    price: Decimal
    attributes: tuple[str, ...]
    active: bool
    consumable: bool

    @property
    def allergens_declared(self) -> bool:
        """Allergen data is complete when any `contains:` token (or `contains:none`) is given."""
        return any(code.startswith("contains:") for code in self.attributes)


@dataclass(frozen=True)
class CustomerRow:
    external_id: str
    email: str
    name: str
    audit: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class EventRow:
    event_id: str
    customer_external_id: str
    sku: str
    kind: str
    occurred_at: datetime
    quantity: int
    value: Decimal


def header_problems(
    header: list[str],
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    prefix: str | None = None,
) -> list[str]:
    """Messages for missing, unknown or repeated columns (empty when the header is fine)."""
    problems = []
    seen = set()
    for column in header:
        if column in seen:
            problems.append(f"column '{column}' appears twice")
        seen.add(column)
    for column in required:
        if column not in seen:
            problems.append(f"missing column '{column}'")
    for column in header:
        known = column in required or column in optional
        if not known and not (prefix and column.startswith(prefix) and len(column) > len(prefix)):
            problems.append(f"unknown column '{column}'")
    return problems


def _reject_nul(row: dict[str, str]) -> None:
    """A NUL character is never meaningful here, and PostgreSQL refuses to store one."""
    for column, value in row.items():
        if "\x00" in column or "\x00" in value:
            raise RowError(f"{column.replace(chr(0), '')} contains a NUL character")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate from JSON such as "\ud83d": not text any database stores.
            raise RowError(
                f"{column.encode('utf-8', 'replace').decode()} is not valid text"
            ) from None


def _text(row: dict[str, str], column: str, *, max_length: int, required: bool = True) -> str:
    value = row[column].strip()
    if required and not value:
        raise RowError(f"{column} is empty")
    if len(value) > max_length:
        raise RowError(f"{column} is longer than {max_length} characters")
    return value


def _bool(row: dict[str, str], column: str, *, default: bool | None = None) -> bool:
    value = row.get(column, "").strip().lower()
    if not value and default is not None:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise RowError(f"{column} must be true or false, got '{row.get(column, '')}'")


def _decimal(
    row: dict[str, str], column: str, *, digits: tuple[int, int], default: Decimal | None = None
) -> Decimal:
    raw = row[column].strip()
    if not raw and default is not None:
        return default
    try:
        return inputs.parse_money(raw, name=column, digits=digits)
    except inputs.InputError as exc:
        raise RowError(str(exc)) from None


def slugify_category(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


def parse_catalog(row: dict[str, str]) -> CatalogRow:
    _reject_nul(row)
    sku = _text(row, "sku", max_length=inputs.SKU_MAX_LENGTH)
    name = _text(row, "name", max_length=200)
    category = _text(row, "category", max_length=100)
    slug = slugify_category(category)
    if not slug:
        raise RowError(f"category '{category}' has no letters or digits")
    if len(slug) > inputs.CATEGORY_SLUG_MAX_LENGTH:
        raise RowError(
            f"category '{category}' is too long: at most {inputs.CATEGORY_SLUG_MAX_LENGTH} "
            "letters, digits and dashes"
        )
    category_name = category if category != slug else category.replace("-", " ").title()
    price = _decimal(row, "price", digits=inputs.PRICE_DIGITS)
    codes = []
    for token in row["attributes"].split(";"):
        code = token.strip().lower()
        if not code:
            continue
        if not _ATTRIBUTE.match(code) or len(code) > 60:
            raise RowError(
                f"attribute '{token.strip()}' is not a code like 'contains:gluten' or 'vegan'"
            )
        if code not in codes:
            codes.append(code)
    if "contains:none" in codes and any(
        c.startswith("contains:") and c != "contains:none" for c in codes
    ):
        raise RowError("attributes say both 'contains:none' and a specific allergen")
    return CatalogRow(
        sku=sku,
        name=name,
        category_slug=slug,
        category_name=category_name,
        price=price,
        attributes=tuple(sorted(codes)),
        active=_bool(row, "active"),
        consumable=_bool(row, "consumable", default=True),
    )


def parse_customer(row: dict[str, str]) -> CustomerRow:
    _reject_nul(row)
    external_id = _text(row, "external_id", max_length=inputs.EXTERNAL_ID_MAX_LENGTH)
    email = _text(row, "email", max_length=254, required=False).lower()
    if email and not _EMAIL.match(email):
        raise RowError(f"email '{row['email'].strip()}' is not an email address")
    name = _text(row, "name", max_length=150, required=False)
    audit = []
    for column, raw in row.items():
        if not column.startswith(AUDIT_PREFIX):
            continue
        attribute = column[len(AUDIT_PREFIX) :].strip().lower()
        if not _SLUG.match(attribute) or len(attribute) > 50:
            raise RowError(f"column '{column}' must be audit:<name> with a name like age_band")
        value = raw.strip()
        if len(value) > 100:
            raise RowError(f"{column} is longer than 100 characters")
        if value:
            audit.append((attribute, value))
    return CustomerRow(external_id=external_id, email=email, name=name, audit=tuple(audit))


def parse_event(row: dict[str, str], *, now: datetime) -> EventRow:
    _reject_nul(row)
    event_id = _text(row, "event_id", max_length=inputs.EVENT_ID_MAX_LENGTH)
    customer = _text(row, "customer_external_id", max_length=inputs.EXTERNAL_ID_MAX_LENGTH)
    sku = _text(row, "sku", max_length=inputs.SKU_MAX_LENGTH)
    kind = row["kind"].strip().lower()
    if kind not in EVENT_KINDS:
        raise RowError(f"kind must be one of {', '.join(EVENT_KINDS)}, got '{row['kind'].strip()}'")
    raw_time = row["occurred_at"].strip()
    try:
        occurred_at = datetime.fromisoformat(raw_time)
    except ValueError:
        raise RowError(
            f"occurred_at '{raw_time}' is not an ISO 8601 date-time like 2026-03-04T09:15:00+00:00"
        ) from None
    if occurred_at.tzinfo is None or occurred_at.utcoffset() is None:
        raise RowError(f"occurred_at '{raw_time}' has no UTC offset (add e.g. +00:00)")
    try:
        occurred_at = inputs.check_event_time(
            occurred_at, now=now, name="occurred_at", raw=raw_time
        )
    except inputs.InputError as exc:
        raise RowError(str(exc)) from None
    raw_quantity = row["quantity"].strip()
    try:
        quantity = int(raw_quantity) if raw_quantity else 1
    except ValueError:
        raise RowError(f"quantity must be a whole number, got '{raw_quantity}'") from None
    if quantity < 1:
        raise RowError(f"quantity must be at least 1, got {quantity}")
    if quantity > inputs.EVENT_QUANTITY_MAX:
        raise RowError(f"quantity is too large: {quantity}")
    value = _decimal(row, "value", digits=inputs.EVENT_VALUE_DIGITS, default=Decimal("0.00"))
    if kind == "rating" and not (1 <= value <= 5):
        raise RowError(f"a rating's value must be between 1 and 5 stars, got {value}")
    return EventRow(
        event_id=event_id,
        customer_external_id=customer,
        sku=sku,
        kind=kind,
        occurred_at=occurred_at,
        quantity=quantity,
        value=value,
    )
