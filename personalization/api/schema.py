"""Schema post-processing: request objects the server refuses unknown keys in say so."""

from __future__ import annotations

from core import inputs

# Request components whose unknown keys the API refuses (a batch body, its events and
# items); customers may add `audit:<attribute>` keys, text of up to 100 characters.
CLOSED = (
    "EventBatchRequest",
    "EventRequest",
    "ItemBatchRequest",
    "ItemRequest",
    "CustomerBatchRequest",
)
OPEN_TEXT = {"CustomerRequest": {"type": "string", "maxLength": 100}}
# Array bounds drf-spectacular does not carry over from DRF's list serializers.
ARRAY_BOUNDS = {
    ("EventBatchRequest", "events"): {"maxItems": inputs.BATCH_MAX_ENTRIES},
    ("ItemBatchRequest", "items"): {"maxItems": inputs.BATCH_MAX_ENTRIES},
    ("CustomerBatchRequest", "customers"): {"maxItems": inputs.BATCH_MAX_ENTRIES},
    ("ConsentsUpdateRequest", "consents"): {"minItems": 1},
}


def state_unknown_keys(result, generator, request, public):
    """drf-spectacular hook: `additionalProperties` and array sizes as the API enforces them."""
    schemas = result.get("components", {}).get("schemas", {})
    for name in CLOSED:
        if name in schemas:
            schemas[name]["additionalProperties"] = False
    for name, extra in OPEN_TEXT.items():
        if name in schemas:
            schemas[name]["additionalProperties"] = extra
    for (name, field), bounds in ARRAY_BOUNDS.items():
        if name in schemas:
            schemas[name]["properties"][field].update(bounds)
    return result
