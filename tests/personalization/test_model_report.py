"""The owner and the public see which model serves, how it validated and its settings."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse

from accounts.roles import Role
from personalization import engine
from personalization.models import ModelVersion
from personalization.recommending.model_report import model_summary

pytestmark = pytest.mark.django_db
TRAINED = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def serving(parameters: dict, tuning: dict) -> ModelVersion:
    return ModelVersion.objects.create(
        status=ModelVersion.Status.ACTIVE,
        parameters=engine.Parameters.from_dict(parameters).to_dict(),
        metrics={"tuning": tuning},
        trained_at=TRAINED,
    )


TUNED = {
    "family": "ease",
    "judged": 412,
    "validation": {"ndcg@10": 0.316},
    "most_popular": {"ndcg@10": 0.0953},
}


def test_the_owner_sees_the_chosen_model_its_lift_over_most_popular_and_when(make_user):
    serving(
        {"family": "ease", "ease_lambda": 175.6, "repeat_weight": 0.8, "popularity_weight": 1.0},
        TUNED,
    )
    client = Client()
    client.force_login(make_user(Role.OWNER))
    page = text(client.get(reverse("owner:dashboard")))
    assert "The recommendation model" in page
    assert "which items customers buy together and which they rarely do" in page
    assert "14 March 2026" in page
    assert "on the latest visits of 412 customers" in page
    assert "it scores 0.316 (nDCG@10) where simply showing the most popular items scores 0.095" in (
        page
    )
    assert "3.3 times as good as" in page
    assert "(weight 0.8)" in page and "penalty (now 176)" in page


def test_transparency_states_the_main_settings_in_plain_words():
    serving({"family": "knn", "half_life_days": 100000.0, "repeat_weight": 0.0}, TUNED)
    page = text(Client().get("/transparency/"))
    assert "How it chooses suggestions" in page
    assert "items bought by the same customers" in page
    assert "Older purchases count as much as recent ones." in page
    assert "What you already bought is not pushed again." in page
    assert "3.3 times as well as showing everyone the most popular items" in page


def test_a_shop_too_small_to_compare_settings_is_told_so():
    serving({}, {"family": "ease", "judged": 7, "reason": "fewer than 50 customers"})
    summary = model_summary()
    assert summary is not None and not summary.tuned and summary.lift is None
    assert "too few customers" in summary.untuned_reason
    assert "A purchase counts half as much after 120 days." in summary.settings


def test_nothing_trained_yet():
    assert model_summary() is None
