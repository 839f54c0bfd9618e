"""/me/recommendations/: the customer's own list, "Why this?", feedback, modes, queries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import PersonalizationMode
from accounts.roles import Role
from accounts.services import customer_profile_set_mode, customer_profile_set_preferences
from personalization.models import Feedback, Item, Recommendation, ReviewItem
from personalization.oversight.services import review_decide
from personalization.recommending import services
from tests.builders import ALL, Shop, bought, grant
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db
URL = "/me/recommendations/"


@pytest.fixture
def shop():
    return Shop()


@pytest.fixture
def customer(shop, make_user, client):
    """A signed-in customer with a history of wheat bread, croissants and coffee."""
    user = make_user(Role.CUSTOMER)
    profile = user.customer_profile
    grant(profile, *ALL)
    bought(profile, shop.wheat, times=5)
    bought(profile, shop.croissant, times=3)
    bought(profile, shop.coffee, times=2, kind="view")
    services.model_version_train(model_version=services.model_version_create(), with_metrics=False)
    client.force_login(user)
    return profile


def item_names(html: str) -> list[str]:
    return re.findall(r'<h2 class="recommendation-name">([^<]+)</h2>', html)


def test_the_page_needs_a_sign_in(client, shop):
    response = client.get(URL)
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_the_url_is_named():
    assert reverse("me:recommendations") == URL


def test_each_suggestion_says_why_with_its_data_categories_and_a_link_to_change_them(
    client, customer, shop
):
    response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    names = item_names(html)
    assert names[0] == "Wheat Sourdough"
    assert "Because you bought Wheat Sourdough 5 times" in html
    assert html.count("<summary>Why this?") == len(names)
    assert "from your Purchase history" in html
    assert "from your Browsing history" in html
    assert f'href="{reverse("me:consent")}"' in html
    assert "% of this suggestion" in html
    # Shown suggestions are recorded as delivered.
    assert set(
        Recommendation.objects.filter(customer=customer, superseded_at__isnull=True).values_list(
            "status", flat=True
        )
    ) <= {"delivered", "held"}


def test_feedback_is_stored_and_the_next_list_changes_at_once(client, customer, shop):
    client.get(URL)
    row = Recommendation.objects.get(
        customer=customer, item=shop.croissant, superseded_at__isnull=True
    )
    response = client.post(
        reverse("me:recommendation_feedback", args=[row.pk]), {"kind": "not_for_me"}, follow=True
    )
    html = response.content.decode()
    assert "Croissant is not for you" in html
    assert "Croissant" not in item_names(html)
    feedback = Feedback.objects.get()
    assert (feedback.customer, feedback.item, feedback.kind) == (
        customer,
        shop.croissant,
        "not_for_me",
    )


def test_i_cant_have_this_keeps_the_item_away_for_good(client, customer, shop):
    client.get(URL)
    row = Recommendation.objects.get(customer=customer, item=shop.rye, superseded_at__isnull=True)
    client.post(reverse("me:recommendation_feedback", args=[row.pk]), {"kind": "cant_have"})
    assert "Rye Sourdough" not in item_names(client.get(URL).content.decode())
    services.model_version_train(model_version=services.model_version_create(), with_metrics=False)
    services.recommendations_generate_all()
    assert "Rye Sourdough" not in item_names(client.get(URL).content.decode())


def test_an_unknown_feedback_kind_changes_nothing(client, customer, shop):
    client.get(URL)
    row = Recommendation.objects.filter(customer=customer, superseded_at__isnull=True).first()
    response = client.post(
        reverse("me:recommendation_feedback", args=[row.pk]), {"kind": "love_it"}, follow=True
    )
    assert "Choose one of the feedback buttons." in response.content.decode()
    assert not Feedback.objects.exists()


def test_a_customer_cannot_see_or_touch_another_customers_suggestions(
    client, customer, shop, make_user
):
    services.recommendations_generate_for_customer(customer=shop.alice)
    theirs = Recommendation.objects.filter(customer=shop.alice).first()
    response = client.post(
        reverse("me:recommendation_feedback", args=[theirs.pk]), {"kind": "not_for_me"}
    )
    assert response.status_code == 404
    assert not Feedback.objects.exists()
    # The page only ever shows the signed-in customer's own list.
    client.get(URL)
    mine = set(
        Recommendation.objects.filter(customer=customer, status="delivered").values_list(
            "pk", flat=True
        )
    )
    assert mine and theirs.pk not in mine
    assert Recommendation.objects.get(pk=theirs.pk).status != "delivered"
    # Feedback is POST only.
    assert client.get(reverse("me:recommendation_feedback", args=[theirs.pk])).status_code == 405


def test_mode_off_shows_the_visitors_list_without_feedback_buttons(client, customer, shop):
    customer_profile_set_mode(profile=customer, mode=PersonalizationMode.OFF)
    html = client.get(URL).content.decode()
    assert "Personalization is off" in html
    visitor = services.anonymous_recommendations()
    expected = [Item.objects.get(pk=s.item).name for s in visitor.suggestions]
    assert item_names(html) == expected
    assert "not_for_me" not in html
    assert "No personal data was used for this suggestion." in html


def test_mode_paused_says_until_when(client, customer, shop):
    until = timezone.localdate() + timedelta(days=5)
    customer_profile_set_mode(profile=customer, mode=PersonalizationMode.PAUSED, paused_until=until)
    html = client.get(URL).content.decode()
    assert "Personalization is paused until" in html
    assert item_names(html)


def test_mode_none_shows_nothing(client, customer, shop):
    customer_profile_set_mode(profile=customer, mode=PersonalizationMode.NONE)
    html = client.get(URL).content.decode()
    assert item_names(html) == []
    assert "You chose to get no suggestions at all" in html


def test_before_any_training_the_page_says_so(client, make_user):
    user = make_user(Role.CUSTOMER)
    client.force_login(user)
    html = client.get(URL).content.decode()
    assert "We have no suggestions yet" in html


def test_the_page_makes_the_same_few_queries_however_long_the_list(
    client, customer, shop, django_assert_max_num_queries
):
    client.get(URL)  # generates and delivers the list
    assert len(item_names(client.get(URL).content.decode())) >= 8
    # 6 are the page's own; the rest are the session, the login, navigation and notices.
    with django_assert_max_num_queries(16):
        client.get(URL)
    # A customer with a shorter list costs no fewer and no more.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as long_list:
        client.get(URL)
    Recommendation.objects.filter(customer=customer, rank__gt=3).delete()
    with CaptureQueriesContext(connection) as short_list:
        client.get(URL)
    assert len(short_list) == len(long_list)


def test_a_stored_list_is_served_again_until_something_it_rests_on_changes(client, customer, shop):
    client.get(URL)
    first = set(Recommendation.objects.filter(customer=customer).values_list("pk", flat=True))
    client.get(URL)
    client.get(URL)
    # Nothing changed: the same stored rows are served, none regenerated.
    assert set(Recommendation.objects.filter(customer=customer).values_list("pk", flat=True)) == (
        first
    )
    Feedback.objects.create(customer=customer, item=shop.coffee, kind="not_for_me")
    client.get(URL)
    current = Recommendation.objects.filter(customer=customer, superseded_at__isnull=True)
    assert not set(current.values_list("pk", flat=True)) & first


def test_a_complaint_holds_the_items_it_concerns_and_the_list_stays_personalized(
    client, customer, shop
):
    client.get(URL)
    row = Recommendation.objects.get(
        customer=customer, item=shop.croissant, superseded_at__isnull=True
    )
    # a complaint about a pastry: pastries wait for a person (the recent_complaint rule),
    # the rest of the list is still the customer's own
    client.post(reverse("me:recommendation_feedback", args=[row.pk]), {"kind": "not_for_me"})
    current = Recommendation.objects.filter(customer=customer, superseded_at__isnull=True)
    held = current.filter(status="held")
    for_complaint = ReviewItem.objects.filter(
        recommendation__in=held, rules__contains=",recent_complaint,"
    )
    assert set(for_complaint.values_list("recommendation__item__category__slug", flat=True)) == {
        "pastries"
    }
    assert current.exclude(status="held").exists()

    html = client.get(URL).content.decode()
    assert "Our staff are checking your personal suggestions" not in html
    assert "Picked for you from what you allowed us to use" in html
    names = item_names(html)
    assert "Croissant" not in names  # what they just turned down stays away
    assert not set(names) & set(held.values_list("item__name", flat=True))


def test_a_reviewers_replacement_says_staff_chose_it(client, customer, shop, make_user):
    spare = _replace_a_held_item(client, customer, shop, make_user)

    html = client.get(URL).content.decode()
    assert spare.name in item_names(html)
    assert "Chosen for you by our staff" in html


def _replace_a_held_item(client, customer, shop, make_user):
    """The customer turns down the croissant; staff replace the held item with a new
    biscuit the model has never seen (so only the staff's choice can list it)."""
    client.get(URL)
    row = Recommendation.objects.get(
        customer=customer, item=shop.croissant, superseded_at__isnull=True
    )
    client.post(reverse("me:recommendation_feedback", args=[row.pk]), {"kind": "not_for_me"})
    current = Recommendation.objects.filter(customer=customer, superseded_at__isnull=True)
    spare = ItemFactory(
        name="Ginger Biscuit",
        category=shop.croissant.category,
        attribute_codes=["contains:gluten"],
    )
    item = ReviewItem.objects.filter(recommendation__in=current.filter(status="held")).first()
    review_decide(
        user=make_user(Role.STAFF),
        item_id=item.pk,
        decision="replace",
        reason_code="better_item",
        replacement_item_id=spare.pk,
        explanation_seen=True,
    )
    return spare


def test_a_staff_replacement_survives_a_later_regeneration(client, customer, shop, make_user):
    spare = _replace_a_held_item(client, customer, shop, make_user)
    before = item_names(client.get(URL).content.decode())
    assert spare.name in before

    # A later regeneration (new data, a retrain, the nightly refresh) keeps the pick.
    services.recommendations_generate_for_customer(customer=customer)
    html = client.get(URL).content.decode()
    names = item_names(html)
    assert spare.name in names
    assert "Chosen for you by our staff" in html
    assert len(names) == len(before)
    assert len(set(names)) == len(names)
    assert "Croissant" not in names


def test_a_staff_replacement_is_shown_in_the_readers_language(client, customer, shop, make_user):
    _replace_a_held_item(client, customer, shop, make_user)
    services.recommendations_generate_for_customer(customer=customer)
    html = client.get(URL, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Ginger Biscuit" in item_names(html)
    assert "Von unserem Team für Sie ausgewählt" in html
    assert "Chosen for you by our staff" not in html


def test_a_staff_replacement_leaves_when_it_no_longer_fits(client, customer, shop, make_user):
    spare = _replace_a_held_item(client, customer, shop, make_user)
    # The customer now says they cannot have what the pick contains: it conflicts and goes.
    customer_profile_set_preferences(profile=customer, restrictions=["contains:gluten"])
    services.recommendations_generate_for_customer(customer=customer)
    assert spare.name not in item_names(client.get(URL).content.decode())


def test_a_staff_replacement_the_customer_turns_down_does_not_come_back(
    client, customer, shop, make_user
):
    spare = _replace_a_held_item(client, customer, shop, make_user)
    client.get(URL)
    row = Recommendation.objects.get(customer=customer, item=spare, superseded_at__isnull=True)
    client.post(reverse("me:recommendation_feedback", args=[row.pk]), {"kind": "not_for_me"})
    services.recommendations_generate_for_customer(customer=customer)
    assert spare.name not in item_names(client.get(URL).content.decode())


def test_a_staff_replacement_is_kept_for_thirty_days(client, customer, shop, make_user):
    spare = _replace_a_held_item(client, customer, shop, make_user)
    later = timezone.now() + timedelta(days=31)
    rows = services.recommendations_generate_for_customer(customer=customer, now=later)
    assert spare.pk not in {r.item_id for r in rows if r.status == "approved" and not r.reasons}
