"""An owner reads a bias-audit report in Chromium (the verdict first, what to do next,
one chart, the details folded away), acknowledges a finding and resolves it on a phone;
a running audit's progress bar updates by itself; the pages pass axe."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from audits import services
from audits.models import AuditFinding
from tests.browser.support import blocking_violations, sign_in
from tests.builders import build_audit_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def owner(person):
    return person(Role.OWNER, email="owner@example.com")


def test_owner_reads_a_report_and_acknowledges_a_finding(page, owner):
    build_audit_shop()
    run = services.audit_run_execute(run=services.audit_run_create(trigger="schedule"))
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, owner.email)

    # the list: latest audit in words, then the link to its report
    page.goto("/owner/audits/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bias audits")
    assert blocking_violations(page) == []
    page.get_by_role("link", name="Read the report").click()
    expect(page).to_have_url(re.compile(rf"/owner/audits/{run.pk}/$"))

    # one plain verdict first, then what to do next
    expect(page.locator("#audit-verdict")).to_have_text(
        "1 group is treated differently (age band 55+); 1 group is too small to check."
    )
    expect(page.get_by_role("heading", name="What to do next")).to_be_visible()
    expect(page.locator(".next-steps li").first).to_contain_text("Read the 2 findings below")
    # one chart, its group's bar highlighted; the statistics folded away until asked for
    expect(page.locator("svg.chart").filter(visible=True)).to_have_count(1)
    expect(page.locator("svg.chart .chart-bar.is-highlight").first).to_be_visible()
    expect(page.get_by_role("columnheader", name="95% interval").first).to_be_hidden()
    assert blocking_violations(page) == []
    page.get_by_text("Details: every figure, chart and table").click()
    small = page.locator("tr", has=page.get_by_role("rowheader", name="age band 35-54")).first
    expect(small).to_be_visible()
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
    expect(page.locator(".next-steps")).to_contain_text(
        "1 finding is acknowledged but not resolved yet"
    )
    assert blocking_violations(page) == []

    # resolving it, on a phone: the page fits the screen and stays accessible
    page.set_viewport_size({"width": 390, "height": 844})
    card = page.locator(f"#finding-{finding.pk}")
    card.get_by_label("Your explanation").fill("Wider range of breads since Monday.")
    card.get_by_role("button", name="Resolve").click()
    expect(page.get_by_role("status")).to_contain_text("Finding resolved.")
    expect(page.locator(f"#finding-{finding.pk} .status-pill")).to_have_text("Resolved")
    expect(page.locator("#audit-verdict")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
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
    expect(page.locator("#audit-verdict")).to_contain_text("1 group is treated differently")
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
