"""Reads of a customer's recommendations that change nothing (delivery is a service:
`delivery.py`)."""

from __future__ import annotations

from accounts.models import CustomerProfile
from personalization.models import Recommendation


def recommendation_of_customer(*, customer: CustomerProfile, pk: int) -> Recommendation | None:
    """One of the customer's own recommendations; None for anyone else's."""
    return Recommendation.objects.filter(pk=pk, customer=customer).first()
