"""Only a customer's own data: sign-in required, no profile from the URL or form, CSRF."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import CustomerProfile, PersonalizationMode
from accounts.roles import Role
from tests.factories import InteractionFactory

pytestmark = pytest.mark.django_db

PAGES = ["/me/", "/me/history/", "/me/preferences/"]


@pytest.fixture
def gable(make_user):
    user = make_user(Role.CUSTOMER)
    return user, CustomerProfile.objects.get(user=user)


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={path}"


def test_anonymous_posts_change_nothing_and_go_to_sign_in(client, gable):
    _, profile = gable
    loaf = InteractionFactory(customer=profile)

    remove = client.post(reverse("me:history_remove", args=[loaf.pk]))
    mode = client.post("/me/preferences/", {"form": "mode", "mode": "none"})

    for response in (remove, mode):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    loaf.refresh_from_db()
    profile.refresh_from_db()
    assert loaf.excluded_at is None
    assert profile.personalization_mode == PersonalizationMode.ON


@pytest.mark.parametrize("role", [Role.STAFF, Role.OWNER])
@pytest.mark.parametrize("path", PAGES)
def test_staff_and_owners_without_a_profile_get_a_clear_page(client, make_user, role, path):
    client.force_login(make_user(role))

    response = client.get(path)

    assert response.status_code == 200
    assert "There is no customer record linked to this login." in response.content.decode()


def test_staff_cannot_remove_a_customers_item_through_the_customer_pages(client, make_user, gable):
    _, profile = gable
    loaf = InteractionFactory(customer=profile)
    client.force_login(make_user(Role.STAFF))

    response = client.post(reverse("me:history_remove", args=[loaf.pk]))

    assert "There is no customer record linked to this login." in response.content.decode()
    loaf.refresh_from_db()
    assert loaf.excluded_at is None


def test_the_profile_comes_from_the_login_never_from_the_form(client, make_user, gable):
    user, profile = gable
    other = CustomerProfile.objects.get(user=make_user(Role.CUSTOMER))
    client.force_login(user)

    client.post(
        "/me/preferences/",
        {"form": "mode", "mode": "none", "customer": other.pk, "profile": other.pk},
    )

    profile.refresh_from_db()
    other.refresh_from_db()
    assert profile.personalization_mode == PersonalizationMode.NONE
    assert other.personalization_mode == PersonalizationMode.ON


def csrf_token(client, path: str) -> str:
    html = client.get(path).content.decode()
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found, f"{path} has no CSRF token field"
    return found.group(1)


def test_every_form_needs_the_csrf_token(gable):
    user, profile = gable
    loaf = InteractionFactory(customer=profile)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    posts = [
        (reverse("me:history_remove", args=[loaf.pk]), {}),
        (reverse("me:history_restore", args=[loaf.pk]), {}),
        ("/me/preferences/", {"form": "mode", "mode": "off"}),
        ("/me/preferences/", {"form": "preferences", "notes_for_staff": "Hello"}),
    ]

    # without the token: refused, nothing changed
    for path, data in posts:
        assert client.post(path, data).status_code == 403, path
    loaf.refresh_from_db()
    profile.refresh_from_db()
    assert loaf.excluded_at is None
    assert (profile.personalization_mode, profile.notes_for_staff) == ("on", "")

    # with the token the pages put in their forms: accepted
    for path, data in posts:
        token = csrf_token(client, reverse("me:history") if "history" in path else path)
        response = client.post(path, {**data, "csrfmiddlewaretoken": token})
        assert response.status_code == 302, path
    profile.refresh_from_db()
    assert (profile.personalization_mode, profile.notes_for_staff) == ("off", "Hello")


@pytest.mark.parametrize("path", PAGES)
def test_every_page_puts_the_csrf_token_in_every_form(client, gable, path):
    user, profile = gable
    InteractionFactory(customer=profile)
    client.force_login(user)

    html = client.get(path).content.decode()

    forms = re.findall(r'<form method="post".*?</form>', html, re.S)
    assert forms
    for form in forms:
        assert 'name="csrfmiddlewaretoken"' in form
