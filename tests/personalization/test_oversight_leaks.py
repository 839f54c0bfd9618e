"""A held recommendation never reaches the customer, on the page or through the API, until
a person approved it; a rejected one never does; a replacement does."""

from __future__ import annotations

import itertools
import re

import pytest

from accounts.models import ApiScope
from accounts.roles import Role
from core.errors import ApplicationError
from personalization.models import Recommendation, RecommendationStatus, ReviewItem
from personalization.oversight import services as oversight
from personalization.recommending import services
from tests.builders import ALL, Shop, bought, grant

pytestmark = pytest.mark.django_db
PAGE = "/me/recommendations/"
# API key names are unique: one fresh key per call.
_keys = itertools.count()


@pytest.fixture
def fan(make_user, client):
    """A signed-in pastry fan whose list includes a premium cake, held for review."""
    shop = Shop()
    services.model_version_train(model_version=services.model_version_create(), with_metrics=False)
    user = make_user(Role.CUSTOMER)
    profile = user.customer_profile
    profile.external_id = "FAN1"
    profile.save(update_fields=["external_id"])
    grant(profile, *ALL)
    bought(profile, shop.croissant, times=5)
    bought(profile, shop.bun, times=3)
    bought(profile, shop.coffee, times=3)
    services.recommendations_generate_for_customer(customer=profile)
    client.force_login(user)
    profile.shop = shop
    return profile


@pytest.fixture
def reviewer(make_user):
    return make_user(Role.STAFF)


def page_names(client) -> list[str]:
    html = client.get(PAGE).content.decode()
    return re.findall(r'<h2 class="recommendation-name">([^<]+)</h2>', html)


def api_names(api) -> list[str]:
    client = api(ApiScope.RECOMMENDATIONS_READ, name=f"till-{next(_keys)}")
    body = client.get("/api/v1/customers/FAN1/recommendations/").json()
    return [item["name"] for item in body["items"]]


def the_cake(fan) -> ReviewItem:
    return ReviewItem.objects.get(customer=fan, recommendation__item=fan.shop.cake)


def test_a_held_item_is_on_neither_the_page_nor_the_api(client, api, fan):
    item = the_cake(fan)
    assert item.recommendation.status == RecommendationStatus.HELD
    names = page_names(client)
    assert names and "Celebration Cake" not in names
    through_api = api_names(api)
    assert through_api and "Celebration Cake" not in through_api
    # Showing the page did not deliver the held row.
    item.recommendation.refresh_from_db()
    assert item.recommendation.status == RecommendationStatus.HELD


def test_approving_makes_it_appear_in_both(client, api, fan, reviewer):
    oversight.review_decide(
        user=reviewer,
        item_id=the_cake(fan).pk,
        decision="approve",
        reason_code="fits_customer",
    )
    assert "Celebration Cake" in page_names(client)
    assert "Celebration Cake" in api_names(api)


def test_rejecting_keeps_it_away_for_good(client, api, fan, reviewer):
    oversight.review_decide(
        user=reviewer, item_id=the_cake(fan).pk, decision="reject", reason_code="too_expensive"
    )
    assert "Celebration Cake" not in page_names(client)
    assert "Celebration Cake" not in api_names(api)
    assert Recommendation.objects.get(item=fan.shop.cake, customer=fan).status == "rejected"


def test_a_replacement_is_shown_instead_once(client, api, fan, reviewer):
    # The Danish is already on the list: offering it twice is refused.
    with pytest.raises(ApplicationError) as error:
        oversight.review_decide(
            user=reviewer,
            item_id=the_cake(fan).pk,
            decision="replace",
            reason_code="better_item",
            replacement_item_id=fan.shop.danish.pk,
        )
    assert error.value.field == "replacement_item"
    oversight.review_decide(
        user=reviewer,
        item_id=the_cake(fan).pk,
        decision="replace",
        reason_code="better_item",
        replacement_item_id=fan.shop.gluten_free.pk,
    )
    names = page_names(client)
    assert "Celebration Cake" not in names and names.count("Buckwheat Loaf") == 1
    assert "Buckwheat Loaf" in api_names(api)
    # Shown once (delivered), it stays: the next view still offers it, once.
    assert page_names(client).count("Buckwheat Loaf") == 1


def test_a_decision_waiting_for_a_second_person_shows_nothing_yet(client, api, fan, make_user):
    owner = make_user(Role.OWNER)
    oversight.review_decide(
        user=owner,
        item_id=the_cake(fan).pk,
        decision="approve",
        reason_code="fits_customer",
        policy_level=True,
    )
    assert "Celebration Cake" not in page_names(client)
    assert "Celebration Cake" not in api_names(api)
