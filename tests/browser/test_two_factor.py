"""Two-factor sign-in in real Chromium: an owner's first sign-in sets up the app, and a
customer confirming on another device chooses her password there."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import CustomerProfile
from accounts.roles import Role
from tests.browser.support import ROLE_START_PAGE, blocking_violations, sign_in
from tests.builders import confirmation_link, last_mail_to
from tests.factories import CustomerProfileFactory, InteractionFactory, ItemFactory
from tests.mfa import totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_owner_sets_up_the_authenticator_app_at_first_sign_in(page, person):
    owner = person(Role.OWNER, mfa=False)

    # when she signs in with her password alone
    sign_in(page, owner.email)

    # then she confirms the password and is shown the app's setup, in the site's layout
    expect(page).to_have_url(re.compile(r"/accounts/reauthenticate/"))
    page.get_by_label("Password", exact=True).fill("correct-horse-battery")
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Activate Authenticator App")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    assert blocking_violations(page) == []

    # when she types the code her app shows for the secret on the page
    secret = page.get_by_label("Authenticator secret").input_value()
    page.get_by_label("Authenticator code").fill(totp_code(secret))
    page.get_by_role("button", name="Activate").click()

    # then she sees her recovery codes, and the owner console opens
    expect(page.get_by_role("heading", level=1)).to_have_text("Recovery Codes")
    assert blocking_violations(page) == []
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Owner console").click()
    expect(page).to_have_url(ROLE_START_PAGE[Role.OWNER])
    expect(page.get_by_role("heading", level=1)).to_have_text("Owner console")


def test_the_code_page_is_accessible_and_refuses_a_wrong_code(page, person):
    owner = person(Role.OWNER)

    page.goto("/accounts/login/")
    page.get_by_label("Email", exact=True).fill(owner.email)
    page.get_by_label("Password", exact=True).fill("correct-horse-battery")
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor sign-in")
    assert blocking_violations(page) == []

    page.get_by_label("Code").fill(f"{(int(totp_code()) + 1) % 1_000_000:06d}")
    page.get_by_role("button", name="Sign In").click()

    expect(page.get_by_text("Incorrect code.")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_confirming_on_another_device_leads_to_choosing_the_password(page, browser, live_server):
    profile = CustomerProfileFactory(email="gable@example.com", user=None)
    InteractionFactory(customer=profile, item=ItemFactory(name="Wheat sourdough"))

    # given she signed up on her laptop
    page.goto("/accounts/signup/")
    page.get_by_label("Email", exact=True).fill("gable@example.com")
    page.get_by_label("Password", exact=True).fill("laptop-passphrase-2026")
    page.get_by_label("Password (again)").fill("laptop-passphrase-2026")
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/accounts/confirm-email/$"))

    # when she opens the emailed link on her phone and confirms
    phone = browser.new_context(base_url=live_server.url, locale="en-GB")
    tab = phone.new_page()
    tab.goto(confirmation_link(last_mail_to("gable@example.com")))
    tab.get_by_role("button", name="Confirm").click()

    # then the phone asks for her password, and once chosen shows her history
    expect(tab.get_by_role("heading", level=1)).to_have_text("Choose your password")
    assert blocking_violations(tab) == []
    tab.get_by_label("Password", exact=True).fill("phone-passphrase-2026")
    tab.get_by_label("Password (again)").fill("phone-passphrase-2026")
    tab.get_by_role("button", name="Save my password").click()
    expect(tab).to_have_url(ROLE_START_PAGE[Role.CUSTOMER])
    expect(tab.get_by_text("Wheat sourdough").first).to_be_visible()
    assert CustomerProfile.objects.get(pk=profile.pk).user is not None
    phone.close()
