"""/me/: what the shop knows about the customer, what it is used for, for how long."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import AuditAttribute, CustomerProfile, PersonalizationMode
from accounts.roles import Role
from accounts.services import customer_profile_set_mode, customer_profile_set_preferences
from governance.services import kill_switch_set
from personalization import registry
from personalization.consent.services import ConsentChange, consent_set
from personalization.dashboard import wording
from personalization.dashboard.selectors import customer_overview
from personalization.dashboard.services import interaction_exclude
from personalization.models import DataCategory
from tests.factories import InteractionFactory, ItemFactory

pytestmark = pytest.mark.django_db

NOV_20 = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


@pytest.fixture
def gable(make_user, client):
    """A signed-in customer with Mrs. Gable's kind of history: years of the same loaf."""
    user = make_user(Role.CUSTOMER, email="gable@example.com")
    client.force_login(user)
    profile = CustomerProfile.objects.get(user=user)
    wheat = ItemFactory(name="Wheat Sourdough Loaf")
    rye = ItemFactory(name="Rye Sourdough")
    for week in range(1, 38):
        InteractionFactory(customer=profile, item=wheat, occurred_at=NOV_20 - timedelta(weeks=week))
    InteractionFactory(customer=profile, item=rye, occurred_at=NOV_20)
    return profile


def card(html: str, code: str) -> str:
    """The part of the page about one data category."""
    start = html.index(f'id="category-{code}"')
    return html[start : html.index("</li>", html.index("</dl>", start))]


def squash(text: str) -> str:
    return " ".join(text.split())


def page(client) -> str:
    response = client.get(reverse("me:dashboard"))
    assert response.status_code == 200
    return squash(response.content.decode())


def test_counts_and_latest_examples_in_plain_words(client, gable):
    # given some browsing and a rating as well
    InteractionFactory(customer=gable, kind="view", item=ItemFactory(name="Dark Rye"))
    InteractionFactory(customer=gable, kind="view", occurred_at=NOV_20 - timedelta(days=3))
    InteractionFactory(customer=gable, kind="cart", item=ItemFactory(name="Baguette"))
    InteractionFactory(customer=gable, kind="rating", item=ItemFactory(name="Brioche"))

    html = page(client)

    purchases = card(html, registry.PURCHASE_HISTORY)
    assert "38 purchases" in purchases
    assert (
        "Latest: Rye Sourdough, 20 November 2026; Wheat Sourdough Loaf, 13 November 2026"
        in purchases
    )
    assert "Kept for</dt> <dd>5 years</dd>" in purchases
    browsing = card(html, registry.BROWSING_HISTORY)
    assert "2 items viewed; 1 item added to the basket" in browsing
    assert "Dark Rye, 20 November 2026" in browsing
    assert "Baguette, 20 November 2026" in browsing
    assert "Kept for</dt> <dd>6 months</dd>" in browsing
    assert "1 rating" in card(html, registry.STATED_PREFERENCES)
    assert "Nothing recorded." in card(html, registry.EMAIL_ENGAGEMENT)


def test_every_data_category_is_listed_with_its_retention(client, gable):
    html = page(client)

    for category in DataCategory.objects.all():
        assert f"<dd>{wording.retention_period(category.retention_days)}</dd>" in card(
            html, category.code
        )


def test_removed_items_are_counted_as_removed_and_never_shown_as_examples(client, gable):
    latest = gable.interactions.get(item__name="Rye Sourdough")
    interaction_exclude(customer=gable, interaction_id=latest.pk)

    purchases = card(page(client), registry.PURCHASE_HISTORY)

    assert "38 purchases; 1 removed from use" in purchases
    assert "Rye Sourdough" not in purchases
    assert "Latest: Wheat Sourdough Loaf, 13 November 2026" in purchases


def test_stated_preferences_include_likes_restrictions_and_notes(client, gable):
    customer_profile_set_preferences(
        profile=gable, restrictions=["contains:gluten", "alcohol"], liked_categories=["breads"]
    )
    gable.notes_for_staff = "Please no raisins."
    gable.save()

    html = page(client)

    stated = card(html, registry.STATED_PREFERENCES)
    assert "1 liked category; 2 things never to recommend; a note for staff" in stated
    assert "Never recommended</dt> <dd>Gluten, Alcohol</dd>" in html


def grant(customer, purpose, category, granted=True):
    consent_set(
        customer=customer,
        changes=[ConsentChange(purpose, category, granted)],
        method="ui",
        actor="customer",
        notice_version=None,
    )


def test_purposes_shown_follow_the_customers_consents(client, gable):
    # given nothing allowed yet
    html = page(client)
    for category in DataCategory.objects.exclude(code=registry.AUDIT_ATTRIBUTES):
        assert "Used for</dt> <dd> Not used </dd>" in card(html, category.code)

    # when she allows recommendations and offer emails from her purchases only
    grant(gable, registry.PERSONALIZATION, registry.PURCHASE_HISTORY)
    grant(gable, registry.MARKETING, registry.PURCHASE_HISTORY)
    html = page(client)

    # then exactly those purposes are named, and only for her purchases
    purchases = card(html, registry.PURCHASE_HISTORY)
    assert "<li>On-site recommendations</li>" in purchases
    assert "<li>Offer emails</li>" in purchases
    assert "Not used" not in purchases
    assert "Used for</dt> <dd> Not used </dd>" in card(html, registry.BROWSING_HISTORY)

    # when she withdraws offer emails again
    grant(gable, registry.MARKETING, registry.PURCHASE_HISTORY, granted=False)
    purchases = card(page(client), registry.PURCHASE_HISTORY)

    assert "On-site recommendations" in purchases
    assert "Offer emails" not in purchases


def test_allowed_recommendations_are_shown_as_not_used_while_paused(client, gable):
    grant(gable, registry.PERSONALIZATION, registry.PURCHASE_HISTORY)
    customer_profile_set_mode(
        profile=gable,
        mode=PersonalizationMode.PAUSED,
        paused_until=timezone.localdate() + timedelta(days=5),
    )

    purchases = card(page(client), registry.PURCHASE_HISTORY)

    assert "you allowed it, but not used while personalization is paused" in purchases


def test_declared_audit_attributes_are_shown_to_their_owner_for_fairness_checks_only(client, gable):
    for name, value in [("age_band", "55+"), ("gender", "woman")]:
        AuditAttribute.objects.create(
            customer=gable, name=name, value=value, source="import", declared_at=NOV_20
        )
    audit = card(page(client), registry.AUDIT_ATTRIBUTES)
    assert "2 details you declared" in audit
    assert "You declared: Age band: 55+; Gender: woman" in audit
    assert "Not used. If you allow it, it is used only for fairness checks" in audit

    # a personalization consent on these never makes them a recommender input
    grant(gable, registry.PERSONALIZATION, registry.AUDIT_ATTRIBUTES)
    grant(gable, registry.FAIRNESS_AUDIT, registry.AUDIT_ATTRIBUTES)
    audit = card(page(client), registry.AUDIT_ATTRIBUTES)

    assert "Used only for fairness checks" in audit
    assert "On-site recommendations" not in audit


@pytest.mark.parametrize(
    ("mode", "shown"),
    [
        (PersonalizationMode.ON, "Currently: <strong>On</strong>"),
        (PersonalizationMode.OFF, "Currently: <strong>Off</strong>"),
        (PersonalizationMode.NONE, "Currently: <strong>None</strong>"),
    ],
)
def test_current_mode_with_a_link_to_change_it(client, gable, mode, shown):
    customer_profile_set_mode(profile=gable, mode=mode)

    html = page(client)

    assert shown in html
    assert f'href="{reverse("me:preferences")}#mode"' in html


def test_while_the_shop_has_paused_ai_the_page_does_not_promise_picked_suggestions(
    client, gable, make_user
):
    kill_switch_set(engaged=True, reason="Checking the new model", actor=make_user(Role.OWNER))

    html = page(client)

    assert "Currently: <strong>On</strong>" in html
    assert "Suggestions are picked for you" not in html
    assert "The shop has paused AI suggestions for everyone for now" in html
    assert "Your choice stays On" in html


def test_the_usual_description_is_back_once_the_shop_resumes(client, gable, make_user):
    owner = make_user(Role.OWNER)
    kill_switch_set(engaged=True, reason="Checking", actor=owner)
    kill_switch_set(engaged=False, reason="Checked", actor=owner)

    html = page(client)

    assert "Suggestions are picked for you" in html
    assert "The shop has paused AI suggestions" not in html


def test_a_pause_is_shown_with_its_end_and_is_over_by_itself(client, gable):
    today = timezone.localdate()
    customer_profile_set_mode(
        profile=gable, mode=PersonalizationMode.PAUSED, paused_until=today + timedelta(days=2)
    )
    html = page(client)
    assert "Currently: <strong>Paused</strong> until" in html

    # the date passes (as if two days later the pause had been set for yesterday)
    CustomerProfile.objects.filter(pk=gable.pk).update(paused_until=today - timedelta(days=1))
    html = page(client)

    assert "Currently: <strong>On</strong>" in html
    assert "Your pause has ended, so personalization is on again." in html


def test_overview_takes_a_few_queries_whatever_the_history(
    client, gable, django_assert_max_num_queries
):
    # given a lot in every category, consents and declared attributes
    for kind in ("view", "cart", "rating"):
        for _ in range(15):
            InteractionFactory(customer=gable, kind=kind, item=ItemFactory())
    grant(gable, registry.PERSONALIZATION, registry.PURCHASE_HISTORY)
    customer_profile_set_preferences(profile=gable, liked_categories=["breads", "cakes"])
    AuditAttribute.objects.create(
        customer=gable, name="age_band", value="55+", source="import", declared_at=NOV_20
    )

    # categories, counts, examples, audit attributes, consents, purposes, liked categories
    with django_assert_max_num_queries(7):
        overview = customer_overview(customer=gable)
    # plus session, user, profile, the navigation's permissions, the privacy notice check
    # and the shop's kill switch
    with django_assert_max_num_queries(16):
        response = client.get(reverse("me:dashboard"))

    assert response.status_code == 200
    assert "15 ratings" in overview.categories[2].held
    assert "15 ratings" in response.content.decode()


def test_counts_are_written_in_the_readers_locale():
    assert wording.kind_count("purchase", 1234) == "1,234 purchases"
    assert wording.kind_count("purchase", 1) == "1 purchase"
    with translation.override("de"):
        assert wording.number(1234) == "1.234"


@pytest.mark.parametrize(
    ("days", "words"),
    [(1825, "5 years"), (365, "1 year"), (180, "6 months"), (45, "45 days"), (1, "1 day")],
)
def test_retention_in_plain_words(days, words):
    assert wording.retention_period(days) == words


def test_attribute_codes_have_human_labels():
    assert wording.attribute_label("contains:gluten") == "Gluten"
    assert wording.attribute_label("contains:nuts") == "Nuts"
    assert wording.attribute_label("alcohol") == "Alcohol"
    assert wording.attribute_label("contains:pine-kernels") == "Pine kernels"
    assert not wording.is_restrictable("contains:none")
    assert not wording.is_restrictable("vegan")


def test_new_customer_is_told_nothing_is_held_yet(client, make_user):
    client.force_login(make_user(Role.CUSTOMER))

    assert "Nothing yet: we hold no history or stated preferences about you." in page(client)


def test_dates_follow_the_language(client, gable):
    response = client.get(reverse("me:dashboard"), HTTP_ACCEPT_LANGUAGE="de")

    assert response["Content-Language"] == "de"
    assert "Rye Sourdough, 20. November 2026" in squash(response.content.decode())
