"""The privacy notice and consent pages in real Chromium: first visit, keyboard only, axe."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import CustomerProfile
from accounts.roles import Role
from personalization.consent import notices
from personalization.consent.selectors import consent_grid
from tests.browser.support import blocking_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Enough Tab presses to walk through every control on the consent page.
MAX_TABS = 80


def heading(page):
    return page.get_by_role("heading", level=1)


def customer_who_read_the_notice(person, **kwargs):
    notices.notice_ensure_initial()
    user = person(Role.CUSTOMER, **kwargs)
    notices.notice_acknowledge(profile=CustomerProfile.objects.get(user=user), version=1)
    return user


def tab_to(page, target) -> None:
    """Press Tab (only the keyboard) until `target` has the focus."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{target} never got the focus by pressing Tab")


def test_first_visit_shows_the_notice_then_the_consent_page(page, person):
    notices.notice_ensure_initial()
    gable = person(Role.CUSTOMER, email="gable@example.com")

    sign_in(page, "gable@example.com")

    expect(page).to_have_url(re.compile(r"/me/notice/$"))
    expect(heading(page)).to_have_text("Our privacy notice")
    expect(page.get_by_role("heading", name="Before you start")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Version 1, published "))).to_be_visible()
    expect(page.get_by_role("heading", name="Your rights")).to_be_visible()

    page.get_by_role("button", name="I have read this").click()

    expect(page).to_have_url(re.compile(r"/me/consent/$"))
    expect(heading(page)).to_have_text("What we may use, and what for")
    expect(page.get_by_role("status")).to_contain_text("Thank you for reading version 1")
    boxes = page.get_by_role("checkbox")
    expect(boxes).to_have_count(13)
    for box in boxes.all():
        expect(box).not_to_be_checked()

    # asked once: the overview opens straight away from now on
    page.goto("/me/")
    expect(page).to_have_url(re.compile(r"/me/$"))
    assert CustomerProfile.objects.get(user=gable).notice_version_seen == 1


def test_consents_can_be_changed_with_the_keyboard_only(page, person):
    customer = customer_who_read_the_notice(person)
    sign_in(page, customer.email)
    expect(page).to_have_url(re.compile(r"/me/$"))
    page.goto("/me/consent/")

    recommendations = page.get_by_label("Purchase history for On-site recommendations", exact=True)
    emails = page.get_by_label("Email engagement for Offer emails", exact=True)
    tab_to(page, recommendations)
    page.keyboard.press("Space")
    tab_to(page, emails)
    page.keyboard.press("Space")
    expect(recommendations).to_be_checked()
    tab_to(page, page.get_by_role("button", name="Save my choices"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_have_text(
        "Your choices are saved. Now allowed: Purchase history for On-site recommendations; "
        "Email engagement for Offer emails."
    )
    page.reload()
    expect(recommendations).to_be_checked()
    expect(emails).to_be_checked()
    expect(
        page.get_by_label("Browsing history for On-site recommendations", exact=True)
    ).not_to_be_checked()
    profile = CustomerProfile.objects.get(user=customer)
    assert consent_grid(customer=profile) == {
        ("personalization", "purchase_history"): True,
        ("marketing", "email_engagement"): True,
    }

    # and off again, still by keyboard
    tab_to(page, emails)
    page.keyboard.press("Space")
    tab_to(page, page.get_by_role("button", name="Save my choices"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text(
        "No longer allowed: Email engagement for Offer emails."
    )


def test_the_page_says_the_browsers_privacy_signal_was_honoured(page, person):
    customer = customer_who_read_the_notice(person)
    page.set_extra_http_headers({"Sec-GPC": "1"})
    sign_in(page, customer.email)
    page.goto("/me/consent/")

    signal = page.get_by_role("region", name="Your browser's privacy signal")
    expect(signal).to_contain_text("We honoured the signal:")
    expect(page.get_by_label("Purchase history for Offer emails", exact=True)).not_to_be_checked()

    page.get_by_label("Purchase history for Offer emails", exact=True).check()
    page.get_by_role("button", name="Save my choices").click()

    expect(signal).to_contain_text("We did not follow the signal where you chose otherwise")
    expect(page.get_by_label("Purchase history for Offer emails", exact=True)).to_be_checked()


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}]
)
def test_consent_page_has_no_serious_accessibility_problems(page, person, viewport):
    customer = customer_who_read_the_notice(person)
    page.set_viewport_size(viewport)
    page.set_extra_http_headers({"Sec-GPC": "1"})
    sign_in(page, customer.email)
    page.goto("/me/consent/")
    expect(heading(page)).to_have_text("What we may use, and what for")
    expect(page.locator(".site-header")).to_have_css("background-color", "rgb(31, 27, 22)")

    assert blocking_violations(page) == []


def test_notice_page_has_no_serious_accessibility_problems(page, person):
    notices.notice_ensure_initial()
    customer = person(Role.CUSTOMER)
    sign_in(page, customer.email)
    expect(page).to_have_url(re.compile(r"/me/notice/$"))
    expect(page.get_by_role("button", name="I have read this")).to_be_visible()

    assert blocking_violations(page) == []


def test_owner_notice_pages_have_no_serious_accessibility_problems(page, person):
    owner = person(Role.OWNER)
    sign_in(page, owner.email)
    expect(heading(page)).to_have_text("Owner console")

    page.goto("/owner/notice/")
    expect(heading(page)).to_have_text("Privacy notice")
    assert blocking_violations(page) == []

    page.get_by_role("link", name="Start a new draft").click()
    expect(heading(page)).to_have_text("New draft")
    page.get_by_label("Title").fill("")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("This field is required.")).to_be_visible()
    assert blocking_violations(page) == []

    page.get_by_label("Title").fill("Privacy notice")
    page.get_by_role("button", name="Save draft").click()
    expect(heading(page)).to_have_text("Privacy notice version 2")
    assert blocking_violations(page) == []

    page.get_by_role("link", name="Publish…").click()
    expect(page.get_by_text("Customers will not be asked again:")).to_be_visible()
    assert blocking_violations(page) == []
    page.get_by_role("button", name="Publish version 2").click()
    expect(page.get_by_role("status")).to_contain_text("Version 2 is published.")
