"""Reads for the owner's console."""

from __future__ import annotations

from typing import TypedDict

from django.db.models import Count

from accounts.models import AuditAttribute
from core.models import Heartbeat
from personalization.dashboard.wording import audit_attribute_label
from personalization.oversight.selectors import escalations_count
from personalization.selectors import shop_totals


class DeclaredCount(TypedDict):
    name: str
    label: str
    value: str
    customers: int


def declared_attribute_counts() -> list[DeclaredCount]:
    """How many customers declared each audit attribute value (aggregates only), with
    the attribute's name in the owner's words ("Age band", not `age_band`)."""
    rows = (
        AuditAttribute.objects.values("name", "value")
        .annotate(customers=Count("customer", distinct=True))
        .order_by("name", "value")
    )
    return [
        DeclaredCount(
            name=row["name"],
            label=audit_attribute_label(row["name"]),
            value=row["value"],
            customers=row["customers"],
        )
        for row in rows
    ]


def owner_overview() -> dict[str, object]:
    return {
        "totals": shop_totals(),
        "declared": declared_attribute_counts(),
        "heartbeats": list(Heartbeat.objects.order_by("name")),
        # Review items a reviewer handed to the owner (they wait for the owner alone).
        "escalations": escalations_count(),
    }
