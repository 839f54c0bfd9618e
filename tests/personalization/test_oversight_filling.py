"""Hold items, not lists, over generated shops (property test, real database): whatever
the catalog, the restrictions and the owner's thresholds and budget, nothing a customer
must never get is ever shown, every shown item was screened, and a short list says so."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from personalization.models import (
    Item,
    OversightSettings,
    Recommendation,
    RecommendationStatus,
    ReviewItem,
    ReviewKind,
)
from personalization.recommending import delivery, services
from tests.builders import ALL, bought, grant
from tests.factories import CategoryFactory, CustomerProfileFactory, ItemFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ATTRIBUTES = ("contains:gluten", "contains:milk", "contains:nuts", "alcohol", "vegan")


class Rollback(Exception):
    pass


shops = st.fixed_dictionaries(
    {
        "items": st.lists(
            st.tuples(
                st.integers(0, 3),  # category
                st.frozensets(st.sampled_from(ATTRIBUTES), max_size=3),
                st.booleans(),  # allergens declared
                st.sampled_from(["1.50", "3.00", "4.20", "12.00", "40.00"]),
            ),
            min_size=4,
            max_size=24,
        ),
        "customers": st.lists(
            st.tuples(
                st.frozensets(st.sampled_from(ATTRIBUTES[:4]), max_size=2),  # restrictions
                st.lists(st.tuples(st.integers(0, 23), st.integers(1, 4)), max_size=6),
            ),
            min_size=2,
            max_size=8,
        ),
        "budget": st.integers(1, 30),
        "min_evidence": st.integers(0, 4),
        "premium": st.sampled_from([1.5, 3.0, 5.0]),
        "sample": st.integers(0, 15),
    }
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(shop=shops)
def test_no_restricted_item_is_ever_shown_and_a_short_list_says_so(shop):
    try:
        with transaction.atomic():
            _check(shop)
            raise Rollback
    except Rollback:
        pass


def _check(shop):
    OversightSettings.objects.update_or_create(
        pk=1,
        defaults={
            "review_budget": shop["budget"],
            "min_evidence": shop["min_evidence"],
            "premium_multiple": shop["premium"],
            "new_model_sample": shop["sample"],
            "spot_check_percent": 10.0,
        },
    )
    categories = [CategoryFactory() for _ in range(4)]
    items = [
        ItemFactory(
            category=categories[c],
            attribute_codes=sorted(codes),
            allergens_declared=declared,
            price=Decimal(price),
        )
        for c, codes, declared, price in shop["items"]
    ]
    customers = []
    for restrictions, baskets in shop["customers"]:
        customer = CustomerProfileFactory(restrictions=sorted(restrictions))
        grant(customer, *ALL)
        for position, times in baskets:
            bought(customer, items[position % len(items)], times=times)
        customers.append(customer)
    services.model_version_train(model_version=services.model_version_create(), with_metrics=False)
    services.recommendations_generate_all()

    codes = {item.pk: set(item.attributes.values_list("code", flat=True)) for item in items}
    declared = {item.pk: item.allergens_declared for item in items}

    def forbidden(customer, item_id):
        limits = set(customer.restrictions)
        if codes[item_id] & limits:
            return True
        return any(r.startswith("contains:") for r in limits) and not declared[item_id]

    for customer in customers:
        page = delivery.recommendations_deliver(customer=customer)
        shown = [i.item_id for i in page.items]
        assert not [i for i in shown if forbidden(customer, i)], (customer.restrictions, shown)
        assert Item.objects.filter(pk__in=shown, active=False).count() == 0
        if page.personalized:
            # No partial list without a note.
            assert page.complete == (len(shown) == 10), (page.complete, shown)
            # Every shown row was screened: it is not held, and a held item is not shown.
            held = set(
                Recommendation.objects.filter(
                    customer=customer,
                    superseded_at__isnull=True,
                    status=RecommendationStatus.HELD,
                ).values_list("item_id", flat=True)
            )
            assert not held & set(shown)
    # A spot check is never opened on a held row, and every held row has one hold.
    for item in ReviewItem.objects.select_related("recommendation"):
        if item.kind == ReviewKind.SPOT_CHECK:
            assert item.recommendation.status != RecommendationStatus.HELD
            assert not item.high_risk
        else:
            assert item.recommendation.status == RecommendationStatus.HELD
