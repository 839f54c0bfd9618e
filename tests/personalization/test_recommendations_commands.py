"""train_recommender, generate_recommendations [--customer], evaluate_recommender --json."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.models import AuditAttribute
from personalization.models import ModelVersion, Recommendation
from tests.builders import Shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return Shop()


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_generating_before_any_training_says_what_to_do(shop):
    with pytest.raises(CommandError) as error:
        run("generate_recommendations")
    assert "train_recommender" in str(error.value)


def test_train_then_generate_for_everyone_and_for_one_customer(shop):
    output = run("train_recommender")
    assert "Trained on 120 events of 13 customers and 13 items" in output
    assert "Offline nDCG@10" in output
    assert ModelVersion.objects.get().status == "active"

    output = run("generate_recommendations")
    assert "13 / 13 customers (100%)" in output
    assert "Lists generated for 13 customers" in output

    output = run("generate_recommendations", "--customer", "ALICE")
    first = output.splitlines()[0]
    assert first.startswith("  1. Wheat Sourdough")
    assert "Because you bought Wheat Sourdough 6 times" in first
    assert Recommendation.objects.filter(customer=shop.alice, superseded_at__isnull=True).exists()


def test_an_unknown_customer_is_an_error(shop):
    run("train_recommender", "--no-metrics")
    with pytest.raises(CommandError) as error:
        run("generate_recommendations", "--customer", "NOBODY")
    assert "NOBODY" in str(error.value)


def test_evaluate_prints_one_json_object_with_the_baselines_and_groups(shop):
    for n, customer in enumerate([shop.alice, *shop.crowd]):
        AuditAttribute.objects.create(
            customer=customer,
            name="age_band",
            value=["18-34", "55+"][n % 2],
            source=AuditAttribute.Source.IMPORT,
            declared_at=timezone.now(),
        )
    report = json.loads(run("evaluate_recommender", "--json"))
    for key in ("ndcg@10", "recall@10", "coverage", "avg_popularity", "intra_list_diversity"):
        assert key in report and key in report["baseline"]
        assert key in report["baselines"]["popularity"] and key in report["baselines"]["item_knn"]
    assert report["baseline"] == report["baselines"]["popularity"]
    assert report["customers"] >= 1
    assert set(report["by_group"]) == {"age_band"}
    assert (
        sum(g["customers"] for g in report["by_group"]["age_band"].values()) == report["customers"]
    )


def test_evaluate_on_a_generated_shop_reads_nothing_and_prints_a_table():
    output = run(
        "evaluate_recommender",
        "--generated",
        "--customers",
        "300",
        "--items",
        "60",
        "--events",
        "6000",
        "--seed",
        "5",
    )
    assert "customers judged on their last 20% of events" in output
    assert "cosine item-kNN" in output


def test_the_daily_refresh_is_scheduled_and_its_tasks_are_registered():
    from config.celery_app import app
    from personalization.schedules import SCHEDULES

    by_task = {task: when for _name, task, when, _description in SCHEDULES}
    assert by_task["recommending.refresh"]["hour"] == "4"
    app.loader.import_default_modules()
    for name in ("train", "generate_chunk", "generate_for_customer", "refresh"):
        task = app.tasks[f"recommending.{name}"]
        assert task.acks_late
