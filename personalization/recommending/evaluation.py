"""`evaluate_recommender`'s data: the shop's consented interactions, or a generated shop."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Exists, OuterRef

from accounts.models import AuditAttribute, CustomerProfile
from personalization import engine
from personalization.engine.evaluation import evaluate
from personalization.engine.synthetic import generate
from personalization.models import Consent
from personalization.recommending import loading
from personalization.registry import AUDIT_ATTRIBUTES, FAIRNESS_AUDIT


def declared_groups(customer_ids: set[int]) -> dict[str, dict[int, str]]:
    """Declared audit attributes, only to report metrics per group (never a feature).

    Attributes count as declared with fairness-audit consent (imported columns say so);
    a customer who withdrew that consent is left out.
    """
    withdrawn = Consent.objects.filter(
        customer_id=OuterRef("customer_id"),
        purpose=FAIRNESS_AUDIT,
        data_category=AUDIT_ATTRIBUTES,
        granted=False,
    )
    groups: dict[str, dict[int, str]] = defaultdict(dict)
    rows = AuditAttribute.objects.filter(~Exists(withdrawn)).values_list(
        "customer_id", "name", "value"
    )
    for customer_id, name, value in rows.iterator(chunk_size=20_000):
        if customer_id in customer_ids:
            groups[name][customer_id] = value
    return dict(groups)


def shop_evaluation(*, params: engine.Parameters | None = None) -> dict[str, object]:
    """The engine and both baselines on the shop's consented data (temporal hold-out)."""
    params = params or engine.Parameters()
    catalog = loading.catalog_load()
    events = loading.events_load(position=catalog.position)
    ids = set(events.customer.tolist())
    shoppers = loading.shoppers_load(CustomerProfile.objects.order_by("pk"))
    report = evaluate(events, catalog, shoppers, params=params, groups=declared_groups(ids))
    report["data"] = "shop"
    report["events"] = len(events)
    return report


def generated_evaluation(
    *, customers: int, items: int, events: int, seed: int, params: engine.Parameters | None = None
) -> dict[str, object]:
    """The same evaluation on a generated shop with realistic skew (nothing is read)."""
    data = generate(customers=customers, items=items, events=events, seed=seed)
    report = evaluate(data.events, data.catalog, data.shoppers, params=params, groups=data.groups)
    report["data"] = (
        f"generated(customers={customers}, items={items}, events={events}, seed={seed})"
    )
    report["events"] = len(data.events)
    return report
