"""A reviewer works the queue in real Chromium: filters, claims, reads the explanation
before the approve button of a high-risk item works, decides with a reason; the owner
reads the trail and sets the rules. axe on every page."""

import re

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from personalization.models import RecommendationStatus, ReviewAction, ReviewStatus
from tests.browser.support import ROLE_START_PAGE, blocking_violations, sign_in
from tests.builders import Held

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_reviewer_works_the_queue(page, person):
    held = Held()
    reviewer = person(Role.STAFF, email="staff@example.com")
    sign_in(page, reviewer.email)
    expect(page).to_have_url(ROLE_START_PAGE[Role.STAFF])
    # The overview counts the queue.
    expect(page.locator(".review-summary")).to_contain_text("2")
    page.get_by_role("navigation", name="This section").get_by_role(
        "link", name="Review queue"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review queue")
    expect(page.locator("tr.review-row")).to_have_count(2)
    expect(page.locator("tr.review-row.overdue")).to_have_count(1)
    assert blocking_violations(page) == []

    # Only the high-risk rule, then claim what is left.
    page.get_by_label("Rule", exact=True).select_option("missing_attribute_data")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("tr.review-row")).to_have_count(1)
    page.get_by_label("How many").fill("5")
    page.get_by_role("button", name="Claim and start").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"#{held.risky.pk}")
    expect(page.locator(".review-claim")).to_contain_text("Claimed by you")
    expect(page.locator(".customer-view")).to_contain_text("Guest Cob")
    expect(page.locator(".review-flags")).to_contain_text("has not recorded this item's allergens")
    assert blocking_violations(page) == []

    # "Approve" waits until the explanation has been opened.
    approve = page.get_by_label("Approve", exact=True)
    expect(approve).to_be_disabled()
    page.get_by_text("Why this? (the explanation the customer can open)").click()
    expect(approve).to_be_enabled()
    approve.check()
    page.get_by_label("Reason").select_option("data_checked")
    page.get_by_role("button", name="Save the decision").click()
    expect(page.locator(".messages")).to_contain_text("Approved: the customer can now see it.")
    held.risky.refresh_from_db()
    assert held.risky.status == ReviewStatus.DECIDED
    assert held.risky.recommendation.status == RecommendationStatus.APPROVED
    assert ReviewAction.objects.filter(item=held.risky, action="approved", actor=reviewer).exists()

    # The cake: rejected with a reason and a note, from the whole queue.
    page.goto(f"/staff/review/{held.cake.pk}/")
    page.get_by_label("Reject", exact=True).check()
    page.get_by_label("Reason").select_option("too_expensive")
    page.get_by_label("Note (optional)").fill("Only for birthdays")
    page.get_by_role("button", name="Save the decision").click()
    expect(page.locator(".messages")).to_contain_text("Rejected")
    page.goto("/staff/review/")
    expect(page.get_by_text("Nothing is waiting here.")).to_be_visible()
    expect(page.locator("tr.reviewer-rate")).to_contain_text("50%")


def test_a_bulk_decision_says_how_many_before_it_happens(page, person):
    held = Held()
    reviewer = person(Role.STAFF, email="staff@example.com")
    sign_in(page, reviewer.email)
    expect(page).to_have_url(ROLE_START_PAGE[Role.STAFF])
    page.goto("/staff/review/")
    page.get_by_role("link", name=re.compile("Decide the whole filtered list")).click()
    expect(page.locator(".bulk-preview")).to_contain_text("2 items match the filters")
    expect(page.locator(".bulk-high-risk")).to_contain_text("1 high-risk item is left out")
    assert blocking_violations(page) == []
    page.get_by_label("Approve all").check()
    page.get_by_label("Reason").select_option("fits_customer")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".bulk-confirm")).to_contain_text("Approve this item now?")
    expect(page.locator("tr.bulk-item")).to_have_count(1)
    expect(page.locator("tr.bulk-item")).to_contain_text("Celebration Cake")
    assert blocking_violations(page) == []
    page.get_by_role("button", name="Yes, decide them").click()
    expect(page.locator(".messages")).to_contain_text("1 decided")
    held.cake.refresh_from_db()
    held.risky.refresh_from_db()
    assert (held.cake.status, held.risky.status) == (ReviewStatus.DECIDED, ReviewStatus.OPEN)


def test_the_owner_sets_the_rules_and_reads_the_trail(page, person):
    Held()
    owner = person(Role.OWNER, email="owner@example.com")
    sign_in(page, owner.email)
    expect(page).to_have_url(ROLE_START_PAGE[Role.OWNER])
    page.get_by_role("navigation", name="This section").get_by_role(
        "link", name="Oversight rules"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Oversight rules")
    page.get_by_label(re.compile("^Premium nudge")).fill("0.2")
    page.get_by_role("button", name="Save the rules").click()
    expect(page.locator(".error-summary")).to_be_visible()
    assert blocking_violations(page) == []
    page.get_by_label(re.compile("^Premium nudge")).fill("4")
    page.get_by_label("Decision deadline (hours)").fill("12")
    page.get_by_role("button", name="Save the rules").click()
    expect(page.locator(".messages")).to_contain_text("Saved")
    page.get_by_role("link", name="Every change and decision is in the review trail.").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review trail")
    expect(page.locator("tr.trail-row").first).to_contain_text("Thresholds changed")
    assert blocking_violations(page) == []
