"""On a phone (390x844) every page fits the width: the header is one row (the shop's
name and a "Menu" disclosure), wide tables scroll inside a labelled box with a hint,
tick boxes are at least 24 px, audit charts keep their text at 11 px or more; a laptop
(1366x900) keeps the links in one row. A liked category shows in the list and in
"Why this?". Every page checked passes axe."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import CustomerProfile
from accounts.roles import Role
from audits import services as audit_services
from tests.browser.support import ROLE_START_PAGE, blocking_violations, sign_in
from tests.builders import bread_buyer, build_audit_shop
from tests.factories import InteractionFactory, ItemFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}

PAGE_WIDTHS = (
    "() => ({page: document.documentElement.scrollWidth,"
    " viewport: document.documentElement.clientWidth})"
)
# The rendered size of each visible chart text: its font size times the SVG's scale.
CHART_TEXT_SIZES = """() => [...document.querySelectorAll('svg.chart')]
  .filter(svg => svg.getBoundingClientRect().width > 0)
  .flatMap(svg => {
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    return [...svg.querySelectorAll('text')]
      .map(t => parseFloat(t.getAttribute('font-size')) * scale);
  })"""
# Tick boxes and radio buttons on the page: their rendered width and height.
TARGET_SIZES = """() => [...document.querySelectorAll('input[type=checkbox], input[type=radio]')]
  .filter(el => el.getBoundingClientRect().width > 0)
  .map(el => [el.id || el.name, el.getBoundingClientRect().width,
              el.getBoundingClientRect().height])"""


def fits_the_width(page) -> None:
    widths = page.evaluate(PAGE_WIDTHS)
    assert widths["page"] <= widths["viewport"], (page.url, widths)


@pytest.fixture
def reader(page, person):
    """A signed-in customer of a small bakery who buys wheat bread and croissants."""
    profile = bread_buyer(person(Role.CUSTOMER, email="reader@example.com"))
    return profile


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
    fits_the_width(page)
    cards = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('.data-category')]"
        ".map(el => el.getBoundingClientRect().right))"
    )
    assert cards <= PHONE["width"]


def test_the_header_is_one_row_with_a_menu_on_a_phone_and_links_on_a_laptop(page, reader):
    # given a customer on her phone
    page.set_viewport_size(PHONE)
    sign_in(page, "reader@example.com")
    header = page.locator(".site-header")
    menu = header.get_by_text("Menu", exact=True)

    # then the header is one row: the shop's name and the menu, the links folded away
    expect(menu).to_be_visible()
    brand, button = header.locator(".brand").bounding_box(), menu.bounding_box()
    assert brand and button and abs(brand["y"] - button["y"]) < 24
    assert header.bounding_box()["height"] <= 72
    expect(page.get_by_role("link", name="My data & choices")).to_be_hidden()
    assert blocking_violations(page) == []

    # when she opens the menu with the keyboard
    menu.focus()
    page.keyboard.press("Enter")

    # then the links and "Sign out" are on screen, and the page still fits
    expect(page.get_by_role("link", name="My data & choices")).to_be_in_viewport()
    expect(page.get_by_role("button", name="Sign out")).to_be_in_viewport()
    fits_the_width(page)
    assert blocking_violations(page) == []
    page.get_by_role("link", name="My data & choices").click()
    expect(page).to_have_url(ROLE_START_PAGE[Role.CUSTOMER])

    # and on a laptop the links stand in one row with the name, no menu
    page.set_viewport_size(DESKTOP)
    expect(menu).to_be_hidden()
    link = page.get_by_role("link", name="My data & choices")
    expect(link).to_be_visible()
    signout = page.get_by_role("button", name="Sign out")
    assert abs(link.bounding_box()["y"] - signout.bounding_box()["y"]) < 8
    assert blocking_violations(page) == []


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_customer_pages_fit_and_their_tick_boxes_are_big_enough(page, reader, size):
    page.set_viewport_size(size)
    sign_in(page, "reader@example.com")
    for path in (
        "/me/",
        "/me/recommendations/",
        "/me/consent/",
        "/me/history/",
        "/me/preferences/",
        "/me/requests/",
        "/me/notice/",
        "/transparency/",
    ):
        page.goto(path)
        fits_the_width(page)
        for name, width, height in page.evaluate(TARGET_SIZES):
            assert width >= 24 and height >= 24, (path, name, width, height)
        assert blocking_violations(page) == [], path


def test_a_wide_table_scrolls_in_a_labelled_box_with_a_hint_on_a_phone(page, reader):
    # given the privacy notice's table of what each version covers, on a phone
    page.set_viewport_size(PHONE)
    sign_in(page, "reader@example.com")
    page.goto("/me/notice/")
    box = page.locator(".table-wrap.is-scrollable").first

    # then the table scrolls inside its box, which says so and takes keyboard focus
    expect(box).to_have_attribute("role", "region")
    expect(box).to_have_attribute("tabindex", "0")
    expect(box).to_have_attribute(
        "aria-label",
        "The data we may hold, what it may be used for and how long it is kept: "
        "wide table, scrolls sideways",
    )
    hint = box.locator("xpath=following-sibling::p[1]")
    expect(hint).to_have_text("Swipe or scroll sideways to see the whole table.")
    expect(hint).to_be_visible()
    box.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "() => document.querySelector('.table-wrap.is-scrollable').scrollLeft > 0"
    )
    fits_the_width(page)
    assert blocking_violations(page) == []

    # and on a laptop the same table fits: no hint, no scrolling box
    page.set_viewport_size(DESKTOP)
    page.goto("/me/notice/")
    expect(page.locator(".table-hint.is-shown")).to_have_count(0)


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_audit_charts_keep_their_text_readable(page, person, size):
    # given an audit with a finding, its report open on the owner's screen
    owner = person(Role.OWNER, email="owner@example.com")
    build_audit_shop()
    run = audit_services.audit_run_execute(run=audit_services.audit_run_create(trigger="command"))
    page.set_viewport_size(size)
    sign_in(page, owner.email)
    page.goto(f"/owner/audits/{run.pk}/")
    page.get_by_text("Details: every figure, chart and table").click()

    # then every chart's text is at least 11 px, and the page fits the width
    sizes = page.evaluate(CHART_TEXT_SIZES)
    assert sizes and min(sizes) >= 11, min(sizes)
    fits_the_width(page)
    assert blocking_violations(page) == []


def test_liking_a_category_shows_in_the_list_with_its_reason(page, reader):
    # given a customer who buys bread and croissants and likes nothing yet
    page.set_viewport_size(PHONE)
    sign_in(page, "reader@example.com")

    # when she ticks "Drinks" among the categories she likes
    page.goto("/me/preferences/")
    page.get_by_role("group", name="Categories I like").get_by_label("Drinks").check()
    page.get_by_role("button", name="Save likes and restrictions").click()
    expect(page.get_by_role("status")).to_contain_text("Categories you like: Drinks.")

    # then her list shows a drink, and "Why this?" says she told us she likes drinks
    page.goto("/me/recommendations/")
    drink = page.locator(
        "li.recommendation",
        has=page.get_by_role("heading", name=re.compile("^(Flat White|Tea)$")),
    ).first
    expect(drink).to_be_visible()
    drink.get_by_text("Why this?").click()
    expect(drink.locator(".why-reasons")).to_contain_text("You told us you like Drinks")
    fits_the_width(page)
    assert blocking_violations(page) == []
