"""The hot paths' SQL helpers: the same values as the ORM, prepared on PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection

from accounts.models import CustomerProfile
from core import sql
from tests.factories import CustomerProfileFactory

pytestmark = pytest.mark.django_db


def test_an_instance_read_in_plain_sql_equals_the_orms():
    made = CustomerProfileFactory(
        external_id="GABLE",
        restrictions=["contains:gluten", "contains:sesame"],
        liked_categories=["pastries"],
        paused_until=date(2026, 12, 24),
        personalization_mode="paused",
    )
    fast = sql.fetch_instance(CustomerProfile, "external_id", "GABLE")
    slow = CustomerProfile.objects.get(pk=made.pk)
    fields = [f.attname for f in CustomerProfile._meta.concrete_fields]
    assert {f: getattr(fast, f) for f in fields} == {f: getattr(slow, f) for f in fields}
    assert fast.restrictions == ["contains:gluten", "contains:sesame"]
    assert fast.paused_until == date(2026, 12, 24) and fast.created_at.tzinfo is not None
    assert not fast._state.adding
    assert sql.fetch_instance(CustomerProfile, "external_id", "NOBODY") is None


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements are a PostgreSQL feature"
)
def test_hot_statements_are_prepared_after_a_few_runs_and_the_orm_is_not():
    CustomerProfileFactory(external_id="C1")
    threshold = connection.settings_dict["OPTIONS"]["prepare_threshold"]
    assert threshold
    for _ in range(threshold + 1):
        sql.fetch_instance(CustomerProfile, "external_id", "C1")
        list(CustomerProfile.objects.filter(external_id="C1").values_list("name"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    ours = [s for s in prepared if "accounts_customerprofile" in s]
    assert len(ours) == 1 and '"external_id" = $1' in ours[0]
