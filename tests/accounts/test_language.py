"""The language switch: in every page's footer, remembered per person and per visitor."""

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import User
from accounts.roles import Role

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory


def page_language(response) -> str:
    match = re.search(r'<html lang="([^"]+)"', response.content.decode())
    assert match, "the page has no lang attribute"
    return match.group(1)


def notice_read(user: User) -> User:
    """The customer has read the current privacy notice (or /me/ asks them to first)."""
    from accounts.models import CustomerProfile
    from personalization.consent.notices import notice_acknowledge, notice_current

    notice = notice_current()
    if notice is not None:
        notice_acknowledge(profile=CustomerProfile.objects.get(user=user), version=notice.version)
    return user


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
    user = notice_read(make_user(Role.CUSTOMER))
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
    user = notice_read(verified_user(make_user(Role.CUSTOMER)))
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
    user = notice_read(make_user(Role.CUSTOMER, language="de"))
    client = Client()
    client.force_login(user)
    assert page_language(client.get("/me/")) == "de"

    switch(client, "en-gb", next_url="/me/")

    user.refresh_from_db()
    assert user.language == "en-gb"
    assert page_language(client.get("/me/")) == "en-gb"


# Informal address ("du") anywhere in a German page's main text is a bug.
INFORMAL = re.compile(r"\b(du|dich|dir|dein|deine|deinen|deinem|deiner|deines)\b", re.I)


def main_text(response) -> str:
    html = response.content.decode()
    main = re.search(r"<main.*?</main>", html, re.S)
    assert main, "the page has no <main>"
    return " ".join(re.sub(r"<[^>]+>", " ", main.group(0)).split())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "german"),
    [
        ("account_login", ["Anmelden", "Passwort vergessen?", "Anmeldecode senden"]),
        ("account_signup", ["Registrieren", "Sie haben schon ein Konto?"]),
        ("account_reset_password", ["Geben Sie unten Ihre E-Mail-Adresse ein"]),
    ],
)
def test_a_german_browser_gets_the_sign_in_pages_in_formal_german(url, german):
    response = Client(HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9").get(reverse(url))

    text = main_text(response)
    assert page_language(response) == "de"
    for words in german:
        assert words in text
    assert not INFORMAL.search(text), INFORMAL.search(text)


@pytest.mark.django_db
def test_the_transparency_page_and_its_footer_are_german_for_a_german_browser():
    response = Client(HTTP_ACCEPT_LANGUAGE="de").get("/transparency/")

    html = response.content.decode()
    assert "Wie wir KI einsetzen" in main_text(response)
    assert "Was die KI tut" in main_text(response)
    assert "Sprache:" in html
    assert "Zum Inhalt springen" in html
    assert "What the AI does" not in html


@pytest.mark.django_db
def test_a_customer_who_chose_german_reads_her_page_and_dates_in_german(make_user):
    from datetime import UTC, datetime

    from accounts.models import CustomerProfile
    from tests.factories import InteractionFactory, ItemFactory

    user = notice_read(make_user(Role.CUSTOMER, language="de"))
    profile = CustomerProfile.objects.get(user=user)
    InteractionFactory(
        customer=profile,
        item=ItemFactory(name="Roggenbrot"),
        occurred_at=datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
    )
    client = Client()
    client.force_login(user)

    response = client.get(reverse("me:dashboard"))
    text = main_text(response)

    assert "Meine Daten und Entscheidungen" in text
    # the data categories (stored rows, translated on the page) and the section's menu
    assert "Kaufverlauf" in text and "Purchase history" not in text
    assert ">Übersicht</a>" in response.content.decode()
    assert "Was wir über Sie wissen" in text
    assert "1 Kauf" in text
    assert "Roggenbrot, 20. November 2026" in text
    assert not INFORMAL.search(text)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "url", "heading"),
    [
        (Role.STAFF, "staff:dashboard", "Mitarbeiterbereich"),
        (Role.OWNER, "owner:dashboard", "Inhaberbereich"),
    ],
)
def test_staff_and_owner_consoles_are_german_too(make_user, role, url, heading):
    user = make_user(role, language="de")
    client = Client()
    client.force_login(user)

    response = client.get(reverse(url))

    assert response.status_code == 200
    assert page_language(response) == "de"
    assert heading in main_text(response)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "subject"),
    [("de", "Wir haben Ihre Anfrage erhalten"), ("", "We received your request")],
)
def test_data_request_emails_are_written_in_the_language_the_customer_chose(
    make_user, django_capture_on_commit_callbacks, language, subject
):
    from datetime import UTC, datetime

    from django.core import mail

    from accounts.models import CustomerProfile
    from personalization.datarights.emails import RECEIVED, notify_on_commit
    from personalization.models import DataRequest, DataRequestKind

    # given a customer who chose German on the switch (or nothing), and a worker in English
    user = make_user(Role.CUSTOMER, language=language)
    profile = CustomerProfile.objects.get(user=user)
    moment = datetime(2026, 12, 1, 17, 55, tzinfo=UTC)
    request = DataRequest.objects.create(
        customer=profile,
        customer_ref=profile.pk,
        kind=DataRequestKind.EXPORT,
        requested_at=moment,
        due_at=moment,
    )

    # when the step's email is composed outside any page
    with translation.override("en-gb"), django_capture_on_commit_callbacks(execute=True):
        notify_on_commit(request, RECEIVED, to=user.email)

    # then it reads in her language
    (message,) = mail.outbox
    assert subject in message.subject


@pytest.mark.django_db
def test_the_consent_page_names_purposes_and_data_in_german(make_user):
    user = notice_read(make_user(Role.CUSTOMER, language="de"))
    client = Client()
    client.force_login(user)

    text = main_text(client.get(reverse("me:consent")))

    assert "Empfehlungen auf der Website" in text
    assert "Kaufverlauf für Angebots-E-Mails" in text
    assert "Purchase history" not in text and "Offer emails" not in text
