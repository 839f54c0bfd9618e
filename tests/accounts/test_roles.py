"""Who may open which page, and what each role's navigation offers."""

import pytest
from django.urls import reverse

from accounts.models import CustomerProfile
from accounts.roles import Role
from accounts.selectors import user_role
from tests.factories import InteractionFactory, ItemFactory

pytestmark = pytest.mark.django_db

ME, STAFF, OWNER = "/me/", "/staff/", "/owner/"


@pytest.mark.parametrize("path", [ME, STAFF, OWNER])
def test_anonymous_visitors_are_sent_to_sign_in(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={path}"


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.CUSTOMER, {ME: 200, STAFF: 403, OWNER: 403}),
        (Role.STAFF, {ME: 200, STAFF: 200, OWNER: 403}),
        (Role.OWNER, {ME: 200, STAFF: 200, OWNER: 200}),
    ],
)
def test_role_access_matrix(client, make_user, role, expected):
    client.force_login(make_user(role))

    seen = {path: client.get(path).status_code for path in expected}

    assert seen == expected


@pytest.mark.parametrize(
    ("role", "start_page"),
    [
        (Role.CUSTOMER, "me:dashboard"),
        (Role.STAFF, "staff:dashboard"),
        (Role.OWNER, "owner:dashboard"),
    ],
)
def test_home_sends_signed_in_people_to_their_role_page(client, make_user, role, start_page):
    user = make_user(role)
    client.force_login(user)

    response = client.get(reverse("home"))

    assert user_role(user=user) is role
    assert response.status_code == 302
    assert response["Location"] == reverse(start_page)


def test_home_is_public_for_visitors(client):
    response = client.get(reverse("home"))

    assert response.status_code == 200
    assert "Sign in" in response.content.decode()


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        (Role.CUSTOMER, ["My data &amp; choices"], ["Staff console", "Owner console", "Admin"]),
        (Role.STAFF, ["Staff console"], ["My data &amp; choices", "Owner console", "Admin"]),
        (Role.OWNER, ["Staff console", "Owner console", "Admin"], ["My data &amp; choices"]),
    ],
)
def test_navigation_offers_only_the_roles_pages(client, make_user, role, shown, hidden):
    client.force_login(make_user(role))

    nav = client.get(reverse("transparency")).content.decode().split("</nav>")[0]

    for label in shown:
        assert label in nav
    for label in hidden:
        assert label not in nav
    assert "Sign out" in nav


def test_a_customer_never_sees_another_customers_interactions(client, make_user):
    # given two customers with different histories
    gable, neighbour = make_user(Role.CUSTOMER), make_user(Role.CUSTOMER)
    gable_profile = CustomerProfile.objects.get(user=gable)
    neighbour_profile = CustomerProfile.objects.get(user=neighbour)
    InteractionFactory(customer=gable_profile, item=ItemFactory(name="Wheat sourdough"))
    InteractionFactory(customer=neighbour_profile, item=ItemFactory(name="Gluten-free loaf"))
    InteractionFactory(
        customer=neighbour_profile, item=ItemFactory(name="Rhubarb tart"), kind="view"
    )

    # when Mrs. Gable opens her page
    client.force_login(gable)
    html = client.get(reverse("me:dashboard")).content.decode()

    # then she sees her own history and nothing of her neighbour's
    assert "Wheat sourdough" in html
    assert "Gluten-free loaf" not in html
    assert "Rhubarb tart" not in html


def test_staff_without_a_customer_record_get_a_clear_note_on_me(client, make_user):
    client.force_login(make_user(Role.STAFF))

    html = client.get(reverse("me:dashboard")).content.decode()

    assert "There is no customer record linked to this login." in html
