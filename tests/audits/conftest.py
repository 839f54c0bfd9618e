"""A small shop for audit tests: declared attributes with consent, lists with a known gap."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from accounts.models import AuditAttribute, CustomerProfile
from personalization.consent.services import ConsentChange, consent_set
from personalization.models import ModelVersion, Recommendation
from tests.factories import CategoryFactory, ItemFactory


@dataclass
class AuditShop:
    young: list[CustomerProfile]
    older: list[CustomerProfile]
    few: list[CustomerProfile]
    undeclared: list[CustomerProfile]
    breads: list
    pastries: list


def _declare(customers, *, age_band: str, consent: bool = True) -> None:
    from django.utils import timezone

    AuditAttribute.objects.bulk_create(
        AuditAttribute(
            customer=c, name="age_band", value=age_band, source="import", declared_at=timezone.now()
        )
        for c in customers
    )
    if consent:
        for c in customers:
            consent_set(
                customer=c,
                changes=[ConsentChange("fairness_audit", "audit_attributes", True)],
                method="import",
                actor="system:test",
                notice_version=None,
            )


def build_audit_shop(
    *, young_share: float = 0.8, older_share: float = 0.2, per_group: int = 50, few: int = 4
) -> AuditShop:
    """`per_group` customers aged 18-34 and 55+ each, `few` aged 35-54 (too few to
    measure), 20 undeclared (so the small group is covered). Breads are shown to
    `young_share` of the young and `older_share` of the older customers; every customer
    is shown a pastry."""
    breads_cat = CategoryFactory(slug="breads", name="Breads")
    pastries_cat = CategoryFactory(slug="pastries", name="Pastries")
    breads = [ItemFactory.create(category=breads_cat) for _ in range(2)]
    pastries = [ItemFactory.create(category=pastries_cat) for _ in range(2)]
    version = ModelVersion.objects.create(status="active")

    def customers(prefix: str, n: int) -> list[CustomerProfile]:
        return list(
            CustomerProfile.objects.bulk_create(
                CustomerProfile(external_id=f"{prefix}{i:03d}", email=f"{prefix}{i}@example.com")
                for i in range(n)
            )
        )

    shop = AuditShop(
        young=customers("Y", per_group),
        older=customers("O", per_group),
        few=customers("F", few),
        undeclared=customers("U", 20),
        breads=breads,
        pastries=pastries,
    )
    _declare(shop.young, age_band="18-34")
    _declare(shop.older, age_band="55+")
    _declare(shop.few, age_band="35-54")
    recs = []
    for group, share in (
        (shop.young, young_share),
        (shop.older, older_share),
        (shop.few, 0.5),
        (shop.undeclared, 0.5),
    ):
        shown_breads = round(len(group) * share)
        for i, customer in enumerate(group):
            rank = 1
            if i < shown_breads:
                recs.append(
                    Recommendation(
                        customer=customer,
                        item=breads[0],
                        score=1.0,
                        rank=rank,
                        model_version=version,
                    )
                )
                rank += 1
            recs.append(
                Recommendation(
                    customer=customer, item=pastries[0], score=0.5, rank=rank, model_version=version
                )
            )
    Recommendation.objects.bulk_create(recs)
    return shop


@pytest.fixture
def audit_shop(db) -> AuditShop:
    return build_audit_shop()


@pytest.fixture
def owner(make_user):
    from accounts.roles import Role

    return make_user(Role.OWNER, email="owner@example.com")
