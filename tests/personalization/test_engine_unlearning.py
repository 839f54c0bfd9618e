"""Exact unlearning: a model with a customer taken out equals one trained without them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from personalization import engine
from personalization.engine import unlearning
from personalization.engine.data import EVIDENCE_CATEGORIES, KINDS

NOW = 1_800_000_000.0
DAY = 86_400.0
FAST = settings(max_examples=40, deadline=None)
TOLERANCE = 1e-6


def catalog_of(n: int, consumable: list[bool]) -> engine.Catalog:
    return engine.Catalog.build(
        keys=[100 + i for i in range(n)],
        names=[f"Item {i}" for i in range(n)],
        categories=["breads" if i % 2 else "cakes" for i in range(n)],
        attributes=[() for _ in range(n)],
        prices=[3.0] * n,
        active=[True] * n,
        allergens_declared=[True] * n,
        consumable=consumable,
    )


def events_of(raw: list[tuple[int, int, int, int, int, int]], n_items: int) -> engine.Events:
    return engine.Events.build(
        customer=[r[0] for r in raw],
        item=[r[1] % n_items for r in raw],
        kind=[r[2] for r in raw],
        at=[NOW - r[3] * DAY for r in raw],
        quantity=[r[4] for r in raw],
        value=[r[5] for r in raw],
    )


def rows_of(model: engine.Model, events: engine.Events, consent, customer: int):
    """The customer's evidence row exactly as training weighted it."""
    histories = engine.build_histories(
        events,
        n_items=len(model.item_keys),
        params=model.params,
        now=model.trained_at,
        consent=consent,
        customers=[customer],
    )
    return histories.item_evidence


def assert_same_model(got: engine.Model, want: engine.Model) -> None:
    scale = max(1.0, float(np.abs(want.neighbourhood).max()) if want.neighbourhood.nnz else 1.0)
    np.testing.assert_allclose(
        got.neighbourhood.toarray(), want.neighbourhood.toarray(), atol=TOLERANCE * scale, rtol=0
    )
    np.testing.assert_allclose(got.popularity, want.popularity, atol=TOLERANCE, rtol=0)
    assert got.popularity_raw is not None and want.popularity_raw is not None
    np.testing.assert_allclose(got.popularity_raw, want.popularity_raw, atol=TOLERANCE, rtol=0)
    np.testing.assert_array_equal(got.ease_items, want.ease_items)
    if want.gram_inverse is not None:
        assert got.gram_inverse is not None
        p_scale = max(float(np.abs(want.gram_inverse).max(initial=0.0)), 1e-12)
        np.testing.assert_allclose(
            got.gram_inverse, want.gram_inverse, atol=TOLERANCE * p_scale, rtol=0
        )
    assert got.counts["customers"] == want.counts["customers"]
    assert got.counts["events"] == want.counts["events"]


raw_event = st.tuples(
    st.integers(1, 8),  # customer
    st.integers(0, 19),  # item position (mod the catalog size)
    st.integers(0, len(KINDS) - 1),
    st.integers(0, 500),  # days ago
    st.integers(1, 4),  # quantity
    st.integers(1, 5),  # stars
)
shop = st.tuples(
    st.integers(2, 20),  # items
    st.lists(raw_event, min_size=1, max_size=80),
    st.dictionaries(
        st.integers(1, 8), st.frozensets(st.sampled_from(EVIDENCE_CATEGORIES)), min_size=8
    ),
    st.sampled_from([0.5, 5.0, 50.0, 500.0]),  # lambda
    st.lists(st.booleans(), min_size=20, max_size=20),  # consumable
    st.integers(1, 8),  # the customer who leaves
)


def counts_change(model_events: engine.Events, left_events: engine.Events, before, after):
    return {
        "customers": after - before,
        "events": len(left_events) - len(model_events),
        **{
            f"events_{code}": int(np.count_nonzero(left_events.category == i))
            - int(np.count_nonzero(model_events.category == i))
            for i, code in enumerate(EVIDENCE_CATEGORIES)
        },
    }


@pytest.mark.parametrize("binary", [False, True], ids=["weighted", "binary"])
@FAST
@given(shop)
def test_erasing_a_customer_gives_the_model_trained_without_them(binary, data):
    n, raw, consent, lam, consumable, leaver = data
    catalog = catalog_of(n, consumable[:n])
    events = events_of(raw, n)
    params = engine.Parameters(family="ease", ease_lambda=lam, ease_binary=binary)
    model = engine.train(events, catalog, params=params, now=NOW, consent=consent)

    # when: the customer's rows are taken out of the trained model
    theirs = events.consented(consent).select(events.consented(consent).customer == leaver)
    row = rows_of(model, events, consent, leaver)
    forgotten = unlearning.forget_rows(
        model,
        removed=row,
        counts_change=counts_change(theirs, engine.Events.empty(), int(len(theirs) > 0), 0),
    )

    # then: it is the model a training without them produces
    without = events.select(events.customer != leaver)
    retrained = engine.train(without, catalog, params=params, now=NOW, consent=consent)
    assert_same_model(forgotten, retrained)


@pytest.mark.parametrize("binary", [False, True], ids=["weighted", "binary"])
@FAST
@given(shop, st.sampled_from(EVIDENCE_CATEGORIES))
def test_withdrawing_one_category_gives_the_model_trained_without_it(binary, data, category):
    n, raw, consent, lam, consumable, leaver = data
    catalog = catalog_of(n, consumable[:n])
    events = events_of(raw, n)
    params = engine.Parameters(family="ease", ease_lambda=lam, ease_binary=binary)
    model = engine.train(events, catalog, params=params, now=NOW, consent=consent)
    after = {**consent, leaver: consent[leaver] - {category}}

    old_row = rows_of(model, events, consent, leaver)
    new_row = rows_of(model, events, after, leaver)
    theirs_before = events.consented(consent).select(events.consented(consent).customer == leaver)
    theirs_after = events.consented(after).select(events.consented(after).customer == leaver)
    forgotten = unlearning.forget_rows(
        model,
        removed=old_row,
        added=new_row,
        counts_change=counts_change(
            theirs_before, theirs_after, int(len(theirs_before) > 0), int(len(theirs_after) > 0)
        ),
    )

    retrained = engine.train(events, catalog, params=params, now=NOW, consent=after)
    assert_same_model(forgotten, retrained)


@FAST
@given(shop)
def test_two_customers_at_once_equal_one_after_the_other(data):
    n, raw, consent, lam, consumable, leaver = data
    other = leaver % 8 + 1
    catalog = catalog_of(n, consumable[:n])
    events = events_of(raw, n)
    params = engine.Parameters(family="ease", ease_lambda=lam)
    model = engine.train(events, catalog, params=params, now=NOW, consent=consent)
    first, second = (rows_of(model, events, consent, c) for c in (leaver, other))

    together = unlearning.forget_rows(model, removed=sparse.vstack([first, second]))
    in_turn = unlearning.forget_rows(unlearning.forget_rows(model, removed=first), removed=second)

    retrained = engine.train(
        events.select((events.customer != leaver) & (events.customer != other)),
        catalog,
        params=params,
        now=NOW,
        consent=consent,
    )
    for got in (together, in_turn):
        np.testing.assert_allclose(
            got.neighbourhood.toarray(), retrained.neighbourhood.toarray(), atol=TOLERANCE
        )
        np.testing.assert_allclose(got.popularity, retrained.popularity, atol=TOLERANCE)


def test_a_customer_taken_out_twice_is_refused_not_subtracted_again():
    catalog = catalog_of(3, [True, True, True])
    raw = [(1, 0, 0, 1, 1, 5), (1, 1, 0, 2, 1, 5), (2, 0, 0, 3, 1, 5), (2, 2, 0, 3, 1, 5)]
    events = events_of(raw, 3)
    consent = {1: frozenset(EVIDENCE_CATEGORIES), 2: frozenset(EVIDENCE_CATEGORIES)}
    params = engine.Parameters(family="ease", ease_lambda=0.5)
    model = engine.train(events, catalog, params=params, now=NOW, consent=consent)
    row = rows_of(model, events, consent, 1)
    once = unlearning.forget_rows(model, removed=row)

    with pytest.raises(unlearning.IllConditioned):
        unlearning.forget_rows(once, removed=row * 3.0)


def test_the_item_knn_model_says_it_needs_a_retrain():
    catalog = catalog_of(3, [True, True, True])
    events = events_of([(1, 0, 0, 1, 1, 5), (1, 1, 0, 2, 1, 5)], 3)
    consent = {1: frozenset(EVIDENCE_CATEGORIES)}
    model = engine.train(
        events, catalog, params=engine.Parameters(family="knn"), now=NOW, consent=consent
    )

    with pytest.raises(unlearning.NotUnlearnable) as refused:
        unlearning.forget_rows(model, removed=rows_of(model, events, consent, 1))
    assert refused.value.reason == "knn"


def test_an_ease_model_with_an_item_knn_tail_says_it_needs_a_retrain():
    catalog = catalog_of(4, [True] * 4)
    raw = [(c, i, 0, 1, 1, 5) for c in (1, 2, 3) for i in range(4)]
    events = events_of(raw, 4)
    consent = {c: frozenset(EVIDENCE_CATEGORIES) for c in (1, 2, 3)}
    params = engine.Parameters(family="ease", ease_max_items=2)
    model = engine.train(events, catalog, params=params, now=NOW, consent=consent)

    with pytest.raises(unlearning.NotUnlearnable) as refused:
        unlearning.forget_rows(model, removed=rows_of(model, events, consent, 1))
    assert refused.value.reason == "tail"


def test_woodbury_update_matches_a_fresh_inverse_on_dense_random_rows():
    rng = np.random.default_rng(3)
    x = rng.exponential(size=(40, 25)) * (rng.random((40, 25)) < 0.3)
    p = unlearning.ease_inverse(x, 2.0)
    change = unlearning.RowChange(removed=x[[4, 9, 17]], added=x[[4]] * 0.5)
    kept = np.vstack([np.delete(x, [4, 9, 17], axis=0), x[[4]] * 0.5])

    got = unlearning.inverse_update(p, change)

    np.testing.assert_allclose(got, unlearning.ease_inverse(kept, 2.0), atol=1e-12)
    np.testing.assert_allclose(
        unlearning.ease_weights(got),
        unlearning.ease_weights(unlearning.ease_inverse(kept, 2.0)),
        atol=1e-10,
    )


@FAST
@given(shop, st.lists(st.tuples(st.integers(0, 19), st.integers(0, 500)), max_size=15))
def test_guest_sales_keep_their_popularity_and_the_block_is_a_refits(data, guest_raw):
    n, raw, consent, lam, consumable, leaver = data
    catalog = catalog_of(n, consumable[:n])
    events = events_of(raw, n)
    guests = engine.GuestLines(
        item=np.array([g[0] % n for g in guest_raw], dtype=np.int64),
        at=np.array([NOW - g[1] * DAY for g in guest_raw], dtype=np.float64),
        returned=np.zeros(len(guest_raw), dtype=bool),
    )
    params = engine.Parameters(family="ease", ease_lambda=lam)
    model = engine.train(events, catalog, params=params, now=NOW, consent=consent, guests=guests)
    theirs = events.consented(consent).select(events.consented(consent).customer == leaver)

    forgotten = unlearning.forget_rows(
        model,
        removed=rows_of(model, events, consent, leaver),
        counts_change=counts_change(theirs, engine.Events.empty(), int(len(theirs) > 0), 0),
    )

    without = events.select(events.customer != leaver)
    retrained = engine.train(
        without, catalog, params=params, now=NOW, consent=consent, guests=guests
    )
    assert_same_model(forgotten, retrained)


def test_an_item_only_the_leaver_bought_leaves_the_block_though_guests_bought_it():
    catalog = catalog_of(3, [True] * 3)
    raw = [(1, 0, 0, 1, 1, 5), (1, 2, 0, 2, 1, 5), (2, 0, 0, 3, 1, 5), (2, 1, 0, 3, 1, 5)]
    events = events_of(raw, 3)
    consent = {1: frozenset(EVIDENCE_CATEGORIES), 2: frozenset(EVIDENCE_CATEGORIES)}
    guests = engine.GuestLines(
        item=np.array([2, 2]), at=np.array([NOW, NOW - DAY]), returned=np.zeros(2, dtype=bool)
    )
    params = engine.Parameters(family="ease", ease_lambda=5.0)
    model = engine.train(events, catalog, params=params, now=NOW, consent=consent, guests=guests)
    assert list(model.ease_items) == [0, 1, 2]

    forgotten = unlearning.forget_rows(model, removed=rows_of(model, events, consent, 1))

    retrained = engine.train(
        events.select(events.customer != 1),
        catalog,
        params=params,
        now=NOW,
        consent=consent,
        guests=guests,
    )
    assert list(forgotten.ease_items) == list(retrained.ease_items) == [0, 1]
    assert forgotten.popularity[2] == pytest.approx(retrained.popularity[2])
    assert retrained.popularity[2] > 0
    np.testing.assert_allclose(
        forgotten.neighbourhood.toarray(), retrained.neighbourhood.toarray(), atol=TOLERANCE
    )
