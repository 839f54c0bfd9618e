"""The published schema states the bounds the server enforces (issue 13, item 10)."""

import json

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    return json.loads(client.get("/api/schema/", {"format": "json"}).content)


def _parameter(schema, path, name):
    parameters = schema["paths"][path]["get"]["parameters"]
    return next(p for p in parameters if p["name"] == name)["schema"]


def test_query_parameters_state_their_ranges(schema):
    limit = _parameter(schema, "/api/v1/customers/{external_id}/recommendations/", "limit")
    assert (limit["type"], limit["minimum"], limit["maximum"]) == ("integer", 1, 50)
    page_size = _parameter(schema, "/api/v1/audits/", "page_size")
    assert (page_size["minimum"], page_size["maximum"]) == (1, 100)
    assert "400" in schema["paths"]["/api/v1/audits/"]["get"]["responses"]


def test_request_bodies_state_sizes_and_unknown_keys(schema):
    components = schema["components"]["schemas"]
    assert components["ConsentsUpdateRequest"]["properties"]["consents"]["minItems"] == 1
    for name, field in [
        ("EventBatchRequest", "events"),
        ("ItemBatchRequest", "items"),
        ("CustomerBatchRequest", "customers"),
    ]:
        assert components[name]["properties"][field]["maxItems"] == 10_000
        assert components[name]["additionalProperties"] is False
        assert components[name]["properties"]["all_or_nothing"]["type"] == "boolean"
    assert components["EventRequest"]["additionalProperties"] is False
    assert components["ItemRequest"]["additionalProperties"] is False
    assert components["CustomerRequest"]["additionalProperties"] == {
        "type": "string",
        "maxLength": 100,
    }


def test_event_fields_state_their_bounds(schema):
    event = schema["components"]["schemas"]["EventRequest"]["properties"]
    assert (event["event_id"]["minLength"], event["event_id"]["maxLength"]) == (1, 100)
    assert event["customer_external_id"]["maxLength"] == 100
    assert event["sku"]["maxLength"] == 64
    assert (event["quantity"]["minimum"], event["quantity"]["maximum"]) == (1, 1_000_000)
    string, number = event["value"]["oneOf"]
    assert string["pattern"] == r"^\d{1,10}(\.\d{1,2})?$"
    assert (number["minimum"], number["maximum"]) == (0, 9999999999.99)
    assert "from 1970-01-01 (UTC)" in event["occurred_at"]["description"]
    price = schema["components"]["schemas"]["ItemRequest"]["properties"]["price"]["oneOf"][1]
    assert price["maximum"] == 99999999.99
