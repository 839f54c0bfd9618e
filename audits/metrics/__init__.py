"""The bias audit's arithmetic: plain numpy, no Django, so it is tested and benchmarked alone.

Typical use by the audit service (which loads rows from the ORM):

    groups = build_groups([age_band, gender], segments=category, customers=customer_ids)
    exposure = rate_by_group(groups, shown, metric="exposure")
    opportunity = rate_by_group(groups, shown, eligible=bought, metric="true_positive_rate")
    ndcg = mean_by_group(customer_groups, ndcg_at_10, metric="ndcg@10")
    results = disparity(exposure + opportunity + ndcg)  # reference, 80% rule, findings
    moved = drift(results, previous_results)  # against the last run or a baseline
    summary = gaps(results)  # max-min per table (demographic parity), no interval

Method and citations: docs/audit-method.md.
"""

from audits.metrics.disparity import FOUR_FIFTHS, disparity, gaps
from audits.metrics.drift import drift
from audits.metrics.groups import MISSING, Attribute, Groups, GroupTable, build_groups
from audits.metrics.intervals import bootstrap_ratio_interval, wilson_interval, z_value
from audits.metrics.measures import (
    COMPLEMENTARY,
    PUBLISHED,
    TOO_FEW,
    mean_by_group,
    rank_weight,
    rate_by_group,
    suppress,
)
from audits.metrics.records import Drift, Gap, GroupResult

__all__ = [
    "COMPLEMENTARY",
    "FOUR_FIFTHS",
    "MISSING",
    "PUBLISHED",
    "TOO_FEW",
    "Attribute",
    "Drift",
    "Gap",
    "GroupResult",
    "GroupTable",
    "Groups",
    "bootstrap_ratio_interval",
    "build_groups",
    "disparity",
    "drift",
    "gaps",
    "mean_by_group",
    "rank_weight",
    "rate_by_group",
    "suppress",
    "wilson_interval",
    "z_value",
]
