"""/me/recommendations/ in real Chromium: "Why this?", feedback, phone width, axe."""

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from personalization.models import Feedback
from tests.browser.support import ROLE_START_PAGE, blocking_violations, sign_in
from tests.builders import bread_buyer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def customer(page, person):
    """A signed-in customer who buys wheat bread and croissants, in a small bakery."""
    profile = bread_buyer(person(Role.CUSTOMER, email="reader@example.com"))
    sign_in(page, "reader@example.com")
    expect(page).to_have_url(ROLE_START_PAGE[Role.CUSTOMER])
    return profile


def test_why_this_then_not_for_me(page, customer):
    page.goto("/me/recommendations/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Suggestions for you")
    first = page.locator(
        "li.recommendation", has=page.get_by_role("heading", name="Wheat Sourdough", exact=True)
    )
    expect(first.locator(".recommendation-sentence")).to_contain_text("Because you bought")

    # "Why this?" opens the reasons, their data categories and the way to change them.
    first.get_by_text("Why this?").click()
    expect(first.locator(".why-reasons")).to_contain_text("from your Purchase history")
    expect(first.get_by_role("link", name="Change what we may use")).to_have_attribute(
        "href", "/me/consent/"
    )

    # Feedback sits in a small menu on each card.
    croissant = page.locator(
        "li.recommendation", has=page.get_by_role("heading", name="Croissant", exact=True)
    )
    croissant.locator(".feedback-menu > summary").click()
    page.get_by_role("button", name="Not for me: Croissant").click()
    expect(page.locator(".feedback-done")).to_contain_text("Croissant is not for you")
    expect(page.locator("h2.recommendation-name", has_text="Croissant")).to_have_count(0)
    assert Feedback.objects.get().kind == "not_for_me"
    assert blocking_violations(page) == []


def test_the_list_fits_a_phone(page, customer):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/me/recommendations/")
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow
    wheat = page.locator(
        "li.recommendation", has=page.get_by_role("heading", name="Wheat Sourdough", exact=True)
    )
    wheat.locator(".feedback-menu > summary").click()
    button = page.get_by_role("link", name="I can't have this: Wheat Sourdough")
    box = button.bounding_box()
    assert box is not None and box["height"] >= 44
