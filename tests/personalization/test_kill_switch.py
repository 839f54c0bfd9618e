"""The owner's kill switch sits in front of every channel, read on each request."""

from __future__ import annotations

import pytest

from accounts.models import ApiScope, PersonalizationMode
from accounts.roles import Role
from accounts.services import customer_profile_set_mode
from core.errors import ApplicationError
from governance import services as governance
from governance.features import API_RECOMMENDATIONS, MODEL_ITEM_KNN, ONSITE_RECOMMENDATIONS
from governance.models import KillSwitchEvent, PersonalizationFeature
from personalization.models import Item
from personalization.recommending import services
from personalization.recommending.delivery import recommendations_deliver
from tests.builders import ALL, Shop, bought, grant

pytestmark = pytest.mark.django_db
PAGE = "/me/recommendations/"


@pytest.fixture
def customer(make_user, client):
    shop = Shop()
    user = make_user(Role.CUSTOMER)
    profile = user.customer_profile
    profile.external_id = "K1"
    profile.save(update_fields=["external_id"])
    grant(profile, *ALL)
    bought(profile, shop.wheat, times=5)
    bought(profile, shop.croissant, times=3)
    services.model_version_train(model_version=services.model_version_create(), with_metrics=False)
    client.force_login(user)
    return profile


@pytest.fixture
def owner(make_user):
    return make_user(Role.OWNER)


def anonymous_skus(customer) -> list[str]:
    result = services.anonymous_recommendations(customer=customer)
    skus = dict(Item.objects.values_list("pk", "sku"))
    return [skus[s.item] for s in result.suggestions]


def test_pausing_serves_everyone_the_non_personalized_list_at_the_next_request(
    client, api, customer, owner
):
    reader = api(ApiScope.RECOMMENDATIONS_READ)
    url = f"/api/v1/customers/{customer.external_id}/recommendations/"
    before = reader.get(url).json()
    assert before["personalized"] is True and before["shop_paused"] is False
    assert "Why this?" in client.get(PAGE).content.decode()

    governance.kill_switch_set(engaged=True, reason="Checking a complaint", actor=owner)

    during = reader.get(url).json()
    assert during["personalized"] is False and during["shop_paused"] is True
    assert [item["sku"] for item in during["items"]] == anonymous_skus(customer)
    assert all(item["score"] is None and item["reasons"] == [] for item in during["items"])
    html = client.get(PAGE).content.decode()
    assert "The shop has paused all personalized suggestions" in html
    assert 'action="/me/recommendations/' not in html  # no feedback on the anonymous list

    governance.kill_switch_set(engaged=False, reason="Complaint resolved", actor=owner)

    after = reader.get(url).json()
    assert after["personalized"] is True and after["shop_paused"] is False
    assert [e.engaged for e in KillSwitchEvent.objects.order_by("at", "pk")] == [True, False]


def test_a_customer_who_chose_no_suggestions_still_gets_none_while_paused(customer, owner):
    customer_profile_set_mode(profile=customer, mode=PersonalizationMode.NONE)
    governance.kill_switch_set(engaged=True, reason="Checking a complaint", actor=owner)
    assert recommendations_deliver(customer=customer).items == []


def test_the_switch_needs_a_reason_and_a_change(owner):
    with pytest.raises(ApplicationError) as error:
        governance.kill_switch_set(engaged=True, reason="  ", actor=owner)
    assert error.value.field == "reason"
    governance.kill_switch_set(engaged=True, reason="Audit finding", actor=owner)
    with pytest.raises(ApplicationError) as error:
        governance.kill_switch_set(engaged=True, reason="Again", actor=owner)
    assert error.value.code == "kill_switch_unchanged"
    assert KillSwitchEvent.objects.count() == 1


def switch_off(code: str, owner) -> None:
    feature, _created = PersonalizationFeature.objects.get_or_create(
        code=code, defaults={"name": code, "enabled": True, "built_in": True}
    )
    governance.feature_set_enabled(
        feature=feature, enabled=False, reason="Reassessing the risks", actor=owner
    )


def test_a_channel_switched_off_in_the_risk_gate_serves_the_non_personalized_list(
    client, api, customer, owner
):
    reader = api(ApiScope.RECOMMENDATIONS_READ)
    url = f"/api/v1/customers/{customer.external_id}/recommendations/"

    switch_off(API_RECOMMENDATIONS, owner)

    body = reader.get(url).json()
    assert body["personalized"] is False and body["shop_paused"] is True
    assert [item["sku"] for item in body["items"]] == anonymous_skus(customer)
    # the on-site channel has its own switch, still on
    assert "Why this?" in client.get(PAGE).content.decode()
    assert recommendations_deliver(customer=customer).personalized is True

    switch_off(ONSITE_RECOMMENDATIONS, owner)
    assert "The shop has paused all personalized suggestions" in client.get(PAGE).content.decode()


def test_switching_off_the_model_type_stops_every_channel(client, api, customer, owner):
    switch_off(MODEL_ITEM_KNN, owner)
    reader = api(ApiScope.RECOMMENDATIONS_READ)
    url = f"/api/v1/customers/{customer.external_id}/recommendations/"
    assert reader.get(url).json()["personalized"] is False
    assert recommendations_deliver(customer=customer).personalized is False
