"""Import profiles: a shop's own export files, read as they are. Pure Python (no Django).

Each profile turns one CSV row of its export into records the shop importer writes:
`ItemRecord` (a catalog entry) and `Line` (a purchase or return of an item, by a
customer or by a guest). Rows that are not sales (postage, fees, stock adjustments,
cancelled-before-paid orders) become no record, and every such decision is counted in
`Tally.counts` under a key `COUNT_LABELS` describes. A row that cannot be read raises
`RowError`; the importer reports it as FILE:LINE: message and writes nothing.

Identity: an order line's event id is made from what the line says (invoice, code,
quantity, price), plus a number for repeated identical lines in the same file, so the
same export read again gives the same ids (re-importing adds nothing), and two files that
overlap give the overlapping lines the same ids.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from core import inputs

CENT = Decimal("0.01")
UNCATEGORISED = "uncategorised"


class RowError(ValueError):
    pass


_UNSEEN = object()
_MEMO_MAX = 50_000  # distinct texts remembered per column before starting afresh


def _remember(memo: dict[str, Any], raw: str, value: Any) -> Any:
    if len(memo) >= _MEMO_MAX:
        memo.clear()
    memo[raw] = value
    return value


@dataclass(slots=True)
class ItemRecord:
    """A catalog entry from a product export: created or updated with its tags."""

    sku: str
    name: str
    category: str
    price: Decimal
    attributes: tuple[str, ...]
    active: bool


@dataclass(slots=True)
class Line:
    """A purchase or return of an item; `customer` None is a guest (no person stored)."""

    event_id: str
    customer: str | None
    email: str
    customer_name: str
    sku: str
    item_name: str
    unit_price: Decimal
    kind: str  # purchase | return
    quantity: int
    value: Decimal
    occurred_at: datetime


@dataclass(slots=True)
class CustomerRecord:
    """A customer the export names on a line that is not itself a sale (e.g. postage)."""

    external_id: str
    email: str = ""
    name: str = ""


Record = ItemRecord | Line | CustomerRecord


@dataclass
class Tally:
    counts: Counter[str] = field(default_factory=Counter)
    # Tag as the shop wrote it -> the code stored ("" when nothing usable was left).
    tag_mapping: dict[str, str] = field(default_factory=dict)
    non_product_codes: Counter[str] = field(default_factory=Counter)


def gettext_noop(message: str) -> str:
    """Marks a message for translation (extracted by makemessages), translated on display."""
    return message


# What each count means, for the summary (English here; the pages translate them).
COUNT_LABELS: dict[str, str] = {
    "purchases": gettext_noop("purchases by customers"),
    "returns": gettext_noop(
        "returns and cancellations by customers (kind 'return', never a purchase)"
    ),
    "guest_purchases": gettext_noop("guest purchases (item popularity only, no customer created)"),
    "guest_returns": gettext_noop("guest returns and cancellations (item popularity only)"),
    "non_product_lines": gettext_noop("non-product lines kept out (postage, fees, adjustments)"),
    "zero_price_lines": gettext_noop(
        "lines with a zero price skipped (free items are not a choice)"
    ),
    "negative_price_lines": gettext_noop("lines with a negative price skipped (adjustments)"),
    "stock_adjustments": gettext_noop(
        "negative quantities outside a cancellation skipped (stock write-offs)"
    ),
    "stock_codes_case_folded": gettext_noop("lines whose stock code was folded to upper case"),
    "missing_descriptions": gettext_noop(
        "lines without a description (the item is named by its code)"
    ),
    "padded_descriptions": gettext_noop("descriptions with spaces around them, trimmed"),
    "repeated_lines": gettext_noop(
        "identical lines repeated within an order (each kept as a sale)"
    ),
    "local_times": gettext_noop("times without an offset, read in the shop's time zone"),
    "not_sales": gettext_noop(
        "order lines of orders that were never paid (pending, failed, cancelled)"
    ),
    "partially_refunded_orders": gettext_noop(
        "lines of partially refunded orders (kept as purchases)"
    ),
    "lines_without_sku": gettext_noop("lines without a SKU (the item is keyed by its name)"),
    "variants_without_sku": gettext_noop(
        "product variants without a SKU (keyed by handle and option)"
    ),
    "image_rows": gettext_noop("extra image rows of a product (nothing to import)"),
    "items_in_file": gettext_noop("catalog entries in the file"),
    "tags_dropped": gettext_noop("tags with no letters or digits, dropped"),
    "items_created": gettext_noop("items added to the catalog"),
    "items_updated": gettext_noop("items updated"),
    "customers_created": gettext_noop("customers added"),
    "customers_matched_by_email": gettext_noop("order emails matched to an existing customer"),
    "events_created": gettext_noop("purchases and returns stored"),
    "events_already_imported": gettext_noop("purchases and returns already stored (skipped)"),
    "guest_lines_created": gettext_noop("guest lines stored"),
    "guest_lines_already_imported": gettext_noop("guest lines already stored (skipped)"),
}


_TAG_DROP = re.compile(r"[^a-z0-9:_.\-]+")
_DASHES = re.compile(r"-{2,}")


def tag_code(raw: str) -> str:
    """A shop's free-text tag as an attribute code: `Gluten Free` -> `gluten-free`,
    `Children's` -> `childrens`, `Contains: Milk` -> `contains:milk` ("" if nothing is left)."""
    text = raw.strip().lower().replace("'", "").replace("\u2019", "")
    text = re.sub(r"\s*:\s*", ":", text)
    text = re.sub(r"[\s_/&+]+", "-", text)
    text = _TAG_DROP.sub("", text)
    text = _DASHES.sub("-", text).strip("-.:")
    return text[:60].rstrip("-.:")


def _line_sku(raw: str, name: str, ctx: Context, column: str, unnamed: str) -> tuple[str, str]:
    """An order line's SKU (folded) and name; a line without a SKU is keyed by its name
    (counted), and a line with neither is refused with `unnamed`."""
    raw_sku = raw.strip()
    if not raw_sku:
        if not name:
            raise RowError(unnamed)
        ctx.tally.counts["lines_without_sku"] += 1
        raw_sku = "NAME:" + (tag_code(name) or "item")[:58]
    sku = _fold_sku(raw_sku, ctx.tally, column)
    return sku, name or sku


def _fold_sku(raw: str, tally: Tally, column: str) -> str:
    upper, folded = _sku_folded(raw, column)
    if folded:
        tally.counts["stock_codes_case_folded"] += 1
    return upper


def _sku_folded(raw: str, column: str) -> tuple[str, bool]:
    """The stock code in upper case, and whether that changed it."""
    sku = raw.strip()
    if not sku:
        raise RowError(f"{column} is empty")
    upper = sku.upper()
    if len(upper) > inputs.SKU_MAX_LENGTH:
        raise RowError(f"{column} is longer than {inputs.SKU_MAX_LENGTH} characters")
    return upper, upper != sku


def _money(raw: str, column: str) -> Decimal:
    text = raw.strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise RowError(f"{column} '{raw.strip()}' is not an amount like 2.55") from None
    if not value.is_finite() or abs(value) >= Decimal(10) ** 10:
        raise RowError(f"{column} '{raw.strip()}' is not an amount like 2.55")
    return value


def _whole(raw: str, column: str) -> int:
    text = raw.strip()
    try:
        value = int(text)
    except ValueError:
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise RowError(f"{column} must be a whole number, got '{text}'") from None
        if not number.is_finite() or number != number.to_integral_value():
            raise RowError(f"{column} must be a whole number, got '{text}'") from None
        value = int(number)
    if abs(value) > inputs.EVENT_QUANTITY_MAX:
        raise RowError(f"{column} is too large: {value}")
    return value


def _bool(raw: str, *, default: bool) -> bool:
    text = raw.strip().lower()
    if not text:
        return default
    return text in {"true", "1", "yes", "y", "active", "published"}


_OFFSET_WITH_SPACE = re.compile(r" ([+-]\d{2}:?\d{2})$")


class Context:
    """One import's settings and running state (time zone, codes, counters)."""

    def __init__(self, *, tz: tzinfo, now: datetime, non_product: set[str]) -> None:
        self.tz = tz
        self.now = now
        self.non_product = {code.upper() for code in non_product}
        self.tally = Tally()
        self._times: dict[str, tuple[datetime, bool]] = {}
        # 8-byte digests of the line ids given out in this import (deterministic, small).
        self._ids: set[bytes] = set()
        self.state: dict[str, Any] = {}
        # Raw text -> its parsed value, per column kind, for values that repeat.
        self.memo: defaultdict[str, dict[str, Any]] = defaultdict(dict)

    def time(self, raw: str, column: str, example: str) -> datetime:
        text = raw.strip()
        cached = self._times.get(text)
        if cached is not None:
            if cached[1]:
                self.tally.counts["local_times"] += 1
            return cached[0]
        try:
            value = datetime.fromisoformat(_OFFSET_WITH_SPACE.sub(r"\1", text))
        except ValueError:
            raise RowError(f"{column} '{text}' is not a date and time like {example}") from None
        local = value.tzinfo is None or value.utcoffset() is None
        if local:
            value = value.replace(tzinfo=self.tz)
            self.tally.counts["local_times"] += 1
        try:
            value = inputs.check_event_time(value, now=self.now, name=column, raw=text)
        except inputs.InputError as exc:
            raise RowError(str(exc)) from None
        if len(self._times) > 200_000:
            self._times.clear()
        self._times[text] = (value, local)
        return value

    def line_id(self, base: str) -> str:
        """`base`, numbered when an identical line came earlier in this import."""
        n = 0
        while True:
            candidate = base if n == 0 else f"{base}#{n}"
            digest = hashlib.blake2b(candidate.encode(), digest_size=8).digest()
            if digest not in self._ids:
                self._ids.add(digest)
                if n:
                    self.tally.counts["repeated_lines"] += 1
                return candidate
            n += 1

    def is_non_product(self, sku: str) -> bool:
        if sku in self.non_product:
            self.tally.counts["non_product_lines"] += 1
            self.tally.non_product_codes[sku] += 1
            return True
        return False


def _description(raw: str, fallback: str, tally: Tally) -> str:
    text, state = _description_cleaned(raw)
    if state:
        tally.counts[state] += 1
    return text or fallback


def _description_cleaned(raw: str) -> tuple[str, str]:
    """The description trimmed ("" when missing), and the count it falls under ("" none)."""
    text = raw.strip()
    if not text:
        return "", "missing_descriptions"
    state = "padded_descriptions" if text != raw else ""
    if "  " in text or "\t" in text:
        text = " ".join(text.split())
    return text[:200], state


def _event_id(text: str) -> str:
    if len(text) <= inputs.EVENT_ID_MAX_LENGTH:
        return text
    # Very long codes: a stable digest keeps the id within the column.
    return text[:60] + "~" + hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


_COUNTED = {
    ("purchase", False): "purchases",
    ("return", False): "returns",
    ("purchase", True): "guest_purchases",
    ("return", True): "guest_returns",
}


def _sale(
    ctx: Context,
    *,
    base: str,
    customer: str | None,
    email: str = "",
    customer_name: str = "",
    sku: str,
    item_name: str,
    unit_price: Decimal,
    kind: str,
    quantity: int,
    value: Decimal,
    occurred_at: datetime,
) -> Line:
    ctx.tally.counts[_COUNTED[kind, customer is None]] += 1
    return Line(
        event_id=_event_id(ctx.line_id(base)),
        customer=customer,
        email=email,
        customer_name=customer_name,
        sku=sku,
        item_name=item_name,
        unit_price=unit_price,
        kind=kind,
        quantity=quantity,
        value=abs(value).quantize(CENT, rounding=ROUND_HALF_UP),
        occurred_at=occurred_at,
    )


def _customer_id(raw: str, column: str) -> str | None:
    text = raw.strip()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]  # a spreadsheet turned 17850 into 17850.0
    if not text or text == "0":
        return None
    if len(text) > inputs.EXTERNAL_ID_MAX_LENGTH:
        raise RowError(f"{column} is longer than {inputs.EXTERNAL_ID_MAX_LENGTH} characters")
    return text


class Profile:
    name = ""
    label = ""
    description = ""
    required: tuple[str, ...] = ()  # lower-case column names
    optional: tuple[str, ...] = ()

    def parse(self, row: dict[str, str], ctx: Context) -> list[Record]:
        raise NotImplementedError


class OnlineRetail(Profile):
    """UCI Online Retail invoice lines (one row per invoice line)."""

    name = "online-retail"
    label = gettext_noop("Online Retail invoice lines (UCI)")
    description = (
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country; "
        "invoices starting with C are cancellations"
    )
    required = (
        "invoiceno",
        "stockcode",
        "description",
        "quantity",
        "invoicedate",
        "unitprice",
        "customerid",
    )
    optional = ("country",)

    def parse(self, row: dict[str, str], ctx: Context) -> list[Record]:
        invoice = row["invoiceno"].strip()
        if not invoice:
            raise RowError("InvoiceNo is empty")
        occurred_at = ctx.time(row["invoicedate"], "InvoiceDate", "2010-12-01 08:26:00")
        quantity = _whole(row["quantity"], "Quantity")
        # Prices, customers, codes and descriptions repeat over hundreds of thousands of
        # lines: each distinct text is read once (a refused one is never kept).
        memo = ctx.memo
        raw_price = row["unitprice"]
        price = memo["price"].get(raw_price)
        if price is None:
            price = _remember(memo["price"], raw_price, _money(raw_price, "UnitPrice"))
        raw_customer = row["customerid"]
        customer = memo["customer"].get(raw_customer, _UNSEEN)
        if customer is _UNSEEN:
            customer = _remember(
                memo["customer"], raw_customer, _customer_id(raw_customer, "CustomerID")
            )
        raw_sku = row["stockcode"]
        folded = memo["sku"].get(raw_sku)
        if folded is None:
            folded = _remember(memo["sku"], raw_sku, _sku_folded(raw_sku, "StockCode"))
        sku, was_folded = folded
        if was_folded:
            ctx.tally.counts["stock_codes_case_folded"] += 1
        # A customer named on a line kept out is still the shop's customer.
        only_customer: list[Record] = [CustomerRecord(customer)] if customer else []
        if ctx.is_non_product(sku):
            return only_customer
        cancelled = invoice[0] in "Cc"
        if quantity == 0:
            raise RowError("Quantity is 0")
        if quantity < 0 and not cancelled:
            ctx.tally.counts["stock_adjustments"] += 1
            return only_customer
        if price < 0:
            ctx.tally.counts["negative_price_lines"] += 1
            return only_customer
        if price == 0:
            ctx.tally.counts["zero_price_lines"] += 1
            return only_customer
        raw_name = row["description"]
        described = memo["description"].get(raw_name)
        if described is None:
            described = _remember(memo["description"], raw_name, _description_cleaned(raw_name))
        name, state = described
        if state:
            ctx.tally.counts[state] += 1
        kind = "return" if cancelled or quantity < 0 else "purchase"
        quantity = abs(quantity)
        return [
            _sale(
                ctx,
                base=f"uci:{invoice}:{sku}:{quantity}:{price}",
                customer=customer,
                sku=sku,
                item_name=name or sku,
                unit_price=price,
                kind=kind,
                quantity=quantity,
                value=price * quantity,
                occurred_at=occurred_at,
            )
        ]


class ShopifyOrders(Profile):
    """Shopify's orders export: one row per line item; order fields on the first row."""

    name = "shopify-orders"
    label = gettext_noop("Shopify orders export")
    description = (
        "Name, Email, Created at, Lineitem quantity, Lineitem name, Lineitem price, "
        "Lineitem sku [, Financial Status, Cancelled at, Billing Name]"
    )
    required = (
        "name",
        "email",
        "created at",
        "lineitem quantity",
        "lineitem name",
        "lineitem price",
        "lineitem sku",
    )
    optional = ("financial status", "cancelled at", "billing name")

    def parse(self, row: dict[str, str], ctx: Context) -> list[Record]:
        order = row["name"].strip()
        if not order:
            raise RowError("Name (the order number) is empty")
        # Order-level columns are filled on an order's first row only.
        current = ctx.state.get("shopify_order")
        if not isinstance(current, dict) or current.get("name") != order:
            if not row["created at"].strip():
                raise RowError(f"Created at is empty on the first row of order {order}")
            current = {
                "name": order,
                "email": row["email"].strip().lower(),
                "created": ctx.time(row["created at"], "Created at", "2026-03-04 09:15:00 +0100"),
                "status": row.get("financial status", "").strip().lower(),
                "cancelled": bool(row.get("cancelled at", "").strip()),
                "billing": row.get("billing name", "").strip()[:150],
            }
            ctx.state["shopify_order"] = current
        quantity = _whole(row["lineitem quantity"], "Lineitem quantity")
        if quantity < 1:
            raise RowError(f"Lineitem quantity must be at least 1, got {quantity}")
        price = _money(row["lineitem price"], "Lineitem price")
        name = _description(row["lineitem name"], "", ctx.tally)
        sku, name = _line_sku(
            row["lineitem sku"],
            name,
            ctx,
            "Lineitem sku",
            "the line item has neither a SKU nor a name",
        )
        if ctx.is_non_product(sku):
            return []
        status = str(current["status"])
        if status in {"voided", "expired"} or (
            current["cancelled"] and status in {"pending", "authorized"}
        ):
            ctx.tally.counts["not_sales"] += 1
            return []
        if price < 0:
            ctx.tally.counts["negative_price_lines"] += 1
            return []
        if price == 0:
            ctx.tally.counts["zero_price_lines"] += 1
            return []
        email = str(current["email"])
        if email and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
            raise RowError(f"Email '{email}' is not an email address")
        customer = email or None
        when = current["created"]
        base = f"shopify:{order}:{sku}:{quantity}:{price}"
        common = {
            "customer": customer,
            "email": email,
            "customer_name": str(current["billing"]),
            "sku": sku,
            "item_name": name,
            "unit_price": price,
            "quantity": quantity,
            "value": price * quantity,
            "occurred_at": when,
        }
        lines = [_sale(ctx, base=base, kind="purchase", **common)]
        if current["cancelled"] or status == "refunded":
            lines.append(_sale(ctx, base=base + ":return", kind="return", **common))
        elif status == "partially_refunded":
            ctx.tally.counts["partially_refunded_orders"] += 1
        return list(lines)


class WooCommerceOrders(Profile):
    """WooCommerce Customer/Order CSV Export, "one row per item" format."""

    name = "woocommerce-orders"
    label = gettext_noop("WooCommerce orders export (one row per item)")
    description = (
        "order_id, order_date, status, customer_id, billing_email, item_sku, item_name, "
        "item_quantity, item_total [, item_refunded_qty, billing_first_name, billing_last_name]"
    )
    required = (
        "order_id",
        "order_date",
        "status",
        "customer_id",
        "billing_email",
        "item_sku",
        "item_name",
        "item_quantity",
        "item_total",
    )
    optional = ("item_refunded_qty", "billing_first_name", "billing_last_name")
    SOLD = {"completed", "processing", "on-hold", "refunded", "wc-completed", "wc-processing"}
    NOT_SOLD = {"pending", "failed", "cancelled", "checkout-draft", "draft", "trash"}

    def parse(self, row: dict[str, str], ctx: Context) -> list[Record]:
        order = row["order_id"].strip()
        if not order:
            raise RowError("order_id is empty")
        when = ctx.time(row["order_date"], "order_date", "2026-03-04 09:15:00")
        status = row["status"].strip().lower()
        if status.startswith("wc-"):
            status = status[3:]
        if status not in self.SOLD and status not in self.NOT_SOLD:
            raise RowError(f"status '{row['status'].strip()}' is not a WooCommerce order status")
        quantity = _whole(row["item_quantity"], "item_quantity")
        total = _money(row["item_total"], "item_total")
        refunded = abs(_whole(row.get("item_refunded_qty", "") or "0", "item_refunded_qty"))
        name = _description(row["item_name"], "", ctx.tally)
        sku, name = _line_sku(
            row["item_sku"],
            name,
            ctx,
            "item_sku",
            "the line has neither an item_sku nor an item_name",
        )
        if ctx.is_non_product(sku):
            return []
        if status in self.NOT_SOLD:
            ctx.tally.counts["not_sales"] += 1
            return []
        if quantity < 1:
            raise RowError(f"item_quantity must be at least 1, got {quantity}")
        if total < 0:
            ctx.tally.counts["negative_price_lines"] += 1
            return []
        if total == 0:
            ctx.tally.counts["zero_price_lines"] += 1
            return []
        customer = _customer_id(row["customer_id"], "customer_id")
        email = row["billing_email"].strip().lower() if customer else ""
        who = " ".join(
            part
            for part in (row.get("billing_first_name", ""), row.get("billing_last_name", ""))
            if part.strip()
        ).strip()[:150]
        unit = (total / quantity).quantize(CENT, rounding=ROUND_HALF_UP)
        base = f"woo:{order}:{sku}:{quantity}:{total}"
        common = {
            "customer": customer,
            "email": email,
            "customer_name": who if customer else "",
            "sku": sku,
            "item_name": name,
            "unit_price": unit,
            "occurred_at": when,
        }
        lines = [
            _sale(ctx, base=base, kind="purchase", quantity=quantity, value=total, **common)  # type: ignore[arg-type]
        ]
        returned = quantity if status == "refunded" else min(refunded, quantity)
        if returned:
            lines.append(
                _sale(
                    ctx,
                    base=base + ":return",
                    kind="return",
                    quantity=returned,
                    value=unit * returned,
                    **common,  # type: ignore[arg-type]
                )
            )
        return list(lines)


class ShopifyProducts(Profile):
    """Shopify's product CSV: a product's first row has its Title, more rows add variants."""

    name = "shopify-products"
    label = gettext_noop("Shopify products export")
    description = (
        "Handle, Title, Type, Tags, Published, Variant SKU, Variant Price "
        "[, Option1 Value, Status, Product Category]"
    )
    required = ("handle", "title", "type", "tags", "published", "variant sku", "variant price")
    optional = ("option1 value", "status", "product category")

    def parse(self, row: dict[str, str], ctx: Context) -> list[Record]:
        handle = row["handle"].strip()
        if not handle:
            raise RowError("Handle is empty")
        current = ctx.state.get("shopify_product")
        title = row["title"].strip()
        if title:
            category = row["type"].strip()
            if not category and row.get("product category", "").strip():
                category = row["product category"].split(">")[-1].strip()
            tags = []
            for raw in row["tags"].split(","):
                if not raw.strip():
                    continue
                code = tag_code(raw)
                ctx.tally.tag_mapping[raw.strip()] = code
                if not code:
                    ctx.tally.counts["tags_dropped"] += 1
                elif code not in tags:
                    tags.append(code)
            status = row.get("status", "").strip().lower()
            current = {
                "handle": handle,
                "title": " ".join(title.split())[:200],
                "category": category or UNCATEGORISED,
                "tags": tuple(sorted(tags)),
                "active": _bool(row["published"], default=True) and status in {"", "active"},
            }
            ctx.state["shopify_product"] = current
        elif not isinstance(current, dict) or current.get("handle") != handle:
            raise RowError(f"Title is empty on the first row of product '{handle}'")
        if not row["variant sku"].strip() and not row["variant price"].strip():
            ctx.tally.counts["image_rows"] += 1
            return []
        option = row.get("option1 value", "").strip()
        raw_sku = row["variant sku"].strip()
        if not raw_sku:
            ctx.tally.counts["variants_without_sku"] += 1
            raw_sku = handle if not option or option == "Default Title" else f"{handle}-{option}"
        sku = _fold_sku(raw_sku, ctx.tally, "Variant SKU")
        if ctx.is_non_product(sku):
            return []
        price = _money(row["variant price"], "Variant Price")
        if price < 0:
            raise RowError(f"Variant Price must not be negative, got {price}")
        name = str(current["title"])
        if option and option != "Default Title":
            name = f"{name} ({option})"[:200]
        tags = current["tags"]
        contains_none = "contains:none" in tags
        if contains_none and any(t.startswith("contains:") and t != "contains:none" for t in tags):
            raise RowError("Tags say both 'contains:none' and a specific allergen")
        ctx.tally.counts["items_in_file"] += 1
        return [
            ItemRecord(
                sku=sku,
                name=name,
                category=str(current["category"]),
                price=price.quantize(CENT, rounding=ROUND_HALF_UP),
                attributes=tags,
                active=bool(current["active"]),
            )
        ]


PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (OnlineRetail(), ShopifyOrders(), ShopifyProducts(), WooCommerceOrders())
}
# The CSV contract of `import_data --catalog/--customers/--events`, by its columns.
FAIRSHARE = "fairshare"
PROFILE_NAMES: tuple[str, ...] = (FAIRSHARE, *PROFILES)
