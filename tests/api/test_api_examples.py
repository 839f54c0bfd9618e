"""The documentation's examples, and real answers, against the published schema.

Every operation under /api/v1/ shows an example of its request body (when it takes one)
and of its success answer; each example validates against the schema it illustrates,
and so do real answers of the endpoints in a realistic shop.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from jsonschema import Draft202012Validator

from accounts.models import ApiScope
from personalization.api import examples as X
from personalization.consent.notices import (
    notice_draft_create,
    notice_ensure_initial,
    notice_publish,
)
from tests.builders import allow_marketing
from tests.builders import email_offers as _email_offers
from tests.factories import CustomerProfileFactory, ItemFactory

pytestmark = pytest.mark.django_db


def _json_schema(node):
    """OpenAPI 3.0's `nullable` as JSON Schema (the rest is the same vocabulary)."""
    if isinstance(node, list):
        return [_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    converted = {k: _json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@pytest.fixture
def schema(client):
    return json.loads(client.get("/api/schema/", {"format": "json"}).content)


def _validator(schema: dict, target: dict) -> Draft202012Validator:
    document = {
        **_json_schema(target),
        "components": _json_schema(schema["components"]),
    }
    # Formats are checked too (an email must look like one, for `oneOf` to pick one).
    return Draft202012Validator(document, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _operations(schema: dict):
    for path, methods in schema["paths"].items():
        if path.startswith("/api/v1/"):
            for method, operation in methods.items():
                yield path, method, operation


def _success(operation: dict) -> tuple[str, dict]:
    code = next(c for c in operation["responses"] if c.startswith("2"))
    return code, operation["responses"][code]["content"]["application/json"]


def test_every_operation_shows_examples_that_match_its_schema(schema):
    seen = 0
    for path, method, operation in _operations(schema):
        where = f"{method.upper()} {path}"
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None:
            assert body.get("examples"), f"{where}: no request example"
            check = _validator(schema, body["schema"])
            for name, example in body["examples"].items():
                errors = [e.message for e in check.iter_errors(example["value"])]
                assert not errors, f"{where} request example {name!r}: {errors}"
        code, answer = _success(operation)
        assert answer.get("examples"), f"{where}: no example of its {code} answer"
        check = _validator(schema, answer["schema"])
        for name, example in answer["examples"].items():
            errors = [e.message for e in check.iter_errors(example["value"])]
            assert not errors, f"{where} {code} example {name!r}: {errors}"
        seen += 1
    assert seen >= 9


def test_real_answers_match_the_schema(api, schema, shop_customer):
    from personalization.models import Recommendation, RecommendationStatus

    allow_marketing(shop_customer)
    offer = _email_offers(shop_customer)[0]
    Recommendation.objects.filter(pk=offer.pk).update(status=RecommendationStatus.APPROVED)
    client = api(*ApiScope.values)
    base = "/api/v1/customers/C1"
    answers = {
        ("get", "/api/v1/customers/{external_id}/recommendations/"): [
            client.get(f"{base}/recommendations/"),
            client.get(f"{base}/recommendations/", {"channel": "email"}),
        ],
        ("get", "/api/v1/customers/{external_id}/consents/"): [client.get(f"{base}/consents/")],
        ("post", "/api/v1/customers/{external_id}/data-requests/"): [
            client.post(f"{base}/data-requests/", {"kind": "export"}, format="json")
        ],
    }
    for (method, path), responses in answers.items():
        code, answer = _success(schema["paths"][path][method])
        check = _validator(schema, answer["schema"])
        for response in responses:
            assert str(response.status_code) == code, response.content[:300]
            body = response.json()
            errors = [f"{list(e.path)}: {e.message}" for e in check.iter_errors(body)]
            assert not errors, f"{method.upper()} {path}: {errors}"
    recommended = answers[("get", "/api/v1/customers/{external_id}/recommendations/")]
    assert all(r.json()["items"] for r in recommended)
    assert recommended[0].json()["items"][0]["price"].count(".") == 1


def _value(example) -> dict:
    return example.value


@time_machine.travel(datetime(2026, 11, 27, 10, 2, 11, tzinfo=UTC), tick=False)
def test_the_examples_import_into_one_shop_and_get_the_documented_answers(api):
    # given a shop that already has the loaf and Mrs. Gable (so each upsert example
    # creates one entry and updates the other), and privacy notice version 2
    ItemFactory(sku="BRD-WSD", price=Decimal("3.90"))
    CustomerProfileFactory(external_id="C0001", email="", name="")
    notice_ensure_initial()
    notice_publish(
        notice=notice_draft_create(author=None, title="Notice", body="Text.", ai_statement="AI.")
    )
    client = api(*ApiScope.values)

    # when the shop sends each request example, then it gets the documented answer
    items = client.put("/api/v1/items/", _value(X.ITEMS_REQUEST), format="json")
    assert items.json() == _value(X.ITEMS_RESPONSE)
    customers = client.put("/api/v1/customers/", _value(X.CUSTOMERS_REQUEST), format="json")
    assert customers.json() == _value(X.CUSTOMERS_RESPONSE)
    events = client.post("/api/v1/events/", _value(X.EVENTS_REQUEST), format="json")
    assert events.json() == _value(X.EVENTS_RESPONSE)
    again = client.post("/api/v1/events/", _value(X.EVENTS_REQUEST), format="json")
    assert again.json() == _value(X.EVENTS_RESPONSE_AGAIN)

    consents = client.put(
        "/api/v1/customers/C0001/consents/", _value(X.CONSENTS_REQUEST), format="json"
    )
    assert consents.status_code == 200, consents.content
    documented = _value(X.CONSENTS_RESPONSE)
    decided = [c for c in consents.json()["consents"] if c["method"] == "api"]
    assert consents.json()["customer"] == documented["customer"]
    assert [{k: v for k, v in c.items() if k != "updated_at"} for c in decided] == [
        {k: v for k, v in c.items() if k != "updated_at"}
        for c in documented["consents"]
        if c["method"] == "api"
    ]

    request = client.post(
        "/api/v1/customers/C0001/data-requests/", _value(X.DATA_REQUEST_REQUEST), format="json"
    )
    assert request.status_code == 201, request.content
    assert {k: v for k, v in request.json().items() if k != "id"} == {
        k: v for k, v in _value(X.DATA_REQUEST_RESPONSE).items() if k != "id"
    }

    recommendations = client.get("/api/v1/customers/C0001/recommendations/")
    assert recommendations.status_code == 200
    assert recommendations.json().keys() == _value(X.RECOMMENDATIONS_RESPONSE).keys()
    assert recommendations.json()["customer"] == "C0001"
