"""allauth's pages render inside the shop's layout, with labelled fields and errors beside them."""

import html as html_lib
import re

import pytest
from django.urls import reverse

from tests.builders import confirmation_link, last_mail_to

pytestmark = pytest.mark.django_db


def title_of(html: str) -> str:
    found = re.search(r"<title>(.*?)</title>", html, re.DOTALL)
    assert found, "the page has no <title>"
    raw = found.group(1)
    return " ".join(html_lib.unescape(raw).split())


@pytest.mark.parametrize(
    ("url_name", "heading"),
    [
        ("account_login", "Sign in"),
        ("account_signup", "Sign up"),
        ("account_request_login_code", "Send me a sign-in code"),
        ("account_reset_password", "Password Reset"),
    ],
)
def test_account_pages_use_the_shop_layout(client, url_name, heading):
    html = client.get(reverse(url_name)).content.decode()

    assert title_of(html).endswith(" · Crumb & Co.")
    assert '<nav aria-label="Main">' in html
    assert '<div class="card narrow account">' in html
    assert re.search(rf"<h1>\s*{heading}\s*</h1>", html)
    # every visible input has a label pointing at it
    for input_id in re.findall(r'<input type="(?:email|password|text)"[^>]* id="([^"]+)"', html):
        assert f'<label for="{input_id}">' in html


def test_signup_errors_sit_next_to_their_fields(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "not-an-address", "password1": "short", "password2": "short"},
    )
    html = response.content.decode()

    assert response.status_code == 200
    email_field = re.search(r'<div class="field has-errors">(.*?)</div>', html, re.DOTALL).group(1)
    assert 'aria-invalid="true"' in email_field
    assert 'aria-describedby="id_email_error"' in email_field
    assert '<ul class="errorlist" id="id_email_error"><li>Enter a valid email address.' in (
        email_field
    )


def test_wrong_password_is_announced_above_the_form(client):
    response = client.post(
        reverse("account_login"), {"login": "nobody@example.com", "password": "wrong-one-123"}
    )

    assert '<div class="form-errors" role="alert">' in response.content.decode()


def test_email_confirmation_page_uses_the_shop_layout(client):
    client.post(
        reverse("account_signup"),
        {
            "email": "newcomer@example.com",
            "password1": "a-long-sourdough-passphrase",
            "password2": "a-long-sourdough-passphrase",
        },
    )

    html = client.get(confirmation_link(last_mail_to("newcomer@example.com"))).content.decode()

    assert title_of(html) == "Confirm Email Address · Crumb & Co."
    assert '<div class="card narrow account">' in html
    assert re.search(r'<button class="button"\s+type="submit">\s*Confirm\s*</button>', html)
