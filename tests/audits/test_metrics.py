"""The audit metrics engine: every number against Fairlearn, disparities found at their size.

Plain numpy in, plain dataclasses out: no database, no Django.
"""

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    demographic_parity_ratio,
    selection_rate,
    true_positive_rate,
)
from scipy import stats

from audits.metrics import (
    MISSING,
    Attribute,
    bootstrap_ratio_interval,
    build_groups,
    disparity,
    drift,
    gaps,
    mean_by_group,
    rank_weight,
    rate_by_group,
    wilson_interval,
)

ROOT = Path(__file__).resolve().parents[2]
AGE = ("18-34", "35-54", "55-74", "75+")
OLDER = ("18-34", "35-54", "55+")
GENDER = ("woman", "man", "another")
REGION = ("north", "south")
TYPES = ("bread", "cake", "discount")
TOLERANCE = 1e-9


def mean(y_true, y_pred):
    return float(np.mean(y_pred))


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    """(customer, offer type) rows with undeclared attributes and an empty age band."""
    rng = np.random.default_rng(20261127)
    n_customers = 1500
    age = rng.choice([0, 1, 2, MISSING], size=n_customers, p=[0.4, 0.35, 0.2, 0.05])
    gender = rng.choice([0, 1, 2, MISSING], size=n_customers, p=[0.5, 0.4, 0.06, 0.04])
    region = rng.choice([0, 1], size=n_customers)
    customer = np.repeat(np.arange(n_customers), len(TYPES))
    offer_type = np.tile(np.arange(len(TYPES)), n_customers)
    shown = rng.random(customer.size) < 0.2 + 0.1 * (age[customer] == 0)
    rank = np.where(shown, rng.integers(1, 11, customer.size), 0)
    return {
        "customer": customer,
        "age": age[customer],
        "gender": gender[customer],
        "region": region[customer],
        "offer_type": offer_type,
        "shown": shown,
        "bought": rng.random(customer.size) < np.where(shown, 0.35, 0.15),
        "exposure": rank_weight(rank),
        "score": rng.normal(0.4, 0.2, customer.size),
    }


def attributes(data) -> list[Attribute]:
    return [
        Attribute("age", data["age"], AGE),
        Attribute("gender", data["gender"], GENDER),
        Attribute("region", data["region"], REGION),
    ]


def fairlearn_by_group(data, names, *, y_pred, metrics, control=False) -> pd.DataFrame:
    """Fairlearn on the rows where every attribute in `names` is declared."""
    labels = {"age": AGE, "gender": GENDER, "region": REGION}
    declared = np.all([data[name] != MISSING for name in names], axis=0)
    features = pd.DataFrame(
        {name: np.asarray(labels[name])[data[name][declared]] for name in names}
    )
    frame = MetricFrame(
        metrics=metrics,
        y_true=data["bought"][declared],
        y_pred=data[y_pred][declared],
        sensitive_features=features,
        control_features=(
            pd.Series(np.asarray(TYPES)[data["offer_type"][declared]], name="offer_type")
            if control
            else None
        ),
    )
    return frame


def by_table(results):
    tables = {}
    for row in results:
        tables.setdefault(row.attributes, {})[(row.segment, *row.group)] = row
    return tables


def assert_matches(results, frames, column):
    """Every published value and count equals Fairlearn's; every other group is empty."""
    tables = by_table(results)
    assert set(tables) == set(frames)
    for names, frame in frames.items():
        expected = frame.by_group
        expected = expected[expected["n"] > 0]
        published = {
            tuple(group): row for (_, *group), row in tables[names].items() if not row.suppressed
        }
        assert set(published) == {k if isinstance(k, tuple) else (k,) for k in expected.index}
        for group, row in published.items():
            index = group if len(group) > 1 else group[0]
            assert row.value == pytest.approx(expected.loc[index, column], abs=TOLERANCE)
            assert row.n == expected.loc[index, "n"]


# -- every number against Fairlearn --------------------------------------------------------


def test_selection_rate_by_group_and_intersections_match_fairlearn(data):
    # given every attribute, pair and triple
    groups = build_groups(attributes(data))
    # when
    results = rate_by_group(groups, data["shown"], metric="exposure", min_group_size=1)
    # then
    frames = {
        table.attributes: fairlearn_by_group(
            data, table.attributes, y_pred="shown", metrics={"sr": selection_rate, "n": count}
        )
        for table in groups.tables
    }
    assert len(frames) == 3 + 3 + 1
    assert_matches(results, frames, "sr")


def test_true_positive_rate_matches_fairlearn(data):
    # given equal opportunity: among buyers, the share who had been shown the offer
    groups = build_groups(attributes(data))
    # when
    results = rate_by_group(
        groups, data["shown"], eligible=data["bought"], metric="tpr", min_group_size=1
    )
    # then Fairlearn's true_positive_rate, and its counts of actual positives
    buyers = {k: v[data["bought"]] for k, v in data.items()}
    frames = {
        table.attributes: fairlearn_by_group(
            buyers,
            table.attributes,
            y_pred="shown",
            metrics={"tpr": true_positive_rate, "n": count},
        )
        for table in groups.tables
    }
    assert_matches(results, frames, "tpr")


@pytest.mark.parametrize("column", ["exposure", "score"])
def test_means_match_fairlearn_custom_metric(data, column):
    groups = build_groups(attributes(data), max_order=2)
    results = mean_by_group(groups, data[column], metric=column, min_group_size=1, n_resamples=50)
    frames = {
        table.attributes: fairlearn_by_group(
            data, table.attributes, y_pred=column, metrics={"mean": mean, "n": count}
        )
        for table in groups.tables
    }
    assert_matches(results, frames, "mean")


def test_segments_match_fairlearn_control_features(data):
    # given the offer type as a segment: each group measured per offer type
    groups = build_groups(
        attributes(data)[:2],
        segments=Attribute("offer_type", data["offer_type"], TYPES),
        customers=data["customer"],
    )
    # when
    results = rate_by_group(groups, data["shown"], metric="exposure", min_group_size=1)
    # then equal to Fairlearn with the offer type as a control feature
    tables = by_table(results)
    for table in groups.tables:
        frame = fairlearn_by_group(
            data,
            table.attributes,
            y_pred="shown",
            metrics={"sr": selection_rate, "n": count},
            control=True,
        ).by_group
        frame = frame[frame["n"] > 0]
        published = {k: r for k, r in tables[table.attributes].items() if not r.suppressed}
        assert set(published) == set(frame.index)
        for key, row in published.items():
            assert row.value == pytest.approx(frame.loc[key, "sr"], abs=TOLERANCE)
            # one row per customer and offer type: customers == rows
            assert row.n == row.customers == frame.loc[key, "n"]


def test_demographic_parity_difference_and_ratio_match_fairlearn(data):
    groups = build_groups(attributes(data))
    results = rate_by_group(groups, data["shown"], metric="exposure", min_group_size=1)
    for gap in gaps(results):
        names = list(gap.attributes)
        declared = np.all([data[n] != MISSING for n in names], axis=0)
        features = pd.DataFrame({n: data[n][declared] for n in names})
        y_true, y_pred = data["bought"][declared], data["shown"][declared]
        assert gap.difference == pytest.approx(
            demographic_parity_difference(y_true, y_pred, sensitive_features=features),
            abs=TOLERANCE,
        )
        assert gap.ratio == pytest.approx(
            demographic_parity_ratio(y_true, y_pred, sensitive_features=features),
            abs=TOLERANCE,
        )


def test_gaps_of_tpr_and_mean_match_metricframe_difference_and_ratio(data):
    groups = build_groups(attributes(data), max_order=2)
    tpr = rate_by_group(
        groups, data["shown"], eligible=data["bought"], metric="tpr", min_group_size=1
    )
    exposure = mean_by_group(
        groups, data["exposure"], metric="exposure", min_group_size=1, n_resamples=20
    )
    buyers = {k: v[data["bought"]] for k, v in data.items()}
    for gap in gaps(tpr):
        frame = fairlearn_by_group(
            buyers, gap.attributes, y_pred="shown", metrics={"tpr": true_positive_rate}
        )
        assert gap.difference == pytest.approx(frame.difference()["tpr"], abs=TOLERANCE)
        assert gap.ratio == pytest.approx(frame.ratio()["tpr"], abs=TOLERANCE)
    for gap in gaps(exposure):
        frame = fairlearn_by_group(data, gap.attributes, y_pred="exposure", metrics={"m": mean})
        assert gap.difference == pytest.approx(frame.difference()["m"], abs=TOLERANCE)
        assert gap.ratio == pytest.approx(frame.ratio()["m"], abs=TOLERANCE)


def test_difference_and_ratio_to_the_largest_group_match_fairlearn_tables(data):
    groups = build_groups(attributes(data))
    results = disparity(rate_by_group(groups, data["shown"], metric="exposure", min_group_size=1))
    for names, rows in by_table(results).items():
        frame = fairlearn_by_group(
            data, names, y_pred="shown", metrics={"sr": selection_rate, "n": count}
        ).by_group
        frame = frame[frame["n"] > 0]
        largest = frame["n"].idxmax()
        reference = largest if isinstance(largest, tuple) else (largest,)
        for (_, *group), row in rows.items():
            if row.suppressed:
                continue
            index = tuple(group) if len(group) > 1 else group[0]
            assert row.reference == reference
            assert row.difference == pytest.approx(
                frame.loc[index, "sr"] - frame.loc[largest, "sr"], abs=TOLERANCE
            )
            assert row.ratio == pytest.approx(
                frame.loc[index, "sr"] / frame.loc[largest, "sr"], abs=TOLERANCE
            )


# -- intervals --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        # Newcombe, R. G. (1998). Statistics in Medicine 17: 857-872, Table II, method 3.
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (29, 29, 0.8830, 1.0000),
    ],
)
def test_wilson_interval_matches_published_values(successes, n, low, high):
    got_low, got_high = wilson_interval(successes, n)
    assert (round(float(got_low), 4), round(float(got_high), 4)) == (low, high)


def test_wilson_bounds_invert_the_score_test():
    # The bounds are the p at which |p_hat - p| / sqrt(p (1 - p) / n) equals z.
    successes = np.array([3, 10, 47, 99])
    n = np.array([20, 40, 50, 100])
    low, high = wilson_interval(successes, n, confidence=0.9)
    z = stats.norm.ppf(0.95)
    p_hat = successes / n
    for bound in (low, high):
        score = np.abs(p_hat - bound) / np.sqrt(bound * (1 - bound) / n)
        np.testing.assert_allclose(score, z, rtol=1e-9)


def test_bootstrap_interval_agrees_with_scipy_percentile_bootstrap():
    rng = np.random.default_rng(3)
    values = rng.choice(rank_weight(np.arange(0, 11)), size=400)
    distinct, counts = np.unique(values, return_counts=True)
    low, high = bootstrap_ratio_interval(
        distinct, np.ones(len(distinct)), counts, rng=rng, n_resamples=4000
    )
    reference = stats.bootstrap(
        (values,), np.mean, method="percentile", n_resamples=4000, random_state=4
    ).confidence_interval
    width = reference.high - reference.low
    assert low == pytest.approx(reference.low, abs=0.05 * width)
    assert high == pytest.approx(reference.high, abs=0.05 * width)


def test_bootstrap_intervals_repeat_exactly_with_the_same_seed(data):
    groups = build_groups(attributes(data), max_order=2)
    first = mean_by_group(groups, data["score"], metric="score", n_resamples=100, seed=5)
    again = mean_by_group(groups, data["score"], metric="score", n_resamples=100, seed=5)
    other = mean_by_group(groups, data["score"], metric="score", n_resamples=100, seed=6)
    assert first == again
    assert [r.low for r in first] != [r.low for r in other]


def test_clustered_rows_widen_the_interval_to_the_customers_evidence():
    # given 200 customers with 10 identical rows each: 200 observations, not 2,000
    rng = np.random.default_rng(1)
    flags = np.repeat(rng.random(200) < 0.3, 10)
    customer = np.repeat(np.arange(200), 10)
    one_group = Attribute("all", np.zeros(2000, dtype=np.int64), ("everyone",))
    # when
    naive = rate_by_group(build_groups([one_group]), flags, metric="flagged")[0]
    clustered = rate_by_group(build_groups([one_group], customers=customer), flags, metric="f")[0]
    # then the interval is the one of 200 customers
    low, high = wilson_interval(flags.sum() / 10, 200)
    assert (clustered.low, clustered.high) == pytest.approx((float(low), float(high)), abs=1e-12)
    assert clustered.value == naive.value
    assert clustered.high - clustered.low > 2.5 * (naive.high - naive.low)
    assert (clustered.n, clustered.customers) == (2000, 200)


def test_cluster_bootstrap_resamples_whole_customers():
    rng = np.random.default_rng(2)
    per_customer = rng.random(300).round(1)
    values = np.repeat(per_customer, 8)
    customer = np.repeat(np.arange(300), 8)
    one_group = Attribute("all", np.zeros(values.size, dtype=np.int64), ("everyone",))
    rows = mean_by_group(build_groups([one_group]), values, metric="m", n_resamples=2000)[0]
    customers = mean_by_group(
        build_groups([one_group], customers=customer), values, metric="m", n_resamples=2000
    )[0]
    reference = stats.bootstrap(
        (per_customer,), np.mean, method="percentile", n_resamples=2000, random_state=0
    ).confidence_interval
    width = reference.high - reference.low
    assert customers.low == pytest.approx(reference.low, abs=0.08 * width)
    assert customers.high == pytest.approx(reference.high, abs=0.08 * width)
    assert (rows.high - rows.low) < 0.5 * width


# -- disparities of known size are found at that size -----------------------------------


def injected(rng, *, n_customers=40_000, low_rate=0.24, rate=0.40):
    age = rng.choice(3, size=n_customers, p=[0.45, 0.4, 0.15])
    gender = rng.choice(3, size=n_customers, p=[0.5, 0.45, 0.05])
    shown = rng.random(n_customers) < np.where(age == 2, low_rate, rate)
    return age, gender, shown


def test_injected_exposure_disparity_is_found_with_its_size():
    # given customers aged 55+ shown the discount 0.24 of the time, everyone else 0.40
    age, gender, shown = injected(np.random.default_rng(11))
    groups = build_groups([Attribute("age", age, OLDER), Attribute("gender", gender, GENDER)])
    # when
    results = disparity(rate_by_group(groups, shown, metric="discount_exposure"))
    # then the 55+ group is found, with ratio 0.6 and difference -0.16
    older = next(r for r in results if r.group == ("55+",))
    assert older.reference == ("18-34",)
    assert older.ratio == pytest.approx(0.6, abs=0.04)
    assert older.difference == pytest.approx(-0.16, abs=0.015)
    assert older.fails_four_fifths_rule and older.ratio_finding and older.difference_finding
    assert older.finding
    # and in every intersection with it that is big enough, nowhere else
    flagged = {r.group for r in results if r.finding}
    assert flagged == {g for g in flagged if "55+" in g}
    assert ("55+", "woman") in flagged and ("55+", "man") in flagged
    assert not any(r.finding for r in results if r.attributes == ("gender",))


def test_injected_gap_in_a_mean_is_found_with_its_size():
    rng = np.random.default_rng(12)
    age, gender, _ = injected(rng, n_customers=20_000)
    # nDCG-like values: 0.30 on average, 0.22 for 55+
    ndcg = np.clip(rng.normal(np.where(age == 2, 0.22, 0.3), 0.1), 0, 1).round(2)
    groups = build_groups([Attribute("age", age, OLDER), Attribute("gender", gender, GENDER)])
    results = disparity(mean_by_group(groups, ndcg, metric="ndcg@10", n_resamples=500))
    older = next(r for r in results if r.group == ("55+",))
    assert older.ratio == pytest.approx(0.22 / 0.3, abs=0.03)
    assert older.difference == pytest.approx(-0.08, abs=0.01)
    assert older.ratio_finding and not older.crosses_difference_threshold
    assert older.finding
    assert not any(r.finding for r in results if "55+" not in r.group)


def test_injected_excess_of_an_adverse_outcome_is_found():
    # given complaints: lower is better; men complain 0.13 of the time, others 0.05
    rng = np.random.default_rng(13)
    age, gender, _ = injected(rng, n_customers=10_000)
    complained = rng.random(age.size) < np.where(gender == 1, 0.13, 0.05)
    groups = build_groups([Attribute("age", age, OLDER), Attribute("gender", gender, GENDER)])
    results = disparity(
        rate_by_group(groups, complained, metric="complained", higher_is_better=False),
        reference={"gender": "woman"},
    )
    men = next(r for r in results if r.group == ("man",))
    assert men.reference == ("woman",)
    assert men.ratio == pytest.approx(2.6, abs=0.35)
    assert men.ratio_finding and men.fails_four_fifths_rule and not men.difference_finding
    women = next(r for r in results if r.group == ("woman",))
    assert women.is_reference and women.difference == 0 and not women.finding


def test_a_crossed_threshold_without_a_clear_interval_is_not_a_finding():
    # given a small group whose rate is below 80% of the reference, within noise
    n_big, n_small = 5000, 25
    codes = np.r_[np.zeros(n_big, dtype=np.int64), np.ones(n_small, dtype=np.int64)]
    shown = np.r_[np.arange(n_big) < 0.5 * n_big, np.arange(n_small) < 9]  # 0.50 vs 0.36
    groups = build_groups([Attribute("age", codes, ("young", "old"))])
    # when
    old = disparity(rate_by_group(groups, shown, metric="exposure"))[1]
    # then
    assert old.crosses_ratio_threshold and old.crosses_difference_threshold
    assert old.high > 0.4
    assert not old.ratio_finding and not old.difference_finding and not old.finding


# -- no disparity: few false findings ---------------------------------------------------


def test_false_finding_rate_without_disparity_is_at_most_five_percent():
    # given 200 seeded audits of a small shop (1,500 customers) where every group has the
    # same rates and means; each run is one segment, so all 200 are audited in one pass
    runs, n_customers = 200, 1500
    rng = np.random.default_rng(2026)
    n = runs * n_customers
    age = rng.choice(4, size=n, p=[0.35, 0.3, 0.25, 0.1])
    gender = rng.choice(3, size=n, p=[0.5, 0.45, 0.05])
    shown = rng.random(n) < 0.3
    bought = rng.random(n) < 0.4
    hit = rng.random(n) < 0.25
    exposure = rank_weight(np.where(rng.random(n) < 0.6, 0, rng.integers(1, 11, n)))
    labels = tuple(f"run-{i}" for i in range(runs))
    groups = build_groups(
        [Attribute("age", age, AGE), Attribute("gender", gender, GENDER)],
        segments=Attribute("run", np.repeat(np.arange(runs), n_customers), labels),
    )
    # when each run is audited for exposure, equal opportunity, hit rate and
    # rank-weighted exposure, in every group and intersection
    results = disparity(
        rate_by_group(groups, shown, metric="exposure")
        + rate_by_group(groups, shown, eligible=bought, metric="tpr")
        + rate_by_group(groups, hit, metric="hit_rate")
        + mean_by_group(groups, exposure, metric="rank_weighted_exposure", n_resamples=400)
    )
    # and each run is compared with the one before it for drift
    following = {label: labels[i + 1] for i, label in enumerate(labels[:-1])}
    as_previous = [
        replace(r, segment=following[r.segment]) for r in results if r.segment in following
    ]
    moved = drift(results, as_previous)
    # then
    assert len({r.segment for r in results}) == runs
    assert sum(not r.suppressed for r in results) >= runs * 4 * 12
    runs_with_finding = {r.segment for r in results if r.finding}
    runs_with_drift = {d.segment for d in moved if d.finding}
    assert len(runs_with_finding) / runs <= 0.05
    assert len(runs_with_drift) / (runs - 1) <= 0.05


def test_each_segment_is_audited_on_its_own(data):
    # given the offer type as a segment
    segments = Attribute("offer_type", data["offer_type"], TYPES)
    together = disparity(
        rate_by_group(
            build_groups(attributes(data), segments=segments, customers=data["customer"]),
            data["shown"],
            metric="exposure",
        )
    )
    # then each segment's rows (sizes, suppression, reference) are those of an audit
    # of that offer type's rows alone
    for code, label in enumerate(TYPES):
        rows = data["offer_type"] == code
        alone = disparity(
            rate_by_group(
                build_groups(
                    [Attribute(a.name, a.codes[rows], a.labels) for a in attributes(data)],
                    customers=data["customer"][rows],
                ),
                data["shown"][rows],
                metric="exposure",
            )
        )
        assert [replace(r, segment=None) for r in together if r.segment == label] == alone


# -- suppression, drift, records ----------------------------------------------------------


def test_small_groups_are_too_few_to_measure_and_protected_from_subtraction():
    # given everyone declared gender, and only 5 customers declared "another"
    codes = np.r_[np.zeros(400, dtype=np.int64), np.ones(300, dtype=np.int64), np.full(5, 2)]
    shown = np.arange(codes.size) % 3 == 0
    groups = build_groups([Attribute("gender", codes, GENDER)])
    # when
    results = rate_by_group(groups, shown, metric="exposure")
    # then "another" has no figure, and "man" is hidden with it: otherwise the owner
    # could subtract the published groups from the shop's total
    by_group = {r.group: r for r in results}
    assert by_group[("another",)].suppression == "too_few"
    assert by_group[("man",)].suppression == "complementary"
    assert by_group[("woman",)].value == pytest.approx(134 / 400)
    for row in (by_group[("another",)], by_group[("man",)]):
        assert (row.value, row.low, row.high, row.n) == (None, None, None, None)


def test_undeclared_customers_already_cover_a_small_group():
    codes = np.r_[np.zeros(400, dtype=np.int64), np.ones(300, dtype=np.int64), np.full(5, 2)]
    codes = np.r_[codes, np.full(100, MISSING)]
    results = rate_by_group(
        build_groups([Attribute("gender", codes, GENDER)]), codes == 0, metric="exposure"
    )
    assert [r.suppression for r in results] == [None, None, "too_few"]


def test_three_way_tables_list_only_measurable_groups(data):
    groups = build_groups(attributes(data))
    results = rate_by_group(groups, data["shown"], metric="exposure", min_group_size=100)
    triples = [r for r in results if len(r.attributes) == 3]
    pairs = [r for r in results if len(r.attributes) == 2]
    assert triples and all(not r.suppressed and r.customers is None for r in triples)
    assert len(pairs) == 4 * 3 + 4 * 2 + 3 * 2  # every pair cell, measurable or not
    assert any(r.suppressed for r in pairs)


def test_distinct_customers_decide_the_minimum_size():
    # given 10 customers with 5 rows each: 50 rows, but only 10 people
    customer = np.repeat(np.arange(10), 5)
    codes = np.zeros(50, dtype=np.int64)
    groups = build_groups([Attribute("age", codes, ("all",))], customers=customer)
    row = rate_by_group(groups, np.ones(50, dtype=bool), metric="flagged")[0]
    assert row.suppressed and row.suppression == "too_few"
    by_rows = rate_by_group(
        build_groups([Attribute("age", codes, ("all",))]), np.ones(50, dtype=bool), metric="f"
    )
    assert not by_rows[0].suppressed


def test_a_customer_with_two_declared_values_is_refused():
    with pytest.raises(ValueError, match="one customer's rows carry different codes"):
        build_groups([Attribute("age", np.array([0, 1]), ("a", "b"))], customers=[7, 7])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"codes": np.array([0, 3]), "labels": ("a", "b")}, "codes must be -1"),
        ({"codes": np.array([0.5]), "labels": ("a",)}, "integers"),
        ({"codes": np.array([0, 0]), "labels": ("a", "a")}, "distinct"),
    ],
)
def test_bad_attribute_codes_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Attribute("age", **kwargs)


def test_bad_outcomes_are_refused():
    groups = build_groups([Attribute("age", np.array([0, 0, 1]), ("a", "b"))])
    with pytest.raises(ValueError, match="successes: must be booleans or 0/1"):
        rate_by_group(groups, [0, 2, 1], metric="x")
    with pytest.raises(ValueError, match="successes: 2 values for 3 rows"):
        rate_by_group(groups, [0, 1], metric="x")
    with pytest.raises(ValueError, match="values: must be finite"):
        mean_by_group(groups, [0.1, np.nan, 0.3], metric="x")
    # a NaN in a row that is not eligible is ignored
    rows = mean_by_group(
        groups, [0.1, np.nan, 0.3], eligible=[1, 0, 1], metric="x", min_group_size=1
    )
    assert [r.value for r in rows] == [pytest.approx(0.1), pytest.approx(0.3)]


def test_attribute_from_values_treats_blank_as_undeclared():
    attribute = Attribute.from_values("gender", ["man", None, "woman", "", "man"])
    assert attribute.labels == ("man", "woman")
    assert attribute.codes.tolist() == [0, MISSING, 1, MISSING, 0]


def test_drift_between_runs_is_found_when_clear_of_noise():
    rng = np.random.default_rng(8)
    age, gender, _ = injected(rng, n_customers=20_000)
    groups = build_groups([Attribute("age", age, OLDER), Attribute("gender", gender, GENDER)])
    before = rate_by_group(groups, rng.random(age.size) < 0.4, metric="exposure")
    # the 55+ group's exposure falls from 0.40 to 0.25 in the next run
    after_rate = np.where(age == 2, 0.25, 0.4)
    after = rate_by_group(groups, rng.random(age.size) < after_rate, metric="exposure")
    moved = {d.group: d for d in drift(after, before, threshold=0.05)}
    assert moved[("55+",)].finding
    assert moved[("55+",)].change == pytest.approx(-0.15, abs=0.03)
    assert not moved[("18-34",)].finding
    assert {g for g, d in moved.items() if d.finding} <= {g for g in moved if "55+" in g}


def test_drift_ignores_suppressed_and_new_groups():
    codes = np.r_[np.zeros(100, dtype=np.int64), np.ones(5, dtype=np.int64)]
    groups = build_groups([Attribute("age", codes, ("a", "b"))])
    now = rate_by_group(groups, codes == 0, metric="exposure", min_group_size=1)
    earlier = rate_by_group(groups, codes == 1, metric="exposure")
    rows = {d.group: d for d in drift(now, earlier)}
    assert rows[("b",)].change is None and not rows[("b",)].finding
    assert rows[("a",)].previous is None  # hidden last time to protect b
    assert drift(now, []) and not any(d.finding for d in drift(now, []))


def test_records_serialize_to_json(data):
    groups = build_groups(
        attributes(data)[:2], segments=Attribute("offer_type", data["offer_type"], TYPES)
    )
    results = disparity(rate_by_group(groups, data["shown"], metric="exposure"))
    payload = json.loads(
        json.dumps(
            {
                "results": [r.to_dict() for r in results],
                "gaps": [g.to_dict() for g in gaps(results)],
                "drift": [d.to_dict() for d in drift(results, results)],
            }
        )
    )
    first = payload["results"][0]
    assert first["attributes"] == ["age"] and first["segment"] == "bread"
    assert first["reference"] == ["18-34"]
    assert set(first) >= {"metric", "group", "value", "low", "high", "n", "suppressed", "ratio"}


def test_the_metrics_package_imports_no_django():
    code = (
        "import sys, audits.metrics; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'django', 'rest_framework'}); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
