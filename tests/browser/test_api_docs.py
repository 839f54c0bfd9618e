"""The API docs (Swagger UI and ReDoc) work under the site's own Content Security Policy."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs before the page's own scripts (through DevTools, so the page's CSP does not
# apply to it) and records every report the browser makes of a blocked resource.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const blocked = event.blockedURI || "inline";
  window.__cspViolations.push(event.violatedDirective + " blocked " + blocked);
});
"""


def open_watched(page, path: str) -> list[str]:
    """Open `path` as a visitor would; returns the console errors seen (a live list)."""
    console_errors: list[str] = []

    def on_console(message) -> None:
        if message.type == "error":
            console_errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    response = page.goto(path)
    assert response.status == 200
    # the site's strict policy, not a loosened one
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy + ";"
    assert "unsafe-inline" not in policy
    assert "https:" not in policy
    return console_errors


def csp_violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations")


def test_swagger_ui_lists_the_operations_under_the_csp(page):
    console_errors = open_watched(page, "/api/docs/")

    expect(page.get_by_role("heading", name="Fairshare API")).to_be_visible()
    events = page.locator(".opblock-summary-path", has_text="/api/v1/events/")
    expect(events).to_be_visible()
    expect(page.get_by_text("/api/v1/customers/{external_id}/recommendations/")).to_be_visible()

    # opening an operation shows what it takes, drawn by the same scripts
    events.click()
    expect(page.get_by_role("button", name="Try it out")).to_be_visible()
    assert csp_violations(page) == []
    assert console_errors == []


def test_redoc_lists_the_operations_under_the_csp(page):
    console_errors = open_watched(page, "/api/redoc/")

    expect(page.get_by_role("heading", name="Fairshare API", level=1)).to_be_visible()
    # search runs in a worker ReDoc builds from a blob: URL
    page.get_by_placeholder("Search...").fill("batch of events")
    found = page.get_by_role("menuitem", name="Send a batch of events (idempotent on event_id)")
    expect(found.first).to_be_visible()
    found.first.click()
    operation = page.get_by_role("heading", name="Send a batch of events (idempotent on event_id)")
    expect(operation).to_be_visible()
    expect(page.get_by_text("/api/v1/events/", exact=True).first).to_be_visible()
    assert csp_violations(page) == []
    assert console_errors == []
