"""An owner's tour of the trust dashboard in real Chromium: every figure's link opens a
working page, the kill switch changes the public page, and the governance pages have no
serious accessibility problems (axe)."""

import importlib
import re
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone
from playwright.sync_api import expect

from accounts.roles import Role
from governance import services
from tests.browser.support import ROLE_START_PAGE, blocking_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def builtin_features(registry_rows):
    """The built-in features as their data migration writes them (transactional tests
    empty every table afterwards)."""
    migration = importlib.import_module("governance.migrations.0003_builtin_features")
    migration.create_builtin_features(apps, None)


@pytest.fixture
def owner(person, builtin_features):
    user = person(Role.OWNER, email="owner@example.com")
    services.ai_policy_publish(title="Our AI rules", body="## Rules\n- Read first", actor=user)
    services.vendor_save(
        name="PostcodePal",
        service="Checks delivery addresses",
        receives="Postcodes only",
        dpa_status="requested",
        next_review=timezone.localdate() - timedelta(days=3),
    )
    return user


def test_every_figure_on_the_dashboard_links_to_a_working_page(page, owner):
    sign_in(page, owner.email)
    expect(page).to_have_url(ROLE_START_PAGE[Role.OWNER])
    expect(page.get_by_role("heading", name="Trust", exact=True)).to_be_visible()
    expect(page.locator("svg.chart").first).to_be_visible()
    assert blocking_violations(page) == []

    links = page.locator("a.trust-figure-link")
    targets = sorted(set(links.evaluate_all("(els) => els.map((a) => a.getAttribute('href'))")))
    assert {"/owner/kill-switch/", "/owner/vendors/", "/staff/review/"} <= set(targets)
    for href in targets:
        # when the owner follows the figure's link
        page.locator(f'a.trust-figure-link[href="{href}"]').first.click()
        # then the page it leads to opens (no error page) with its own heading
        expect(page).to_have_url(re.compile(re.escape(href) + "$"))
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert "Server Error" not in page.content()
        page.go_back()
        expect(page).to_have_url(ROLE_START_PAGE[Role.OWNER])

    # the overdue vendor is flagged on the dashboard
    vendors = page.locator(".trust-figure", has_text="Vendor reviews overdue")
    expect(vendors).to_contain_text("PostcodePal")
    expect(vendors).to_have_class(re.compile("is-alert"))


def test_pausing_from_the_console_shows_on_the_public_page(page, owner):
    sign_in(page, owner.email)
    page.goto("/owner/kill-switch/")
    assert blocking_violations(page) == []
    page.get_by_label("Reason").fill("Allergen labels are being checked")
    page.get_by_role("button", name="Pause all AI personalization").click()
    expect(page.get_by_role("status")).to_contain_text("All AI personalization is paused")
    expect(page.locator("table")).to_contain_text("Allergen labels are being checked")

    page.goto("/transparency/")
    expect(page.locator(".transparency-status")).to_contain_text(
        "All AI personalization is paused since"
    )
    expect(page.locator(".transparency-status")).to_contain_text(
        "Allergen labels are being checked"
    )
    assert blocking_violations(page) == []

    page.goto("/owner/kill-switch/")
    page.get_by_label("Reason").fill("Labels fixed")
    page.get_by_role("button", name="Resume personalization").click()
    expect(page.get_by_role("status")).to_contain_text("AI personalization is running again")


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/owner/policy/", "AI policy"),
        ("/owner/features/", "Features and risk"),
        ("/owner/features/onsite_recommendations/", "On-site recommendations"),
        ("/owner/features/onsite_recommendations/assessments/1/", "assessment version 1"),
        ("/owner/features/onsite_recommendations/assessments/new/", "New risk assessment"),
        ("/owner/vendors/", "Vendors"),
        ("/owner/vendors/new/", "Add a vendor"),
        ("/owner/trust/", "Trust survey"),
        ("/staff/policy/", "AI policy"),
    ],
)
def test_governance_pages_have_no_serious_accessibility_problems(page, owner, path, heading):
    sign_in(page, owner.email)
    expect(page).to_have_url(ROLE_START_PAGE[Role.OWNER])
    page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
    assert blocking_violations(page) == []


def test_the_policy_preview_and_the_form_errors_are_accessible(page, owner):
    sign_in(page, owner.email)
    page.goto("/owner/policy/")
    page.get_by_label("Policy").fill("")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".errorlist")).to_contain_text("Write the policy.")
    assert blocking_violations(page) == []
    page.get_by_label("Policy").fill("## New\n- Explain every decision")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".policy-preview")).to_contain_text("Explain every decision")
    assert blocking_violations(page) == []


def test_the_customer_answers_the_trust_question(page, person, builtin_features):
    from personalization.consent import notices

    customer = person(Role.CUSTOMER, email="reader@example.com")
    notices.notice_acknowledge(
        profile=customer.customer_profile, version=notices.notice_ensure_initial().version
    )
    sign_in(page, customer.email)
    expect(page).to_have_url(ROLE_START_PAGE[Role.CUSTOMER])
    card = page.locator(".trust-card")
    expect(card).to_contain_text("How much do you trust our recommendations?")
    assert blocking_violations(page) == []

    card.get_by_label("4").check()
    card.get_by_label("Anything you want to tell us? (optional)").fill("Fair and clear")
    card.get_by_role("button", name="Send my answer").click()

    expect(page.get_by_role("status")).to_contain_text("Thank you for your answer.")
    expect(page.locator(".trust-card")).to_contain_text("You answered 4 out of 5")
