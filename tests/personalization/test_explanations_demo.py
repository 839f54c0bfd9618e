"""Reasons a customer believes, on the demo bakery: each sentence names the evidence
carrying its item, and items carried by different evidence read differently."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from django.utils import translation

from personalization import engine
from personalization import explanations as sentences
from personalization.demo import build_demo
from personalization.engine.synthetic import from_demo


def demo_engine(select=None):
    """The demo bakery's model trained on its personalized customers (or those `select`
    keeps from them, a list in the order wanted), and the histories of `select`'s
    customers: (data, model, histories, shoppers)."""
    data = from_demo(build_demo())
    shoppers = [s for s in data.shoppers if s.mode == "on"]
    now = float(data.events.at.max()) + 1.0
    consent = {s.key: s.consented for s in shoppers}
    params = engine.Parameters()
    model = engine.train(data.events, data.catalog, params=params, now=now, consent=consent)
    chosen = select(data, shoppers) if select is not None else shoppers
    histories = engine.build_histories(
        data.events,
        n_items=len(data.catalog),
        params=params,
        now=now,
        consent=consent,
        customers=[s.key for s in chosen],
    )
    return data, model, histories, chosen


def item_names_of(data) -> dict[int, str]:
    return dict(zip(data.catalog.keys.tolist(), data.catalog.names, strict=True))


@pytest.fixture(scope="module")
def demo_lists():
    data, model, histories, shoppers = demo_engine()
    return item_names_of(data), engine.recommend(model, data.catalog, histories, shoppers)


def rendered(suggestion, names) -> tuple[str, dict | None]:
    reasons = []
    for reason in suggestion.reasons:
        row = reason.as_dict()
        if reason.item is not None:
            row["name"] = names[reason.item]
        if reason.category is not None:
            row["category_name"] = reason.category
        reasons.append(row)
    positive = [r for r in reasons if r["kind"] == engine.HISTORY and r["contribution"] > 0]
    top = max(positive, key=lambda r: r["contribution"]) if positive else None
    with translation.override("en"):
        text = sentences.sentence(
            reasons, item_id=suggestion.item, item_name=names[suggestion.item]
        )
    return text, top


def carried_by_a_like(suggestion) -> str | None:
    """The liked category whose term is the suggestion's largest, if one is."""
    strongest = max(suggestion.reasons, key=lambda r: r.contribution)
    return strongest.category if strongest.kind == engine.LIKED_CATEGORY else None


def test_each_sentence_names_the_evidence_that_carries_its_item(demo_lists):
    names, lists = demo_lists
    checked = liked = 0
    for result in lists:
        for suggestion in result.suggestions:
            text, top = rendered(suggestion, names)
            category = carried_by_a_like(suggestion)
            if category is not None:
                assert text.startswith(f"You told us you like {category}"), text
                liked += 1
            if top is None:
                continue
            assert top["name"] in text
            if top["item"] != suggestion.item:
                assert names[suggestion.item] in text
                if category is None:
                    assert text.startswith("People who ")
            checked += 1
    assert checked > 100
    # the demo's customers who like a category see it carry some of their suggestions
    assert liked > 10


def test_different_evidence_gives_different_sentences_within_a_list(demo_lists):
    names, lists = demo_lists
    lists_checked = 0
    for result in lists:
        by_sentence: dict[str, set[tuple]] = {}
        for suggestion in result.suggestions:
            text, top = rendered(suggestion, names)
            evidence = (top["item"], top["item"] == suggestion.item) if top else None
            by_sentence.setdefault(text, set()).add((evidence, suggestion.item))
        for text, carried in by_sentence.items():
            # One sentence, one piece of evidence: two items never share a sentence
            # unless neither rests on the customer's history (popularity).
            assert (
                len(carried) == 1
                or text == "Popular with our customers"
                or (text.startswith("You told us you like ") and ", and " not in text)
            ), (text, carried)
        if len(result.suggestions) >= 5:
            lists_checked += 1
            assert len(by_sentence) >= len(result.suggestions) - 1
    assert lists_checked > 50


def test_a_negative_weight_reads_as_a_reason_for_ranking_lower():
    reason = {
        "kind": engine.HISTORY,
        "contribution": -0.12,
        "data_category": "purchase_history",
        "item": 7,
        "name": "Rye Sourdough",
        "counts": {"purchase": 4},
    }
    with translation.override("en"):
        phrase = sentences.reason_phrase(reason, item_id=9)
    assert phrase == "customers who buy Rye Sourdough rarely buy this, so it ranks lower"


def test_liking_a_category_brings_one_of_its_items_into_a_long_history_list():
    # given the demo's busiest personalized customers, who like nothing yet
    def busiest_without_likes(data, shoppers):
        events_per_customer = np.bincount(data.events.customer)
        plain = [s for s in shoppers if not s.liked_categories]
        return sorted(plain, key=lambda s: -events_per_customer[s.key])[:10]

    data, model, histories, busiest = demo_engine(busiest_without_likes)
    names = item_names_of(data)
    category_of = {
        int(key): data.catalog.category_codes[c]
        for key, c in zip(data.catalog.keys.tolist(), data.catalog.category.tolist(), strict=True)
    }
    before = engine.recommend(model, data.catalog, histories, busiest)
    checked = 0
    for shopper, result in zip(busiest, before, strict=True):
        shown = {s.item for s in result.suggestions}
        missing = sorted({category_of[i] for i in category_of} - {category_of[i] for i in shown})
        if not missing:
            continue
        # when the customer likes a category none of whose items is in the list
        liking = replace(shopper, liked_categories=frozenset({missing[0]}))
        after = engine.recommend(model, data.catalog, histories, [liking])[0]
        # then an item of it enters, and its sentence and "Why this?" say why
        entered = [s for s in after.suggestions if category_of[s.item] == missing[0]]
        assert entered, (shopper.key, missing[0])
        text, _top = rendered(entered[0], names)
        assert f"you told us you like {missing[0]}" in text.lower(), text
        if carried_by_a_like(entered[0]):
            assert text.startswith(f"You told us you like {missing[0]}"), text
        with translation.override("en"):
            lines = sentences.reason_lines(
                [{**r.as_dict(), "category_name": r.category} for r in entered[0].reasons],
                item_id=entered[0].item,
            )
        assert f"You told us you like {missing[0]}" in [line.text for line in lines]
        # and every score is still the exact sum of its reasons
        for suggestion in after.suggestions:
            assert suggestion.score == pytest.approx(
                math.fsum(r.contribution for r in suggestion.reasons), abs=1e-12
            )
        checked += 1
    assert checked >= 5
