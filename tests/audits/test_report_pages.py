"""The owner's audit pages: summary first, charts, tables without small groups' figures,
exports, progress, finding handling, policy and schedule."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from django.urls import reverse

from accounts.roles import Role
from audits import services
from audits.models import AuditFinding, AuditRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def run(audit_shop) -> AuditRun:
    return services.audit_run_execute(run=services.audit_run_create(trigger="command"))


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.mark.parametrize("name", ["owner:audit_list", "owner:audit_policy"])
def test_pages_are_for_owners_only(client, make_user, name):
    url = reverse(name)
    assert client.get(url).status_code == 302  # to sign in
    client.force_login(make_user(Role.STAFF, email="staff@example.com"))
    assert client.get(url).status_code == 403


def test_report_reads_summary_first_then_charts_tables_and_method(owner_client, run):
    page = text(owner_client.get(reverse("owner:audit_detail", args=[run.pk])))

    summary = page.index("Customers with age band 55+ were shown Breads 75% less often")
    assert summary < page.index("<svg") < page.index("<table") < page.index("How this was measured")
    assert "below your threshold of 80% of the reference group" in page
    # A chart per table with a finding, its bar highlighted.
    assert 'class="chart-bar is-highlight"' in page
    # Demographic parity difference and ratio per table, without an interval.
    assert (
        "Gap between the highest and the lowest group: 60.0 pts (lowest ÷ highest: 0.25); "
        "this is the demographic parity difference and ratio" in page
    )
    assert "Download CSV" in page and "Download JSON" in page


def test_small_groups_are_too_few_to_measure_and_never_shown_with_a_value(owner_client, run):
    page = text(owner_client.get(reverse("owner:audit_detail", args=[run.pk])))

    rows = re.findall(r"<tr>\s*<th scope=\"row\">age band 35-54</th>(.*?)</tr>", page)
    assert rows
    for row in rows:
        assert "too few to measure" in row
        cells = re.sub(r"<[^>]+>", " ", row)
        assert not re.search(r"\d", cells)  # no value, interval, count or ratio


def test_exports_keep_small_groups_without_figures(owner_client, run):
    csv_response = owner_client.get(reverse("owner:audit_export_csv", args=[run.pk]))
    rows = list(csv.DictReader(io.StringIO(b"".join(csv_response.streaming_content).decode())))
    small = [r for r in rows if r["group"] == "35-54"]
    assert small and all(
        r["too_few_to_measure"] == "yes" and r["value"] == r["customers"] == r["low"] == ""
        for r in small
    )
    older = next(
        r
        for r in rows
        if r["group"] == "55+" and r["metric"] == "exposure" and r["segment"] == "Breads"
    )
    assert float(older["value"]) == pytest.approx(0.2) and older["finding"] == "yes"

    data = json.loads(owner_client.get(reverse("owner:audit_export_json", args=[run.pk])).content)
    assert data["id"] == run.pk and data["findings"]
    assert all(r["value"] is None for r in data["results"] if r["group"] == ["35-54"])


def test_a_running_audit_shows_its_progress_and_the_json_endpoint_updates(owner_client, audit_shop):
    run = services.audit_run_create(trigger="console")
    services.audit_run_advance(run_id=run.pk)

    page = text(owner_client.get(reverse("owner:audit_detail", args=[run.pk])))
    assert '<progress id="audit-progress-bar"' in page
    assert "Measuring: Rank-weighted exposure" in page
    assert "js/audit-progress.js" in page

    progress = owner_client.get(reverse("owner:audit_progress", args=[run.pk])).json()
    assert progress["percent"] == 10 and not progress["done"]
    services.audit_run_execute(run=run)
    progress = owner_client.get(reverse("owner:audit_progress", args=[run.pk])).json()
    assert progress["percent"] == 100 and progress["done"]


def test_start_from_the_console_and_refuse_a_second(owner_client, audit_shop):
    response = owner_client.post(reverse("owner:audit_start"))
    run = AuditRun.objects.get()
    assert response.url == reverse("owner:audit_detail", args=[run.pk])
    assert run.trigger == "console"

    response = owner_client.post(reverse("owner:audit_start"), follow=True)
    assert "is still running" in text(response)
    assert AuditRun.objects.count() == 1


def test_owner_acknowledges_with_an_explanation_and_the_history_shows_it(owner_client, run):
    finding = AuditFinding.objects.filter(run=run).first()
    url = reverse("owner:audit_finding_action", args=[finding.pk])

    empty = owner_client.post(url, {"action": "acknowledge", "explanation": ""}, follow=True)
    assert "Say what you make of this finding" in text(empty)
    finding.refresh_from_db()
    assert finding.status == "open"

    done = owner_client.post(
        url, {"action": "acknowledge", "explanation": "Breads are a morning range."}, follow=True
    )
    page = text(done)
    assert "Finding acknowledged." in page
    assert "Breads are a morning range." in page
    finding.refresh_from_db()
    assert finding.status == "acknowledged" and finding.acknowledged_by.email == "owner@example.com"

    bogus = owner_client.post(url, {"action": "delete-everything", "explanation": "x"})
    assert bogus.status_code == 302
    finding.refresh_from_db()
    assert finding.status == "acknowledged"


def test_list_shows_runs_the_latest_summary_and_a_trend(owner_client, run):
    services.audit_run_execute(run=services.audit_run_create(trigger="command"))

    page = text(owner_client.get(reverse("owner:audit_list")))

    assert f"#{run.pk}" in page and f"#{run.pk + 1}" in page
    assert "Findings per audit" in page and "Lowest ratio to the reference group" in page
    assert "Customers with age band 55+ were shown Breads" in page


def test_list_page_queries_do_not_grow_with_runs(
    owner_client, audit_shop, django_assert_max_num_queries
):
    for _ in range(4):
        services.audit_run_execute(run=services.audit_run_create(trigger="command"))
    owner_client.get(reverse("owner:audit_list"))
    with django_assert_max_num_queries(25):
        response = owner_client.get(reverse("owner:audit_list"))
    assert response.status_code == 200


def test_policy_saves_thresholds_reference_and_schedule(owner_client, audit_shop):
    from django_celery_beat.models import PeriodicTask

    url = reverse("owner:audit_policy")
    page = text(owner_client.get(url))
    assert "age band" in page

    response = owner_client.post(
        url,
        {
            "attributes": ["age_band"],
            "metrics": ["exposure", "opt_out"],
            "ratio_threshold": "0.9",
            "difference_threshold": "0.05",
            "min_group_size": "25",
            "drift_threshold": "0.1",
            "reference__age_band": "55+",
            "notify_owners": "on",
            "frequency": "daily",
            "weekday": "3",
            "hour": "4",
        },
    )
    assert response.status_code == 302
    policy = services.audit_policy_get()
    assert policy.metrics == ["exposure", "opt_out"]
    assert policy.ratio_threshold == 0.9 and policy.min_group_size == 25
    assert policy.reference_groups == {"age_band": "55+"}
    task = PeriodicTask.objects.get(name="Bias audit")
    assert task.enabled and task.crontab.hour == "4" and task.crontab.day_of_week == "*"
    assert task.task == "audits.run_scheduled"

    run = services.audit_run_create(trigger="command")
    assert run.policy["reference_groups"] == {"age_band": "55+"}


def test_policy_refuses_bad_input_with_messages_and_keeps_the_old_policy(owner_client, audit_shop):
    url = reverse("owner:audit_policy")
    response = owner_client.post(
        url,
        {
            "metrics": [],
            "ratio_threshold": "3",
            "difference_threshold": "x",
            "min_group_size": "2",
            "drift_threshold": "0.1",
            "frequency": "weekly",
            "weekday": "1",
            "hour": "30",
        },
    )
    assert response.status_code == 200
    page = text(response)
    assert "This field is required." in page
    assert "Ensure this value is less than or equal to 1" in page
    assert "Ensure this value is greater than or equal to 5" in page
    assert services.audit_policy_get().ratio_threshold == 0.8


def test_a_finding_shows_its_trend_over_past_runs(owner_client, run):
    second = services.audit_run_execute(run=services.audit_run_create(trigger="command"))
    finding = AuditFinding.objects.get(run=second, metric="exposure", segment="Breads")

    page = text(owner_client.get(reverse("owner:audit_detail", args=[second.pk])))

    card = page[page.index(f'id="finding-{finding.pk}"') :]
    card = card[: card.index("</article>")]
    assert "<polyline" in card and "Trend: Shown the category" in card
    assert "reference: age band 18-34" in card
    # The same finding in the earlier run, with its status.
    assert f"audit #{run.pk}</a> (open)" in card
