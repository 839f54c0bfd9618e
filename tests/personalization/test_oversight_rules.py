"""Each guardrail rule alone, and the rules together (pure, no database)."""

from hypothesis import given
from hypothesis import strategies as st

from personalization.oversight import rules as R

BREAD = dict(
    item_attributes=frozenset({"contains:gluten"}),
    item_allergens_declared=True,
    item_category="breads",
    item_price=4.0,
    customer_usual_spend=4.0,
    evidence_events=12,
    history_size=40,
)


def candidate(**overrides):
    return R.Candidate(**{**BREAD, **overrides})


def codes(c, t=None):
    return [flag.rule for flag in R.evaluate(c, t)]


def test_an_ordinary_recommendation_needs_no_review():
    assert codes(candidate()) == []


def test_restriction_conflict_is_high_risk_and_names_the_attribute():
    (flag,) = R.evaluate(candidate(customer_restrictions=frozenset({"contains:gluten"})))
    assert (flag.rule, flag.high_risk, flag.facts) == (
        "restriction_conflict",
        True,
        {"attributes": ["contains:gluten"]},
    )


def test_missing_allergen_data_is_flagged_only_for_customers_with_an_allergen_restriction():
    unknown = candidate(item_attributes=frozenset(), item_allergens_declared=False)
    assert codes(unknown) == []
    assert (
        codes(
            unknown.__class__(
                **{**unknown.__dict__, "customer_restrictions": frozenset({"alcohol"})}
            )
        )
        == []
    )
    flagged = R.evaluate(
        candidate(
            item_attributes=frozenset(),
            item_allergens_declared=False,
            customer_restrictions=frozenset({"contains:nuts"}),
        )
    )
    assert [(f.rule, f.high_risk) for f in flagged] == [("missing_attribute_data", True)]


def test_sensitive_items_follow_the_owners_choice():
    cider = candidate(
        item_attributes=frozenset({"alcohol", "contains:none"}), item_category="drinks"
    )
    assert codes(cider) == ["sensitive_item"]
    assert codes(cider, R.Thresholds(sensitive_attributes=frozenset())) == []
    assert codes(candidate(), R.Thresholds(sensitive_categories=frozenset({"breads"}))) == [
        "sensitive_item"
    ]


def test_premium_nudge_is_a_multiple_of_usual_spend():
    assert codes(candidate(item_price=20.0)) == []  # exactly 5x is not above 5x
    (flag,) = R.evaluate(candidate(item_price=20.01))
    assert flag.rule == "premium_nudge" and flag.facts["multiple"] == 5.0
    assert codes(candidate(item_price=12.01), R.Thresholds(premium_multiple=3.0)) == [
        "premium_nudge"
    ]
    assert codes(candidate(item_price=100.0, customer_usual_spend=None)) == []


def test_low_confidence_is_a_suggestion_resting_on_fewer_events_than_the_minimum():
    (flag,) = R.evaluate(candidate(evidence_events=1, history_size=1))
    assert (flag.rule, flag.high_risk, flag.facts) == (
        "low_confidence",
        False,
        {"evidence_events": 1, "history_size": 1},
    )
    assert codes(candidate(evidence_events=2)) == []
    assert codes(candidate(evidence_events=2), R.Thresholds(min_evidence=3)) == ["low_confidence"]
    # Nothing personal behind it (popularity, a liked category): what anyone gets.
    assert codes(candidate(evidence_events=0, history_size=5)) == []
    # A long history does not make one item's single event more telling.
    assert codes(candidate(evidence_events=1, history_size=500)) == ["low_confidence"]
    assert codes(candidate(evidence_events=1), R.Thresholds(min_evidence=0)) == []


def test_recent_complaint_new_model_sample_and_campaign():
    (flag,) = R.evaluate(candidate(recent_complaints=1))
    assert (flag.rule, flag.high_risk, flag.facts) == (
        "recent_complaint",
        False,
        {"complaints": 1, "category": "breads"},
    )
    assert codes(candidate(model_sample_index=19), R.Thresholds(new_model_sample=20)) == [
        "new_model_sample"
    ]
    assert codes(candidate(model_sample_index=20), R.Thresholds(new_model_sample=20)) == []
    assert codes(candidate(model_sample_index=0)) == []  # off by default
    assert codes(candidate(is_campaign=True)) == ["campaign"]


def test_every_rule_has_a_distinct_code():
    assert len(set(R.RULE_CODES)) == len(R.RULES)


attributes = st.frozensets(
    st.sampled_from(["contains:gluten", "contains:nuts", "alcohol", "vegan"])
)


@given(item=attributes, restrictions=attributes, declared=st.booleans())
def test_no_item_clashing_with_a_restriction_ever_passes_unflagged(item, restrictions, declared):
    flags = R.evaluate(
        candidate(
            item_attributes=item,
            customer_restrictions=restrictions,
            item_allergens_declared=declared,
        )
    )
    high_risk = {f.rule for f in flags if f.high_risk}
    if item & restrictions:
        assert "restriction_conflict" in high_risk
    if not declared and any(r.startswith("contains:") for r in restrictions):
        assert "missing_attribute_data" in high_risk


def test_risk_ranks_flags_and_high_risk_is_above_every_rule():
    low = R.evaluate(candidate(evidence_events=1))
    premium = R.evaluate(candidate(item_price=100.0))
    both = R.evaluate(candidate(item_price=100.0, evidence_events=1))
    clash = R.evaluate(candidate(customer_restrictions=frozenset({"contains:gluten"})))
    assert R.risk_of([]) == -1
    assert R.risk_of(low) == R.LOWEST_RISK < R.risk_of(premium) == R.risk_of(both)
    assert R.risk_of(clash) == R.HIGH_RISK
    assert set(R.RISK) | {"restriction_conflict", "missing_attribute_data"} == set(R.RULE_CODES)


def test_the_budget_holds_high_risk_always_then_the_riskiest_first():
    high, complaint, premium, low = R.HIGH_RISK, 4, 2, 0
    assert R.hold_within_budget([low, premium, high, complaint], None) == [True] * 4
    assert R.hold_within_budget([low, premium, high, complaint], 2) == [
        False,
        False,
        True,
        True,
    ]
    # Over budget already: high risk is still held, nothing else.
    assert R.hold_within_budget([high, low, high], 0) == [True, False, True]
    # Ties keep the order they came in (best-ranked first).
    assert R.hold_within_budget([low, low, low], 2) == [True, True, False]


@given(
    risks=st.lists(st.sampled_from([-1 + 1, 1, 2, 3, 4, R.HIGH_RISK]), max_size=30),
    budget=st.integers(min_value=0, max_value=40),
)
def test_the_budget_is_kept_unless_high_risk_alone_exceeds_it(risks, budget):
    held = R.hold_within_budget(risks, budget)
    high = sum(r == R.HIGH_RISK for r in risks)
    assert all(h for h, r in zip(held, risks, strict=True) if r == R.HIGH_RISK)
    assert sum(held) == max(high, min(budget, len(risks)))
    # Nothing less risky is held while something riskier went out.
    kept = [r for h, r in zip(held, risks, strict=True) if h]
    sent = [r for h, r in zip(held, risks, strict=True) if not h]
    assert not kept or not sent or min(kept) >= max(sent)
