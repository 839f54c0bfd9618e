"""The demo shop's first audit has one real finding (older customers switched
personalization off far more often), so acknowledging and resolving can be seen."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from audits import findings, services
from audits.models import AuditFinding
from audits.reports.verdict import audit_verdict
from personalization import demo

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_the_demo_audit_finds_the_one_real_gap_and_the_owner_can_act_on_it(make_user):
    from accounts.roles import Role

    call_command("seed_demo", stdout=StringIO(), stderr=StringIO())
    owner = make_user(Role.OWNER, email="audit-owner@example.com")

    run = services.audit_run_execute(run=services.audit_run_create(trigger="command"))

    (finding,) = AuditFinding.objects.filter(run=run, kind=AuditFinding.Kind.BREACH)
    assert (finding.metric, finding.group, finding.attributes) == ("opt_out", ["55+"], ["age_band"])
    assert finding.sentence.startswith("Customers with age band 55+ switched personalization off")
    verdict = audit_verdict(run)
    assert verdict.headline.startswith("1 group is treated differently (age band 55+)")
    assert "gender non-binary" in verdict.groups_too_small
    # the gap is the seeded one: those customers did switch off, and no one else did
    shop = demo.build_demo()
    assert demo.switched_off(shop.customers)

    findings.audit_finding_acknowledge(
        finding=finding, user=owner, explanation="Asking older customers what put them off."
    )
    findings.audit_finding_resolve(
        finding=finding, user=owner, explanation="Fewer pastry offers to regulars."
    )
    finding.refresh_from_db()
    assert finding.status == AuditFinding.Status.RESOLVED
    assert audit_verdict(run).tone == "done"
