"""The sentences an owner reads first: direction, size, figures and which rule."""

from audits.wording import breach_sentence, drift_sentence


def test_a_lower_share_reads_as_less_often_below_the_owners_ratio_threshold():
    sentence = breach_sentence(
        metric="exposure",
        attributes=["age_band"],
        group=["55+"],
        segment="Discount offers",
        reference=["25-34"],
        reference_is_largest=True,
        value=0.276,
        reference_value=0.4,
        ratio=0.69,
        fails_four_fifths_rule=True,
        difference_threshold=0.1,
    )
    assert sentence == (
        "Customers with age band 55+ were shown Discount offers 31% less often than the "
        "largest group (age band 25-34): 27.6% against 40.0%, below your threshold of 80% of "
        "the reference group's value."
    )


def test_the_sentence_names_the_threshold_the_owner_set_not_the_80_percent_rule():
    # given: the owner raised the ratio threshold to 0.95; the group is at 0.9
    sentence = breach_sentence(
        metric="exposure",
        attributes=["age_band"],
        group=["55+"],
        segment="",
        reference=["25-34"],
        reference_is_largest=True,
        value=0.36,
        reference_value=0.4,
        ratio=0.9,
        fails_four_fifths_rule=False,
        difference_threshold=0.1,
        ratio_threshold=0.95,
    )
    assert sentence.endswith("below your threshold of 95% of the reference group's value.")
    assert "80%" not in sentence


def test_a_higher_adverse_rate_names_the_owners_limit_as_times_the_reference():
    sentence = breach_sentence(
        metric="complained",
        attributes=["age_band"],
        group=["55+"],
        segment="",
        reference=["25-34"],
        reference_is_largest=True,
        value=0.3,
        reference_value=0.2,
        ratio=1.5,
        fails_four_fifths_rule=True,
        difference_threshold=0.2,
        ratio_threshold=0.95,
    )
    assert sentence.endswith("above your limit of 1.05 times the reference group's value.")


def test_an_adverse_outcome_reads_as_more_often_and_names_the_difference_threshold():
    sentence = breach_sentence(
        metric="rejected",
        attributes=["age_band", "gender"],
        group=["55+", "woman"],
        segment="",
        reference=["25-34", "man"],
        reference_is_largest=False,
        value=0.3,
        reference_value=0.15,
        ratio=2.0,
        fails_four_fifths_rule=False,
        difference_threshold=0.1,
    )
    assert sentence == (
        "Customers with age band 55+ and gender woman had recommendations rejected by staff "
        "100% more often than the reference group (age band 25-34 and gender man): 30.0% "
        "against 15.0%, above your limit of 1.25 times the reference group's value."
    )


def test_a_zero_reference_is_described_in_percentage_points():
    sentence = breach_sentence(
        metric="flagged",
        attributes=["gender"],
        group=["woman"],
        segment="",
        reference=["man"],
        reference_is_largest=True,
        value=0.2,
        reference_value=0.0,
        ratio=None,
        fails_four_fifths_rule=False,
        difference_threshold=0.1,
    )
    assert "20.0 percentage points more often than the largest group (gender man)" in sentence
    assert sentence.endswith("more than your threshold of 10.0 percentage points apart.")


def test_drift_names_the_run_it_is_compared_with():
    assert drift_sentence(
        metric="ndcg@10",
        attributes=["age_band"],
        group=["55+"],
        segment="",
        before=0.41,
        after=0.3,
        against_baseline=True,
    ) == (
        "Usefulness (nDCG@10) for customers with age band 55+ moved from 0.41 to 0.30 "
        "since the baseline run."
    )
