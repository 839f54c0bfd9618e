"""An owner reads a bias-audit report in Chromium and acknowledges a finding; a running
audit's progress bar updates by itself; the pages pass axe."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from audits import services
from audits.models import AuditFinding
from tests.audits.conftest import build_audit_shop
from tests.browser.conftest import blocking_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def owner(person):
    return person(Role.OWNER, email="owner@example.com")


def test_owner_reads_a_report_and_acknowledges_a_finding(page, owner):
    build_audit_shop()
    run = services.audit_run_execute(run=services.audit_run_create(trigger="schedule"))
    sign_in(page, owner.email)

    # the list: latest audit in words, then the link to its report
    page.goto("/owner/audits/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bias audits")
    assert blocking_violations(page) == []
    page.get_by_role("link", name="Read the report").click()
    expect(page).to_have_url(re.compile(rf"/owner/audits/{run.pk}/$"))

    # the summary comes first, in words
    summary = page.locator(".audit-summary li").first
    expect(summary).to_contain_text(
        "Customers with age band 55+ were shown Breads 75% less often than the largest group"
    )
    # a chart with the group's bar highlighted, and tables where small groups have no figure
    expect(page.locator("svg.chart .chart-bar.is-highlight").first).to_be_visible()
    small = page.locator("tr", has=page.get_by_role("rowheader", name="age band 35-54")).first
    expect(small).to_contain_text("too few to measure")
    assert blocking_violations(page) == []

    # the owner acknowledges the exposure finding with an explanation
    finding = AuditFinding.objects.get(run=run, metric="exposure", segment="Breads")
    card = page.locator(f"#finding-{finding.pk}")
    card.get_by_label("Your explanation").fill(
        "Breads sell out by ten; the range is being widened."
    )
    card.get_by_role("button", name="Acknowledge").click()

    expect(page.get_by_role("status")).to_contain_text("Finding acknowledged.")
    card = page.locator(f"#finding-{finding.pk}")
    expect(card.locator(".status-pill")).to_have_text("Acknowledged")
    expect(card).to_contain_text("Breads sell out by ten")
    card.locator("summary", has_text="History").click()
    expect(card.locator(".history")).to_contain_text("Acknowledged: Breads sell out by ten")
    finding.refresh_from_db()
    assert finding.status == "acknowledged" and finding.acknowledged_by == owner
    assert blocking_violations(page) == []


def test_a_running_audit_shows_a_progress_bar_that_updates(page, owner):
    build_audit_shop()
    run = services.audit_run_create(trigger="console")
    services.audit_run_advance(run_id=run.pk)
    sign_in(page, owner.email)

    page.goto(f"/owner/audits/{run.pk}/")
    bar = page.get_by_role("progressbar")
    expect(bar).to_have_attribute("value", "10")
    expect(page.locator("#audit-progress")).to_contain_text("Measuring: Rank-weighted exposure")
    assert blocking_violations(page) == []

    # the worker finishes while the page is open: the page follows without a click
    services.audit_run_execute(run=run)
    expect(page.locator(".audit-summary li").first).to_contain_text("Customers with age band 55+")
    expect(page.get_by_role("progressbar")).to_have_count(0)


def test_policy_page_on_a_phone_has_no_serious_accessibility_problems(page, owner):
    build_audit_shop()
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, owner.email)

    page.goto("/owner/audits/policy/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit policy")
    assert blocking_violations(page) == []
    page.get_by_label("Minimum group size").fill("2")
    page.get_by_role("button", name="Save policy").click()
    expect(page.locator(".has-errors")).to_contain_text("greater than or equal to 5")
    assert blocking_violations(page) == []
