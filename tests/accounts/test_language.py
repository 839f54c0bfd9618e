"""The language switch: in every page's footer, remembered per person and per visitor."""

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory


def page_language(response) -> str:
    match = re.search(r'<html lang="([^"]+)"', response.content.decode())
    assert match, "the page has no lang attribute"
    return match.group(1)


def switch(client: Client, code: str, next_url: str = "/transparency/"):
    return client.post(reverse("set_language"), {"language": code, "next": next_url})


@pytest.mark.django_db
def test_every_page_has_the_switch_with_a_csrf_token_and_the_current_language_marked():
    response = Client().get("/transparency/")
    html = response.content.decode()
    form = re.search(r'<form class="language-switch".*?</form>', html, re.S)
    assert form, "no language switch on the page"
    assert 'name="csrfmiddlewaretoken"' in form.group(0)
    assert '<strong lang="en-gb" aria-current="true">English</strong>' in form.group(0)
    assert 'name="language" value="de" lang="de">Deutsch</button>' in form.group(0)
    assert 'name="next" value="/transparency/"' in form.group(0)


@pytest.mark.django_db
def test_a_visitor_who_switches_reads_german_from_then_on_and_an_english_browser_british():
    client = Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.8")
    assert page_language(client.get("/transparency/")) == "en-gb"

    response = switch(client, "de")

    assert response.status_code == 302
    assert response["Location"] == "/transparency/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    after = client.get("/transparency/")
    assert page_language(after) == "de"
    assert after["Content-Language"] == "de"


@pytest.mark.django_db
def test_the_switch_never_redirects_off_the_site_and_ignores_an_unknown_language():
    client = Client()

    response = switch(client, "xx", next_url="https://evil.example/")

    assert response.status_code == 302
    assert not response["Location"].startswith("https://evil.example")
    assert settings.LANGUAGE_COOKIE_NAME not in client.cookies


@pytest.mark.django_db
def test_the_switch_refuses_a_post_without_the_csrf_token():
    client = Client(enforce_csrf_checks=True)

    response = switch(client, "de")

    assert response.status_code == 403
    assert settings.LANGUAGE_COOKIE_NAME not in client.cookies


@pytest.mark.django_db
def test_a_signed_in_persons_choice_is_stored_and_follows_them_to_another_browser(make_user):
    user = make_user(Role.CUSTOMER)
    first = Client()
    first.force_login(user)

    switch(first, "de")

    user.refresh_from_db()
    assert user.language == "de"
    # another browser, one that prefers English, signed in as the same person
    second = Client(HTTP_ACCEPT_LANGUAGE="en-GB")
    second.force_login(user)
    response = second.get("/me/")
    assert page_language(response) == "de"
    # and the cookie is set in step, so the pages after signing out stay German
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"


@pytest.mark.django_db
def test_the_stored_language_applies_at_sign_in_and_stays_after_signing_out(
    make_user, verified_user
):
    user = verified_user(make_user(Role.CUSTOMER))
    User.objects.filter(pk=user.pk).update(language="de")
    client = Client(HTTP_ACCEPT_LANGUAGE="en-GB")
    assert page_language(client.get(reverse("account_login"))) == "en-gb"

    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})

    assert response.status_code == 302
    assert page_language(client.get("/me/")) == "de"
    client.post(reverse("account_logout"))
    assert page_language(client.get(reverse("account_login"))) == "de"


@pytest.mark.django_db
def test_switching_back_to_english_is_remembered_too(make_user):
    user = make_user(Role.CUSTOMER, language="de")
    client = Client()
    client.force_login(user)
    assert page_language(client.get("/me/")) == "de"

    switch(client, "en-gb", next_url="/me/")

    user.refresh_from_db()
    assert user.language == "en-gb"
    assert page_language(client.get("/me/")) == "en-gb"
