"""The whole path on the seeded demo bakery: consent, training, lists, page, evaluation."""

from __future__ import annotations

import json
import math
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import CustomerProfile, PersonalizationMode
from personalization import demo
from personalization.models import Item, Recommendation, RecommendationStatus
from personalization.recommending import delivery, services
from personalization.registry import BROWSING_HISTORY, PURCHASE_HISTORY
from tests.builders import ALL, grant

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def demo_shop():
    """Crumb & Co., every customer with consent to personalization and personalization
    on (the seed switches some older customers off: the demo audit's one finding)."""
    call_command("seed_demo", stdout=StringIO(), stderr=StringIO())
    for profile in CustomerProfile.objects.all():
        grant(profile, *ALL)
    CustomerProfile.objects.filter(
        external_id__in=demo.switched_off(demo.build_demo().customers)
    ).update(personalization_mode=PersonalizationMode.ON)
    return demo


def test_the_demo_bakery_end_to_end(demo_shop):
    # Some customers switch browsing history off.
    careful = list(CustomerProfile.objects.order_by("pk")[10:40])
    for profile in careful:
        grant(profile, BROWSING_HISTORY, granted=False)
    out = StringIO()
    call_command("train_recommender", stdout=out)
    call_command("generate_recommendations", stdout=out)

    gable = CustomerProfile.objects.get(external_id=demo.GABLE.external_id)
    rows = list(
        Recommendation.objects.filter(customer=gable, superseded_at__isnull=True)
        .select_related("item")
        .order_by("rank")
    )
    assert rows[0].item.sku == demo.GABLE_LOAF_SKU
    for row in rows[:5]:
        assert row.item.category.slug == "breads"
        assert row.item.attributes.filter(code=demo.GLUTEN).exists(), row.item.name
    assert not any("Gluten-Free" in row.item.name for row in rows[:5])
    # Nothing gluten-free at all: she never bought any, nor declared a gluten rule.
    assert not [r.item.name for r in rows if r.item.attributes.filter(code=demo.GLUTEN_FREE)]

    coeliac = CustomerProfile.objects.get(external_id=demo.COELIAC.external_id)
    page = delivery.recommendations_deliver(customer=coeliac)
    assert len(page.items) >= 8
    for shown in page.items:
        item = Item.objects.get(pk=shown.item_id)
        assert not item.attributes.filter(code=demo.GLUTEN).exists(), item.name
        assert item.allergens_declared

    stored = Recommendation.objects.filter(superseded_at__isnull=True)
    assert stored.values("customer").distinct().count() == CustomerProfile.objects.count()
    careful_ids = {p.pk for p in careful}
    for row in stored.iterator():
        assert math.fsum(r["contribution"] for r in row.reasons) == pytest.approx(row.score)
        cited = {r.get("data_category") for r in row.reasons} - {None}
        if row.customer_id in careful_ids:
            assert cited <= {PURCHASE_HISTORY, "stated_preferences"}
        if row.status != RecommendationStatus.HELD:
            assert "missing_allergen_data" not in row.flags

    report = json.loads(_run("evaluate_recommender", "--json"))
    assert report["ndcg@10"] > report["baselines"]["item_knn"]["ndcg@10"]
    assert report["ndcg@10"] > report["baseline"]["ndcg@10"]
    assert {"age_band", "gender"} <= set(report["by_group"])

    # What switching purchase history off would change, computed before deciding.
    preview = services.recommendations_preview(
        customer=gable, without_data_category=PURCHASE_HISTORY
    )
    assert all(PURCHASE_HISTORY not in s.data_categories for s in preview.suggestions)
    assert [s.item for s in preview.suggestions] != [row.item_id for row in rows]


def _run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()
