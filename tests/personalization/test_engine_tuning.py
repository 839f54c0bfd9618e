"""Per-shop tuning: the choice is made on validation, never loses to "most popular" or
to the previous settings there, respects its budget, and stays out of tiny shops."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from personalization import engine
from personalization.engine import tuning
from personalization.engine.synthetic import generate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tuned(shop):
    catalog, events = shop
    return tuning.tune(events, catalog, budget_seconds=600)


@pytest.fixture(scope="module")
def shop():
    data = generate(customers=300, items=60, events=12_000, seed=11)
    consent = {s.key: s.consented for s in data.shoppers}
    return data.catalog, data.events.consented(consent)


def test_the_choice_validates_at_least_as_well_as_most_popular_and_every_candidate(shop, tuned):
    catalog, events = shop
    result = tuned
    report = result.report
    assert report["judged"] >= tuning.MIN_JUDGED
    assert not report["out_of_time"]
    best = report["validation"]["ndcg@10"]
    assert best >= report["most_popular"]["ndcg@10"]
    assert all(best >= c["ndcg@10"] for c in report["top_candidates"])
    assert result.params.family == report["family"] in engine.params.FAMILIES
    # The figure is reproducible: the chosen settings judged again on the same split.
    again = tuning.tune(events, catalog, previous=result.params, budget_seconds=0.0)
    assert again.report["previous"] == pytest.approx(best, abs=1e-4)


def test_previous_settings_are_kept_when_nothing_judged_does_better(shop, tuned):
    catalog, events = shop
    chosen = tuned.params
    # No time for a search: the previous settings are the only candidate judged.
    kept = tuning.tune(events, catalog, previous=chosen, budget_seconds=0.0)
    assert kept.params == chosen
    assert kept.report["out_of_time"]
    # A previous model much worse than the search's best is not kept.
    poor = replace(chosen, family="popularity", popularity_weight=0.0, repeat_weight=0.0)
    better = tuning.tune(events, catalog, previous=poor, budget_seconds=600)
    assert better.params != poor
    assert better.report["validation"]["ndcg@10"] > better.report["previous"]


def test_validation_uses_only_the_past_of_each_customer(shop):
    catalog, events = shop
    split = tuning.temporal_split(events, len(catalog))
    assert split is not None
    last_fit = {}
    for c, at in zip(split.fit.customer.tolist(), split.fit.at.tolist(), strict=True):
        last_fit[c] = max(at, last_fit.get(c, -np.inf))
    assert 0 < len(split.fit) < len(events)
    # Each judged customer's validation purchases come after all their fit events.
    keys = set(split.users.tolist())
    later = events.select(np.isin(events.customer, list(keys)))
    for c, items in itertools.islice(zip(split.users.tolist(), split.targets, strict=True), 50):
        mine = later.select(later.customer == c)
        for item in items:
            at = mine.at[(mine.item == item) & (mine.kind == engine.data.PURCHASE)]
            assert at.max() > last_fit[c]


def test_a_tiny_shop_trains_with_the_defaults():
    catalog = engine.Catalog.build(
        keys=[1, 2, 3],
        names=["a", "b", "c"],
        categories=["x", "x", "y"],
        attributes=[(), (), ()],
        prices=[1.0, 1.0, 1.0],
        active=[True] * 3,
        allergens_declared=[True] * 3,
        consumable=[True] * 3,
    )
    events = engine.Events.build(
        customer=[1, 1, 2, 2], item=[0, 1, 1, 2], kind=[0, 0, 0, 0], at=[1.0, 2.0, 1.0, 2.0]
    )
    base = engine.Parameters()
    result = tuning.tune(events, catalog, base=base)
    assert result.params == base
    assert "fewer than" in result.report["reason"]


class FitClock:
    """A clock that only moves when a model is fitted: each EASE^R fit takes 10 s."""

    def __init__(self) -> None:
        self.now = 0.0
        self.fits = 0

    def __call__(self) -> float:
        return self.now

    def fit(self, inverse):
        def timed(*args, **kwargs):
            self.fits += 1
            self.now += 10.0
            return inverse(*args, **kwargs)

        return timed


def test_the_budget_is_checked_before_each_fit_and_the_fall_backs_stay(shop, monkeypatch):
    catalog, events = shop
    clock = FitClock()
    monkeypatch.setattr(tuning.ease, "inverse", clock.fit(tuning.ease.inverse))
    previous = engine.Parameters(family="ease", ease_lambda=50.0)

    # when: a 25 s budget, with fits of 10 s each (the previous model's among them)
    result = tuning.tune(
        events, catalog, previous=previous, budget_seconds=25.0, clock=clock, protocol="new"
    )

    # then: it stopped at the first check past the budget, so within budget + one fit
    report = result.report
    assert report["out_of_time"]
    assert clock.fits == 3
    assert clock.now <= 25.0 + 10.0
    assert report["seconds"] <= 35.0
    # and the fall-backs were judged on the same split: the choice is no worse than them
    assert report["previous"] is not None
    assert report["validation"]["ndcg@10"] >= report["previous"] - 1e-12
    assert report["validation"]["ndcg@10"] >= report["most_popular"]["ndcg@10"]


def test_with_no_time_and_no_previous_model_most_popular_serves(shop):
    catalog, events = shop
    ticks = itertools.count()
    result = tuning.tune(events, catalog, budget_seconds=0.0, clock=lambda: float(next(ticks)))
    assert result.report["out_of_time"]
    assert result.params.family == "popularity"
    assert result.report["validation"] == result.report["most_popular"]
