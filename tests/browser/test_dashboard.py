"""The customer's dashboard in real Chromium: modes, removing history, keyboard, phone, axe."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import CustomerProfile, PersonalizationMode
from accounts.roles import Role
from personalization.models import Interaction
from tests.browser.support import ROLE_START_PAGE, blocking_violations, sign_in
from tests.factories import AttributeFactory, CategoryFactory, InteractionFactory, ItemFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
NOV_20 = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
# How many Tab presses a keyboard user may need to reach something on these pages.
MAX_TABS = 80


@pytest.fixture
def gable(page, person):
    """Mrs. Gable, signed in, with a short history and the shop's categories."""
    user = person(Role.CUSTOMER, email="gable@example.com")
    profile = CustomerProfile.objects.get(user=user)
    for slug in ["breads", "cakes", "drinks"]:
        CategoryFactory(slug=slug, name=slug.title())
    for code in ["contains:gluten", "contains:nuts", "alcohol", "vegan"]:
        AttributeFactory(code=code)
    wheat = ItemFactory(name="Stone-ground wheat sourdough, large family loaf")
    for week in range(1, 4):
        InteractionFactory(customer=profile, item=wheat, occurred_at=NOV_20 - timedelta(weeks=week))
    InteractionFactory(customer=profile, item=ItemFactory(name="Rye Sourdough"), occurred_at=NOV_20)
    InteractionFactory(customer=profile, item=ItemFactory(name="Dark rye"), kind="view")
    sign_in(page, "gable@example.com")
    expect(page).to_have_url(ROLE_START_PAGE[Role.CUSTOMER])
    return profile


def mode_of(profile) -> tuple[str, object]:
    profile.refresh_from_db()
    return profile.personalization_mode, profile.paused_until


def test_pause_until_a_date_then_off_then_none_through_the_form(page, gable):
    until = timezone.localdate() + timedelta(days=14)
    page.get_by_role("link", name="Change personalization").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your preferences")

    # pause until a date
    page.get_by_label("Paused", exact=True).check()
    page.get_by_label("Paused until").fill(until.isoformat())
    page.get_by_role("button", name="Save personalization mode").click()
    expect(page.get_by_role("status")).to_contain_text("Personalization is paused until")
    assert mode_of(gable) == (PersonalizationMode.PAUSED, until)
    expect(page.get_by_label("Paused", exact=True)).to_be_checked()

    # off: the same list as any visitor
    page.get_by_label("Off", exact=True).check()
    page.get_by_role("button", name="Save personalization mode").click()
    expect(page.get_by_role("status")).to_contain_text("you'll see exactly what any visitor sees")
    assert mode_of(gable) == (PersonalizationMode.OFF, None)

    # none: no recommendations at all
    page.get_by_label("None", exact=True).check()
    page.get_by_role("button", name="Save personalization mode").click()
    expect(page.get_by_role("status")).to_contain_text("you'll see none at all")
    assert mode_of(gable) == (PersonalizationMode.NONE, None)

    # and the overview says so
    page.get_by_role("link", name="Back to My data & choices").click()
    expect(page.locator(".mode-now")).to_have_text("Currently: None")


def test_a_pause_without_a_date_is_explained_next_to_the_field(page, gable):
    page.goto("/me/preferences/")

    page.get_by_label("Paused", exact=True).check()
    page.get_by_role("button", name="Save personalization mode").click()

    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Nothing was saved")
    summary.get_by_role("link", name="Paused until: Choose the date").click()
    date_field = page.get_by_label("Paused until")
    expect(date_field).to_be_in_viewport()
    expect(date_field).to_have_attribute("aria-invalid", "true")
    expect(date_field).to_have_accessible_description(
        re.compile("Choose the date personalization resumes.")
    )
    assert mode_of(gable) == (PersonalizationMode.ON, None)


def test_removing_a_history_item_and_undoing_it(page, gable):
    rye = Interaction.objects.get(customer=gable, item__name="Rye Sourdough")
    page.get_by_role("link", name="Your history").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your history")
    row = page.locator(f"#interaction-{rye.pk}")

    row.get_by_role("button", name="Remove from use").click()

    expect(page.get_by_role("status")).to_contain_text("is removed from use")
    expect(row).to_contain_text("Removed from use on")
    expect(row.get_by_role("button", name="Undo")).to_be_visible()
    rye.refresh_from_db()
    assert rye.excluded_at is not None

    # the overview no longer offers it as an example, and counts it as removed
    page.goto("/me/")
    purchases = page.locator(".data-category", has=page.get_by_role("heading", name="Purchase"))
    expect(purchases).to_contain_text("4 purchases; 1 removed from use")
    expect(purchases).not_to_contain_text("Rye Sourdough")

    page.goto("/me/history/")
    row.get_by_role("button", name="Undo").click()
    expect(page.get_by_role("status")).to_contain_text("is back in use")
    rye.refresh_from_db()
    assert rye.excluded_at is None


def press_tab_until(page, target, *, key: str = "Tab") -> None:
    """Press Tab (only) until `target` has the keyboard focus."""
    handle = target.element_handle()
    for _ in range(MAX_TABS):
        page.keyboard.press(key)
        if page.evaluate("el => el === document.activeElement", handle):
            return
    raise AssertionError(f"{target} never got the focus by keyboard")


def test_everything_works_with_the_keyboard_only(page, gable):
    # from the overview to the preferences by keyboard
    press_tab_until(page, page.get_by_role("link", name="Change personalization"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your preferences")

    # the radio group is one Tab stop; arrows move the choice, as in every browser form
    press_tab_until(page, page.get_by_label("On", exact=True))
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Off", exact=True)).to_be_checked()
    press_tab_until(page, page.get_by_role("button", name="Save personalization mode"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Personalization is off")
    assert mode_of(gable) == (PersonalizationMode.OFF, None)

    # likes and restrictions: Space ticks a box, Enter saves
    press_tab_until(page, page.get_by_label("Breads"))
    page.keyboard.press("Space")
    press_tab_until(page, page.get_by_label("Gluten", exact=True))
    page.keyboard.press("Space")
    press_tab_until(page, page.get_by_label("Notes for our staff"))
    page.keyboard.type("No raisins, please.")
    press_tab_until(page, page.get_by_role("button", name="Save likes and restrictions"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text(
        "Categories you like: Breads. Never recommended: Gluten. Your note for staff is saved."
    )
    gable.refresh_from_db()
    assert (gable.liked_categories, gable.restrictions) == (["breads"], ["contains:gluten"])
    assert gable.notes_for_staff == "No raisins, please."

    # to the history, and remove the newest item with Space
    press_tab_until(page, page.get_by_role("link", name="Back to My data & choices"))
    page.keyboard.press("Enter")
    press_tab_until(page, page.get_by_role("link", name="Your history"))
    page.keyboard.press("Enter")
    press_tab_until(page, page.get_by_role("button", name="Remove from use").first)
    page.keyboard.press("Space")
    expect(page.get_by_role("status")).to_contain_text("is removed from use")
    assert Interaction.objects.filter(customer=gable, excluded_at__isnull=False).count() == 1

    # the page returns to the item, so the next Tab reaches its Undo button
    page.keyboard.press("Tab")
    undo = page.get_by_role("button", name="Undo")
    expect(undo).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("is back in use")
    assert not Interaction.objects.filter(customer=gable, excluded_at__isnull=False).exists()


@pytest.mark.parametrize("path", ["/me/", "/me/history/", "/me/preferences/"])
def test_phone_has_no_sideways_scrolling(page, gable, path):
    page.set_viewport_size(PHONE)
    page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    widths = page.evaluate(
        "() => ({page: document.documentElement.scrollWidth,"
        " viewport: document.documentElement.clientWidth,"
        " widest: Math.max(...[...document.querySelectorAll('main *')]"
        ".map(el => el.getBoundingClientRect().right))})"
    )
    assert widths["page"] <= widths["viewport"], widths
    assert widths["widest"] <= widths["viewport"], widths


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, PHONE])
def test_dashboard_pages_have_no_serious_accessibility_problems(page, gable, viewport):
    page.set_viewport_size(viewport)
    # one item removed, so the history shows both kinds of rows
    Interaction.objects.filter(customer=gable, item__name="Dark rye").update(
        excluded_at=timezone.now()
    )

    for path, heading in [
        ("/me/", "My data & choices"),
        ("/me/history/", "Your history"),
        ("/me/preferences/", "Your preferences"),
    ]:
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        assert blocking_violations(page) == [], path

    # and the preferences page showing an error next to a field
    page.get_by_label("Paused", exact=True).check()
    page.get_by_role("button", name="Save personalization mode").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert blocking_violations(page) == []
