"""The owner's front door in real Chromium: grouped section navigation (open on a wide
screen, one closed line on a phone), the attention strip and a chart with history."""

import os
import re
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from playwright.sync_api import expect

from accounts.roles import Role
from governance import services as governance
from governance.models import Vendor
from personalization.demo import mode_history
from tests.browser.support import ROLE_START_PAGE, blocking_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
GROUPS = ("Trust", "Data", "AI governance", "Integrations")
# Where shots go when someone wants to look (FAIRSHARE_SHOTS=/some/folder).
SHOTS = os.environ.get("FAIRSHARE_SHOTS", "")


@pytest.fixture
def owner_home(page, person):
    """An owner with an overdue vendor review and half a year of mode history."""
    person(Role.OWNER, email="owner@example.com")
    today = timezone.localdate()
    governance.vendor_save(
        name="PostcodePal",
        service="Checks delivery addresses",
        receives="Postcodes only",
        dpa_status=Vendor.DpaStatus.REQUESTED,
        bias_answers="No model.",
        privacy_answers="Asked.",
        last_reviewed=today - timedelta(days=400),
        next_review=today - timedelta(days=35),
    )
    rows = mode_history(as_of=today, customers=40, paused=4, off=3, none=2, seed=1)
    governance.mode_snapshots_backfill(rows=[vars(row) for row in rows])
    sign_in(page, "owner@example.com")
    expect(page).to_have_url(ROLE_START_PAGE[Role.OWNER])
    return page


def shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)
        page.screenshot(path=f"{SHOTS}/{name}-top.png")


@pytest.mark.parametrize("size", ["desktop", "phone"])
@override_settings(DEFAULT_FROM_EMAIL="shop@localhost", SHOP_CONTACT_EMAIL="")
def test_the_owner_home_groups_the_pages_says_what_needs_the_owner_and_draws_history(
    owner_home, size
):
    page = owner_home
    page.set_viewport_size(PHONE if size == "phone" else DESKTOP)
    page.goto("/owner/")
    nav = page.get_by_role("navigation", name="This section")
    overview = nav.get_by_role("link", name="Overview", exact=True)

    if size == "phone":
        # One closed line before the content, naming the page one is on.
        menu = nav.locator("summary")
        expect(menu).to_have_text("Pages here: Overview")
        expect(overview).to_be_hidden()
        box = nav.bounding_box()
        assert box is not None and box["height"] <= 120, box
        menu.click()
    for group in GROUPS:
        expect(nav.get_by_text(group, exact=True)).to_be_visible()
    expect(overview).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name="Vendors")).to_be_visible()
    shot(page, f"owner-home-{size}")
    assert blocking_violations(page) == []

    # The attention strip: each item links to where the owner acts.
    strip = page.get_by_role("region", name="Needs you now")
    expect(
        strip.get_by_role("link", name="contact address is still shop@localhost")
    ).to_be_visible()
    vendors = strip.get_by_role("link", name="1 vendor review is overdue")
    expect(vendors).to_be_visible()

    # The pause/off chart has one point per month with a snapshot, joined by a line.
    chart = page.locator("#kpi-modes .trust-chart svg:visible")
    expect(chart).to_have_count(1)
    assert chart.locator(".chart-point.series-1").count() > 1
    expect(chart.locator("polyline.chart-line").first).to_be_attached()
    # Text on the chart stays readable: at least 11 px as drawn.
    smallest = chart.evaluate(
        "svg => Math.min(...[...svg.querySelectorAll('text')]"
        ".map(t => t.getBoundingClientRect().height))"
    )
    assert smallest >= 11, smallest
    if SHOTS:
        page.locator("#kpi-modes").screenshot(path=f"{SHOTS}/owner-modes-{size}.png")
    # The legend is whole (it wraps rather than being cut).
    expect(page.locator("#kpi-modes .chart-legend")).to_contain_text(
        "Off (same list as any visitor)"
    )

    vendors.click()
    expect(page).to_have_url(re.compile(r"/owner/vendors/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Vendor")
    nav = page.get_by_role("navigation", name="This section")
    if size == "phone":
        expect(nav.locator("summary")).to_have_text("Pages here: Vendors")
        nav.locator("summary").click()
    expect(nav.get_by_role("link", name="Vendors")).to_have_attribute("aria-current", "page")


@pytest.mark.parametrize(
    ("role", "email", "link"),
    [
        (Role.STAFF, "staff@example.com", "Review queue"),
        (Role.CUSTOMER, "shopper@example.com", "Consent"),
    ],
)
def test_staff_and_customer_section_menus_take_one_line_on_a_phone(page, person, role, email, link):
    person(role, email=email)
    page.set_viewport_size(PHONE)
    sign_in(page, email)
    expect(page).to_have_url(ROLE_START_PAGE[role])
    nav = page.get_by_role("navigation", name="This section")
    box = nav.bounding_box()
    assert box is not None and box["height"] <= 120, box
    expect(nav.get_by_role("link", name=link)).to_be_hidden()
    nav.locator("summary").click()
    nav.get_by_role("link", name=link).click()
    expect(page.get_by_role("navigation", name="This section").locator("summary")).to_have_text(
        f"Pages here: {link}"
    )
    assert blocking_violations(page) == []
