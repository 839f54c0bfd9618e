"""Query-time recency and binary EASE^R rows: scoring options that keep every score the
exact sum of its reasons, leave the fitted model alone, and are chosen by tuning."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given

from personalization import engine
from tests.engine_builders import (
    EVERYTHING,
    FAST,
    NOW,
    bakery,
    crowd_events,
    events_of,
    run,
    shop,
    shoppers_of,
)


@pytest.mark.parametrize(
    "options",
    [
        {"family": "ease", "recency_visits": 2.0},
        {"family": "ease", "ease_binary": True},
        {"family": "ease", "ease_binary": True, "recency_visits": 1.0},
        {"family": "knn", "recency_visits": 4.0},
    ],
)
@FAST
@given(data=shop)
def test_scores_stay_the_exact_sum_of_their_reasons(options, data):
    items, raw, specs = data
    from tests.engine_builders import catalog_of

    catalog = catalog_of(items)
    shoppers = shoppers_of(specs)
    params = engine.Parameters(top_k=5, **options)
    _, lists = run(catalog, events_of(raw, len(catalog)), shoppers, params=params)
    for shopper, result in zip(shoppers, lists, strict=True):
        for s in result.suggestions:
            assert math.isclose(s.score, math.fsum(r.contribution for r in s.reasons), abs_tol=1e-9)
            assert {r.data_category for r in s.reasons if r.data_category} <= shopper.consented


def test_an_item_bought_visits_ago_counts_less_and_the_model_is_the_same():
    # given: customer 1 bought bread 0 on three visits long ago, then bread 1 on the last
    # three visits (same quantities, no time decay: only the visits between differ)
    catalog = bakery()
    raw = crowd_events(catalog)
    raw += [(1, 0, 0, 40 - n, 1, 0) for n in range(3)]
    raw += [(1, 1, 0, 3 - n, 1, 0) for n in range(3)]
    events = events_of(raw, len(catalog))
    plain = engine.Parameters(family="ease", half_life_days=100_000.0)
    recent = engine.Parameters(family="ease", half_life_days=100_000.0, recency_visits=1.0)
    shopper = engine.Shopper(key=1, consented=EVERYTHING)

    # when
    histories = engine.build_histories(
        events, n_items=len(catalog), params=plain, now=NOW, consent=None, customers=[1]
    )
    weighted = histories.recent(1.0).item_evidence.toarray()[0]
    plain_model = engine.train(events, catalog, params=plain, now=NOW, consent=None)
    recent_model = engine.train(events, catalog, params=recent, now=NOW, consent=None)

    # then: bread 1 (last visit) keeps its evidence, bread 0 had 3 visits since: 1/8
    raw_evidence = histories.item_evidence.toarray()[0]
    assert weighted[1] == pytest.approx(raw_evidence[1])
    assert weighted[0] == pytest.approx(raw_evidence[0] / 8)
    # the fitted model does not depend on the setting (it is query-time only)
    np.testing.assert_array_equal(
        plain_model.neighbourhood.toarray(), recent_model.neighbourhood.toarray()
    )
    # and the reasons cite the weighted evidence: bread 1 carries more than bread 0 now
    result = engine.recommend(recent_model, catalog, histories, [shopper], k=8)[0]
    for s in result.suggestions:
        assert math.isclose(s.score, math.fsum(r.contribution for r in s.reasons), abs_tol=1e-9)
    neighbourhood = recent_model.neighbourhood.toarray()
    for s in result.suggestions:
        i = catalog.position[s.item]
        cited = {r.item: r.contribution for r in s.reasons if r.kind == engine.HISTORY}
        for key, value in cited.items():
            j = catalog.position[key]
            assert value == pytest.approx(weighted[j] * neighbourhood[j, i])


def test_a_visit_with_only_other_kinds_counts_as_a_visit_and_others_rows_are_their_own():
    catalog = bakery()
    # customer 1: bread 0 bought, then two later visits with views of other items
    raw = [(1, 0, 0, 10, 1, 0), (1, 3, 1, 5, 1, 0), (1, 4, 1, 2, 1, 0), (2, 0, 0, 10, 1, 0)]
    events = events_of(raw, len(catalog))
    params = engine.Parameters(half_life_days=100_000.0)
    histories = engine.build_histories(
        events, n_items=len(catalog), params=params, now=NOW, consent=None
    )
    assert histories.visits_after is not None
    after = histories.visits_after.toarray() - 1.0
    n = len(catalog)
    purchases_of = 0 * n  # the purchase_history block comes first
    row1, row2 = histories.row[1], histories.row[2]
    assert after[row1, purchases_of + 0] == 2  # two visits since bread 0
    assert after[row2, purchases_of + 0] == 0  # customer 2's own sequence
    # taking rows keeps each row's visits with it
    taken = histories.take(np.array([row2, row1]))
    assert taken.visits_after is not None
    np.testing.assert_array_equal(
        taken.visits_after.toarray(), histories.visits_after.toarray()[[row2, row1]]
    )
