"""Builders for the pure engine's tests: catalogs, events and shoppers from plain rows,
hypothesis strategies for small random shops, a hand-made bakery. No database, no Django."""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from personalization import engine
from personalization.engine.data import EVIDENCE_CATEGORIES, KINDS

NOW = 1_800_000_000.0
DAY = 86_400.0
EVERYTHING = frozenset(EVIDENCE_CATEGORIES)
ATTRIBUTES = (
    "contains:gluten",
    "contains:nuts",
    "contains:milk",
    "vegan",
    "alcohol",
    "gluten-free",
)
CATEGORIES = ("breads", "pastries", "cakes", "drinks")
FAST = settings(max_examples=40, deadline=None)


def catalog_of(rows: list[dict]) -> engine.Catalog:
    return engine.Catalog.build(
        keys=[100 + i for i in range(len(rows))],
        names=[f"Item {i}" for i in range(len(rows))],
        categories=[r["category"] for r in rows],
        attributes=[r["attributes"] for r in rows],
        prices=[r["price"] for r in rows],
        active=[r["active"] for r in rows],
        allergens_declared=[r["declared"] for r in rows],
        consumable=[r["consumable"] for r in rows],
    )


items_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "category": st.sampled_from(CATEGORIES),
            "attributes": st.frozensets(st.sampled_from(ATTRIBUTES), max_size=3),
            "price": st.sampled_from([2.0, 3.5, 4.2, 25.0]),
            "active": st.booleans().map(lambda b: b or False) | st.just(True),
            "declared": st.just(True) | st.booleans(),
            "consumable": st.just(True) | st.booleans(),
        }
    ),
    min_size=2,
    max_size=12,
)

event_strategy = st.tuples(
    st.integers(1, 6),  # customer key
    st.integers(0, 11),  # item position (mod the catalog size)
    st.integers(0, len(KINDS) - 1),
    st.integers(0, 400),  # days ago
    st.integers(1, 3),  # quantity
    st.integers(1, 5),  # stars for ratings
)

shopper_strategy = st.fixed_dictionaries(
    {
        "consented": st.frozensets(st.sampled_from(EVIDENCE_CATEGORIES)),
        "restrictions": st.frozensets(st.sampled_from(ATTRIBUTES), max_size=2),
        "liked": st.frozensets(st.sampled_from(CATEGORIES), max_size=2),
        "mode": st.sampled_from(["on", "on", "on", "off", "paused", "none"]),
    }
)


def events_of(raw: list[tuple], n_items: int) -> engine.Events:
    return engine.Events.build(
        customer=[e[0] for e in raw],
        item=[e[1] % n_items for e in raw],
        kind=[e[2] for e in raw],
        at=[NOW - e[3] * DAY for e in raw],
        quantity=[e[4] for e in raw],
        value=[float(e[5]) if e[2] == 3 else 3.5 * e[4] for e in raw],
    )


def shoppers_of(specs: list[dict]) -> list[engine.Shopper]:
    return [
        engine.Shopper(
            key=key,
            mode=spec["mode"],
            consented=spec["consented"],
            restrictions=spec["restrictions"],
            liked_categories=spec["liked"],
        )
        for key, spec in enumerate(specs, start=1)
    ]


def run(catalog, events, shoppers, params=None, k=5):
    params = params or engine.Parameters(top_k=k)
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
    return model, engine.recommend(model, catalog, histories, shoppers, k=k)


shop = st.tuples(
    items_strategy,
    st.lists(event_strategy, max_size=60),
    st.lists(shopper_strategy, min_size=6, max_size=6),
)


def bakery() -> engine.Catalog:
    rows: list[dict[str, Any]] = [
        # 0-5 breads with gluten, 6 gluten-free bread, 7 bread without allergen data
        *[
            dict(category="breads", attributes={"contains:gluten", "vegan"}, price=4.0)
            for _ in range(6)
        ],
        dict(category="breads", attributes={"contains:none", "vegan"}, price=5.0),
        dict(category="breads", attributes=set(), price=3.8, declared=False),
        # 8-11 pastries, 12-13 drinks, 14 a premium cake, 15 a durable, 16 off sale
        *[
            dict(category="pastries", attributes={"contains:gluten", "contains:milk"})
            for _ in range(4)
        ],
        dict(category="drinks", attributes={"contains:milk"}),
        dict(category="drinks", attributes={"contains:none", "vegan"}),
        dict(category="cakes", attributes={"contains:gluten"}, price=32.0),
        dict(category="gifts", attributes={"contains:none"}, price=12.0, consumable=False),
        dict(category="pastries", attributes={"contains:gluten"}, active=False),
    ]
    return catalog_of(
        [
            {
                "price": 3.0,
                "active": True,
                "declared": True,
                "consumable": True,
                **row,
            }
            for row in rows
        ]
    )


def purchases(customer: int, items: list[int], times: int = 3, days: int = 5) -> list[tuple]:
    return [(customer, i, 0, days + 7 * n, 1, 0) for i in items for n in range(times)]


def crowd_events(catalog: engine.Catalog) -> list[tuple]:
    """Twenty customers who buy breads together, and twenty who buy pastries and drinks."""
    raw = []
    for c in range(10, 30):
        raw += purchases(c, [0, 1, 2, 3, 4, 5, 7][c % 3 :: 2], times=2)
    for c in range(30, 50):
        raw += purchases(c, [8, 9, 10, 11, 12, 13, 14, 16][c % 2 :: 2], times=2)
    return raw


def one(catalog, raw, shopper, k=5, params=None):
    everyone = {e[0] for e in raw} | {shopper.key}
    others = [engine.Shopper(key=c, consented=EVERYTHING) for c in sorted(everyone - {shopper.key})]
    events = events_of(raw, len(catalog))
    _, lists = run(catalog, events, [*others, shopper], params=params, k=k)
    return lists[-1]
