"""Schema post-processing: what drf-spectacular cannot say from the serializers."""

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

_CUSTOMER_OPERATIONS = (
    "consents_read",
    "consents_write",
    "recommendations_read",
    "data_requests_create",
)
# OpenAPI links: where an answer leads (documentation, and schemathesis's stateful
# phase follows them). operationId -> (status, {link name: (target, parameters)}).
LINKS = {
    "customers_upsert": (
        "200",
        {
            target: (target, {"external_id": "$request.body#/customers/0/external_id"})
            for target in _CUSTOMER_OPERATIONS
        },
    ),
    "consents_write": (
        "200",
        {
            target: (target, {"external_id": "$response.body#/customer"})
            for target in ("consents_read", "recommendations_read", "data_requests_create")
        },
    ),
    "audits_list": (
        "200",
        {"audits_read": ("audits_read", {"run_id": "$response.body#/results/0/id"})},
    ),
}


def state_unknown_keys(result, generator, request, public):
    """drf-spectacular hook: `additionalProperties` and array sizes as the API enforces
    them, and the links between operations."""
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
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            found = LINKS.get(operation.get("operationId"))
            if found is None:
                continue
            status, links = found
            operation["responses"][status]["links"] = {
                name: {"operationId": target, "parameters": parameters}
                for name, (target, parameters) in links.items()
            }
    return result
