"""The export ZIP reads as a person's data: files named for people, no internal
columns, references as names; the owner's review-trail CSV carries its snapshot as JSON."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from django.conf import settings

from accounts.models import CustomerProfile
from personalization.datarights import export
from personalization.models import ReviewAction
from tests.factories import (
    CustomerProfileFactory,
    FeedbackFactory,
    ItemFactory,
    RecommendationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(settings, tmp_path) -> CustomerProfile:
    settings.MEDIA_ROOT = str(tmp_path)
    profile: CustomerProfile = CustomerProfileFactory.create(email="reader@example.com")
    item = ItemFactory(name="Rye Sourdough")
    rec = RecommendationFactory(customer=profile, item=item, score=1.5, sentence="Because.")
    FeedbackFactory(customer=profile, item=item, recommendation=rec, kind="not_for_me")
    return profile


def read_zip(relative: str) -> zipfile.ZipFile:
    return zipfile.ZipFile(Path(settings.MEDIA_ROOT) / relative)


def test_the_zip_names_its_files_for_people_and_leaves_out_internal_columns(customer):
    archive = read_zip(export.export_write(customer=customer))

    names = archive.namelist()
    assert "csv/recommendations.csv" in names and "csv/feedback.csv" in names
    # no database table names such as personalization.recommendation.customer
    assert not [n for n in names if n.count(".") > 1 or "personalization." in n]
    rows = list(csv.DictReader(io.StringIO(archive.read("csv/recommendations.csv").decode())))
    (row,) = rows
    assert "id" not in row and "customer_id" not in row and "model_version_id" not in row
    # a reference reads as the thing it names
    assert row["item"].startswith("Rye Sourdough")
    assert row["sentence"] == "Because."
    feedback = next(csv.DictReader(io.StringIO(archive.read("csv/feedback.csv").decode())))
    assert feedback["item"].startswith("Rye Sourdough") and feedback["kind"] == "not_for_me"
    data = json.loads(archive.read("data.json"))
    assert data["sections"]["recommendations"][0]["item"].startswith("Rye Sourdough")


def test_references_to_people_at_the_shop_are_left_out(customer):
    sections = export.customer_data(customer=customer)
    for name, rows in sections.items():
        for row in rows:
            assert "decided_by" not in row and "claimed_by" not in row, name


def test_the_review_trail_csv_has_its_snapshot_as_json(client, make_user):
    from accounts.roles import Role

    owner = make_user(Role.OWNER, email="owner@example.com")
    ReviewAction.objects.create(
        actor=UserFactory(email="reviewer@example.com"),
        action="approve",
        reason_code="fits_customer",
        snapshot={"title": "Rye Sourdough", "flags": ["campaign"], "high_risk": False},
    )
    client.force_login(owner)

    response = client.get("/owner/review-trail/?format=csv")
    body = b"".join(response.streaming_content).decode()
    (row,) = list(csv.DictReader(io.StringIO(body)))

    assert json.loads(row["snapshot"]) == {
        "flags": ["campaign"],
        "high_risk": False,
        "title": "Rye Sourdough",
    }
    assert "'title'" not in row["snapshot"]  # not Python's dict text
