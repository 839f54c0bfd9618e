"""An owner makes a key for the till, copies it once, and revokes it."""

import pytest
from playwright.sync_api import expect
from rest_framework.test import APIClient

from accounts.roles import Role
from tests.browser.support import blocking_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def api_status(key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client.get("/api/v1/customers/nobody/consents/").status_code


def test_owner_makes_copies_and_revokes_a_key(page, person):
    owner = person(Role.OWNER)
    sign_in(page, owner.email)
    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("API keys")
    assert blocking_violations(page) == []

    page.get_by_label("Name").fill("till")
    page.get_by_label("read consent").check()
    page.get_by_role("button", name="Make key").click()
    expect(page.get_by_text("it is shown only this once")).to_be_visible()
    key = page.get_by_label("Key", exact=True).input_value()
    # the whole key in view, and a button that copies it
    field = page.get_by_label("Key", exact=True)
    assert field.evaluate("e => e.scrollWidth <= e.clientWidth")
    page.set_viewport_size({"width": 390, "height": 844})
    # on a phone too: the key wraps, nothing is cut off or scrolls sideways
    assert field.evaluate("e => e.scrollWidth <= e.clientWidth && e.scrollHeight <= e.clientHeight")
    assert blocking_violations(page) == []
    page.set_viewport_size({"width": 1366, "height": 900})
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy key").click()
    expect(page.locator(".copy-state")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == key
    assert api_status(key) == 404  # accepted; the customer simply does not exist
    assert blocking_violations(page) == []

    page.get_by_role("link", name="Back to API keys").click()
    row = page.locator("tr", has_text="till")
    expect(row).to_contain_text("read consent")
    expect(page.locator("main")).not_to_contain_text(key)
    # revoking asks first, saying what stops working
    row.get_by_role("link", name="Revoke the key till").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Revoke the key “till”?")
    assert api_status(key) == 404
    assert blocking_violations(page) == []
    page.get_by_role("button", name="Yes, revoke it").click()
    expect(page.get_by_text("Key “till” revoked")).to_be_visible()
    assert api_status(key) == 401
