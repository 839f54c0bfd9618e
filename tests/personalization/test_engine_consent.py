"""Only consented data: what sits in a revoked category changes nothing (metamorphic)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from personalization import engine
from personalization.engine.data import EVIDENCE_CATEGORIES, KIND_CATEGORY, KINDS
from tests.engine_builders import ATTRIBUTES, CATEGORIES, NOW, catalog_of, events_of, items_strategy

FAST = settings(max_examples=40, deadline=None)
CUSTOMERS = range(1, 7)


def lists_of(catalog, events, shoppers):
    params = engine.Parameters(top_k=5)
    consent = {s.key: s.consented for s in shoppers}
    model = engine.train(events, catalog, params=params, now=NOW, consent=consent)
    histories = engine.build_histories(
        events,
        n_items=len(catalog),
        params=params,
        now=NOW,
        consent=consent,
        customers=[s.key for s in shoppers],
    )
    return model, engine.recommend(model, catalog, histories, shoppers)


def revoked_kinds(shopper: engine.Shopper) -> list[int]:
    return [
        k
        for k in range(len(KINDS))
        if EVIDENCE_CATEGORIES[KIND_CATEGORY[k]] not in shopper.consented
    ]


raw_event = st.tuples(
    st.sampled_from(list(CUSTOMERS)),
    st.integers(0, 11),
    st.integers(0, len(KINDS) - 1),
    st.integers(0, 400),
    st.integers(1, 3),
    st.integers(1, 5),
)


@FAST
@given(
    items_strategy,
    st.lists(raw_event, max_size=50),
    st.lists(st.frozensets(st.sampled_from(EVIDENCE_CATEGORIES)), min_size=6, max_size=6),
    st.lists(st.frozensets(st.sampled_from(ATTRIBUTES), max_size=1), min_size=6, max_size=6),
    st.lists(raw_event, max_size=20),
    st.data(),
)
def test_changing_adding_or_deleting_revoked_data_changes_no_list(
    rows, raw, consents, restrictions, extra, data
):
    catalog = catalog_of(rows)
    shoppers = [
        engine.Shopper(
            key=key,
            consented=consent,
            restrictions=restriction,
            liked_categories=frozenset(CATEGORIES[:1]),
        )
        for key, consent, restriction in zip(CUSTOMERS, consents, restrictions, strict=True)
    ]
    by_key = {s.key: s for s in shoppers}
    before_events = events_of(raw, len(rows))
    model, before = lists_of(catalog, before_events, shoppers)

    def revoked(event: tuple) -> bool:
        return event[2] in revoked_kinds(by_key[event[0]])

    # when: delete some revoked events, change others, add new ones in revoked categories
    kept = [e for e in raw if not revoked(e) or data.draw(st.booleans(), label="keep")]
    changed = [
        (e[0], e[1] + 1, e[2], e[3] // 2, e[4] + 1, 6 - e[5]) if revoked(e) else e for e in kept
    ]
    added = [e for e in extra if revoked(e)]
    after_events = events_of(changed + added, len(rows))
    model_after, after = lists_of(catalog, after_events, shoppers)

    # then: the model and every list, score and reason are exactly the same
    assert (model.neighbourhood != model_after.neighbourhood).nnz == 0
    assert np.array_equal(model.popularity, model_after.popularity)
    assert before == after


def test_a_revoked_category_is_never_cited_and_its_events_never_count():
    catalog = catalog_of(
        [
            {
                "category": c,
                "attributes": frozenset(),
                "price": 3.0,
                "active": True,
                "declared": True,
                "consumable": True,
            }
            for c in ("breads", "breads", "drinks")
        ]
    )
    # Customer 1 bought item 0 and browsed item 2 a lot; browsing is not consented.
    raw = [(1, 0, 0, 3, 1, 0)] + [(1, 2, 1, d, 1, 0) for d in range(30)]
    raw += [(c, i, 0, 5, 1, 0) for c in range(2, 8) for i in (0, 1, 2)]
    shoppers = [engine.Shopper(key=1, consented=frozenset({"purchase_history"}))] + [
        engine.Shopper(key=c, consented=frozenset(EVIDENCE_CATEGORIES)) for c in range(2, 8)
    ]
    model, lists = lists_of(catalog, events_of(raw, 3), shoppers)
    cited = {r.data_category for s in lists[0].suggestions for r in s.reasons if r.data_category}
    assert cited == {"purchase_history"}
    assert model.counts["events_browsing_history"] == 0
