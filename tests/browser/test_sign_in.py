"""Customers, staff and owners sign in through the real form and land on their own pages."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import CustomerProfile
from accounts.roles import Role
from tests.browser.support import ROLE_START_PAGE, sign_in
from tests.factories import InteractionFactory, ItemFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def nav_links(page) -> list[str]:
    nav = page.get_by_role("navigation", name="Main")
    return [text.strip() for text in nav.get_by_role("link").all_inner_texts()]


def test_customer_signs_in_and_sees_her_own_page(page, person):
    gable = person(Role.CUSTOMER, email="gable@example.com")
    profile = CustomerProfile.objects.get(user=gable)
    InteractionFactory(customer=profile, item=ItemFactory(name="Wheat sourdough"))

    sign_in(page, "gable@example.com")

    expect(page).to_have_url(ROLE_START_PAGE[Role.CUSTOMER])
    expect(page.get_by_role("heading", level=1)).to_have_text("My data & choices")
    expect(page.get_by_role("heading", name="What we know about you")).to_be_visible()
    expect(page.get_by_text("Wheat sourdough").first).to_be_visible()
    assert nav_links(page) == ["Home", "How we use AI", "My data & choices"]
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_staff_sign_in_and_see_the_staff_console(page, person):
    staff = person(Role.STAFF)

    sign_in(page, staff.email)

    expect(page).to_have_url(ROLE_START_PAGE[Role.STAFF])
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff console")
    expect(page.get_by_text("items on sale", exact=True)).to_be_visible()
    assert nav_links(page) == ["Home", "How we use AI", "Staff console"]


def test_owner_signs_in_and_sees_the_owner_console(page, person):
    owner = person(Role.OWNER)

    sign_in(page, owner.email)

    expect(page).to_have_url(ROLE_START_PAGE[Role.OWNER])
    expect(page.get_by_role("heading", level=1)).to_have_text("Owner console")
    expect(page.get_by_role("heading", name="Declared audit attributes")).to_be_visible()
    assert nav_links(page) == [
        "Home",
        "How we use AI",
        "Staff console",
        "Owner console",
        "Admin",
    ]
    page.get_by_role("link", name="Staff console").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff console")


def test_a_wrong_password_is_reported_on_the_form(page, person):
    customer = person(Role.CUSTOMER)

    sign_in(page, customer.email, password="not-the-password")

    expect(page.get_by_role("alert")).to_contain_text("not correct")
    expect(page.get_by_label("Email", exact=True)).to_have_value(customer.email)
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_sign_out_ends_the_session(page, person):
    customer = person(Role.CUSTOMER)
    sign_in(page, customer.email)
    expect(page).to_have_url(ROLE_START_PAGE[Role.CUSTOMER])

    # when she presses "Sign out" (a POST form carrying the CSRF token)
    page.get_by_role("button", name="Sign out").click()

    # then she is a visitor again, and her page asks her to sign in
    expect(page.get_by_role("link", name="Sign in", exact=True).first).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    page.goto("/me/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/me/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
