"""Training, generation and feedback through the database: consent, restrictions, modes."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditAttribute, PersonalizationMode
from accounts.services import customer_profile_set_mode, customer_profile_set_preferences
from core.errors import ApplicationError
from personalization import engine
from personalization.models import (
    Feedback,
    FeedbackKind,
    GenerationRun,
    Interaction,
    Item,
    ModelVersion,
    Recommendation,
    RecommendationStatus,
)
from personalization.recommending import delivery, services
from personalization.recommending.models_cache import active_version_id
from personalization.registry import (
    BROWSING_HISTORY,
    PURCHASE_HISTORY,
    STATED_PREFERENCES,
)
from tests.builders import ALL, Shop, bought, grant
from tests.factories import (
    CustomerProfileFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return Shop()


@pytest.fixture
def trained(shop):
    services.model_version_train(model_version=services.model_version_create())
    return shop


def current(customer) -> list[Recommendation]:
    return list(
        Recommendation.objects.filter(customer=customer, superseded_at__isnull=True)
        .select_related("item")
        .order_by("status", "rank")
    )


def snapshot(rows: list[Recommendation]) -> list[tuple]:
    return [(r.item_id, r.rank, round(r.score, 12), r.status) for r in rows]


def test_training_makes_a_complete_version_active_and_retires_the_previous_one(shop):
    first = services.model_version_train(model_version=services.model_version_create())
    assert first.status == ModelVersion.Status.ACTIVE
    assert first.training_counts["customers"] == 13
    assert first.training_counts["events_purchase_history"] > 0
    assert first.parameters["half_life_days"] == engine.Parameters().half_life_days
    assert first.metrics["customers"] >= 1 and "baselines" in first.metrics
    # While a new version trains, the first one keeps serving.
    second = services.model_version_create()
    assert second.status == ModelVersion.Status.TRAINING
    assert active_version_id() == first.pk
    services.model_version_train(model_version=second)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("retired", "active")
    assert active_version_id() == second.pk


def test_a_failed_training_leaves_the_active_version_serving(shop, monkeypatch):
    first = services.model_version_train(model_version=services.model_version_create())

    def broken(*args, **kwargs):
        raise MemoryError("out of memory")

    monkeypatch.setattr(engine, "train", broken)
    with pytest.raises(MemoryError):
        services.recommender_refresh()
    failed = ModelVersion.objects.exclude(pk=first.pk).get()
    assert failed.status == ModelVersion.Status.FAILED
    assert "out of memory" in failed.failure
    assert active_version_id() == first.pk


def test_generating_for_everyone_runs_in_chunks_and_records_progress(trained):
    seen = []
    run = services.recommendations_generate_all(chunk_size=5, on_progress=seen.append)
    assert run.status == GenerationRun.Status.COMPLETED
    assert (run.customers_total, run.customers_done, run.chunks_total) == (13, 13, 3)
    assert [r.customers_done for r in seen] == [5, 10, 13]
    assert len(current(trained.alice)) >= 5
    # A chunk delivered twice is counted once.
    again = services.recommendations_generate_chunk(
        run_id=run.pk, chunk=0, customer_ids=[trained.alice.pk]
    )
    assert again.customers_done == 13


def test_generation_through_celery_tasks(trained, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = services.generation_run_start(chunk_size=4)
    run.refresh_from_db()
    assert run.status == GenerationRun.Status.COMPLETED
    assert sorted(run.chunks_done) == [0, 1, 2, 3]
    assert Recommendation.objects.filter(customer=trained.alice).exists()


def test_every_stored_recommendation_adds_up_and_reads_like_its_reasons(trained):
    rows = services.recommendations_generate_for_customer(customer=trained.alice)
    assert rows
    for row in rows:
        assert math.fsum(r["contribution"] for r in row.reasons) == pytest.approx(row.score)
    top = rows[0]
    assert top.item == trained.wheat
    assert top.sentence == "Because you bought Wheat Sourdough 6 times"
    assert next(r for r in rows if r.item == trained.rye).sentence == (
        "Because you bought Rye Sourdough 2 times"
    )
    # A bread she never bought is there because of loaves she did buy, and says which.
    neighbour = next(r for r in rows if r.item in (trained.seeded, trained.bloomer))
    assert neighbour.sentence in (
        f"People who buy Wheat Sourdough often also buy {neighbour.item.name}",
        f"People who buy Rye Sourdough often also buy {neighbour.item.name}",
    )


def test_revoked_data_is_never_read_changed_added_or_deleted(trained):
    # given: Alice allows purchases only; browsing (her coffee views) is switched off
    alice = trained.alice
    grant(alice, BROWSING_HISTORY, STATED_PREFERENCES, granted=False)
    now = timezone.now()
    services.model_version_train(model_version=services.model_version_create(), now=now)
    before = snapshot(services.recommendations_generate_for_customer(customer=alice, now=now))
    reasons_before = [r.reasons for r in current(alice)]
    # when: her browsing changes, grows and shrinks, and the model is retrained
    views = Interaction.objects.filter(customer=alice, kind="view")
    views.filter(pk=views.first().pk).update(item=trained.cake, quantity=3)
    bought(alice, trained.tea, times=5, kind="view")
    bought(alice, trained.danish, times=2, kind="cart")
    Interaction.objects.filter(pk=views.last().pk).delete()
    services.model_version_train(model_version=services.model_version_create(), now=now)
    after = snapshot(services.recommendations_generate_for_customer(customer=alice, now=now))
    # then: nothing changed, and no reason cites browsing
    assert after == before
    assert [r.reasons for r in current(alice)] == reasons_before
    cited = {r.get("data_category") for row in current(alice) for r in row.reasons}
    assert cited <= {PURCHASE_HISTORY, None}


def test_removed_records_are_never_read(trained):
    alice = trained.alice
    before = snapshot(services.recommendations_generate_for_customer(customer=alice))
    Interaction.objects.filter(customer=alice, item=trained.wheat).update(
        excluded_at=timezone.now()
    )
    after = services.recommendations_generate_for_customer(customer=alice)
    assert snapshot(after) != before
    assert all(r.get("item") != trained.wheat.pk for row in after for r in row.reasons)


def test_the_engines_read_and_the_consent_rule_agree_row_for_row(trained):
    """The engine's SQL and `consented_interactions` state one rule twice: they agree."""
    from collections import Counter

    from personalization.consent.rule import consented_interactions
    from personalization.recommending import loading

    alice, other = trained.alice, trained.crowd[0]
    grant(alice, BROWSING_HISTORY, granted=False)
    grant(other, PURCHASE_HISTORY, granted=False)
    Interaction.objects.filter(customer=alice, item=trained.rye).update(excluded_at=timezone.now())
    position = {
        pk: i for i, pk in enumerate(Item.objects.order_by("pk").values_list("pk", flat=True))
    }
    everyone, some = Counter(), Counter()
    whole = loading.events_load(position=position, tally=everyone)
    loading.events_load(position=position, customer_ids=[alice.pk, other.pk], tally=some)
    expected = Counter(consented_interactions().values_list("customer_id", flat=True))
    assert everyone == expected and len(whole.customer) == expected.total()
    assert some == {pk: expected[pk] for pk in (alice.pk, other.pk) if expected[pk]}
    assert expected[other.pk] == 0 and 0 < expected[alice.pk] < alice.interactions.count()


def test_declared_audit_attributes_change_nothing(shop):
    alice = shop.alice
    now = timezone.now()
    services.model_version_train(model_version=services.model_version_create(), now=now)
    before = snapshot(services.recommendations_generate_for_customer(customer=alice, now=now))
    for n, customer in enumerate([alice, *shop.crowd]):
        AuditAttribute.objects.create(
            customer=customer,
            name="age_band",
            value=["18-34", "55+"][n % 2],
            source=AuditAttribute.Source.CUSTOMER,
            declared_at=timezone.now(),
        )
    services.model_version_train(model_version=services.model_version_create(), now=now)
    after = services.recommendations_generate_for_customer(customer=alice, now=now)
    assert snapshot(after) == before
    AuditAttribute.objects.filter(customer=alice).update(value="35-54")
    after = services.recommendations_generate_for_customer(customer=alice, now=now)
    assert snapshot(after) == before


def test_restrictions_hold_and_missing_allergen_data_is_held_for_review(trained):
    coeliac = CustomerProfileFactory()
    grant(coeliac, *ALL)
    bought(coeliac, trained.guest, times=4)
    bought(coeliac, trained.gluten_free, times=4)
    bought(coeliac, trained.tea, times=2)
    customer_profile_set_preferences(profile=coeliac, restrictions=["contains:gluten"])
    rows = services.recommendations_generate_for_customer(customer=coeliac)
    shown = [r for r in rows if r.status != RecommendationStatus.HELD]
    held = [r for r in rows if r.status == RecommendationStatus.HELD]
    assert shown
    for row in shown:
        codes = set(row.item.attributes.values_list("code", flat=True))
        assert "contains:gluten" not in codes
        assert row.item.allergens_declared
        assert row.item.active
    assert [(r.item, r.flags) for r in held] == [(trained.guest, ["missing_allergen_data"])]
    page = delivery.recommendations_deliver(customer=coeliac)
    assert trained.guest.pk not in [i.item_id for i in page.items]


def test_an_item_taken_off_sale_or_newly_restricted_disappears_before_it_is_shown(trained):
    alice = trained.alice
    services.recommendations_generate_for_customer(customer=alice)
    Item.objects.filter(pk=trained.rye.pk).update(active=False)
    page = delivery.recommendations_deliver(customer=alice)
    assert trained.rye.pk not in [i.item_id for i in page.items]
    customer_profile_set_preferences(profile=alice, restrictions=["contains:gluten"])
    alice.refresh_from_db()
    page = delivery.recommendations_deliver(customer=alice)
    assert page.items
    assert all(
        "contains:gluten"
        not in Item.objects.get(pk=i.item_id).attributes.values_list("code", flat=True)
        for i in page.items
    )


def test_a_revoked_category_is_not_cited_on_the_page_even_by_a_list_made_before(trained):
    alice = trained.alice
    services.recommendations_generate_for_customer(customer=alice)
    assert any(
        r.get("data_category") == BROWSING_HISTORY for row in current(alice) for r in row.reasons
    )
    grant(alice, BROWSING_HISTORY, granted=False)
    page = delivery.recommendations_deliver(customer=alice)
    assert page.items
    for shown in page.items:
        assert BROWSING_HISTORY not in [code for code, _ in shown.data_categories]
        assert all(line.data_category != BROWSING_HISTORY for line in shown.reasons)


def test_modes_off_paused_and_none(trained):
    alice = trained.alice
    visitor = [s.item for s in services.anonymous_recommendations().suggestions]
    customer_profile_set_mode(profile=alice, mode=PersonalizationMode.OFF)
    assert services.recommendations_generate_for_customer(customer=alice) == []
    page = delivery.recommendations_deliver(customer=alice)
    assert not page.personalized
    assert [i.item_id for i in page.items] == visitor
    assert all(not i.data_categories and i.recommendation_id is None for i in page.items)

    customer_profile_set_mode(
        profile=alice,
        mode=PersonalizationMode.PAUSED,
        paused_until=timezone.localdate() + timedelta(7),
    )
    page = delivery.recommendations_deliver(customer=alice)
    assert [i.item_id for i in page.items] == visitor

    customer_profile_set_mode(profile=alice, mode=PersonalizationMode.NONE)
    page = delivery.recommendations_deliver(customer=alice)
    assert page.items == []
    assert not Recommendation.objects.filter(customer=alice, superseded_at__isnull=True).exists()


def test_feedback_is_stored_and_changes_the_next_list_at_once(trained):
    alice = trained.alice
    rows = services.recommendations_generate_for_customer(customer=alice)
    target = next(r for r in rows if r.item == trained.rye)
    result = services.feedback_record(
        customer=alice, recommendation_id=target.pk, kind=FeedbackKind.NOT_FOR_ME
    )
    assert Feedback.objects.get(customer=alice).item == trained.rye
    assert trained.rye not in [r.item for r in result.recommendations]
    breads_before = sum(r.item.category.slug == "breads" for r in current(alice))
    some_bread = next(r for r in current(alice) if r.item.category.slug == "breads")
    services.feedback_record(
        customer=alice, recommendation_id=some_bread.pk, kind=FeedbackKind.FEWER_LIKE_THIS
    )
    assert sum(r.item.category.slug == "breads" for r in current(alice)) < breads_before


def test_feedback_on_someone_elses_suggestion_is_refused(trained):
    rows = services.recommendations_generate_for_customer(customer=trained.alice)
    other = trained.crowd[0]
    with pytest.raises(ApplicationError) as error:
        services.feedback_record(customer=other, recommendation_id=rows[0].pk, kind="not_for_me")
    assert error.value.code == "not_found"
    assert not Feedback.objects.exists()


def test_preview_without_a_category_shows_the_list_that_switching_it_off_would_give(trained):
    alice = trained.alice
    with_all = services.recommendations_preview(customer=alice)
    without = services.recommendations_preview(
        customer=alice, without_data_category=PURCHASE_HISTORY
    )
    assert [s.item for s in with_all.suggestions] != [s.item for s in without.suggestions]
    assert all(PURCHASE_HISTORY not in s.data_categories for s in without.suggestions)
    # Ready to show on the consent page, in words.
    shown = delivery.preview_items(customer=alice, without_data_category=PURCHASE_HISTORY)
    assert [i.item_id for i in shown] == [s.item for s in without.suggestions]
    assert all(code != PURCHASE_HISTORY for i in shown for code, _ in i.data_categories)
    assert "Because you looked at Flat White 3 times" in [i.sentence for i in shown]
    assert not Recommendation.objects.filter(customer=alice).exists()


def test_generation_never_touches_prices(trained):
    before = dict(Item.objects.values_list("pk", "price"))
    services.recommendations_generate_all()
    assert dict(Item.objects.values_list("pk", "price")) == before


def test_an_item_far_above_the_usual_spend_is_flagged_and_held(trained):
    fan = CustomerProfileFactory()
    grant(fan, *ALL)
    bought(fan, trained.croissant, times=5)
    bought(fan, trained.bun, times=3)
    bought(fan, trained.coffee, times=3)
    rows = services.recommendations_generate_for_customer(customer=fan)
    cake = [r for r in rows if r.item == trained.cake]
    assert cake and cake[0].flags == ["premium_price"]
    assert cake[0].status == RecommendationStatus.HELD
    page = delivery.recommendations_deliver(customer=fan)
    assert trained.cake.pk not in [i.item_id for i in page.items]


def test_a_new_list_replaces_unseen_rows_and_keeps_decided_ones_on_record(trained):
    alice = trained.alice
    first = services.recommendations_generate_for_customer(customer=alice)
    approved, shown = first[0], first[1]
    Recommendation.objects.filter(pk=approved.pk).update(status=RecommendationStatus.APPROVED)
    # Feedback links to the row it was given on; the new list is generated at once.
    result = services.feedback_record(
        customer=alice, recommendation_id=shown.pk, kind=FeedbackKind.NOT_FOR_ME
    )
    approved.refresh_from_db()
    assert approved.superseded_at is not None
    kept = {approved.pk}
    gone = [r.pk for r in first if r.pk not in kept]
    assert not Recommendation.objects.filter(pk__in=gone).exists()
    feedback = Feedback.objects.get(customer=alice)
    assert (feedback.item, feedback.recommendation) == (shown.item, None)
    # The returned rows are the stored ones, value for value.
    assert result.recommendations
    for row in result.recommendations:
        stored = Recommendation.objects.get(pk=row.pk)
        assert (stored.item_id, stored.rank, stored.score, stored.status) == (
            row.item_id,
            row.rank,
            row.score,
            row.status,
        )
        assert stored.reasons == row.reasons and stored.sentence == row.sentence
        assert stored.created_at == row.created_at and stored.superseded_at is None
    assert set(r.pk for r in current(alice)) == {r.pk for r in result.recommendations}


def test_regenerating_one_list_is_a_fixed_number_of_queries(trained, django_assert_num_queries):
    """On demand, a customer waits for this: no query per row, per old row or per event."""
    # The premium cake, held wherever it is suggested, is off sale: lists with nothing held.
    Item.objects.filter(pk=trained.cake.pk).update(active=False)
    for customer in trained.crowd:
        services.recommendations_generate_for_customer(customer=customer)
    # A list with nothing held for review: the common case, in its fewest statements.
    plain = next(
        c for c in trained.crowd if all(r.status != RecommendationStatus.HELD for r in current(c))
    )
    with django_assert_num_queries(QUERIES_ON_DEMAND):
        services.recommendations_generate_for_customer(customer=plain)
    # More history and more old rows: still no query per row or per event.
    bought(plain, trained.bloomer, times=5)
    bought(plain, trained.tea, times=5, kind="view")
    # (and a gluten-free loaf, so that one may be suggested in the premium cake's place)
    bought(plain, trained.gluten_free, times=1)
    for _ in range(3):
        services.recommendations_generate_for_customer(customer=plain)
    assert all(r.status == RecommendationStatus.PROPOSED for r in current(plain))
    with django_assert_num_queries(QUERIES_ON_DEMAND):
        services.recommendations_generate_for_customer(customer=plain)


# Model version; in the transaction: the customer's row lock, catalog (2), consent,
# feedback, history, the oversight settings, earlier review decisions (rejected items
# stay out), the rows to replace (nothing links to them, so no review item waits), their
# delete, the replaced mark, the insert; and the savepoint pair of the test's own
# transaction. (The review budget is read only when something is flagged.)
QUERIES_ON_DEMAND = 15
