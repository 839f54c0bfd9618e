"""Lists generated at the same moment for one customer (two real PostgreSQL sessions):
two first reads store one list and both show it; a regeneration never replaces a list
built from newer data."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from accounts.models import ApiScope, CustomerProfile
from personalization.models import Channel, FeedbackKind, Recommendation, RecommendationStatus
from personalization.recommending import delivery, services, storing
from tests.personalization.sessions import (
    holding,
    in_own_session,
    release_held_sessions,  # noqa: F401
    small_shop,
    waits_for_a_lock,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("DATABASE_URL does not point at PostgreSQL: row locks need two sessions")


@pytest.fixture
def shop():
    return small_shop()


def current_places(customer: CustomerProfile) -> list[tuple[int, int]]:
    return sorted(
        Recommendation.objects.filter(
            customer=customer, channel=Channel.ONSITE, superseded_at__isnull=True
        ).values_list("rank", "item_id")
    )


def fresh(customer: CustomerProfile) -> CustomerProfile:
    return CustomerProfile.objects.get(pk=customer.pk)


def shown_ids(customer_pk: int) -> list[int | None]:
    page = delivery.recommendations_deliver(customer=CustomerProfile.objects.get(pk=customer_pk))
    return [item.recommendation_id for item in page.items]


def test_two_first_reads_at_once_store_one_list_and_both_show_it(shop):
    pk = shop.customer.pk
    # given: the first read is generating the list (its transaction still open)
    first, release = holding(lambda: shown_ids(pk))
    # when: a second read of the same customer arrives meanwhile
    second = in_own_session(lambda: shown_ids(pk))
    assert waits_for_a_lock(second)
    release.set()
    # then: no error, the same rows for both, one row per place
    assert first.error is None and second.error is None, (first.out, second.out)
    assert first.value and second.value == first.value
    places = current_places(shop.customer)
    ranks = [rank for rank, _item in places]
    assert ranks == list(range(1, len(ranks) + 1))
    assert sorted(pk for pk in first.value) == sorted(
        Recommendation.objects.filter(
            customer=shop.customer, superseded_at__isnull=True
        ).values_list("pk", flat=True)
    )


def test_eight_first_api_reads_at_once_all_answer_the_same_list(shop, api):
    url = "/api/v1/customers/C1/recommendations/"
    # Eight of the shop's systems, each with its own key (one key's bookkeeping would
    # line the requests up by itself).
    clients = [api(ApiScope.RECOMMENDATIONS_READ, name=f"till {n}") for n in range(8)]

    def read(client):
        def get():
            response = client.get(url)
            return response.status_code, [item["sku"] for item in response.json()["items"]]

        return get

    first, release = holding(read(clients[0]))
    others = [in_own_session(read(client)) for client in clients[1:]]
    assert waits_for_a_lock(others[0])
    release.set()
    answers = [first.value, *(other.value for other in others)]
    assert [status for status, _skus in answers] == [200] * 8
    assert all(skus == answers[0][1] and skus for _status, skus in answers)
    ranks = [rank for rank, _item in current_places(shop.customer)]
    assert ranks == list(range(1, len(ranks) + 1))


def test_a_regeneration_waiting_for_the_lock_reads_the_feedback_given_meanwhile(shop):
    customer = shop.customer
    rows = services.recommendations_generate_for_customer(customer=customer)
    top = rows[0]
    # given: a regeneration holds the customer (started before the feedback)
    first, release = holding(
        lambda: services.recommendations_generate_for_customer(
            customer=CustomerProfile.objects.get(pk=customer.pk)
        )
    )
    # when: the customer says "I can't have this" about the top item meanwhile
    second = in_own_session(
        lambda: services.feedback_record(
            customer=CustomerProfile.objects.get(pk=customer.pk),
            recommendation_id=top.pk,
            kind=FeedbackKind.CANT_HAVE,
        )
    )
    assert waits_for_a_lock(second)
    release.set()
    assert first.error is None and second.error is None, (first.out, second.out)
    # then: the list stored last is built with the feedback: the item is gone
    assert top.item_id not in [item for _rank, item in current_places(customer)]
    assert top.item_id not in [
        item.item_id for item in delivery.recommendations_deliver(customer=customer).items
    ]


def test_a_row_shown_while_the_list_is_replaced_is_kept_as_shown(shop, monkeypatch):
    customer = shop.customer
    services.recommendations_generate_for_customer(customer=customer)
    before = set(Recommendation.objects.filter(customer=customer).values_list("pk", flat=True))
    # The regeneration stops once it has read the rows it will replace...
    read, go = threading.Event(), threading.Event()
    real = storing.lists_replace

    def replace_after_a_pause(**kwargs):
        read.set()
        assert go.wait(30)
        return real(**kwargs)

    monkeypatch.setattr(storing, "lists_replace", replace_after_a_pause)
    regeneration = in_own_session(
        lambda: services.recommendations_generate_for_customer(customer=fresh(customer))
    )
    assert read.wait(30)
    # ...when a page shows them (and marks them delivered)
    Recommendation.objects.filter(pk__in=before).update(status=RecommendationStatus.DELIVERED)
    go.set()
    assert regeneration.error is None, regeneration.out
    # The shown rows stay on record, replaced, not deleted as if nobody had seen them.
    kept = Recommendation.objects.filter(pk__in=before)
    assert kept.count() == len(before)
    assert all(row.superseded_at is not None for row in kept)
    assert set(kept.values_list("status", flat=True)) == {RecommendationStatus.DELIVERED}
