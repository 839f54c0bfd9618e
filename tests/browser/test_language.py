"""The language switch in Chromium: by keyboard, on phone and desktop, remembered per person."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import CustomerProfile, User
from accounts.roles import Role
from personalization.consent.notices import notice_acknowledge, notice_current
from tests.browser.support import ROLE_START_PAGE, blocking_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def has_read_the_notice(user: User) -> User:
    notice = notice_current()
    if notice is not None:
        notice_acknowledge(profile=CustomerProfile.objects.get(user=user), version=notice.version)
    return user


def switch_by_keyboard(page, language: str) -> None:
    button = page.get_by_role("button", name=language)
    button.focus()
    expect(button).to_be_focused()
    page.keyboard.press("Enter")


@pytest.mark.parametrize("viewport", [PHONE, {"width": 1366, "height": 900}])
def test_a_visitor_switches_to_german_with_the_keyboard(page, viewport):
    page.set_viewport_size(viewport)
    page.goto("/transparency/")
    expect(page.get_by_role("heading", level=1)).to_have_text("How we use AI")

    switch_by_keyboard(page, "Deutsch")

    expect(page).to_have_url(re.compile(r"/transparency/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Wie wir KI einsetzen")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("button", name="English")).to_be_visible()
    # and it stays German on the next page (the home page: axe-clean with the switch)
    page.goto("/")
    expect(page.get_by_role("link", name="Zum Inhalt springen")).to_be_attached()
    expect(page.get_by_role("form", name="Sprache:")).to_be_visible()
    assert blocking_violations(page) == []


def test_a_customers_german_is_remembered_after_signing_out_and_in_elsewhere(
    page, person, browser, live_server
):
    gable = has_read_the_notice(person(Role.CUSTOMER, email="gable@example.com"))
    sign_in(page, gable.email)
    expect(page).to_have_url(ROLE_START_PAGE[Role.CUSTOMER])
    expect(page.get_by_role("heading", level=1)).to_have_text("My data & choices")

    switch_by_keyboard(page, "Deutsch")
    expect(page.get_by_role("heading", level=1)).to_have_text("Meine Daten und Entscheidungen")
    page.get_by_role("button", name="Abmelden").click()

    # signed out, this browser stays German
    page.goto("/accounts/login/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Anmelden")
    # another browser (English, no cookies): after signing in, her German comes back
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    other = context.new_page()
    try:
        sign_in(other, gable.email)
        expect(other).to_have_url(ROLE_START_PAGE[Role.CUSTOMER])
        expect(other.get_by_role("heading", level=1)).to_have_text("Meine Daten und Entscheidungen")
        expect(other.locator("html")).to_have_attribute("lang", "de")
        assert blocking_violations(other) == []
    finally:
        context.close()
    gable.refresh_from_db()
    assert gable.language == "de"
