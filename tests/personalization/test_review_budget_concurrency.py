"""The owner's review budget holds with two generations at once (decision 61): the second
waits for the first's commit and counts its holds, so together they never hold more than
the budget allows; one after the other gives the same total."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.models import CustomerProfile
from personalization.models import OversightSettings, ReviewItem, ReviewKind
from personalization.recommending import services
from tests.factories import CustomerProfileFactory
from tests.personalization.sessions import (
    bought,
    grant,
    holding,
    in_own_session,
    release_held_sessions,  # noqa: F401 - the autouse fixture that releases held sessions
    small_shop,
    waits_for_a_lock,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="DATABASE_URL does not point at PostgreSQL: locks need two sessions",
    ),
]


def newcomers(shop, count: int) -> list[CustomerProfile]:
    """Customers whose one purchase every suggestion rests on: each list has
    low-confidence flags that need room in the budget."""
    people = []
    for n in range(count):
        customer = CustomerProfileFactory.create(external_id=f"N{n}")
        grant(customer)
        bought(customer, shop.items[n], times=1)
        people.append(customer)
    return people


def holds() -> int:
    return ReviewItem.objects.filter(kind=ReviewKind.HOLD).count()


def generate(customer: CustomerProfile):
    return lambda: services.recommendations_generate_for_customer(
        customer=CustomerProfile.objects.get(pk=customer.pk)
    )


def test_two_generations_at_once_hold_no_more_than_the_budget():
    shop = small_shop()
    OversightSettings.objects.update_or_create(pk=1, defaults={"review_budget": 1})
    first_customer, second_customer = newcomers(shop, 2)

    first, release = holding(generate(first_customer))
    second = in_own_session(generate(second_customer))
    assert waits_for_a_lock(second)  # on the budget, not on any customer's row
    release.set()
    assert first.error is None and second.error is None, (first.out, second.out)

    assert holds() == 1


def test_one_after_the_other_gives_the_same_total():
    shop = small_shop()
    OversightSettings.objects.update_or_create(pk=1, defaults={"review_budget": 1})
    for customer in newcomers(shop, 2):
        generate(customer)()
    assert holds() == 1
