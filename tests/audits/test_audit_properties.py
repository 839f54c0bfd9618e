"""Property tests of whole audit runs on the database: empty and tiny groups.

Whatever the group sizes (none, one customer, just under or over the minimum), a run
completes, never publishes a figure for a group under the minimum, never stores a
figure on a suppressed row, and never stores one result twice.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audits import services
from audits.models import AuditResult
from tests.builders import build_audit_shop

pytestmark = pytest.mark.django_db


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    per_group=st.integers(min_value=0, max_value=26),
    few=st.integers(min_value=0, max_value=3),
    young_share=st.sampled_from([0.0, 0.5, 1.0]),
    older_share=st.sampled_from([0.0, 0.3, 1.0]),
)
def test_any_group_sizes_complete_without_leaking_a_small_group(
    db, per_group, few, young_share, older_share
):
    with transaction.atomic():
        build_audit_shop(
            per_group=per_group, few=few, young_share=young_share, older_share=older_share
        )
        run = services.audit_run_execute(run=services.audit_run_create(trigger="command"))

        assert run.status == "completed" and run.percent == 100
        results = AuditResult.objects.filter(run=run)
        minimum = run.policy["min_group_size"]
        for row in results:
            if row.suppressed:
                assert (row.value, row.low, row.high, row.n, row.customers) == (None,) * 5
            else:
                assert row.customers is not None and row.customers >= minimum
                assert row.value is not None
                if row.low is not None:
                    assert row.low - 1e-12 <= row.value <= row.high + 1e-12
        keys = list(results.values_list("metric", "segment", "attributes_key", "group_key"))
        assert len(keys) == len(set(keys))
        # A group under the minimum never has a published figure.
        if per_group < minimum:
            assert not results.filter(group_key__in=["18-34", "55+"], suppressed=False).exists()
        assert not results.filter(group_key="35-54", suppressed=False).exists()
        transaction.set_rollback(True)
