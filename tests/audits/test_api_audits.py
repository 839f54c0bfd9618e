"""GET /api/v1/audits/ and /api/v1/audits/<id>/: scope audits:read, no small group's figure."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import ApiScope
from audits import services
from audits.models import AuditRun
from config.wsgi import application

pytestmark = pytest.mark.django_db


@pytest.fixture
def completed_run(audit_shop) -> AuditRun:
    run = services.audit_run_create(trigger="command")
    return services.audit_run_execute(run=run)


@pytest.mark.parametrize("url", ["/api/v1/audits/", "/api/v1/audits/1/"])
def test_without_a_key_is_401_in_the_envelope(client, url):
    response = client.get(url)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("url", ["/api/v1/audits/", "/api/v1/audits/1/"])
def test_every_other_scope_is_403(api, url):
    others = [s for s in ApiScope.values if s != ApiScope.AUDITS_READ]
    response = api(*others).get(url)
    assert response.status_code == 403
    assert "audits:read" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "pk", ["999", "9223372036854775807", "99999999999999999999999", "-1", "null,null", "1.5"]
)
def test_unknown_run_is_404_in_the_envelope(api, pk):
    response = api(ApiScope.AUDITS_READ).get(f"/api/v1/audits/{pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_list_is_paginated_and_counts_findings(api, completed_run):
    client = api(ApiScope.AUDITS_READ)
    for _ in range(2):
        services.audit_run_execute(run=services.audit_run_create(trigger="command"))

    body = client.get("/api/v1/audits/?page_size=2").json()

    assert body["count"] == 3
    assert [r["id"] for r in body["results"]] == [completed_run.pk + 2, completed_run.pk + 1]
    assert body["next"] and body["previous"] is None
    first = client.get("/api/v1/audits/?page=2&page_size=2").json()["results"][0]
    assert first["id"] == completed_run.pk
    assert first["status"] == "completed" and first["percent"] == 100
    assert first["findings"] >= 1 and first["open_findings"] == first["findings"]
    assert client.get("/api/v1/audits/?page=9").status_code == 404


def test_list_is_a_fixed_number_of_queries(api, audit_shop, django_assert_max_num_queries):
    for _ in range(3):
        services.audit_run_execute(run=services.audit_run_create(trigger="command"))
    client = api(ApiScope.AUDITS_READ)
    client.get("/api/v1/audits/")  # warm the key lookup path

    # key lookup + last use + count + page; more runs never add queries
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/audits/")
    assert len(response.json()["results"]) == 3


def test_detail_has_results_findings_and_no_small_group_figures(api, completed_run):
    body = api(ApiScope.AUDITS_READ).get(f"/api/v1/audits/{completed_run.pk}/").json()

    assert body["id"] == completed_run.pk and body["status"] == "completed"
    assert body["summary"][0].startswith("Customers with age band 55+ were shown Breads")
    small = [r for r in body["results"] if r["group"] == ["35-54"]]
    assert small and all(
        r["too_few_to_measure"] and r["value"] is None and r["n"] is None and r["low"] is None
        for r in small
    )
    breach = next(f for f in body["findings"] if f["kind"] == "breach")
    assert breach["group"] == ["55+"] and breach["ratio"] == pytest.approx(0.25)
    parity = next(
        g
        for g in body["gaps"]
        if g["metric"] == "exposure"
        and g["segment"] == "Breads"
        and g["attributes"] == ["age_band"]
    )
    assert parity["difference"] == pytest.approx(0.6) and parity["ratio"] == pytest.approx(0.25)
    assert parity["lowest_group"] == ["55+"] and parity["groups_compared"] == 2


def test_responses_match_the_published_schema(completed_run):
    """The list and a real run's detail against the OpenAPI schema (schemathesis)."""
    from accounts.services import api_key_create

    key = api_key_create(name="schema-check", scopes=[ApiScope.AUDITS_READ])[1]
    # Calls go straight to the WSGI app, which would close the test's own database
    # connection after each request (PostgreSQL): switched off, as Django's test client does.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
        for path, params in (
            ("/api/v1/audits/", {}),
            ("/api/v1/audits/{run_id}/", {"run_id": completed_run.pk}),
        ):
            operation = schema[path]["GET"]
            case = operation.Case(path_parameters=params)
            response = case.call(headers={"Authorization": f"Api-Key {key}"})
            assert response.status_code == 200
            case.validate_response(
                response,
                checks=[
                    status_code_conformance,
                    content_type_conformance,
                    response_schema_conformance,
                ],
            )
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
