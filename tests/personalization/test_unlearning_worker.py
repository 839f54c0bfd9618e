"""A withdrawn consent reaches a real Celery worker through Redis, which takes the
customer's rows out of the served model (PostgreSQL shared with the worker)."""

from __future__ import annotations

import numpy as np
import pytest

from personalization import engine
from personalization.consent.services import ConsentChange, consent_set
from personalization.models.requests import ModelUnlearning
from personalization.recommending import loading
from personalization.recommending.models_cache import active_version, model_for
from personalization.registry import PERSONALIZATION, PURCHASE_HISTORY
from personalization.unlearning import tasks
from tests.personalization.sessions import small_shop
from tests.workers import require_worker_services, wait_for, worker_pool

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_a_withdrawal_is_taken_out_of_the_served_model_by_a_worker(tmp_path, monkeypatch):
    require_worker_services("the unlearning worker test")
    shop = small_shop()
    before = active_version()
    assert before is not None
    model = model_for(*before)
    with worker_pool(
        tmp_path=tmp_path, monkeypatch=monkeypatch, prefix="unlearn", tasks=[tasks.forget_customer]
    ) as pool:
        process, log = pool.start("worker")
        # when: the customer withdraws consent for their purchase history
        consent_set(
            customer=shop.customer,
            changes=[ConsentChange(PERSONALIZATION, PURCHASE_HISTORY, False)],
            method="ui",
            actor="customer",
            notice_version=None,
        )
        # then: the worker takes it out and a new version serves
        wait_for(
            lambda: ModelUnlearning.objects.filter(customer_ref=shop.customer.pk).exists(),
            processes=[process],
            logs=[log],
            what="the worker to take the customer out of the model",
        )
    after = active_version()
    assert after is not None and after[0] != before[0]
    unlearned = model_for(*after)
    catalog = loading.catalog_load()
    fresh = engine.train(
        loading.events_load(position=catalog.position),
        catalog,
        params=model.params,
        now=model.trained_at,
        consent=None,
    )
    np.testing.assert_allclose(
        unlearned.neighbourhood.toarray(), fresh.neighbourhood.toarray(), atol=1e-6
    )
    np.testing.assert_allclose(unlearned.popularity, fresh.popularity, atol=1e-6)
