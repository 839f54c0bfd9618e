"""Issue 17's feedback and oversight flows in real Chromium, on a phone and a desktop:
"Not for me" keeps a full list, "I can't have this" becomes a restriction, each undone;
a reviewer reads the customer's note and decides a held item; the owner decides an
escalation. axe on every page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.models import CustomerProfile
from accounts.roles import Role
from personalization.models import Feedback, ReviewAction, ReviewStatus
from personalization.oversight import services as oversight
from personalization.recommending import services
from tests.browser.support import ROLE_START_PAGE, blocking_violations, sign_in
from tests.builders import ALL, Held, Shop, bought, grant, notice_read
from tests.factories import ItemFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture(params=[PHONE, DESKTOP], ids=["phone", "desktop"])
def shopper(request, page, person):
    """A signed-in customer who buys wheat bread and croissants, in a bakery with more
    than one list's worth of items."""
    page.set_viewport_size(request.param)
    shop = Shop()
    for n in range(8):
        loaf = ItemFactory(
            name=f"Farmhouse Loaf {n}",
            category=shop.wheat.category,
            attribute_codes=["contains:gluten", "vegan"],
            price=Decimal("4.00"),
        )
        for other in shop.crowd[n % 4 :: 4]:
            bought(other, loaf, times=2)
    user = person(Role.CUSTOMER, email="reader@example.com")
    profile = CustomerProfile.objects.get(user=user)
    grant(profile, *ALL)
    bought(profile, shop.wheat, times=5)
    bought(profile, shop.croissant, times=3)
    notice_read(profile)
    services.model_version_train(model_version=services.model_version_create(), with_metrics=False)
    sign_in(page, "reader@example.com")
    expect(page).to_have_url(ROLE_START_PAGE[Role.CUSTOMER])
    return profile


def card(page, name: str):
    return page.locator("li.recommendation", has=page.get_by_role("heading", name=name, exact=True))


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_not_for_me_keeps_a_full_list_and_undo_brings_the_item_back(page, shopper):
    page.goto("/me/recommendations/")
    cards = page.locator("li.recommendation")
    expect(cards).to_have_count(10)
    croissant = card(page, "Croissant")
    # the card: chips, one reason, a closed menu instead of three big buttons
    expect(croissant.locator(".chip-allergen")).to_have_text(["Gluten", "Milk"])
    expect(croissant.locator(".recommendation-sentence")).to_have_count(1)
    not_for_me = croissant.get_by_role("button", name="Not for me: Croissant")
    expect(not_for_me).to_be_hidden()
    assert fits_the_width(page)
    assert blocking_violations(page) == []

    croissant.locator(".feedback-menu > summary").click()
    expect(not_for_me).to_be_visible()
    box = not_for_me.bounding_box()
    assert box is not None and box["height"] >= 44
    assert blocking_violations(page) == []
    not_for_me.click()

    # still ten personalized suggestions, without the croissant, and an Undo
    done = page.locator(".feedback-done")
    expect(done).to_contain_text("Croissant is not for you")
    expect(cards).to_have_count(10)
    expect(card(page, "Croissant")).to_have_count(0)
    expect(page.get_by_text("Picked for you from what you allowed us to use")).to_be_visible()
    assert Feedback.objects.get(customer=shopper).kind == "not_for_me"
    assert fits_the_width(page)
    assert blocking_violations(page) == []

    done.get_by_role("button", name="Undo").click()
    expect(page.get_by_role("status")).to_contain_text("Croissant can be suggested to you again")
    expect(card(page, "Croissant")).to_have_count(1)
    expect(cards).to_have_count(10)
    assert not Feedback.objects.filter(customer=shopper).exists()


def test_i_cant_have_this_becomes_a_restriction_in_one_step_and_undo(page, shopper):
    page.goto("/me/recommendations/")
    croissant = card(page, "Croissant")
    croissant.locator(".feedback-menu > summary").click()
    croissant.get_by_role("link", name="I can't have this: Croissant").click()

    # asked what: the croissant's allergens, as choices
    expect(page.get_by_role("heading", level=1)).to_have_text("You can't have Croissant")
    expect(page.get_by_role("checkbox")).to_have_count(2)
    assert fits_the_width(page)
    assert blocking_violations(page) == []
    page.get_by_label("Gluten").check()
    page.get_by_role("button", name="Don't suggest it again").click()

    # the restriction is saved with the feedback; nothing with gluten is suggested
    expect(page.locator(".feedback-done")).to_contain_text(
        "Nothing containing Gluten will be suggested to you"
    )
    shopper.refresh_from_db()
    assert shopper.restrictions == ["contains:gluten"]
    expect(page.locator(".chip-allergen", has_text="Gluten")).to_have_count(0)
    expect(card(page, "Wheat Sourdough")).to_have_count(0)
    assert blocking_violations(page) == []

    # Undo restores both
    page.locator(".feedback-done").get_by_role("button", name="Undo").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Gluten is no longer on your never-recommend list"
    )
    expect(card(page, "Croissant")).to_have_count(1)
    shopper.refresh_from_db()
    assert shopper.restrictions == []
    assert not Feedback.objects.exists()


def test_a_reviewer_reads_the_customers_note_and_decides_a_held_item(page, person):
    held = Held()
    held.fan.notes_for_staff = "Buying for my mother: she only eats small pastries."
    held.fan.liked_categories = ["pastries"]
    held.fan.save(update_fields=["notes_for_staff", "liked_categories"])
    reviewer = person(Role.STAFF, email="staff@example.com")
    sign_in(page, reviewer.email)
    expect(page).to_have_url(ROLE_START_PAGE[Role.STAFF])
    page.goto(f"/staff/review/{held.cake.pk}/")

    # the same item open in a second tab, as after Back or a colleague's screen
    stale = page.context.new_page()
    stale.goto(f"/staff/review/{held.cake.pk}/")

    expect(page.locator(".customer-note")).to_have_text(
        "Buying for my mother: she only eats small pastries."
    )
    expect(page.locator(".customer-likes")).to_have_text("Pastries")
    expect(page.locator(".customer-view")).to_contain_text("Celebration Cake")
    assert blocking_violations(page) == []

    # the reasons follow the decision: no "Checked: not an issue" for a rejection
    page.get_by_label("Reject", exact=True).check()
    reason = page.get_by_label("Reason")
    offered = reason.locator("optgroup:not([disabled]) option")
    expect(offered).to_contain_text(["Too far above what the customer usually spends"])
    expect(offered.filter(has_text="not an issue")).to_have_count(0)
    reason.select_option("too_expensive")
    page.get_by_label("Note (optional)").fill("Her note says small pastries")
    page.get_by_role("button", name="Save the decision").click()
    expect(page.locator(".messages")).to_contain_text("Rejected: the customer will not see it.")
    held.cake.refresh_from_db()
    assert (held.cake.status, held.cake.decision, held.cake.decided_by) == (
        ReviewStatus.DECIDED,
        "reject",
        reviewer,
    )

    # the stale tab's form, sent now: told it was decided already, nothing changes
    stale.get_by_label("Approve", exact=True).check()
    stale.get_by_label("Reason").select_option("fits_customer")
    stale.get_by_role("button", name="Save the decision").click()
    expect(stale.locator(".messages")).to_contain_text("Already decided by you")
    expect(stale.locator(".review-decided")).to_contain_text("Decided by staff@example.com")
    assert blocking_violations(stale) == []
    held.cake.refresh_from_db()
    assert held.cake.decision == "reject"
    assert (
        ReviewAction.objects.filter(item=held.cake, action__in=("approved", "rejected")).count()
        == 1
    )


def test_the_owner_decides_an_escalation_from_the_owner_console(page, person):
    held = Held()
    staff = person(Role.STAFF, email="staff@example.com")
    oversight.review_escalate(user=staff, item_id=held.cake.pk, note="Is a £32 cake fair here?")
    owner = person(Role.OWNER, email="owner@example.com")
    sign_in(page, owner.email)
    expect(page).to_have_url(ROLE_START_PAGE[Role.OWNER])

    page.get_by_role(
        "link", name="1 review item is escalated to you and waits for your decision"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Escalated to you")
    expect(page.locator(".escalation-note")).to_contain_text("Is a £32 cake fair here?")
    assert blocking_violations(page) == []
    page.get_by_role("link", name=f"Decide #{held.cake.pk}").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(f"#{held.cake.pk}")
    page.get_by_label("Reject", exact=True).check()
    page.get_by_label("Reason").select_option("too_expensive")
    page.get_by_role("button", name="Save the decision").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Escalated to you")
    expect(page.locator(".messages")).to_contain_text("Rejected")
    expect(page.get_by_text("Nothing is escalated to you.")).to_be_visible()
    held.cake.refresh_from_db()
    assert (held.cake.status, held.cake.decided_by) == (ReviewStatus.DECIDED, owner)
