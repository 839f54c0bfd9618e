"""Invariants of the audit metrics on any data, however small, empty or lopsided."""

from itertools import combinations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from audits.metrics import (
    MISSING,
    Attribute,
    build_groups,
    disparity,
    drift,
    gaps,
    mean_by_group,
    rate_by_group,
    wilson_interval,
)

PROPERTY = settings(max_examples=50, deadline=None)


@st.composite
def audits(draw):
    """Tiny audits: 0-60 rows, 1-3 attributes with undeclared values, maybe customers."""
    n_rows = draw(st.integers(0, 60))
    n_customers = draw(st.integers(1, 30))
    by_customer = draw(st.booleans())
    customer = np.array(
        draw(st.lists(st.integers(0, n_customers - 1), min_size=n_rows, max_size=n_rows)),
        dtype=np.int64,
    )
    attributes = []
    for index in range(draw(st.integers(1, 3))):
        width = draw(st.integers(1, 4))
        per_customer = np.array(
            draw(
                st.lists(
                    st.integers(MISSING, width - 1), min_size=n_customers, max_size=n_customers
                )
            ),
            dtype=np.int64,
        )
        labels = tuple(f"v{j}" for j in range(width))
        attributes.append(Attribute(f"a{index}", per_customer[customer], labels))
    segments = None
    if draw(st.booleans()):
        width = draw(st.integers(1, 3))
        codes = draw(st.lists(st.integers(MISSING, width - 1), min_size=n_rows, max_size=n_rows))
        segments = Attribute(
            "segment", np.array(codes, dtype=np.int64), tuple(f"s{j}" for j in range(width))
        )
    bools = st.lists(st.booleans(), min_size=n_rows, max_size=n_rows)
    return {
        "attributes": attributes,
        "segments": segments,
        "customers": customer if by_customer else None,
        "successes": np.array(draw(bools), dtype=bool),
        "eligible": np.array(draw(bools), dtype=bool) if draw(st.booleans()) else None,
        "values": np.array(
            draw(
                st.lists(
                    st.sampled_from([0.0, 0.25, 0.5, 1.0, 3.0]), min_size=n_rows, max_size=n_rows
                )
            )
        ),
        "min_group_size": draw(st.integers(0, 12)),
        "higher_is_better": draw(st.booleans()),
    }


def groups_of(audit):
    return build_groups(
        audit["attributes"], segments=audit["segments"], customers=audit["customers"]
    )


def rates(audit):
    return rate_by_group(
        groups_of(audit),
        audit["successes"],
        metric="rate",
        eligible=audit["eligible"],
        min_group_size=audit["min_group_size"],
        higher_is_better=audit["higher_is_better"],
    )


def rows_of(audit, attributes, group, segment):
    """Brute force: the eligible rows of one group in one segment."""
    n_rows = len(audit["successes"])
    rows = np.ones(n_rows, dtype=bool) if audit["eligible"] is None else audit["eligible"].copy()
    if audit["segments"] is not None:
        rows &= audit["segments"].codes != MISSING
        if segment is not None:
            rows &= audit["segments"].codes == audit["segments"].labels.index(segment)
    by_name = {a.name: a for a in audit["attributes"]}
    for name, label in zip(attributes, group, strict=True):
        attribute = by_name[name]
        rows &= attribute.codes == attribute.labels.index(label)
    return rows


def units_of(audit, rows):
    if audit["customers"] is None:
        return int(rows.sum())
    return len(np.unique(audit["customers"][rows]))


@PROPERTY
@given(audits())
def test_every_figure_is_the_brute_force_one_or_withheld(audit):
    results = rates(audit)
    floor = max(audit["min_group_size"], 1)
    n_segments = 1 if audit["segments"] is None else len(audit["segments"].labels)
    for table in groups_of(audit).tables:
        listed = [r for r in results if r.attributes == table.attributes]
        if table.order <= 2:
            assert len(listed) == n_segments * table.size
        else:
            assert all(not r.suppressed for r in listed)
    for row in results:
        if row.suppressed:
            # no value leaks: nothing but the group's name
            assert (row.value, row.low, row.high, row.n, row.customers) == (None,) * 5
            assert row.suppression in {"too_few", "complementary"}
            continue
        rows = rows_of(audit, row.attributes, row.group, row.segment)
        assert row.n == rows.sum() >= 1
        assert units_of(audit, rows) >= floor
        if audit["customers"] is not None:
            assert row.customers == units_of(audit, rows)
        assert row.value == audit["successes"][rows].sum() / rows.sum()
        assert 0 <= row.low <= row.value <= row.high <= 1


@PROPERTY
@given(audits())
def test_no_small_group_can_be_recovered_by_subtraction(audit):
    # For every line of a table whose total is known (a segment's total, or a published
    # parent group), the units not covered by published groups are none or a crowd.
    results = rates(audit)
    floor = max(audit["min_group_size"], 1)
    published = {(r.segment, r.attributes, r.group) for r in results if not r.suppressed}
    groups = groups_of(audit)
    labels = {a.name: a.labels for a in audit["attributes"]}
    sizes = {}

    def units(segment, names, group):
        key = (segment, names, group)
        if key not in sizes:
            sizes[key] = units_of(audit, rows_of(audit, names, group, segment))
        return sizes[key]

    for segment in groups.segment_labels:
        for table in groups.tables:
            names = table.attributes
            for axis, name in enumerate(names):
                parent = names[:axis] + names[axis + 1 :]
                for fixed in _all_groups(parent, labels):
                    if parent and (segment, parent, fixed) not in published:
                        continue
                    covered = 0
                    for label in labels[name]:
                        group = fixed[:axis] + (label,) + fixed[axis:]
                        if (segment, names, group) in published:
                            covered += units(segment, names, group)
                    hidden = units(segment, parent, fixed) - covered
                    # (a line with nothing published reveals nothing beyond its total)
                    assert hidden == 0 or hidden >= floor or covered == 0


def _all_groups(names, labels):
    groups = [()]
    for name in names:
        groups = [g + (label,) for g in groups for label in labels[name]]
    return groups


@PROPERTY
@given(audits(), st.floats(0.5, 1.0), st.floats(0.0, 0.5))
def test_reference_difference_and_ratio_invariants(audit, ratio_threshold, difference_threshold):
    results = disparity(
        rates(audit), ratio_threshold=ratio_threshold, difference_threshold=difference_threshold
    )
    tables = {}
    for row in results:
        tables.setdefault(row.table, []).append(row)
    for rows in tables.values():
        shown = [r for r in rows if not r.suppressed]
        references = [r for r in rows if r.is_reference]
        assert len(references) == (1 if shown else 0)
        for row in rows:
            if row.suppressed:
                assert (row.difference, row.ratio, row.finding) == (None, None, False)
                continue
            ref = references[0]
            assert row.reference == ref.group
            assert row.difference == row.value - ref.value
            assert row.ratio == (row.value / ref.value if ref.value else None)
            assert row.finding == (row.ratio_finding or row.difference_finding)
            assert not row.ratio_finding or row.crosses_ratio_threshold
            assert not row.difference_finding or row.crosses_difference_threshold
            if row.crosses_ratio_threshold:
                assert (
                    (row.ratio < ratio_threshold)
                    if row.higher_is_better
                    else (row.ratio > 1 / ratio_threshold)
                )
            if row.crosses_difference_threshold:
                gap = -row.difference if row.higher_is_better else row.difference
                assert gap > difference_threshold
            if row.ratio_finding and row.higher_is_better:
                assert row.high < ratio_threshold * ref.low
            if row.ratio_finding and not row.higher_is_better:
                assert row.low > ref.high / ratio_threshold
            if row.is_reference:
                assert row.difference == 0 and not row.finding


@PROPERTY
@given(audits())
def test_means_are_brute_force_and_intervals_hold_them(audit):
    results = mean_by_group(
        groups_of(audit),
        audit["values"],
        metric="mean",
        eligible=audit["eligible"],
        min_group_size=audit["min_group_size"],
        n_resamples=50,
    )
    for row in results:
        if row.suppressed:
            assert (row.value, row.low, row.high, row.n) == (None,) * 4
            continue
        values = audit["values"][rows_of(audit, row.attributes, row.group, row.segment)]
        assert np.isclose(row.value, values.mean(), rtol=0, atol=1e-12)
        assert values.min() <= row.low <= row.high <= values.max()
        if values.min() == values.max():
            assert row.low == row.high == values[0]


@PROPERTY
@given(audits(), st.randoms(use_true_random=False))
def test_row_order_changes_nothing(audit, random):
    order = np.arange(len(audit["successes"]))
    random.shuffle(order)
    shuffled = {
        **audit,
        "attributes": [Attribute(a.name, a.codes[order], a.labels) for a in audit["attributes"]],
        "segments": None
        if audit["segments"] is None
        else Attribute("segment", audit["segments"].codes[order], audit["segments"].labels),
        "customers": None if audit["customers"] is None else audit["customers"][order],
        "successes": audit["successes"][order],
        "eligible": None if audit["eligible"] is None else audit["eligible"][order],
    }
    assert rates(shuffled) == rates(audit)


@PROPERTY
@given(audits())
def test_a_run_against_itself_has_no_drift_and_gaps_are_consistent(audit):
    results = disparity(rates(audit))
    for moved in drift(results, results):
        assert not moved.finding and not moved.moved_more_than_threshold
        assert moved.change in (None, 0.0)
    for gap in gaps(results):
        if gap.groups_compared:
            assert gap.difference >= 0
            assert gap.ratio is None or 0 <= gap.ratio <= 1


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 10**6).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.floats(0.5, 0.999),
)
def test_wilson_interval_lies_in_0_1_and_holds_the_estimate(counts, confidence):
    successes, n = counts
    low, high = wilson_interval(successes, n, confidence=confidence)
    if n == 0:
        assert np.isnan(low) and np.isnan(high)
        return
    p = successes / n
    assert 0 <= low <= p <= high <= 1
    wider_low, wider_high = wilson_interval(
        successes, n, confidence=min(confidence + 0.0005, 0.9995)
    )
    assert wider_low <= low and high <= wider_high


@PROPERTY
@given(st.integers(0, 3), st.integers(0, 25))
def test_empty_audits_do_not_crash(n_attributes_extra, min_group_size):
    attributes = [
        Attribute(f"a{i}", np.zeros(0, dtype=np.int64), ("x", "y"))
        for i in range(1 + n_attributes_extra)
    ]
    groups = build_groups(attributes, customers=np.zeros(0, dtype=np.int64))
    empty = np.zeros(0, dtype=bool)
    for results in (
        rate_by_group(groups, empty, metric="r", min_group_size=min_group_size),
        mean_by_group(groups, np.zeros(0), metric="m", min_group_size=min_group_size),
    ):
        assert results and all(r.suppressed and r.value is None for r in results)
        assert not any(r.finding for r in disparity(results))
        assert all(g.groups_compared == 0 for g in gaps(results))


def test_every_pair_and_triple_is_a_table():
    attributes = [Attribute(f"a{i}", np.zeros(3, dtype=np.int64), ("x",)) for i in range(4)]
    tables = [t.attributes for t in build_groups(attributes).tables]
    names = [a.name for a in attributes]
    assert tables == [
        *[(n,) for n in names],
        *combinations(names, 2),
        *combinations(names, 3),
    ]
