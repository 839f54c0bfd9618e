"""JSON types of batch entries, checked before the importer's row checks see them.

The row checks read CSV cells (text), so on their own they would take `"quantity": "2"`,
`"active": 1` or `"kind": "Purchase"` from the API. The API promises JSON types in its
schema and keeps that promise here: an entry with a value of the wrong type is refused
by index, like any other invalid entry, and the rest of the batch is handled as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from personalization.importing import rows as R
from personalization.importing.batches import BatchResult

TEXT = "text"
INTEGER = "integer"
NUMBER = "number"  # a JSON number or a decimal string
BOOLEAN = "boolean"
TEXT_LIST = "text_list"
KIND = "kind"
# An item attribute code ('contains:gluten'), as the row checks allow.
ATTRIBUTE_MAX_LENGTH = 60

EVENT_TYPES = {
    "event_id": TEXT,
    "customer_external_id": TEXT,
    "sku": TEXT,
    "kind": KIND,
    "occurred_at": TEXT,
    "quantity": INTEGER,
    "value": NUMBER,
}
ITEM_TYPES = {
    "sku": TEXT,
    "name": TEXT,
    "category": TEXT,
    "price": NUMBER,
    "attributes": TEXT_LIST,
    "active": BOOLEAN,
    "consumable": BOOLEAN,
}
CUSTOMER_TYPES = {"external_id": TEXT, "email": TEXT, "name": TEXT}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _type_problem(name: str, kind: str, value: Any) -> str | None:
    if kind == TEXT and not isinstance(value, str):
        return _("%(field)s must be a string") % {"field": name}
    if kind == KIND and value not in R.EVENT_KINDS:
        return _("%(field)s must be one of %(choices)s") % {
            "field": name,
            "choices": ", ".join(R.EVENT_KINDS),
        }
    if kind == INTEGER and not (isinstance(value, int) and not isinstance(value, bool)):
        return _("%(field)s must be a whole number (a JSON integer)") % {"field": name}
    if kind == NUMBER and not (_is_number(value) or isinstance(value, str)):
        return _('%(field)s must be a number or a decimal string like "3.50"') % {"field": name}
    if kind == BOOLEAN and not isinstance(value, bool):
        return _("%(field)s must be true or false (a JSON boolean)") % {"field": name}
    if kind == TEXT_LIST and not (
        isinstance(value, list)
        and all(isinstance(v, str) and len(v) <= ATTRIBUTE_MAX_LENGTH for v in value)
    ):
        return _("%(field)s must be a list of strings of at most %(most)d characters") % {
            "field": name,
            "most": ATTRIBUTE_MAX_LENGTH,
        }
    return None


def entry_problem(
    entry: Any, types: Mapping[str, str], *, extra_text: Callable[[str], bool] = lambda k: False
) -> tuple[str, str] | None:
    """(field, message) for the first value of the wrong JSON type, or None.

    Missing and unknown fields are left to the row checks, which name them all.
    """
    if not isinstance(entry, Mapping):
        return None
    for name, value in entry.items():
        kind = types.get(name) or (TEXT if extra_text(str(name)) else None)
        if kind is None:
            continue
        problem = _type_problem(name, kind, value)
        if problem:
            return name, problem
    return None


def batch_checked(
    entries: list[Any],
    *,
    all_or_nothing: bool,
    types: Mapping[str, str],
    store: Callable[..., BatchResult],
    extra_text: Callable[[str], bool] = lambda k: False,
) -> BatchResult:
    """Run `store` (a batch service taking `entries=` and `all_or_nothing=`) on the
    entries of the right JSON types; the others are refused by their index.

    With `all_or_nothing`, a wrongly typed entry refuses the batch: the service still
    checks the rest (so every problem is reported) inside a savepoint that is rolled
    back.
    """
    refused: list[dict[str, Any]] = []
    passed: list[Any] = []
    index_of: list[int] = []
    for index, entry in enumerate(entries):
        problem = entry_problem(entry, types, extra_text=extra_text)
        if problem:
            refused.append({"index": index, "field": problem[0], "message": problem[1]})
        else:
            passed.append(entry)
            index_of.append(index)
    if refused and all_or_nothing:
        with transaction.atomic():
            result = store(entries=passed, all_or_nothing=True)
            transaction.set_rollback(True)
        result.created = result.updated = result.already_stored = 0
        result.stored = False
    else:
        result = store(entries=passed, all_or_nothing=all_or_nothing)
    for rejection in result.rejected:
        rejection["index"] = index_of[rejection["index"]]
    result.rejected = sorted(refused + result.rejected, key=lambda r: r["index"])
    result.received = len(entries)
    return result
