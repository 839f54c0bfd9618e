"""A webhook's signing secret in real Chromium, at 1366x900 and on a phone: shown once,
hidden until "Show", with a copy button; delete and "send test" are on the webhook's
page. axe on each."""

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from personalization.models import Webhook
from tests.browser.support import blocking_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    "viewport", [{"width": 1366, "height": 900}, {"width": 390, "height": 844}]
)
def test_the_new_secret_stays_hidden_until_shown_and_can_be_copied(page, person, viewport):
    owner = person(Role.OWNER)
    # stored as made earlier (making one checks that the address resolves)
    hook = Webhook.objects.create(
        name="Till", url="https://till.example.com/hook", events=["consent.changed"], secret="s"
    )
    page.set_viewport_size(viewport)
    sign_in(page, owner.email)
    page.goto(f"/owner/webhooks/{hook.pk}/")
    expect(page.get_by_role("button", name="Send a test event")).to_be_visible()
    expect(page.get_by_role("link", name="Delete this webhook")).to_be_visible()

    page.get_by_role("button", name="Rotate the signing secret").click()

    field = page.get_by_label("Signing secret")
    expect(field).to_have_attribute("type", "password")
    secret = Webhook.objects.get(pk=hook.pk).secret
    assert field.input_value() == secret
    assert blocking_violations(page) == []
    page.get_by_role("button", name="Show").click()
    expect(field).to_have_attribute("type", "text")
    expect(page.get_by_role("button", name="Hide")).to_have_attribute("aria-pressed", "true")
    if viewport["width"] > 1000:
        # the whole secret in view on a desktop (on a phone: Copy takes all of it)
        assert field.evaluate("e => e.scrollWidth <= e.clientWidth")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy secret").click()
    expect(page.locator(".copy-state")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    assert blocking_violations(page) == []
