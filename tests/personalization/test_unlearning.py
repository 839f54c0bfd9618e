"""Erasure and withdrawn consent take a customer's rows out of the served model, exactly:
the model served afterwards equals one trained from scratch without them (1e-6)."""

from __future__ import annotations

import numpy as np
import pytest
from django.core import mail
from django.db import connection

from personalization import engine
from personalization.consent.services import ConsentChange, consent_set
from personalization.datarights import services as datarights
from personalization.models import DataRequest, ModelVersion
from personalization.models.requests import ModelUnlearning
from personalization.recommending import loading
from personalization.recommending import services as recommending
from personalization.recommending.models_cache import active_version, model_for
from personalization.registry import BROWSING_HISTORY, PERSONALIZATION
from personalization.unlearning.services import model_forget_customer, unlearning_sweep
from tests.factories import CustomerProfileFactory, InteractionFactory, UserFactory
from tests.personalization.sessions import (
    grant,
    holding,
    in_own_session,
    release_held_sessions,  # noqa: F401 - the fixture
    small_shop,
    waits_for_a_lock,
)

TOLERANCE = 1e-6


def served() -> tuple[ModelVersion, engine.Model]:
    version = active_version()
    assert version is not None
    return ModelVersion.objects.get(pk=version[0]), model_for(*version)


def trained_from_scratch(model: engine.Model) -> engine.Model:
    """What a training now (same settings, same time anchor) makes of the data left."""
    catalog = loading.catalog_load()
    events = loading.events_load(position=catalog.position)
    return engine.train(events, catalog, params=model.params, now=model.trained_at, consent=None)


def assert_same(got: engine.Model, want: engine.Model) -> None:
    scale = max(1.0, float(np.abs(want.neighbourhood.toarray()).max()))
    np.testing.assert_allclose(
        got.neighbourhood.toarray(), want.neighbourhood.toarray(), atol=TOLERANCE * scale, rtol=0
    )
    np.testing.assert_allclose(got.popularity, want.popularity, atol=TOLERANCE, rtol=0)
    np.testing.assert_array_equal(got.ease_items, want.ease_items)
    assert got.gram_inverse is not None and want.gram_inverse is not None
    p_scale = float(np.abs(want.gram_inverse).max())
    np.testing.assert_allclose(
        got.gram_inverse, want.gram_inverse, atol=TOLERANCE * p_scale, rtol=0
    )
    assert got.counts["customers"] == want.counts["customers"]
    assert got.counts["events"] == want.counts["events"]


def erase(profile, capture) -> DataRequest:
    request = datarights.data_request_create(customer=profile, kind="erasure")
    DataRequest.objects.filter(pk=request.pk).update(not_before=request.requested_at)
    with capture(execute=True):
        # The cancel window has ended: the erasure is queued and runs (eagerly here).
        datarights.erasures_start_due()
    return DataRequest.objects.get(pk=request.pk)


def withdraw(customer, category) -> None:
    consent_set(
        customer=customer,
        changes=[ConsentChange(PERSONALIZATION, category, False)],
        method="ui",
        actor="customer",
        notice_version=None,
    )


@pytest.mark.django_db
def test_an_erased_customer_is_taken_out_of_the_served_model_exactly(
    django_capture_on_commit_callbacks,
):
    # given: a trained EASE^R model whose data holds the customer's purchases
    shop = small_shop()
    user = UserFactory(email="leaving@example.com")
    shop.customer.user = user
    shop.customer.save()
    before, model = served()
    assert model.family == "ease"
    with_them = trained_from_scratch(model)

    # when: the customer is erased
    request = erase(shop.customer, django_capture_on_commit_callbacks)

    # then: the served model is a new version, equal to one trained without them
    after, unlearned = served()
    assert after.pk != before.pk
    assert_same(unlearned, trained_from_scratch(model))
    assert not np.allclose(unlearned.gram_inverse, with_them.gram_inverse, atol=TOLERANCE)
    # the version that held their data is retired and its trained model deleted
    before.refresh_from_db()
    assert before.status == ModelVersion.Status.RETIRED
    assert before.artifact is None
    assert after.trained_at == before.trained_at
    # and the receipt says when
    assert request.status == "completed"
    assert request.outcome["model"] == "downdate"
    assert request.removed_from_model_at is not None
    last = mail.outbox[-1]
    assert last.to == ["leaving@example.com"]
    assert "Your data was removed from our recommendation model at" in last.body


@pytest.mark.django_db
def test_a_withdrawn_category_leaves_the_model_and_the_rest_stays(
    django_capture_on_commit_callbacks,
):
    # given: the customer's views count in the model alongside their purchases
    shop = small_shop()
    for n in range(3):
        InteractionFactory(customer=shop.customer, item=shop.items[3 + n], kind="view")
    # and a return, which takes back two of their four purchases of the first loaf
    InteractionFactory(customer=shop.customer, item=shop.items[0], kind="return", quantity=2)
    recommending.model_version_train(
        model_version=recommending.model_version_create(), with_metrics=False
    )
    _version, model = served()

    # when: they withdraw consent for their browsing history (the task runs on commit)
    with django_capture_on_commit_callbacks(execute=True):
        withdraw(shop.customer, BROWSING_HISTORY)

    # then: the served model equals a training on what their consent still allows
    _after, unlearned = served()
    assert_same(unlearned, trained_from_scratch(model))
    row = ModelUnlearning.objects.get(customer_ref=shop.customer.pk)
    assert (row.data_categories, row.method, row.reason) == (
        [BROWSING_HISTORY],
        "downdate",
        "consent",
    )
    # the purchases are still in: a withdrawal is not an erasure
    assert unlearned.counts["customers"] == model.counts["customers"]


@pytest.mark.django_db
def test_forgetting_twice_changes_nothing_the_second_time(django_capture_on_commit_callbacks):
    shop = small_shop()
    with django_capture_on_commit_callbacks(execute=True):
        withdraw(shop.customer, BROWSING_HISTORY)
        for category in ("purchase_history", "stated_preferences"):
            withdraw(shop.customer, category)
    version, model = served()

    again = model_forget_customer(customer_ref=shop.customer.pk, reason="consent")
    swept = unlearning_sweep()

    assert again.method == "done"
    assert swept == []
    assert served()[0].pk == version.pk
    assert_same(served()[1], trained_from_scratch(model))


@pytest.mark.django_db
def test_a_customer_the_model_never_held_changes_nothing():
    small_shop()
    stranger = CustomerProfileFactory.create()
    version, _model = served()

    outcome = model_forget_customer(customer_ref=stranger.pk, reason="erasure")

    assert outcome.method == "none"
    assert served()[0].pk == version.pk


@pytest.mark.django_db
def test_an_item_knn_model_is_retrained_without_them_and_the_receipt_says_so(
    django_capture_on_commit_callbacks,
):
    shop = small_shop()
    recommending.model_version_train(
        model_version=recommending.model_version_create(parameters={"family": "knn"}),
        with_metrics=False,
    )
    knn, _model = served()
    user = UserFactory(email="knn-leaver@example.com")
    shop.customer.user = user
    shop.customer.save()

    request = erase(shop.customer, django_capture_on_commit_callbacks)

    assert request.outcome["model"] == "retrain"
    assert request.removed_from_model_at is None
    row = ModelUnlearning.objects.get(customer_ref=request.customer_ref)
    assert row.method == "retrain"
    # the retrain ran (eagerly here) on data without them and serves now
    new, retrained = served()
    assert new.pk == row.result_id != knn.pk
    assert retrained.counts["customers"] == 8
    assert "is being trained again without it" in mail.outbox[-1].body
    # the sweep then deletes the trained model that still held their data
    unlearning_sweep()
    knn.refresh_from_db()
    assert (knn.status, knn.artifact) == (ModelVersion.Status.RETIRED, None)


@pytest.fixture
def two_sessions():
    """Two sessions waiting on each other's locks need PostgreSQL (pg_stat_activity)."""
    if connection.vendor != "postgresql":
        pytest.skip("DATABASE_URL does not point at PostgreSQL: locks need several sessions")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("two_sessions")
def test_two_erasures_at_once_are_both_applied_one_after_the_other(monkeypatch):
    # The withdrawals' own tasks are left out: the two sessions below do their work.
    monkeypatch.setattr("personalization.consent.services.forget_on_commit", lambda **_kwargs: None)
    # given: two customers of a trained shop
    shop = small_shop()
    other = CustomerProfileFactory.create()
    grant(other)
    for item in shop.items[4:7]:
        InteractionFactory(customer=other, item=item, kind="purchase")
    recommending.model_version_train(
        model_version=recommending.model_version_create(), with_metrics=False
    )
    _version, model = served()
    for profile in (shop.customer, other):
        withdraw_all = [
            ConsentChange(PERSONALIZATION, c, False)
            for c in ("purchase_history", "browsing_history", "stated_preferences")
        ]
        # Consent goes first in an erasure.
        consent_set(
            customer=profile,
            changes=withdraw_all,
            method="erasure",
            actor="system",
            notice_version=None,
        )

    # when: one session takes the first customer out and holds its lock
    first, release = holding(
        lambda: model_forget_customer(customer_ref=shop.customer.pk, reason="erasure")
    )
    second = in_own_session(lambda: model_forget_customer(customer_ref=other.pk, reason="erasure"))
    # then: the second waits for it, and applies its own on top once it commits
    assert waits_for_a_lock(second)
    release.set()
    assert first.value.method == "downdate"
    assert second.value.method == "downdate"
    versions = ModelUnlearning.objects.order_by("pk").values_list("source_id", "result_id")
    (source_a, result_a), (source_b, _result_b) = versions
    assert source_b == result_a != source_a
    assert_same(served()[1], trained_from_scratch(model))
    assert ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).count() == 1


@pytest.mark.django_db
def test_the_sweep_takes_out_a_withdrawal_whose_message_was_lost(monkeypatch):
    # given: a withdrawal whose task never ran (the broker was down)
    shop = small_shop()
    monkeypatch.setattr("personalization.consent.services.forget_on_commit", lambda **_kw: None)
    version, model = served()
    withdraw(shop.customer, "purchase_history")
    assert served()[0].pk == version.pk

    # when: beat's sweep runs
    swept = unlearning_sweep()

    # then: the customer is out of the served model, as a training without them would be
    assert swept == [shop.customer.pk]
    assert served()[0].pk != version.pk
    assert_same(served()[1], trained_from_scratch(model))
