"""The documentation's examples, and real answers, against the published schema.

Every operation under /api/v1/ shows an example of its request body (when it takes one)
and of its success answer; each example validates against the schema it illustrates,
and so do real answers of the endpoints in a realistic shop.
"""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from accounts.models import ApiScope
from tests.api.test_api_recommendations import _email_offers
from tests.personalization.test_campaigns import allow_marketing

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
