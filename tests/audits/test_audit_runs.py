"""Audit runs end to end on the database: results, findings, drift, notifications."""

from __future__ import annotations

import pytest
from django.core import mail

from audits import findings, services
from audits.models import AuditFinding, AuditResult, AuditRun, AuditRunChunk
from audits.reports.selectors import audit_latest_summary
from personalization.models import Recommendation
from tests.factories import AuditAttributeFactory

pytestmark = pytest.mark.django_db


def run_sync() -> AuditRun:
    run = services.audit_run_create(trigger="command")
    return services.audit_run_execute(run=run)


def test_an_injected_exposure_gap_is_a_finding_with_its_size(audit_shop, owner):
    run = run_sync()

    assert run.status == "completed" and run.percent == 100
    older = AuditResult.objects.get(
        run=run, metric="exposure", segment="Breads", attributes_key="age_band", group_key="55+"
    )
    young = AuditResult.objects.get(
        run=run, metric="exposure", segment="Breads", attributes_key="age_band", group_key="18-34"
    )
    assert older.value == pytest.approx(0.2) and young.value == pytest.approx(0.8)
    assert older.ratio == pytest.approx(0.25)
    assert older.reference_key == "18-34" and young.is_reference
    finding = AuditFinding.objects.get(run=run, metric="exposure", segment="Breads")
    assert finding.kind == "breach" and finding.group == ["55+"]
    assert finding.sentence.startswith(
        "Customers with age band 55+ were shown Breads 75% less often than the largest "
        "group (age band 18-34)"
    )
    assert finding.sentence.endswith("below your threshold of 80% of the reference group's value.")
    # Pastries were shown to everyone: no finding there.
    assert not AuditFinding.objects.filter(run=run, segment="Pastries").exists()


def test_small_groups_never_carry_a_figure(audit_shop):
    run = run_sync()

    few = AuditResult.objects.filter(run=run, attributes_key="age_band", group_key="35-54")
    assert few.exists()
    for row in few:
        assert row.suppressed
        assert (row.value, row.low, row.high, row.n, row.customers) == (None,) * 5
    # Undeclared customers are never a group.
    assert not AuditResult.objects.filter(run=run, group_key="").exists()


def test_customers_without_fairness_audit_consent_are_not_grouped(audit_shop):
    from personalization.consent.services import ConsentChange, consent_set

    for customer in audit_shop.older:
        consent_set(
            customer=customer,
            changes=[ConsentChange("fairness_audit", "audit_attributes", False)],
            method="ui",
            actor="customer",
            notice_version=None,
        )

    run = run_sync()

    assert not AuditResult.objects.filter(run=run, group_key="55+").exists()
    assert not AuditFinding.objects.filter(run=run).exists()


def test_each_chunk_once_and_a_repeated_step_adds_nothing(audit_shop):
    run = run_sync()
    results = AuditResult.objects.filter(run=run).count()
    findings = AuditFinding.objects.filter(run=run).count()

    # A redelivered task message for a completed run changes nothing.
    assert services.audit_run_advance(run_id=run.pk) is False
    assert AuditResult.objects.filter(run=run).count() == results
    assert AuditFinding.objects.filter(run=run).count() == findings
    assert AuditRunChunk.objects.filter(run=run).count() == len(run.policy["metrics"])


def test_findings_open_review_tasks_and_email_the_owners_once(
    audit_shop, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = run_sync()

    finding = AuditFinding.objects.get(run=run, metric="exposure", segment="Breads")
    assert finding.review_item is not None
    assert finding.review_item.source == "audit_finding"
    assert f"/owner/audits/{run.pk}/" in finding.review_item.link
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["owner@example.com"]
    assert "55+" in message.body and "Breads" in message.body
    # No customer's name, email or id in it.
    for customer in audit_shop.older:
        assert customer.email not in message.body and customer.external_id not in message.body

    assert findings.audit_run_notify(run_id=run.pk) == 0
    assert len(mail.outbox) == 1


def test_drift_against_the_previous_run_and_the_baseline(audit_shop):
    first = run_sync()
    policy = services.audit_policy_get()
    policy.baseline_run = first
    policy.save()
    # The older customers are now shown breads as often as the young.
    version = Recommendation.objects.first().model_version
    Recommendation.objects.bulk_create(
        Recommendation(
            customer=c, item=audit_shop.breads[1], score=1.0, rank=3, model_version=version
        )
        for c in audit_shop.older[10:40]
    )

    second = run_sync()
    third = run_sync()

    assert second.previous_run_id == first.pk
    moved = AuditFinding.objects.get(
        run=second,
        kind="drift",
        compared_with="previous",
        metric="exposure",
        segment="Breads",
        attributes_key="age_band",
        group_key="55+",
    )
    assert moved.compared_value == pytest.approx(0.2)
    assert moved.value == pytest.approx(0.8)
    assert "moved from 20.0% to 80.0% since the previous run" in moved.sentence
    # The third run moved nothing since the second, but still differs from the baseline.
    assert not AuditFinding.objects.filter(run=third, compared_with="previous").exists()
    assert AuditFinding.objects.filter(
        run=third, kind="drift", compared_with="baseline", group_key="55+", segment="Breads"
    ).exists()
    # And the breach is gone.
    assert not AuditFinding.objects.filter(run=third, kind="breach", segment="Breads").exists()


def test_a_second_run_is_refused_while_one_is_in_progress(audit_shop):
    from core.errors import ApplicationError

    services.audit_run_create(trigger="console")
    with pytest.raises(ApplicationError) as error:
        services.audit_run_create(trigger="console")
    assert error.value.code == "audit_running"


def test_owner_acknowledges_explains_and_resolves_with_history(audit_shop, owner):
    from core.errors import ApplicationError

    run = run_sync()
    finding = AuditFinding.objects.filter(run=run).first()

    with pytest.raises(ApplicationError) as error:
        findings.audit_finding_acknowledge(finding=finding, user=owner, explanation="  ")
    assert error.value.field == "explanation"

    findings.audit_finding_acknowledge(finding=finding, user=owner, explanation="Seasonal range.")
    findings.audit_finding_explain(finding=finding, user=owner, explanation="Checked: seasonal.")
    findings.audit_finding_resolve(finding=finding, user=owner, explanation="Range widened.")

    finding.refresh_from_db()
    assert finding.status == "resolved" and finding.resolved_by == owner
    assert finding.explanation == "Range widened."
    history = list(finding.events.values_list("action", "note"))
    assert history == [
        ("found", ""),
        ("acknowledged", "Seasonal range."),
        ("explained", "Checked: seasonal."),
        ("resolved", "Range widened."),
    ]


def test_latest_summary_for_other_pages(audit_shop):
    assert audit_latest_summary() is None
    run = run_sync()

    summary = audit_latest_summary()

    assert summary is not None and summary.run_id == run.pk
    assert summary.open_findings == AuditFinding.objects.filter(run=run).count() >= 1
    assert any("55+" in s for s in summary.sentences)
    assert all("35-54" not in s for s in summary.sentences)  # a too-small group


def test_an_audit_with_no_declared_attributes_completes_and_says_so(db):
    run = run_sync()

    assert run.status == "completed"
    assert not AuditResult.objects.filter(run=run).exists()
    summary = audit_latest_summary()
    assert summary is not None
    assert summary.sentences[0].startswith("Nothing could be measured")


def test_a_run_completed_but_never_notified_is_notified_by_the_stuck_check(
    audit_shop, owner, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    run = services.audit_run_create(trigger="schedule")
    while services.audit_run_advance(run_id=run.pk):
        pass  # the worker died right after completing: no notification sent
    run.refresh_from_db()
    assert run.status == "completed" and run.notified_at is None

    with django_capture_on_commit_callbacks(execute=True):
        assert services.audit_runs_requeue_stuck(stuck_after=timedelta(0)) == []

    run.refresh_from_db()
    assert run.notified_at is not None
    assert len(mail.outbox) == 1
    assert AuditFinding.objects.filter(run=run, review_item__isnull=True).count() == 0


def test_three_long_declared_values_fit_one_result(audit_shop):

    long_values = {name: name[0] * 100 for name in ("gender", "region", "language")}
    for customer in audit_shop.young + audit_shop.older:
        for name, value in long_values.items():
            AuditAttributeFactory(customer=customer, name=name, value=value, source="import")

    run = run_sync()

    assert run.status == "completed"
    widest = AuditResult.objects.filter(run=run, order=3, suppressed=False)
    assert widest.exists()
    assert max(len(r.group_key) for r in widest) >= 300
