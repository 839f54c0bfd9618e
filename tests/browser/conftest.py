"""Real Chromium (Debian's package) driven by Playwright against pytest-django's live_server.

Every test here is marked `browser`. Without /usr/bin/chromium the tests skip, unless
REQUIRE_BROWSER=1 (as in CI), where a missing browser is a failure.
"""

import importlib
import os
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps

from accounts.roles import Role

# Playwright's sync API keeps an event loop running in this thread; Django would
# otherwise refuse ORM calls made by the tests themselves.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# How long a step may wait for the page (a wait limit, never asserted on).
STEP_TIMEOUT_MS = 20_000


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        reason = (
            f"{CHROMIUM} is missing: install Debian's chromium "
            "(apt-get install chromium) to run the browser tests"
        )
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=STEP_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def registry_rows(transactional_db):
    """Data categories and purposes, as the data migration writes them.

    Transactional tests empty every table afterwards, so each test writes them again.
    """
    migration = importlib.import_module("personalization.migrations.0002_registry")
    migration.load_registry(apps, None)


@pytest.fixture
def page(browser, live_server, registry_rows):
    """A fresh browser tab (own cookies) on the live server, at desktop size."""
    context = browser.new_context(
        base_url=live_server.url, locale="en-GB", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(STEP_TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def person(make_user):
    """Someone with `role` who has confirmed their email address and can sign in."""

    def make(role: Role, **kwargs):
        user = make_user(role, **kwargs)
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        return user

    return make
