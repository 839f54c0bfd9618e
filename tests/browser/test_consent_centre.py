"""The consent centre in real Chromium, at 1366x900 and on a phone: where each ticked box
came from, "Refuse all" as easy as "Allow all", a save bar that stays in view and says
when ticks are unsaved, and a warning before leaving with unsaved ticks. axe on each."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import CustomerProfile
from accounts.roles import Role
from personalization.consent import notices
from personalization.consent.selectors import consent_grid
from personalization.consent.services import ConsentChange, consent_set
from personalization.registry import MARKETING, PERSONALIZATION, PURCHASE_HISTORY
from tests.browser.support import blocking_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def customer_who_read_the_notice(person, **kwargs):
    notices.notice_ensure_initial()
    user = person(Role.CUSTOMER, **kwargs)
    notices.notice_acknowledge(profile=CustomerProfile.objects.get(user=user), version=1)
    return user


@pytest.mark.parametrize(
    "viewport", [{"width": 1366, "height": 900}, {"width": 390, "height": 844}]
)
def test_the_customer_sees_where_each_choice_came_from_and_decides_all_at_once(
    page, person, viewport
):
    user = customer_who_read_the_notice(person, email="imported@example.com")
    profile = CustomerProfile.objects.get(user=user)
    # given: the shop's import brought a "yes" for personalization from purchases
    consent_set(
        customer=profile,
        changes=[ConsentChange(PERSONALIZATION, PURCHASE_HISTORY, True)],
        method="import",
        actor="system:import",
        notice_version=1,
    )
    page.set_viewport_size(viewport)
    sign_in(page, user.email)
    page.goto("/me/consent/")

    # the ticked box says it was the shop's import, and the heading does not deny it
    imported = page.get_by_label("Purchase history for On-site recommendations", exact=True)
    expect(imported).to_be_checked()
    origin = page.locator(f"#{imported.get_attribute('aria-describedby')}")
    expect(origin).to_have_text(re.compile(r"^Set by the shop's import on .+\.$"))
    expect(page.locator("#consent-origin-note")).to_contain_text("Some boxes are already ticked")
    expect(page.get_by_text("Nothing is used unless you tick it")).to_have_count(0)
    # unticked boxes say nobody decided yet
    other = page.get_by_label("Purchase history for Offer emails", exact=True)
    expect(page.locator(f"#{other.get_attribute('aria-describedby')}")).to_have_text(
        "Not decided yet: off until you tick it."
    )
    assert blocking_violations(page) == []

    # "Allow all" and "Refuse all" look the same and sit side by side
    allow = page.get_by_role("button", name="Allow all")
    refuse = page.get_by_role("button", name="Refuse all")
    expect(allow).to_be_visible()
    expect(refuse).to_be_visible()
    assert allow.get_attribute("class") == refuse.get_attribute("class")

    # a tick changes the save bar's state; the bar is on screen without scrolling down
    save_state = page.locator("#consent-savestate")
    expect(save_state).to_have_text("No unsaved changes.")
    other.check()
    expect(save_state).to_have_text("You have unsaved changes.")
    box = page.get_by_role("button", name="Save my choices").bounding_box()
    assert box is not None and box["y"] + box["height"] <= viewport["height"]

    # leaving now asks first; staying keeps the tick
    dialogs = []

    def dismiss(dialog):
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.get_by_role("link", name="How we use AI").first.click(no_wait_after=True)
    page.wait_for_timeout(500)  # a wait for the dialog, never asserted on
    assert dialogs == ["beforeunload"]
    expect(other).to_be_checked()
    page.remove_listener("dialog", dismiss)

    # refuse all: every box off, saved at once, each now "You chose this"
    refuse.click()
    expect(page.get_by_role("status").first).to_contain_text("Your choices are saved.")
    for checkbox in page.get_by_role("checkbox").all():
        expect(checkbox).not_to_be_checked()
    expect(page.locator(f"#{imported.get_attribute('aria-describedby')}")).to_have_text(
        re.compile(r"^You chose this on .+\.$")
    )
    assert not any(consent_grid(customer=profile).values())
    assert blocking_violations(page) == []

    # allow all: every box on
    page.get_by_role("button", name="Allow all").click()
    for checkbox in page.get_by_role("checkbox").all():
        expect(checkbox).to_be_checked()
    grid = consent_grid(customer=profile)
    assert grid[(MARKETING, PURCHASE_HISTORY)] and grid[(PERSONALIZATION, PURCHASE_HISTORY)]
