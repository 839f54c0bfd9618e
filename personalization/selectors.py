"""Reads over the catalog and interactions."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import CustomerProfile
from personalization.models import DataCategory, Interaction, Item, Purpose


@dataclass(frozen=True)
class ShopTotals:
    items_active: int
    items_total: int
    items_missing_allergens: int
    customers: int
    customers_with_login: int
    interactions: int


def shop_totals() -> ShopTotals:
    return ShopTotals(
        items_active=Item.objects.filter(active=True).count(),
        items_total=Item.objects.count(),
        items_missing_allergens=Item.objects.filter(active=True, allergens_declared=False).count(),
        customers=CustomerProfile.objects.count(),
        customers_with_login=CustomerProfile.objects.filter(user__isnull=False).count(),
        interactions=Interaction.objects.count(),
    )


def registry_for_display():
    return {"categories": DataCategory.objects.all(), "purposes": Purpose.objects.all()}
