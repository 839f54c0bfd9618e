"""/me/preferences/: personalization mode, liked categories, never-recommend, notes."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import CustomerProfile, PersonalizationMode
from accounts.roles import Role
from accounts.selectors import effective_mode
from core.errors import ApplicationError
from personalization.dashboard.services import NOTES_MAX_LENGTH, customer_preferences_update
from tests.factories import AttributeFactory, CategoryFactory

pytestmark = pytest.mark.django_db

URL = "/me/preferences/"


@pytest.fixture
def customer(make_user, client):
    user = make_user(Role.CUSTOMER)
    client.force_login(user)
    return CustomerProfile.objects.get(user=user)


@pytest.fixture
def catalog(db):
    for slug, name in [("breads", "Breads"), ("cakes", "Cakes"), ("drinks", "Drinks")]:
        CategoryFactory(slug=slug, name=name)
    for code in ["contains:gluten", "contains:nuts", "contains:none", "alcohol", "vegan"]:
        AttributeFactory(code=code)


def squash(text: str) -> str:
    return " ".join(text.split())


def field_errors(html: str, field: str) -> str:
    """The error list rendered right below the field (Django's `<id>_error`)."""
    match = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    assert match, f"no errors next to {field}"
    return squash(re.sub(r"<[^>]+>", " ", match.group(1)))


def messages_shown(html: str) -> str:
    match = re.search(r'<ul class="messages">(.*?)</ul>', html, re.S)
    return squash(re.sub(r"<[^>]+>", " ", match.group(1))) if match else ""


def save_mode(client, mode: str, paused_until: str = ""):
    return client.post(URL, {"form": "mode", "mode": mode, "paused_until": paused_until})


def test_the_page_offers_every_mode_with_what_it_means(client, customer):
    html = squash(client.get(URL).content.decode())

    for label in ["On", "Paused", "Off", "None"]:
        assert f">{label}</label>" in html
    assert "You&#x27;ll see exactly what any visitor sees" in html
    assert "No recommendations at all." in html
    assert 'value="on" id="id_mode_0" checked' in html


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("off", "Personalization is off: you&#x27;ll see exactly what any visitor sees."),
        ("none", "Recommendations are switched off: you&#x27;ll see none at all."),
        ("on", "Personalization is on: suggestions are picked for you"),
    ],
)
def test_mode_changes_are_saved_and_said(client, customer, mode, message):
    response = save_mode(client, mode)

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.personalization_mode == mode
    assert message in squash(client.get(response["Location"]).content.decode())


def test_pause_until_a_future_date(client, customer):
    until = timezone.localdate() + timedelta(days=10)

    response = save_mode(client, "paused", until.isoformat())

    customer.refresh_from_db()
    assert (customer.personalization_mode, customer.paused_until) == ("paused", until)
    html = squash(client.get(response["Location"]).content.decode())
    resumes = date_format(until + timedelta(days=1), "DATE_FORMAT")
    assert f"Personalization is paused until {date_format(until, 'DATE_FORMAT')}." in html
    assert f"It switches back on by itself on {resumes}." in html
    assert f'value="{until.isoformat()}"' in html


@pytest.mark.parametrize(
    ("days", "message"),
    [(-3, "The resume date must be in the future."), (0, "The resume date must be in the future.")],
)
def test_a_pause_date_not_in_the_future_is_refused_next_to_the_field(
    client, customer, days, message
):
    response = save_mode(
        client, "paused", (timezone.localdate() + timedelta(days=days)).isoformat()
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert field_errors(html, "paused_until") == message
    assert 'aria-invalid="true"' in html
    assert "Nothing was saved" in html
    assert f'<a href="#id_paused_until">Paused until: {message}</a>' in html
    customer.refresh_from_db()
    assert customer.personalization_mode == PersonalizationMode.ON
    assert customer.paused_until is None


def test_a_pause_without_a_date_asks_for_one(client, customer):
    response = save_mode(client, "paused")

    assert response.status_code == 400
    assert field_errors(response.content.decode(), "paused_until") == (
        "Choose the date personalization resumes."
    )


def test_an_unknown_mode_is_refused_next_to_the_choices(client, customer):
    response = save_mode(client, "always")

    assert response.status_code == 400
    assert "Select a valid choice." in field_errors(response.content.decode(), "mode")
    customer.refresh_from_db()
    assert customer.personalization_mode == PersonalizationMode.ON


def test_a_pause_ends_by_itself(client, customer):
    today = timezone.localdate()
    save_mode(client, "paused", (today + timedelta(days=1)).isoformat())
    customer.refresh_from_db()
    assert effective_mode(profile=customer, today=today) is PersonalizationMode.PAUSED
    assert effective_mode(profile=customer, today=today + timedelta(days=1)) is (
        PersonalizationMode.PAUSED
    )

    # the day after the last paused day, it is on again without anyone doing anything
    assert effective_mode(profile=customer, today=today + timedelta(days=2)) is (
        PersonalizationMode.ON
    )
    CustomerProfile.objects.filter(pk=customer.pk).update(paused_until=today - timedelta(days=1))
    html = squash(client.get(URL).content.decode())
    assert 'value="on" id="id_mode_0" checked' in html


def test_restriction_choices_are_labelled_and_only_things_to_avoid(client, customer, catalog):
    html = squash(client.get(URL).content.decode())

    for code, label in [
        ("contains:gluten", "Gluten"),
        ("contains:nuts", "Nuts"),
        ("alcohol", "Alcohol"),
    ]:
        assert re.search(rf'value="{code}" id="id_restrictions_\d+"><label [^>]+>{label}<', html)
    assert 'value="contains:none"' not in html
    assert 'value="vegan"' not in html
    assert re.search(r'value="breads" id="id_liked_categories_\d+"><label [^>]+>Breads<', html)


def test_likes_restrictions_and_notes_are_saved_and_said(client, customer, catalog):
    response = client.post(
        URL,
        {
            "form": "preferences",
            "liked_categories": ["breads", "cakes"],
            "restrictions": ["contains:gluten", "contains:nuts"],
            "notes_for_staff": "  Please no raisins.  ",
        },
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.liked_categories == ["breads", "cakes"]
    assert customer.restrictions == ["contains:gluten", "contains:nuts"]
    assert customer.notes_for_staff == "Please no raisins."
    html = squash(client.get(response["Location"]).content.decode())
    assert (
        "Categories you like: Breads, Cakes. Never recommended: Gluten, Nuts. "
        "Your note for staff is saved." in html
    )
    # the saved choices are ticked when she comes back
    assert re.search(r'value="contains:gluten" id="id_restrictions_\d+" checked', html)
    assert "Please no raisins.</textarea>" in html


def test_only_what_changed_is_said(client, customer, catalog):
    customer.restrictions = ["contains:gluten"]
    customer.liked_categories = ["breads"]
    customer.save()

    response = client.post(
        URL,
        {"form": "preferences", "liked_categories": ["breads"], "notes_for_staff": ""},
        follow=True,
    )

    assert messages_shown(response.content.decode()) == "Never recommended: nothing."
    customer.refresh_from_db()
    assert customer.restrictions == []

    response = client.post(
        URL, {"form": "preferences", "liked_categories": ["breads"]}, follow=True
    )
    assert "Nothing changed." in response.content.decode()


def test_unknown_choices_are_refused_next_to_the_field(client, customer, catalog):
    response = client.post(
        URL,
        {
            "form": "preferences",
            "liked_categories": ["breads", "weapons"],
            "restrictions": ["contains:gluten"],
        },
    )

    assert response.status_code == 400
    assert "Select a valid choice. weapons" in field_errors(
        response.content.decode(), "liked_categories"
    )
    customer.refresh_from_db()
    assert customer.liked_categories == []
    assert customer.restrictions == []


def test_notes_over_the_limit_are_refused_next_to_the_field(client, customer, catalog):
    response = client.post(
        URL,
        {"form": "preferences", "notes_for_staff": "x" * (NOTES_MAX_LENGTH + 1)},
    )

    assert response.status_code == 400
    assert "at most 1000 characters" in field_errors(response.content.decode(), "notes_for_staff")
    assert f'maxlength="{NOTES_MAX_LENGTH}"' in response.content.decode()
    customer.refresh_from_db()
    assert customer.notes_for_staff == ""


def test_the_service_refuses_what_the_form_would_not_offer(customer, catalog):
    with pytest.raises(ApplicationError) as error:
        customer_preferences_update(
            profile=customer, liked_categories=[], restrictions=["vegan"], notes_for_staff=""
        )
    assert error.value.field == "restrictions"

    with pytest.raises(ApplicationError) as error:
        customer_preferences_update(
            profile=customer, liked_categories=["toys"], restrictions=[], notes_for_staff=""
        )
    assert error.value.field == "liked_categories"

    with pytest.raises(ApplicationError) as error:
        customer_preferences_update(
            profile=customer,
            liked_categories=[],
            restrictions=[],
            notes_for_staff="x" * (NOTES_MAX_LENGTH + 1),
        )
    assert error.value.field == "notes_for_staff"
    customer.refresh_from_db()
    assert (customer.liked_categories, customer.restrictions) == ([], [])


def test_an_unrecognised_form_saves_nothing(client, customer):
    response = client.post(URL, {"form": "something-else", "mode": "off"}, follow=True)

    assert "Nothing was saved: the form was not recognised." in response.content.decode()
    customer.refresh_from_db()
    assert customer.personalization_mode == PersonalizationMode.ON
