"""Every figure a real audit run stores equals Fairlearn's on the same rows (to 1e-9).

The rows are rebuilt here from the database independently of `audits/loading.py`
(plain queries), and Fairlearn's MetricFrame computes each measure per group, per
intersection and per category; the audit's published figures must match them all and
its counts must equal Fairlearn's group sizes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, count, selection_rate, true_positive_rate

from accounts.models import AuditAttribute, CustomerProfile
from audits import loading, services
from audits.models import AuditResult
from personalization.consent.services import ConsentChange, consent_set
from personalization.models import Feedback, Interaction, Recommendation
from tests.builders import build_audit_shop

pytestmark = pytest.mark.django_db
TOLERANCE = 1e-9


def mean(y_true, y_pred):
    return float(np.mean(y_pred))


@pytest.fixture
def shop(db):
    """The audit shop, plus histories (for the hold-out replay), a second attribute,
    flags, rejections and complaints."""
    shop = build_audit_shop(per_group=40, few=4)
    rng = np.random.default_rng(5)
    everyone = shop.young + shop.older + shop.few + shop.undeclared
    items = shop.breads + shop.pastries
    events = []
    start = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
    for n, customer in enumerate(everyone):
        consent_set(
            customer=customer,
            changes=[ConsentChange("personalization", "purchase_history", True)],
            method="ui",
            actor="customer",
            notice_version=None,
        )
        AuditAttribute.objects.create(
            customer=customer,
            name="gender",
            value=("woman", "man")[n % 2],
            source="import",
            declared_at=start,
        )
        for k in range(6):
            item = items[int(rng.integers(0, len(items)))]
            events.append(
                Interaction(
                    event_id=f"e-{customer.pk}-{k}",
                    customer=customer,
                    item=item,
                    kind="purchase",
                    data_category="purchase_history",
                    quantity=1,
                    value=3,
                    occurred_at=start + timedelta(days=7 * k + n % 5),
                )
            )
    Interaction.objects.bulk_create(events)
    recs = list(Recommendation.objects.order_by("pk"))
    for i, rec in enumerate(recs):
        if i % 3 == 0:
            rec.flags = ["premium_price"]
        if i % 7 == 0:
            rec.status = "rejected"
    Recommendation.objects.bulk_update(recs, ["flags", "status"])
    Feedback.objects.bulk_create(
        Feedback(customer=r.customer, item=r.item, recommendation=r, kind="not_for_me")
        for r in recs[::5]
    )
    CustomerProfile.objects.filter(pk__in=[c.pk for c in everyone[::6]]).update(
        personalization_mode="off"
    )
    return shop


def declared() -> dict[str, dict[int, str]]:
    """Attributes of customers with fairness_audit consent, by plain queries."""
    consented = set(
        CustomerProfile.objects.filter(
            consents__purpose="fairness_audit",
            consents__data_category="audit_attributes",
            consents__granted=True,
        ).values_list("pk", flat=True)
    )
    out: dict[str, dict[int, str]] = {}
    for customer_id, name, value in AuditAttribute.objects.values_list(
        "customer_id", "name", "value"
    ):
        if customer_id in consented:
            out.setdefault(name, {})[customer_id] = value
    return out


def expected_tables(frame: pd.DataFrame, metric, y_true: str, y_pred: str, control=None):
    """{(segment, attributes, group): (value, n)} from Fairlearn for each table."""
    out = {}
    attrs = declared()
    tables = [("age_band",), ("gender",), ("age_band", "gender")]
    for names in tables:
        rows = frame.copy()
        for name in names:
            rows[name] = rows["customer"].map(attrs.get(name, {}))
        rows = rows.dropna(subset=list(names))
        if control is not None:
            rows = rows.dropna(subset=[control])
        if rows.empty:
            continue
        mf = MetricFrame(
            metrics={"value": metric, "n": count},
            y_true=rows[y_true].to_numpy(),
            y_pred=rows[y_pred].to_numpy(),
            sensitive_features=rows[list(names)],
            control_features=rows[[control]] if control else None,
        )
        for index, result in mf.by_group.iterrows():
            index = index if isinstance(index, tuple) else (index,)
            segment = index[0] if control else ""
            group = index[1:] if control else index
            if result["n"] > 0:
                out[(segment, "|".join(names), "|".join(group))] = (result["value"], result["n"])
    return out


def assert_run_matches(run, metric: str, expected: dict) -> int:
    published = AuditResult.objects.filter(run=run, metric=metric, suppressed=False)
    checked = 0
    for row in published:
        value, n = expected[(row.segment, row.attributes_key, row.group_key)]
        assert row.value == pytest.approx(value, abs=TOLERANCE), row
        assert row.n == n, row
        checked += 1
    return checked


def test_every_published_figure_equals_fairlearn(shop):
    run = services.audit_run_execute(run=services.audit_run_create(trigger="command"))
    checked = 0

    # exposure and rank-weighted exposure: (customer with a current list, category) rows
    current = pd.DataFrame(
        Recommendation.objects.filter(superseded_at__isnull=True).values_list(
            "customer_id", "item__category__name", "rank", "status"
        ),
        columns=["customer", "category", "rank", "status"],
    )
    grid = pd.MultiIndex.from_product(
        [sorted(current["customer"].unique()), ["Breads", "Pastries"]],
        names=["customer", "category"],
    ).to_frame(index=False)
    visible = current[current["status"].isin(["proposed", "approved", "delivered"])].copy()
    visible["weight"] = 1 / np.log2(visible["rank"] + 1)
    agg = visible.groupby(["customer", "category"]).agg(weight=("weight", "sum")).reset_index()
    rows = grid.merge(agg, how="left", on=["customer", "category"]).fillna({"weight": 0.0})
    rows["shown"] = (rows["weight"] > 0).astype(int)
    rows["y"] = 0
    checked += assert_run_matches(
        run, "exposure", expected_tables(rows, selection_rate, "y", "shown", "category")
    )
    checked += assert_run_matches(
        run, "rank_exposure", expected_tables(rows, mean, "y", "weight", "category")
    )

    # oversight outcomes: one row per recommendation
    recs = pd.DataFrame(
        Recommendation.objects.values_list("pk", "customer_id", "status", "flags"),
        columns=["pk", "customer", "status", "flags"],
    )
    complained = set(Feedback.objects.values_list("recommendation_id", flat=True))
    recs["flagged"] = recs["flags"].map(bool).astype(int)
    recs["rejected"] = (recs["status"] == "rejected").astype(int)
    recs["complained"] = recs["pk"].isin(complained).astype(int)
    recs["y"] = 0
    for metric in ("flagged", "rejected", "complained"):
        checked += assert_run_matches(
            run, metric, expected_tables(recs, selection_rate, "y", metric)
        )

    # opt-out: one row per customer
    customers = pd.DataFrame(
        CustomerProfile.objects.values_list("pk", "personalization_mode"),
        columns=["customer", "mode"],
    )
    customers["off"] = customers["mode"].isin(["off", "none"]).astype(int)
    customers["y"] = 0
    checked += assert_run_matches(
        run, "opt_out", expected_tables(customers, selection_rate, "y", "off")
    )

    # usefulness and equal opportunity on the hold-out replay
    replay = loading.holdout_replay()
    ndcg, hits = loading.ndcg_and_hits(replay)
    judged = pd.DataFrame(
        {"customer": replay.customer_keys, "ndcg": ndcg, "hit": hits.astype(int), "y": 0}
    )
    checked += assert_run_matches(run, "ndcg@10", expected_tables(judged, mean, "y", "ndcg"))
    checked += assert_run_matches(
        run, "hit_rate@10", expected_tables(judged, selection_rate, "y", "hit")
    )
    pairs = []
    for key, items, bought in zip(replay.customer_keys, replay.lists, replay.bought, strict=True):
        for c, label in enumerate(replay.category_labels):
            pairs.append(
                {
                    "customer": int(key),
                    "category": label,
                    "recommended": int(any(replay.item_category[i] == c for i in items)),
                    "bought": int(any(replay.item_category[i] == c for i in bought)),
                }
            )
    pairs = pd.DataFrame(pairs)
    buyers = pairs[pairs["bought"] == 1]
    checked += assert_run_matches(
        run,
        "true_positive_rate",
        expected_tables(buyers, true_positive_rate, "bought", "recommended", "category"),
    )

    # every measure was checked on a real number of groups
    measured = set(
        AuditResult.objects.filter(run=run, suppressed=False).values_list("metric", flat=True)
    )
    assert measured == set(run.policy["metrics"])
    assert checked == AuditResult.objects.filter(run=run, suppressed=False).count() > 50
