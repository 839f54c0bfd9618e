"""Worked examples for the API documentation (`/api/docs/`), one per request and answer.

A test checks every example against the schema it illustrates, so they cannot drift
from what the API accepts and answers.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

# The examples make one shop: the items and customers of their own examples, then
# these events (tests/api/test_api_examples.py sends them all in that order).
EVENTS_REQUEST = OpenApiExample(
    "Three events, one for an item the catalog does not have",
    request_only=True,
    value={
        "events": [
            {
                "event_id": "pos-2026-000123",
                "customer_external_id": "C0001",
                "sku": "BRD-WSD",
                "kind": "purchase",
                "occurred_at": "2026-11-14T08:05:00+00:00",
                "quantity": 1,
                "value": "4.20",
            },
            {
                "event_id": "web-88812",
                "customer_external_id": "C0042",
                "sku": "CAK-CEL",
                "kind": "view",
                "occurred_at": "2026-11-14T19:22:10+01:00",
                "quantity": 1,
                "value": "0",
            },
            {
                "event_id": "pos-2026-000124",
                "customer_external_id": "C0001",
                "sku": "BRD-XXX",
                "kind": "purchase",
                "occurred_at": "2026-11-14T08:06:00+00:00",
                "quantity": 2,
                "value": 8.4,
            },
        ],
        "all_or_nothing": False,
    },
)

_UNKNOWN_SKU = [{"index": 2, "field": "sku", "message": "unknown sku 'BRD-XXX'"}]

EVENTS_RESPONSE = OpenApiExample(
    "Two stored, one refused",
    response_only=True,
    status_codes=["200"],
    value={
        "received": 3,
        "created": 2,
        "updated": 0,
        "already_stored": 0,
        "rejected": _UNKNOWN_SKU,
        "stored": True,
    },
)

EVENTS_RESPONSE_AGAIN = OpenApiExample(
    "The same batch sent again: nothing new",
    response_only=True,
    status_codes=["200"],
    value={
        "received": 3,
        "created": 0,
        "updated": 0,
        "already_stored": 2,
        "rejected": _UNKNOWN_SKU,
        "stored": True,
    },
)

ITEMS_REQUEST = OpenApiExample(
    "A loaf and a cake",
    request_only=True,
    value={
        "items": [
            {
                "sku": "BRD-WSD",
                "name": "Wheat Sourdough",
                "category": "Breads",
                "price": "4.20",
                "attributes": ["contains:gluten", "vegan"],
                "active": True,
            },
            {
                "sku": "CAK-CEL",
                "name": "Celebration Cake",
                "category": "Cakes",
                "price": "32.00",
                "attributes": ["contains:gluten", "contains:milk", "contains:egg"],
                "active": True,
                "consumable": True,
            },
        ],
        "all_or_nothing": True,
    },
)

# Two entries stored: one new, one updated (items and customers answer alike).
_TWO_STORED = {
    "received": 2,
    "created": 1,
    "updated": 1,
    "already_stored": 0,
    "rejected": [],
    "stored": True,
}

ITEMS_RESPONSE = OpenApiExample(
    "One new, one updated", response_only=True, status_codes=["200"], value=_TWO_STORED
)

CUSTOMERS_REQUEST = OpenApiExample(
    "Two customers, one with a declared age band for fairness audits",
    request_only=True,
    value={
        "customers": [
            {"external_id": "C0001", "email": "gable@example.com", "name": "Edith Gable"},
            {
                "external_id": "C0042",
                "email": "",
                "name": "",
                "audit:age_band": "55+",
            },
        ],
        "all_or_nothing": False,
    },
)

CUSTOMERS_RESPONSE = OpenApiExample(
    "One new, one updated", response_only=True, status_codes=["200"], value=_TWO_STORED
)

CONSENTS_RESPONSE = OpenApiExample(
    "Purchases allowed for on-site recommendations, offer emails refused",
    response_only=True,
    status_codes=["200"],
    value={
        "customer": "C0001",
        "consents": [
            {
                "purpose": "marketing",
                "data_category": "purchase_history",
                "granted": False,
                "updated_at": "2026-11-20T10:15:03Z",
                "method": "api",
                "notice_version": 2,
            },
            {
                "purpose": "personalization",
                "data_category": "purchase_history",
                "granted": True,
                "updated_at": "2026-11-02T08:00:41Z",
                "method": "ui",
                "notice_version": 2,
            },
        ],
    },
)

CONSENTS_REQUEST = OpenApiExample(
    "The customer said no to offer emails at the till",
    request_only=True,
    value={
        "consents": [
            {"purpose": "marketing", "data_category": "purchase_history", "granted": False}
        ],
        "notice_version": 2,
    },
)

_REASONS = [
    {
        "kind": "history",
        "contribution": 2.4320625132302482,
        "data_category": "purchase_history",
        "item_sku": "BRD-WSD",
        "counts": {"purchase": 12},
    },
    {"kind": "popularity", "contribution": 0.1313482401241993},
]

RECOMMENDATIONS_RESPONSE = OpenApiExample(
    "A personalized list",
    response_only=True,
    status_codes=["200"],
    value={
        "customer": "C0001",
        "channel": "onsite",
        "mode": "on",
        "personalized": True,
        "shop_paused": False,
        "under_review": False,
        "complete": True,
        "marketing_consent": None,
        "items": [
            {
                "rank": 1,
                "sku": "BR-009",
                "name": "Baguette",
                "category": "breads",
                "price": "2.20",
                "score": 2.5634107533544475,
                "model_version": 3,
                "reason": "Because you bought Wheat Sourdough Loaf 12 times",
                "reasons": _REASONS,
            }
        ],
    },
)

RECOMMENDATIONS_PAUSED = OpenApiExample(
    "The customer paused personalization: the visitors' list",
    response_only=True,
    status_codes=["200"],
    value={
        "customer": "C0042",
        "channel": "onsite",
        "mode": "paused",
        "personalized": False,
        "shop_paused": False,
        "under_review": False,
        "complete": True,
        "marketing_consent": None,
        "items": [
            {
                "rank": 1,
                "sku": "PST-CRO",
                "name": "Croissant",
                "category": "pastries",
                "price": "2.10",
                "score": None,
                "model_version": None,
                "reason": "Popular with our customers",
                "reasons": [],
            }
        ],
    },
)

RECOMMENDATIONS_EMAIL = OpenApiExample(
    "Email channel, no consent to offer emails",
    response_only=True,
    status_codes=["200"],
    value={
        "customer": "C0007",
        "channel": "email",
        "mode": "on",
        "personalized": False,
        "shop_paused": False,
        "under_review": False,
        "complete": True,
        "marketing_consent": False,
        "items": [],
    },
)

DATA_REQUEST_REQUEST = OpenApiExample(
    "The customer asked at the till to be forgotten",
    request_only=True,
    value={"kind": "erasure"},
)

DATA_REQUEST_RESPONSE = OpenApiExample(
    "Scheduled erasure",
    response_only=True,
    status_codes=["201"],
    value={
        "id": 12,
        "kind": "erasure",
        "status": "scheduled",
        "requested_at": "2026-11-27T10:02:11Z",
        "due_at": "2026-12-27T10:02:11Z",
        "not_before": "2026-11-27T10:12:11Z",
    },
)
