"""The audit report an owner can act on: one plain verdict first, what to do next, one
chart, the details folded away; the owner's own thresholds in every note; the public
page's summary in plain words."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from audits import findings, services
from audits.models import AuditFinding
from audits.reports.verdict import audit_verdict
from tests.builders import build_audit_shop

pytestmark = pytest.mark.django_db


def run_sync():
    return services.audit_run_execute(run=services.audit_run_create(trigger="command"))


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_a_gap_reads_as_one_group_treated_differently_and_the_small_one_as_unchecked(
    audit_shop,
):
    run = run_sync()

    verdict = audit_verdict(run)

    assert verdict.headline == (
        "1 group is treated differently (age band 55+); 1 group is too small to check."
    )
    assert verdict.tone == "attention"
    assert verdict.groups_too_small == ["age band 35-54"]
    # (Breads are shown less often, and lower in the lists: two measures, one group)
    assert verdict.next_steps[0].startswith("Read the 2 findings below and acknowledge each")
    assert (
        "age band 35-54: too few customers declared this to check it (the minimum is"
        in (verdict.next_steps[-1])
    )


def test_no_gap_reads_as_no_group_treated_differently(db):
    build_audit_shop(young_share=0.5, older_share=0.5)
    run = run_sync()

    verdict = audit_verdict(run)

    assert verdict.headline == (
        "No group is treated differently (2 checked); 1 group is too small to check."
    )
    assert verdict.tone == "ok"
    assert not AuditFinding.objects.filter(run=run, kind="breach").exists()


def test_acknowledging_then_resolving_changes_what_to_do_next(audit_shop, owner):
    run = run_sync()
    breaches = list(AuditFinding.objects.filter(run=run, kind="breach"))
    assert len(breaches) == 2

    for finding in breaches:
        findings.audit_finding_acknowledge(
            finding=finding, user=owner, explanation="Checking which breads 55+ customers see."
        )
    after_ack = audit_verdict(run)
    assert after_ack.tone == "done"
    assert after_ack.next_steps[0].startswith("2 findings are acknowledged but not resolved yet")

    for finding in breaches:
        findings.audit_finding_resolve(
            finding=finding, user=owner, explanation="Bread offers now reach every age band."
        )
    resolved = audit_verdict(run)
    assert not any("acknowledged but not resolved" in step for step in resolved.next_steps)
    assert not any(step.startswith("Read the finding") for step in resolved.next_steps)


def test_the_report_puts_the_verdict_first_then_one_chart_and_folds_the_rest(
    client, owner, audit_shop
):
    run = run_sync()
    client.force_login(owner)

    page = text(client.get(reverse("owner:audit_detail", args=[run.pk])))

    verdict = page.index("1 group is treated differently (age band 55+)")
    next_steps = page.index("What to do next")
    finding = page.index("Customers with age band 55+ were shown Breads 75% less often")
    details = page.index('<details class="audit-details">')
    assert verdict < next_steps < finding < details
    # exactly one chart before the details (drawn once for a wide screen, once for a
    # phone); the statistics (intervals, tables, the count of figures) only inside them
    before = page[:details]
    assert before.count('<svg class="chart chart-wide"') == 1
    assert before.count('<svg class="chart chart-narrow"') == 1
    assert before.count("<svg") == 2
    assert "95% interval" not in before and "<table" not in before
    assert "group figures were measured" not in before
    assert "group figures were measured" in page[details:]


def test_notes_use_the_threshold_the_owner_set(client, owner, db):
    # given: the owner raised the ratio threshold to 0.95
    build_audit_shop(young_share=0.8, older_share=0.2)
    policy = services.audit_policy_get()
    policy.ratio_threshold = 0.95
    policy.save()
    run = run_sync()
    client.force_login(owner)

    page = text(client.get(reverse("owner:audit_detail", args=[run.pk])))

    assert "below your threshold of 95% of the reference group" in page
    assert "80% rule" not in page.split("How this was measured")[0]
    finding = AuditFinding.objects.get(run=run, kind="breach", metric="exposure")
    assert "80%" not in finding.sentence


def test_the_public_page_summarises_the_audit_in_plain_words(client, audit_shop, owner):
    run = run_sync()
    finding = AuditFinding.objects.get(run=run, kind="breach", metric="exposure")
    findings.audit_finding_acknowledge(finding=finding, user=owner, explanation="Looking.")

    page = text(client.get("/transparency/"))
    audit = page.split("Fairness checks")[1]

    assert "1 group is treated differently (age band 55+); 1 group is too small to check." in (
        audit
    )
    assert "The shop&#x27;s owner has looked at 1 of 2 findings and resolved 0." in audit
    # no statistician's count of figures, and the small group is never named
    assert "group figures were measured" not in audit
    assert "35-54" not in page
