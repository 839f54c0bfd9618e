"""One definition per rule, and the plain SQL reads agree with the ORM row for row
(decision 53): the consent rule, the kill switch, the feature switches and the active
model version, with their edge cases (a withdrawn consent, another purpose, a removed row,
an unknown feature code, no active model, ties on time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import CustomerProfile
from accounts.roles import Role
from governance import selectors as governance
from governance.features import MODEL_ITEM_KNN, ONSITE_RECOMMENDATIONS
from governance.models import KillSwitchEvent, PersonalizationFeature
from personalization.consent.rule import consented_interactions
from personalization.consent.services import ConsentChange, consent_set
from personalization.models import Item, ModelVersion
from personalization.recommending import loading, serving
from personalization.recommending.models_cache import ACTIVE_NEWEST, active_version_id
from personalization.registry import MARKETING, PERSONALIZATION
from tests.factories import CustomerProfileFactory, InteractionFactory, ItemFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def choose(customer: CustomerProfile, purpose: str, category: str, granted: bool) -> None:
    consent_set(
        customer=customer,
        changes=[ConsentChange(purpose, category, granted)],
        method="ui",
        actor="customer",
        notice_version=None,
    )


def state(customer: CustomerProfile, features=(ONSITE_RECOMMENDATIONS, MODEL_ITEM_KNN)):
    return serving.serving_state(
        customer_id=customer.pk, purpose=PERSONALIZATION, features=features
    )


def test_the_engines_sql_reads_exactly_the_rows_the_consent_rule_selects():
    items = [ItemFactory() for _ in range(3)]
    position = {
        pk: i for i, pk in enumerate(Item.objects.order_by("pk").values_list("pk", flat=True))
    }
    allows, withdrew, other_purpose, never = (CustomerProfileFactory() for _ in range(4))
    choose(allows, PERSONALIZATION, "purchase_history", True)
    choose(allows, PERSONALIZATION, "browsing_history", True)
    choose(withdrew, PERSONALIZATION, "purchase_history", True)
    choose(withdrew, PERSONALIZATION, "purchase_history", False)  # withdrawn again
    choose(other_purpose, MARKETING, "purchase_history", True)  # not for personalization
    for n, customer in enumerate((allows, withdrew, other_purpose, never)):
        for k, item in enumerate(items):
            InteractionFactory(
                customer=customer, item=item, occurred_at=T0 + timedelta(hours=n + k)
            )
            InteractionFactory(
                customer=customer, item=item, kind="view", occurred_at=T0 + timedelta(minutes=k)
            )
    removed = InteractionFactory(customer=allows, item=items[0], occurred_at=T0)
    removed.excluded_at = T0 + timedelta(days=1)
    removed.save()

    events = loading.events_load(position=position)
    # Times to the millisecond: the database computes the SQL side's seconds in floats.
    from_sql = sorted(
        zip(
            events.customer.tolist(),
            events.item.tolist(),
            [round(at, 3) for at in events.at.tolist()],
            strict=True,
        )
    )
    from_orm = sorted(
        (row.customer_id, position[row.item_id], round(row.occurred_at.timestamp(), 3))
        for row in consented_interactions()
    )
    assert from_sql == from_orm
    # Only the customer who allows it, both categories, the removed row left out.
    assert {c for c, _, _ in from_orm} == {allows.pk} and len(from_orm) == 6
    some = loading.events_load(position=position, customer_ids=[withdrew.pk, allows.pk])
    assert sorted(some.customer.tolist()) == sorted(c for c, _, _ in from_orm)
    # The serving state's allowed categories: the same consents.
    assert state(allows).allowed == {"purchase_history", "browsing_history"}
    assert state(withdrew).allowed == state(other_purpose).allowed == frozenset()


def test_the_kill_switch_reads_the_same_newest_event_in_sql_and_the_orm(make_user):
    owner = make_user(Role.OWNER)
    customer = CustomerProfileFactory()

    def switch(engaged: bool, reason: str, at: datetime) -> None:
        event = KillSwitchEvent.objects.create(engaged=engaged, reason=reason, actor=owner)
        KillSwitchEvent.objects.filter(pk=event.pk).update(at=at)  # `at` is set on save

    assert state(customer).shop_paused is False
    assert governance.kill_switch_engaged() is False
    switch(True, "a", T0)
    assert state(customer).shop_paused is True
    assert governance.kill_switch_engaged() is True
    # Two events at the same moment: the later row decides, for both.
    switch(False, "b", T0)
    assert state(customer).shop_paused is False
    assert governance.kill_switch_engaged() is False
    # An event dated earlier, written later, does not decide.
    switch(True, "c", T0 - timedelta(hours=1))
    assert state(customer).shop_paused is False
    assert governance.kill_switch_engaged() is False
    assert governance.kill_switch_state().reason == "b"


@pytest.mark.parametrize(
    "rows, code, enabled",
    [
        ({}, ONSITE_RECOMMENDATIONS, True),  # built in, no row yet: on
        ({ONSITE_RECOMMENDATIONS: False}, ONSITE_RECOMMENDATIONS, False),
        ({}, "campaign_birthday", False),  # unknown code: off
        ({"campaign_birthday": True}, "campaign_birthday", True),
        ({"campaign_birthday": False}, "campaign_birthday", False),
    ],
)
def test_a_feature_switch_means_the_same_to_serving_and_to_the_risk_gate(rows, code, enabled):
    for feature_code, on in rows.items():
        PersonalizationFeature.objects.update_or_create(
            code=feature_code, defaults={"name": feature_code, "enabled": on}
        )
    customer = CustomerProfileFactory()
    assert governance.feature_enabled(code) is enabled
    assert state(customer, features=(code, MODEL_ITEM_KNN)).switched_off is (not enabled)
    assert state(customer, features=(ONSITE_RECOMMENDATIONS, code)).switched_off is (not enabled)


def test_the_active_model_version_is_the_same_row_for_serving_and_the_orm():
    customer = CustomerProfileFactory()

    def orm() -> int | None:
        newest = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).order_by(
            *ACTIVE_NEWEST
        )
        return newest.values_list("pk", flat=True).first()

    assert state(customer).version_id is None is active_version_id() is orm()
    ModelVersion.objects.create(status=ModelVersion.Status.ACTIVE, trained_at=T0)
    tie = ModelVersion.objects.create(status=ModelVersion.Status.ACTIVE, trained_at=T0)
    ModelVersion.objects.create(status=ModelVersion.Status.RETIRED, trained_at=T0 + timedelta(1))
    ModelVersion.objects.create(status=ModelVersion.Status.TRAINING, trained_at=None)
    assert state(customer).version_id == active_version_id() == orm() == tie.pk
