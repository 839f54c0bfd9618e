"""Generated requests against the live schema: no 5xx, every response matches the schema."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import ApiScope
from accounts.services import api_key_create
from config.wsgi import application
from tests.factories import CustomerProfileFactory, ItemFactory

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Calls go straight to the WSGI app, which closes database connections after each
    request; Django's test client switches that off, and so must this test, or the
    test's own transaction would be closed under it (PostgreSQL)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def key(db):
    CustomerProfileFactory(external_id="C1")
    ItemFactory(sku="WS-1")
    return api_key_create(name="schemathesis", scopes=ApiScope.values)[1]


@schema.parametrize()
# derandomize: CI runs the same examples every time; change the code, not the luck.
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, key):
    # Random ids only ever reach the 404 branch (covered elsewhere); aim at a real one.
    if case.path_parameters and "external_id" in case.path_parameters:
        case.path_parameters["external_id"] = "C1"
    case.call_and_validate(
        headers={"Authorization": f"Api-Key {key}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
