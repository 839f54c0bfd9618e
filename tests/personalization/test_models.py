"""Constraints the database itself enforces, whatever code writes to it."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from accounts.models import AuditAttribute, CustomerProfile, PersonalizationMode, User
from personalization.models import DataCategory, Interaction, Purpose
from personalization.registry import DATA_CATEGORIES, PURPOSES
from tests.factories import CustomerProfileFactory, InteractionFactory, ItemFactory

pytestmark = pytest.mark.django_db


def refused(**kwargs) -> bool:
    """True when saving breaks a database constraint."""
    try:
        with transaction.atomic():
            kwargs.pop("factory")(**kwargs)
    except IntegrityError:
        return True
    return False


def test_registry_is_in_the_database():
    assert [c.code for c in DataCategory.objects.all()] == [s.code for s in DATA_CATEGORIES]
    assert {
        "purchase_history",
        "browsing_history",
        "stated_preferences",
        "email_engagement",
        "audit_attributes",
    } <= set(DataCategory.objects.values_list("code", flat=True))
    assert {p.code for p in Purpose.objects.all()} == {s.code for s in PURPOSES}
    assert {"personalization", "marketing", "fairness_audit"} <= {s.code for s in PURPOSES}
    # No purpose starts switched on by default.
    assert all(p.requires_opt_in for p in Purpose.objects.all())


def test_item_price_cannot_be_negative():
    assert refused(factory=ItemFactory, price=Decimal("-0.01"))
    assert not refused(factory=ItemFactory, price=Decimal("0.00"))


def test_item_sku_is_unique_and_set():
    ItemFactory(sku="WS-1")
    assert refused(factory=ItemFactory, sku="WS-1")
    assert refused(factory=ItemFactory, sku="")


def test_interaction_event_id_is_unique():
    InteractionFactory(event_id="e1")
    assert refused(factory=InteractionFactory, event_id="e1")
    assert Interaction.objects.filter(event_id="e1").count() == 1


def test_interaction_quantity_value_and_kind_are_checked():
    assert refused(factory=InteractionFactory, quantity=0)
    assert refused(factory=InteractionFactory, value=Decimal("-1"))
    assert refused(factory=InteractionFactory, kind="stolen", data_category="purchase_history")
    assert not refused(factory=InteractionFactory, kind="view", value=Decimal("0"))


def test_interaction_time_is_timezone_aware():
    interaction = InteractionFactory()
    interaction.refresh_from_db()
    assert interaction.occurred_at.tzinfo is not None


def test_paused_personalization_needs_an_end_date():
    assert refused(factory=CustomerProfileFactory, personalization_mode=PersonalizationMode.PAUSED)
    assert not refused(
        factory=CustomerProfileFactory,
        personalization_mode=PersonalizationMode.PAUSED,
        paused_until=date(2026, 12, 24),
    )


def test_customer_email_is_unique_ignoring_case_but_may_be_blank():
    CustomerProfileFactory(email="gable@example.com")
    assert refused(factory=CustomerProfileFactory, email="GABLE@example.com")
    CustomerProfileFactory(email="")
    assert not refused(factory=CustomerProfileFactory, email="")


def test_external_id_is_unique_but_optional():
    CustomerProfileFactory(external_id="C1")
    assert refused(factory=CustomerProfileFactory, external_id="C1")
    assert refused(factory=CustomerProfileFactory, external_id="")
    CustomerProfileFactory(external_id=None)
    assert not refused(factory=CustomerProfileFactory, external_id=None)


def test_one_value_per_declared_audit_attribute():
    customer = CustomerProfileFactory()
    from django.utils import timezone

    def declare(**kwargs):
        return AuditAttribute.objects.create(
            customer=customer,
            name="age_band",
            source="import",
            declared_at=timezone.now(),
            **kwargs,
        )

    declare(value="55+")
    assert refused(factory=declare, value="18-34")
    assert AuditAttribute.objects.get(customer=customer).value == "55+"


def test_login_email_is_unique_ignoring_case():
    User.objects.create_user(email="owner@example.com", password="x-long-password")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="Owner@Example.com")


def test_deleting_a_customer_removes_their_interactions_and_attributes():
    interaction = InteractionFactory()
    customer = interaction.customer
    AuditAttribute.objects.create(
        customer=customer,
        name="gender",
        value="woman",
        source="import",
        declared_at=interaction.occurred_at,
    )
    customer.delete()
    assert not Interaction.objects.exists()
    assert not AuditAttribute.objects.exists()
    assert not CustomerProfile.objects.exists()
