"""Feedback that does what it says (issue 17, item 3) on cards a shopper reads (issue 19,
item 5): "Not for me" keeps a full personalized list, "I can't have this" asks what and
adds it as a restriction in one step, and each can be undone."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db.models import Max
from django.urls import reverse

from accounts.models import CustomerProfile
from accounts.roles import Role
from personalization.models import Feedback, PrivacyNotice, Recommendation
from personalization.recommendations import services as feedback
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
    notice_read(profile)
    client.force_login(user)
    return profile


def notice_read(profile: CustomerProfile) -> None:
    """The customer has read the current privacy notice (else /me/ asks for it first)."""
    latest = PrivacyNotice.objects.aggregate(v=Max("version"))["v"]
    if latest:
        CustomerProfile.objects.filter(pk=profile.pk).update(notice_version_seen=latest)
        profile.refresh_from_db()


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def item_names(html: str) -> list[str]:
    return re.findall(r'<h2 class="recommendation-name">([^<]+)</h2>', html)


def card_of(html: str, name: str) -> str:
    match = re.search(
        r'<li class="card recommendation"[^>]*>\s*<h2 class="recommendation-name">'
        + re.escape(name)
        + r"</h2>(.*?)</li>\s*(?=<li class=\"card recommendation\"|</ol>)",
        html,
        re.S,
    )
    assert match, f"no card for {name}"
    return match.group(1)


def row_of(customer: CustomerProfile, item) -> Recommendation:
    return Recommendation.objects.get(customer=customer, item=item, superseded_at__isnull=True)


def test_cards_show_allergen_and_diet_chips_one_reason_and_a_small_menu(client, customer, shop):
    html = text(client.get(URL))
    croissant = card_of(html, "Croissant")
    # allergens the shop declared, as chips after "Contains:"
    assert re.search(
        r'<span class="chips-label">Contains:</span> <ul class="chip-list">'
        r'<li class="chip chip-allergen">Gluten</li><li class="chip chip-allergen">Milk</li></ul>',
        croissant,
    )
    # one short reason, then "Why this?" folded away
    assert croissant.count('class="recommendation-sentence"') == 1
    assert "<summary>Why this?" in croissant
    # feedback in one small menu, "I can't have this" as a step that asks what
    assert '<details class="feedback-menu">' in croissant
    assert croissant.count('<button type="submit" name="kind"') == 2
    row = row_of(customer, shop.croissant)
    assert reverse("me:recommendation_cant_have", args=[row.pk]) in croissant
    # diet labels
    if "Wheat Sourdough" in item_names(html):
        assert '<li class="chip chip-diet">Vegan</li>' in card_of(html, "Wheat Sourdough")


def test_an_item_without_declared_allergens_says_so_on_its_card(client, customer, shop):
    # given the customer likes the guest baker's cob (its allergens are not declared)
    bought(customer, shop.guest, times=6)
    html = text(client.get(URL))
    assert "Guest Cob" in item_names(html)
    assert "Allergens not listed by the shop" in card_of(html, "Guest Cob")


def test_not_for_me_keeps_a_full_personalized_list_with_an_undo(client, customer, shop):
    # given a catalog with more than one list's worth of safe items
    more = [
        ItemFactory(
            name=f"Loaf {n}",
            category=shop.wheat.category,
            attribute_codes=["contains:gluten"],
            price=Decimal("4.00"),
        )
        for n in range(8)
    ]
    for n, item in enumerate(more):
        for other in shop.crowd[n % 4 :: 4]:
            bought(other, item, times=2)
    services.model_version_train(model_version=services.model_version_create(), with_metrics=False)
    before = item_names(text(client.get(URL)))
    assert len(before) == 10
    assert "Croissant" in before
    row = row_of(customer, shop.croissant)
    after = text(
        client.post(
            reverse("me:recommendation_feedback", args=[row.pk]),
            {"kind": "not_for_me"},
            follow=True,
        )
    )
    names = item_names(after)
    assert "Croissant" not in names
    assert len(names) == len(before)
    assert "Our staff are checking your personal suggestions" not in after
    assert "Picked for you from what you allowed us to use" in after
    assert "Got it: Croissant is not for you." in after
    given = Feedback.objects.get(customer=customer)
    assert reverse("me:feedback_undo", args=[given.pk]) in after


def test_undo_of_not_for_me_brings_the_item_back(client, customer, shop):
    before = item_names(text(client.get(URL)))
    row = row_of(customer, shop.croissant)
    client.post(reverse("me:recommendation_feedback", args=[row.pk]), {"kind": "not_for_me"})
    given = Feedback.objects.get(customer=customer)
    page = text(client.post(reverse("me:feedback_undo", args=[given.pk]), follow=True))
    assert "Undone: Croissant can be suggested to you again." in page
    assert not Feedback.objects.filter(customer=customer).exists()
    assert item_names(page) == before
    # the undo offer is gone with the feedback
    assert reverse("me:feedback_undo", args=[given.pk]) not in page


def test_i_cant_have_this_asks_what_and_offers_the_items_allergens(client, customer, shop):
    client.get(URL)
    row = row_of(customer, shop.croissant)
    page = text(client.get(reverse("me:recommendation_cant_have", args=[row.pk])))
    assert "<h1>You can't have Croissant</h1>" in page
    offered = re.findall(r'<input type="checkbox" name="restrictions" value="([^"]+)"', page)
    assert offered == ["contains:gluten", "contains:milk"]
    assert '<label for="restriction-1">Gluten</label>' in page


def test_i_cant_have_this_adds_the_restriction_in_one_step_and_undo_restores(
    client, customer, shop
):
    client.get(URL)
    row = row_of(customer, shop.croissant)
    # when the customer ticks gluten and saves
    page = text(
        client.post(
            reverse("me:recommendation_cant_have", args=[row.pk]),
            {"restrictions": ["contains:gluten"]},
            follow=True,
        )
    )
    customer.refresh_from_db()
    # then gluten is a restriction, the feedback is stored, nothing with gluten is shown
    assert customer.restrictions == ["contains:gluten"]
    assert Feedback.objects.get(customer=customer).kind == "cant_have"
    assert "Nothing containing Gluten will be suggested to you" in page
    for name in ("Wheat Sourdough", "Rye Sourdough", "Croissant", "Cinnamon Bun"):
        assert name not in item_names(page)
    # and "Undo" takes back both the feedback and the restriction it added
    undo = re.search(r'<form method="post" action="(/me/recommendations/feedback/\d+/undo/)"', page)
    assert undo
    assert '<input type="hidden" name="restrictions" value="contains:gluten">' in page
    restored = text(client.post(undo.group(1), {"restrictions": ["contains:gluten"]}, follow=True))
    customer.refresh_from_db()
    assert customer.restrictions == []
    assert not Feedback.objects.filter(customer=customer).exists()
    assert "Gluten is no longer on your never-recommend list." in restored
    assert "Croissant" in item_names(restored)


def test_undo_leaves_a_restriction_the_customer_had_before(client, customer, shop):
    # given milk was already a restriction... (the croissant would not be offered then,
    # so the customer restricts sesame and says they can't have the seeded loaf)
    client.get(URL)
    customer.restrictions = ["contains:sesame"]
    customer.save(update_fields=["restrictions"])
    bought(customer, shop.rye, times=4)
    client.get(URL)
    row = row_of(customer, shop.rye)
    given = feedback.feedback_give(
        customer=customer,
        recommendation_id=row.pk,
        kind="cant_have",
        restrictions=["contains:gluten"],
    )
    assert given.restrictions_added == ("contains:gluten",)
    feedback.feedback_undo(
        customer=customer, feedback_id=given.feedback.pk, restrictions=["contains:gluten"]
    )
    customer.refresh_from_db()
    assert customer.restrictions == ["contains:sesame"]


def test_a_code_the_item_does_not_carry_is_refused_and_nothing_is_saved(client, customer, shop):
    client.get(URL)
    row = row_of(customer, shop.croissant)
    response = client.post(
        reverse("me:recommendation_cant_have", args=[row.pk]),
        {"restrictions": ["contains:fish"]},
    )
    assert response.status_code == 400
    assert "Croissant does not contain Fish" in text(response)
    customer.refresh_from_db()
    assert customer.restrictions == []
    assert not Feedback.objects.exists()


def test_undo_twice_or_of_someone_elses_feedback_changes_nothing(client, customer, shop):
    services.recommendations_generate_for_customer(customer=shop.alice)
    theirs = Feedback.objects.create(customer=shop.alice, item=shop.rye, kind="not_for_me")
    assert client.post(reverse("me:feedback_undo", args=[theirs.pk])).status_code == 404
    assert Feedback.objects.filter(pk=theirs.pk).exists()
    # one's own, undone twice: the second finds nothing to take back
    client.get(URL)
    row = row_of(customer, shop.croissant)
    client.post(reverse("me:recommendation_feedback", args=[row.pk]), {"kind": "not_for_me"})
    mine = Feedback.objects.get(customer=customer)
    assert client.post(reverse("me:feedback_undo", args=[mine.pk])).status_code == 302
    assert client.post(reverse("me:feedback_undo", args=[mine.pk])).status_code == 404
    # the feedback page only takes POST
    assert client.get(reverse("me:feedback_undo", args=[theirs.pk])).status_code == 405


def test_someone_elses_suggestion_has_no_cant_have_page(client, customer, shop):
    services.recommendations_generate_for_customer(customer=shop.alice)
    theirs = Recommendation.objects.filter(customer=shop.alice).first()
    assert client.get(reverse("me:recommendation_cant_have", args=[theirs.pk])).status_code == 404
    response = client.post(
        reverse("me:recommendation_cant_have", args=[theirs.pk]),
        {"restrictions": ["contains:gluten"]},
    )
    assert response.status_code == 404
    assert not Feedback.objects.exists()


def test_what_you_told_us_lists_each_piece_of_feedback_with_its_own_undo(client, customer, shop):
    client.get(URL)
    for item, kind in ((shop.croissant, "not_for_me"), (shop.coffee, "fewer_like_this")):
        client.post(
            reverse("me:recommendation_feedback", args=[row_of(customer, item).pk]), {"kind": kind}
        )
    page = text(client.get(URL))
    assert "What you told us about 2 suggestions" in page
    assert "Croissant: Not for me" in page and "Flat White: Fewer like this" in page
    for given in Feedback.objects.filter(customer=customer):
        assert reverse("me:feedback_undo", args=[given.pk]) in page


@pytest.mark.slow
def test_on_the_demo_one_not_for_me_leaves_a_personalized_list_of_the_same_length():
    """Issue 17's target on the seeded demo bakery, tried on every demo customer whose
    personalized list is full: one "Not for me" on the top suggestion keeps it full and
    personalized. The one exception allowed is a customer whose restrictions leave too
    few safe items once the complaint's category waits for a person, and then the page
    says the list is short (measured: 287 of 288 keep ten; the other, a coeliac, nine)."""
    from io import StringIO

    from django.core.management import call_command

    from personalization.recommending import delivery

    call_command("seed_demo", stdout=StringIO(), stderr=StringIO())
    for profile in CustomerProfile.objects.all():
        grant(profile, *ALL)
    services.model_version_train(model_version=services.model_version_create(), with_metrics=False)
    tried, kept = 0, 0
    for profile in CustomerProfile.objects.order_by("pk"):
        page = delivery.recommendations_deliver(customer=profile)
        if not page.personalized or len(page.items) < 10:
            continue
        tried += 1
        first = page.items[0]
        feedback.feedback_give(
            customer=profile, recommendation_id=first.recommendation_id, kind="not_for_me"
        )
        after = delivery.recommendations_deliver(customer=profile)
        assert after.personalized and not after.under_review, profile.external_id
        assert first.item_id not in {i.item_id for i in after.items}
        if len(after.items) == len(page.items):
            kept += 1
        else:
            # short only with the note, and only under a restriction
            assert not after.complete and profile.restrictions, profile.external_id
    assert tried >= 100
    assert kept >= 0.99 * tried, (kept, tried)
