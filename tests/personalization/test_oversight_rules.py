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
    confidence=0.9,
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
    assert codes(candidate(item_price=12.0)) == []  # exactly 3x is not above 3x
    (flag,) = R.evaluate(candidate(item_price=12.01))
    assert flag.rule == "premium_nudge" and flag.facts["multiple"] == 3.0
    assert codes(candidate(item_price=100.0, customer_usual_spend=None)) == []


def test_low_confidence_and_thin_history():
    assert codes(candidate(confidence=0.1)) == ["low_confidence"]
    assert codes(candidate(history_size=2)) == ["low_confidence"]
    # No history at all: the popularity list anyone gets, nothing personal to doubt.
    assert codes(candidate(history_size=0, confidence=0.0)) == []
    assert codes(candidate(history_size=1, confidence=0.0)) == ["low_confidence"]
    assert codes(candidate(history_size=3)) == []


def test_recent_complaint_new_model_sample_and_campaign():
    assert codes(candidate(recent_complaints=1)) == ["recent_complaint"]
    assert codes(candidate(model_sample_index=19)) == ["new_model_sample"]
    assert codes(candidate(model_sample_index=20)) == []
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
