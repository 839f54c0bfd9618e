"""Reads over the catalog and interactions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max

from accounts.models import CustomerProfile
from personalization.models import DataCategory, Interaction, Item, Purpose


@dataclass(frozen=True)
class CategorySummary:
    category: DataCategory
    count: int
    latest_item: str | None
    latest_at: datetime | None


def customer_data_summary(*, customer: CustomerProfile) -> list[CategorySummary]:
    """Per data category: how many records the shop holds and the latest one."""
    counts = {
        row["data_category"]: row
        for row in Interaction.objects.filter(customer=customer)
        .values("data_category")
        .annotate(n=Count("id"), latest=Max("occurred_at"))
    }
    summaries = []
    for category in DataCategory.objects.all():
        row = counts.get(category.code)
        latest = None
        if row:
            latest = (
                Interaction.objects.filter(customer=customer, data_category=category.code)
                .select_related("item")
                .order_by("-occurred_at", "-pk")
                .first()
            )
        summaries.append(
            CategorySummary(
                category=category,
                count=row["n"] if row else 0,
                latest_item=latest.item.name if latest else None,
                latest_at=latest.occurred_at if latest else None,
            )
        )
    return summaries


def recent_interactions(*, customer: CustomerProfile, limit: int = 10):
    return (
        Interaction.objects.filter(customer=customer)
        .select_related("item")
        .order_by("-occurred_at", "-pk")[:limit]
    )


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
