"""A customer on a phone reads what the shop knows about her without scrolling sideways."""

import pytest
from playwright.sync_api import expect

from accounts.models import CustomerProfile
from accounts.roles import Role
from tests.browser.support import ROLE_START_PAGE, sign_in
from tests.factories import InteractionFactory, ItemFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def test_customer_on_a_phone_sees_her_data_without_sideways_scrolling(page, person):
    # given a customer with a long-named purchase and a view
    gable = person(Role.CUSTOMER, email="gable@example.com")
    profile = CustomerProfile.objects.get(user=gable)
    InteractionFactory(
        customer=profile, item=ItemFactory(name="Stone-ground wheat sourdough, large family loaf")
    )
    InteractionFactory(customer=profile, item=ItemFactory(name="Dark rye"), kind="view")
    page.set_viewport_size(PHONE)

    # when she signs in on her phone
    sign_in(page, "gable@example.com")
    expect(page).to_have_url(ROLE_START_PAGE[Role.CUSTOMER])

    # then each kind of data is on screen, one after the other, and the page fits the width
    purchases = page.locator(
        ".data-category", has=page.get_by_role("heading", name="Purchase history")
    )
    browsing = page.locator(
        ".data-category", has=page.get_by_role("heading", name="Browsing history")
    )
    expect(purchases).to_be_visible()
    expect(purchases).to_contain_text("1 purchase")
    expect(purchases).to_contain_text("Stone-ground wheat sourdough, large family loaf")
    expect(browsing).to_contain_text("Dark rye")
    widths = page.evaluate(
        "() => ({page: document.documentElement.scrollWidth,"
        " viewport: document.documentElement.clientWidth,"
        " cards: Math.max(...[...document.querySelectorAll('.data-category')]"
        ".map(el => el.getBoundingClientRect().right))})"
    )
    assert widths["page"] <= widths["viewport"], widths
    assert widths["cards"] <= widths["viewport"], widths
    # the navigation wraps instead of pushing the page wider
    expect(page.get_by_role("link", name="My data & choices")).to_be_in_viewport()
    expect(page.get_by_role("button", name="Sign out")).to_be_in_viewport()
