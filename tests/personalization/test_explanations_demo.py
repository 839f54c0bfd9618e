"""Reasons a customer believes, on the demo bakery: each sentence names the evidence
carrying its item, and items carried by different evidence read differently."""

from __future__ import annotations

import pytest
from django.utils import translation

from personalization import engine
from personalization import explanations as sentences
from personalization.demo import build_demo
from personalization.engine.synthetic import from_demo


@pytest.fixture(scope="module")
def demo_lists():
    data = from_demo(build_demo())
    shoppers = [s for s in data.shoppers if s.mode == "on"]
    now = float(data.events.at.max()) + 1.0
    consent = {s.key: s.consented for s in shoppers}
    params = engine.Parameters()
    model = engine.train(data.events, data.catalog, params=params, now=now, consent=consent)
    histories = engine.build_histories(
        data.events,
        n_items=len(data.catalog),
        params=params,
        now=now,
        consent=consent,
        customers=[s.key for s in shoppers],
    )
    names = dict(zip(data.catalog.keys.tolist(), data.catalog.names, strict=True))
    return names, engine.recommend(model, data.catalog, histories, shoppers)


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


def test_each_sentence_names_the_evidence_that_carries_its_item(demo_lists):
    names, lists = demo_lists
    checked = 0
    for result in lists:
        for suggestion in result.suggestions:
            text, top = rendered(suggestion, names)
            if top is None:
                continue
            assert top["name"] in text
            if top["item"] != suggestion.item:
                assert names[suggestion.item] in text
                assert text.startswith("People who ")
            checked += 1
    assert checked > 100


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
            assert len(carried) == 1 or text == "Popular with our customers", (text, carried)
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
