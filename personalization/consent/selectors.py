"""Reads of consent: "may X be used for Y" and the customer's grid."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from accounts.models import CustomerProfile
from personalization.models import Consent


def consent_granted(*, customer: CustomerProfile, purpose: str, data_category: str) -> bool:
    """One indexed query; no row means no (every purpose is opt-in)."""
    return Consent.objects.filter(
        customer=customer, purpose=purpose, data_category=data_category, granted=True
    ).exists()


def consented_categories(*, customer_ids: Iterable[int], purpose: str) -> dict[int, set[str]]:
    """For each customer, the data categories they allow for `purpose`."""
    allowed: dict[int, set[str]] = defaultdict(set)
    rows = Consent.objects.filter(
        customer_id__in=list(customer_ids), purpose=purpose, granted=True
    ).values_list("customer_id", "data_category")
    for customer_id, category in rows:
        allowed[customer_id].add(category)
    return dict(allowed)


def consent_grid(*, customer: CustomerProfile) -> dict[tuple[str, str], bool]:
    """(purpose, data_category) -> granted for every cell the customer decided."""
    return {
        (purpose, category): granted
        for purpose, category, granted in Consent.objects.filter(customer=customer).values_list(
            "purpose", "data_category", "granted"
        )
    }
