"""axe-core (bundled by axe-playwright-python) finds no serious or critical problems."""

import pytest
from playwright.sync_api import expect

from accounts.models import CustomerProfile
from accounts.roles import Role
from tests.browser.support import ROLE_START_PAGE, blocking_violations, sign_in
from tests.factories import InteractionFactory, ItemFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/", "Welcome to Crumb & Co."),
        ("/transparency/", "How we use AI"),
        ("/accounts/login/", "Sign in"),
        ("/accounts/signup/", "Sign up"),
        ("/accounts/login/code/", "Send me a sign-in code"),
        ("/accounts/password/reset/", "Password Reset"),
    ],
)
def test_public_pages_have_no_serious_accessibility_problems(page, path, heading):
    page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    # the site's stylesheet is applied, so colour contrast is checked on the real colours
    expect(page.locator(".site-header")).to_have_css("background-color", "rgb(31, 27, 22)")

    assert blocking_violations(page) == []


def test_login_form_with_errors_has_no_serious_accessibility_problems(page, person):
    customer = person(Role.CUSTOMER)
    sign_in(page, customer.email, password="not-the-password")
    expect(page.get_by_role("alert")).to_be_visible()

    assert blocking_violations(page) == []


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}]
)
def test_customer_page_has_no_serious_accessibility_problems(page, person, viewport):
    gable = person(Role.CUSTOMER, email="gable@example.com")
    profile = CustomerProfile.objects.get(user=gable)
    InteractionFactory(customer=profile, item=ItemFactory(name="Wheat sourdough"))
    page.set_viewport_size(viewport)
    sign_in(page, "gable@example.com")
    expect(page).to_have_url(ROLE_START_PAGE[Role.CUSTOMER])

    assert blocking_violations(page) == []


def test_the_checker_does_report_problems_on_our_pages(page):
    # guards the tests above against a checker that silently checks nothing (e.g. CSP)
    page.goto("/")
    page.evaluate(
        "() => { const p = document.createElement('p');"
        " p.textContent = 'Barely readable'; p.style.color = '#fbfaf5';"
        " document.querySelector('main').append(p); }"
    )

    assert any(line.startswith("color-contrast") for line in blocking_violations(page))
