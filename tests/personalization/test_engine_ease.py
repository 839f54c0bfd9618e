"""EASE^R in the engine: the closed form, exact reasons with negative terms, the
artifact, a catalog larger than the block, and every family obeying the same rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given

from personalization import engine
from personalization.engine import ease
from personalization.engine.serialize import model_from_bytes, model_to_bytes
from tests.engine_builders import (
    EVERYTHING,
    FAST,
    NOW,
    bakery,
    crowd_events,
    events_of,
    one,
    purchases,
    run,
    shop,
    shoppers_of,
)


def crowd(params: engine.Parameters) -> tuple[engine.Catalog, engine.Model, list]:
    catalog = bakery()
    raw = crowd_events(catalog)
    shoppers = [engine.Shopper(key=c, consented=EVERYTHING) for c in sorted({e[0] for e in raw})]
    model, _ = run(catalog, events_of(raw, len(catalog)), shoppers, params=params)
    return catalog, model, raw


def test_p_is_the_inverse_of_the_regularised_gram_and_b_is_its_closed_form():
    params = engine.Parameters(family="ease", ease_lambda=7.0)
    catalog, model, raw = crowd(params)
    histories = engine.build_histories(
        events_of(raw, len(catalog)), n_items=len(catalog), params=params, now=NOW, consent=None
    )
    x = histories.item_evidence.toarray()[:, model.ease_items]
    g = x.T @ x + 7.0 * np.eye(len(model.ease_items))
    assert model.gram_inverse is not None
    np.testing.assert_allclose(model.gram_inverse @ g, np.eye(len(g)), atol=1e-9)
    # B minimises ||X - XB||^2 + lambda ||B||^2 subject to diag(B) = 0: B = I - P/diag(P).
    b = np.eye(len(g)) - model.gram_inverse / np.diag(model.gram_inverse)[None, :]
    served = model.neighbourhood.toarray()[np.ix_(model.ease_items, model.ease_items)]
    diagonal = np.diag(served).copy()
    np.fill_diagonal(served, 0.0)
    np.testing.assert_allclose(served, np.where(np.eye(len(g)) > 0, 0.0, b), atol=1e-12)
    # The diagonal is the buy-again term, on consumables only.
    consumable = catalog.consumable[model.ease_items]
    assert np.all(diagonal[consumable] == params.repeat_weight)
    assert np.all(diagonal[~consumable] == 0)
    # Items nobody used are outside the block (they have no column in X'X to regress on).
    used = np.flatnonzero(histories.item_evidence.getnnz(axis=0))
    assert np.array_equal(model.ease_items, used)


def test_a_negative_weight_is_named_as_a_reason_and_the_sum_stays_exact():
    # Customer 1 buys a bread and a pastry; in the crowd breads and pastries never go
    # together, so EASE^R gives the bread a negative weight on the other pastries.
    catalog = bakery()
    raw = crowd_events(catalog) + purchases(1, [0, 8], times=3)
    shopper = engine.Shopper(key=1, consented=EVERYTHING)
    result = one(catalog, raw, shopper, k=8, params=engine.Parameters(family="ease", top_k=8))
    negatives = [
        (s, r)
        for s in result.suggestions
        for r in s.reasons
        if r.kind == engine.HISTORY and r.contribution < 0
    ]
    assert negatives, "some suggestion has a negative history term"
    for suggestion, reason in negatives:
        assert reason.item is not None and reason.item != suggestion.item
    for suggestion in result.suggestions:
        assert math.isclose(
            suggestion.score, math.fsum(r.contribution for r in suggestion.reasons), abs_tol=1e-9
        )


@pytest.mark.parametrize("family", ["ease", "knn", "popularity"])
@FAST
@given(data=shop)
def test_every_family_keeps_reasons_exact_and_the_hard_rules(family, data):
    items, raw, specs = data
    from tests.engine_builders import catalog_of

    catalog = catalog_of(items)
    events = events_of(raw, len(catalog))
    shoppers = shoppers_of(specs)
    params = engine.Parameters(family=family, top_k=5)
    _, lists = run(catalog, events, shoppers, params=params)
    for shopper, result in zip(shoppers, lists, strict=True):
        for s in result.suggestions:
            assert math.isclose(s.score, math.fsum(r.contribution for r in s.reasons), abs_tol=1e-9)
            pos = catalog.position[s.item]
            assert catalog.active[pos]
            assert not (catalog.attributes[pos] & shopper.restrictions)
            assert {r.data_category for r in s.reasons if r.data_category} <= shopper.consented


def test_the_artifact_keeps_p_and_the_family():
    catalog, model, _ = crowd(engine.Parameters(family="ease"))
    again = model_from_bytes(model_to_bytes(model))
    assert again.family == "ease" and again.params == model.params
    assert again.gram_inverse is not None and model.gram_inverse is not None
    assert np.array_equal(again.gram_inverse, model.gram_inverse)
    assert again.gram_inverse.dtype == np.float64
    assert np.array_equal(again.ease_items, model.ease_items)
    assert model.popularity_raw is not None and again.popularity_raw is not None
    assert np.array_equal(again.popularity_raw, model.popularity_raw)
    assert (again.neighbourhood != model.neighbourhood).nnz == 0


def test_rebuild_from_p_gives_back_the_same_model():
    catalog, model, _ = crowd(engine.Parameters(family="ease", ease_neighbours=4))
    assert model.gram_inverse is not None and model.popularity_raw is not None
    again = ease.rebuild(model, model.gram_inverse.copy(), model.popularity_raw.copy())
    assert abs(again.neighbourhood - model.neighbourhood).max() == 0
    assert np.array_equal(again.popularity, model.popularity)


def test_a_catalog_larger_than_the_block_scores_its_tail_with_item_knn():
    params = engine.Parameters(family="ease", ease_max_items=5)
    catalog, model, raw = crowd(params)
    assert len(model.ease_items) == 5
    inside = np.zeros(len(catalog), dtype=bool)
    inside[model.ease_items] = True
    coo = model.neighbourhood.tocoo()
    off_diagonal = coo.row != coo.col
    tail_links = off_diagonal & ~(inside[coo.row] & inside[coo.col])
    assert tail_links.any(), "items outside the block still have neighbours"
    # The five in the block are the most used ones.
    users = np.diff(
        engine.build_histories(
            events_of(raw, len(catalog)),
            n_items=len(catalog),
            params=params,
            now=NOW,
            consent=None,
        )
        .item_evidence.tocsc()
        .indptr
    )
    assert users[model.ease_items].min() >= np.sort(users)[-5]


def test_an_old_artifact_reads_as_the_knn_family():
    import io
    import json

    catalog, model, _ = crowd(engine.Parameters(family="knn"))
    buffer = io.BytesIO()
    matrix = model.neighbourhood
    meta = {
        "params": {k: v for k, v in model.params.to_dict().items() if not k.startswith("ease")}
        | {"family": "ease"},
        "trained_at": model.trained_at,
        "counts": model.counts,
        "shape": list(matrix.shape),
    }
    meta["params"].pop("family")
    np.savez_compressed(
        buffer,
        item_keys=model.item_keys,
        data=matrix.data,
        indices=matrix.indices,
        indptr=matrix.indptr,
        popularity=model.popularity,
        meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
    )
    old = model_from_bytes(buffer.getvalue())
    assert old.family == "knn" and old.params.family == "knn" and old.gram_inverse is None
