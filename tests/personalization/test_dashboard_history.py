"""/me/history/: every record newest first; remove single items from use, and undo."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from accounts.models import CustomerProfile
from accounts.roles import Role
from personalization.dashboard.selectors import HISTORY_PAGE_SIZE
from personalization.dashboard.services import interaction_exclude, interaction_restore
from personalization.models import Interaction
from tests.factories import InteractionFactory, ItemFactory

pytestmark = pytest.mark.django_db

NOV_20 = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


@pytest.fixture
def customer(make_user, client):
    user = make_user(Role.CUSTOMER)
    client.force_login(user)
    return CustomerProfile.objects.get(user=user)


@pytest.fixture
def neighbour(make_user):
    profile = CustomerProfile.objects.get(user=make_user(Role.CUSTOMER))
    return InteractionFactory(customer=profile, item=ItemFactory(name="Neighbour's brioche"))


def squash(text: str) -> str:
    return " ".join(text.split())


def history(client, page: int | None = None) -> str:
    response = client.get(reverse("me:history"), {"page": page} if page else {})
    assert response.status_code == 200
    return squash(response.content.decode())


def test_history_is_newest_first_and_paginated(client, customer, django_assert_max_num_queries):
    for day in range(HISTORY_PAGE_SIZE + 5):
        InteractionFactory(
            customer=customer,
            item=ItemFactory(name=f"Loaf of day {day}"),
            occurred_at=NOV_20 - timedelta(days=day),
        )

    with django_assert_max_num_queries(10):
        first = history(client)
    second = history(client, page=2)

    assert first.index("Loaf of day 0<") < first.index("Loaf of day 1<")
    assert f"Loaf of day {HISTORY_PAGE_SIZE - 1}<" in first
    assert f"Loaf of day {HISTORY_PAGE_SIZE}<" not in first
    assert f"Loaf of day {HISTORY_PAGE_SIZE}<" in second
    assert "25 records; showing 1 to 20." in first
    assert "Page 2 of 2" in second
    assert first.count(">Remove from use<") == HISTORY_PAGE_SIZE


def test_the_page_explains_what_removing_means(client, customer):
    html = history(client)

    assert "our AI never reads it again" in html
    assert "until the retention period of its kind of data ends; then it is deleted" in html


def test_removing_an_item_takes_it_out_of_use_and_undo_brings_it_back(client, customer):
    loaf = InteractionFactory(
        customer=customer, item=ItemFactory(name="Rye Sourdough"), occurred_at=NOV_20
    )

    # when she removes it
    response = client.post(reverse("me:history_remove", args=[loaf.pk]), follow=True)

    # then it is out of use, still stored, shown as removed with an undo button
    loaf.refresh_from_db()
    assert loaf.excluded_at is not None
    html = squash(response.content.decode())
    assert response.redirect_chain[-1][0] == f"{reverse('me:history')}#interaction-{loaf.pk}"
    assert "“Rye Sourdough” of 20 November 2026 is removed from use: our AI will not read" in html
    # purchase history is kept five years from the purchase
    assert "until it is deleted on 19 November 2031; until then you can undo this." in html
    assert "Removed from use on" in html
    assert "Deleted on 19 November 2031." in html
    assert ">Undo<" in html
    assert ">Remove from use<" not in html

    # when she undoes it
    response = client.post(reverse("me:history_restore", args=[loaf.pk]), follow=True)

    # then it is back in use
    loaf.refresh_from_db()
    assert loaf.excluded_at is None
    html = squash(response.content.decode())
    assert "“Rye Sourdough” of 20 November 2026 is back in use." in html
    assert ">Remove from use<" in html


def test_after_removing_she_returns_to_the_same_page(client, customer):
    for day in range(HISTORY_PAGE_SIZE + 1):
        InteractionFactory(customer=customer, occurred_at=NOV_20 - timedelta(days=day))
    oldest = customer.interactions.order_by("occurred_at").first()

    response = client.post(reverse("me:history_remove", args=[oldest.pk]), {"page": "2"})

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('me:history')}?page=2#interaction-{oldest.pk}"


def test_removing_twice_keeps_the_first_date(customer):
    loaf = InteractionFactory(customer=customer)
    first = interaction_exclude(customer=customer, interaction_id=loaf.pk).excluded_at

    again = interaction_exclude(customer=customer, interaction_id=loaf.pk)

    assert again.excluded_at == first


@pytest.mark.parametrize("action", ["me:history_remove", "me:history_restore"])
def test_a_customer_cannot_touch_another_customers_interaction_by_its_id(
    client, customer, neighbour, action
):
    # given the neighbour's record removed or not, as the action needs
    if action == "me:history_restore":
        interaction_exclude(customer=neighbour.customer, interaction_id=neighbour.pk)
    before = Interaction.objects.get(pk=neighbour.pk).excluded_at

    # when the customer posts the neighbour's id
    response = client.post(reverse(action, args=[neighbour.pk]))

    # then it is not found, and the neighbour's row is unchanged
    assert response.status_code == 404
    assert Interaction.objects.get(pk=neighbour.pk).excluded_at == before
    assert "Neighbour&#x27;s brioche" not in history(client)


def test_services_only_find_the_customers_own_rows(customer, neighbour):
    with pytest.raises(Interaction.DoesNotExist):
        interaction_exclude(customer=customer, interaction_id=neighbour.pk)
    with pytest.raises(Interaction.DoesNotExist):
        interaction_restore(customer=customer, interaction_id=neighbour.pk)

    neighbour.refresh_from_db()
    assert neighbour.excluded_at is None


def test_an_unknown_id_is_not_found(client, customer):
    response = client.post(reverse("me:history_remove", args=[999_999]))

    assert response.status_code == 404


def test_removing_needs_a_post(client, customer):
    loaf = InteractionFactory(customer=customer)

    response = client.get(reverse("me:history_remove", args=[loaf.pk]))

    assert response.status_code == 405
    loaf.refresh_from_db()
    assert loaf.excluded_at is None


def test_a_page_number_out_of_range_shows_the_last_page(client, customer):
    InteractionFactory(customer=customer, item=ItemFactory(name="Only loaf"))

    assert "Only loaf" in history(client, page=99)
    response = client.get(reverse("me:history"), {"page": "not-a-number"})
    assert response.status_code == 200


def test_a_customer_without_history_is_told_so(client, customer):
    assert "Nothing yet." in history(client)
