"""'What changes if I switch this off?': the same engine, on demand, nothing stored."""

import pytest

from accounts.roles import Role
from personalization.models import ConsentEvent, Recommendation
from personalization.recommending import services
from tests.builders import ALL, Shop, bought, grant
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(make_user, client):
    shop = Shop()
    # Loaves few people buy, each with the wheat sourdough: only this customer's purchases
    # lift them into a list of 10 (the visitors' list is the 10 best sellers).
    for name in ("Spelt Loaf", "Rye Crispbread", "Oat Loaf"):
        niche = ItemFactory(name=name, category=shop.wheat.category, attribute_codes=["vegan"])
        for fan in (shop.crowd[0], shop.crowd[6]):
            bought(fan, niche, times=2)
            bought(fan, shop.wheat, times=2)
    user = make_user(Role.CUSTOMER)
    profile = user.customer_profile
    grant(profile, *ALL)
    bought(profile, shop.wheat, times=5)
    bought(profile, shop.croissant, times=2, kind="view")
    services.model_version_train(model_version=services.model_version_create(), with_metrics=False)
    client.force_login(user)
    return profile


def test_preview_shows_both_lists_and_changes_nothing(client, customer):
    events_before = ConsentEvent.objects.count()
    response = client.get("/me/consent/preview/purchase_history/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "What changes if I switch off Purchase history?" in html
    assert "Wheat" in html
    assert ConsentEvent.objects.count() == events_before
    assert not Recommendation.objects.filter(customer=customer).exists()


def test_preview_matches_the_engine_without_that_category(client, customer):
    from personalization.recommending.delivery import preview_items

    without = [
        i.name for i in preview_items(customer=customer, without_data_category="purchase_history")
    ]
    now = [i.name for i in preview_items(customer=customer)]
    html = client.get("/me/consent/preview/purchase_history/").content.decode()
    assert set(now) - set(without), "purchases drive this customer's list"
    for name in set(now) - set(without):
        assert f"{name} <em>(would go)</em>" in html


def test_consent_page_links_to_the_preview(client, customer):
    html = client.get("/me/consent/").content.decode()
    assert "/me/consent/preview/purchase_history/" in html
    assert "/me/consent/preview/audit_attributes/" not in html


def test_unused_category_says_nothing_changes(client, customer):
    grant(customer, "browsing_history", granted=False)
    html = client.get("/me/consent/preview/browsing_history/").content.decode()
    assert "so switching it off changes nothing" in html


def test_unknown_or_audit_category_is_404(client, customer):
    assert client.get("/me/consent/preview/audit_attributes/").status_code == 404
    assert client.get("/me/consent/preview/nope/").status_code == 404


def test_same_items_in_another_order_is_not_called_the_same(make_user, client):
    """In the bakery alone every active item fits in a list of 10: without purchases the
    list keeps its items but loses their reasons and its order, and says so."""
    shop = Shop()
    user = make_user(Role.CUSTOMER)
    grant(user.customer_profile, *ALL)
    bought(user.customer_profile, shop.wheat, times=5)
    bought(user.customer_profile, shop.croissant, times=2, kind="view")
    services.model_version_train(model_version=services.model_version_create(), with_metrics=False)
    client.force_login(user)
    html = client.get("/me/consent/preview/purchase_history/").content.decode()
    assert "would stay, in a different order or for different reasons" in html
    assert "Your suggestions would stay the same." not in html
    assert "(would go)" not in html
