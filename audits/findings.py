"""Findings of bias audits: how a run's results become findings, who is told, and how
the owner handles each finding (acknowledge, explain, resolve, reopen).

`audits.services` runs an audit; its last step (under the run's lock) calls
`_compare_and_complete` here, which stores breach findings (a group against the reference
group) and drift findings (against the previous run and the owner's baseline). After the
run commits, `audit_run_notify` opens a staff review task per finding and emails the
owners once.
"""

from __future__ import annotations

from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import OWNER_CONSOLE
from audits import wording
from audits.metrics import GroupResult, drift
from audits.models import AuditFinding, AuditFindingEvent, AuditResult, AuditRun
from core.errors import ApplicationError

# The run's last step: results become findings and the run is completed.
COMPARE = "compare"


# --- results as records ------------------------------------------------------------------


def _key(values) -> str:
    return "|".join(str(v) for v in values)


def result_record(row: AuditResult) -> GroupResult:
    """A stored result as the metrics core's record (for drift)."""
    return GroupResult(
        metric=row.metric,
        attributes=tuple(row.attributes),
        group=tuple(row.group),
        segment=row.segment or None,
        n=row.n,
        customers=row.customers,
        suppressed=row.suppressed,
        value=row.value,
        low=row.low,
        high=row.high,
        interval=row.interval,  # type: ignore[arg-type]
        confidence=0.95,
        higher_is_better=row.higher_is_better,
    )


# --- comparing and completing a run ------------------------------------------------------


def _compare_and_complete(run: AuditRun) -> None:
    """Breach and drift findings, then the run is completed (under the run's lock)."""
    run.step = COMPARE
    results = list(run.results.order_by("pk"))
    by_key = {(r.metric, r.segment, r.attributes_key, r.group_key): r for r in results}
    findings: list[AuditFinding] = []
    policy = run.policy
    named_reference = set((policy.get("reference_groups") or {}).keys())
    for r in results:
        if not r.finding or r.value is None:
            continue
        ref = by_key.get((r.metric, r.segment, r.attributes_key, r.reference_key))
        if ref is None or ref.value is None:
            continue
        sentence = wording.breach_sentence(
            metric=r.metric,
            attributes=r.attributes,
            group=r.group,
            segment=r.segment,
            reference=r.reference_key.split("|"),
            reference_is_largest=not set(r.attributes) <= named_reference,
            value=r.value,
            reference_value=ref.value,
            ratio=r.ratio,
            fails_four_fifths_rule=r.fails_four_fifths_rule,
            difference_threshold=float(policy.get("difference_threshold", 0.1)),
            ratio_threshold=float(policy.get("ratio_threshold", 0.8)),
        )
        findings.append(
            AuditFinding(
                run=run,
                kind=AuditFinding.Kind.BREACH,
                compared_with=AuditFinding.ComparedWith.REFERENCE,
                metric=r.metric,
                segment=r.segment,
                attributes=r.attributes,
                group=r.group,
                attributes_key=r.attributes_key,
                group_key=r.group_key,
                reference_key=r.reference_key,
                value=r.value,
                low=r.low,
                high=r.high,
                compared_value=ref.value,
                ratio=r.ratio,
                difference=r.difference if r.difference is not None else r.value - ref.value,
                sentence=sentence,
            )
        )
    current = [result_record(r) for r in results]
    previous = (
        AuditRun.objects.filter(status=AuditRun.Status.COMPLETED, pk__lt=run.pk)
        .order_by("-pk")
        .first()
    )
    baseline_id = policy.get("baseline_run")
    baseline = (
        AuditRun.objects.filter(pk=baseline_id, status=AuditRun.Status.COMPLETED).first()
        if baseline_id
        else None
    )
    run.previous_run = previous
    run.baseline_run = baseline
    threshold = float(policy.get("drift_threshold", 0.05))
    comparisons = [(previous, AuditFinding.ComparedWith.PREVIOUS)]
    if baseline is not None and (previous is None or baseline.pk != previous.pk):
        comparisons.append((baseline, AuditFinding.ComparedWith.BASELINE))
    for earlier, compared_with in comparisons:
        if earlier is None:
            continue
        before = [result_record(r) for r in earlier.results.all()]
        for moved in drift(current, before, threshold=threshold):
            if not moved.finding or moved.current is None or moved.previous is None:
                continue
            assert moved.change is not None  # noqa: S101
            findings.append(
                AuditFinding(
                    run=run,
                    kind=AuditFinding.Kind.DRIFT,
                    compared_with=compared_with,
                    metric=moved.metric,
                    segment=moved.segment or "",
                    attributes=list(moved.attributes),
                    group=list(moved.group),
                    attributes_key=_key(moved.attributes),
                    group_key=_key(moved.group),
                    value=moved.current,
                    low=moved.current_low,
                    high=moved.current_high,
                    compared_value=moved.previous,
                    difference=moved.change,
                    sentence=wording.drift_sentence(
                        metric=moved.metric,
                        attributes=moved.attributes,
                        group=moved.group,
                        segment=moved.segment or "",
                        before=moved.previous,
                        after=moved.current,
                        against_baseline=compared_with == AuditFinding.ComparedWith.BASELINE,
                    ),
                )
            )
    created = AuditFinding.objects.bulk_create(findings)
    now = timezone.now()
    AuditFindingEvent.objects.bulk_create(
        AuditFindingEvent(finding=f, action=AuditFindingEvent.Action.FOUND, at=now) for f in created
    )
    run.status = AuditRun.Status.COMPLETED
    run.step = "completed"
    run.percent = 100
    run.finished_at = now
    run.heartbeat_at = now
    run.save()


def audit_run_notify(*, run_id: int) -> int:
    """Once per completed run: a staff review task per finding and one email to the
    owners (no personal data: groups and aggregates only). Returns findings notified."""
    with transaction.atomic():
        run = AuditRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status != AuditRun.Status.COMPLETED or run.notified_at:
            return 0
        findings = list(run.findings.order_by("pk"))
        for finding in findings:
            _open_review_task(finding)
        run.notified_at = timezone.now()
        run.save(update_fields=["notified_at"])
        if findings and run.policy.get("notify_owners", True):
            transaction.on_commit(lambda: _email_owners(run, findings))
    return len(findings)


def _report_path(run: AuditRun) -> str:
    return reverse("owner:audit_detail", args=[run.pk])


def _open_review_task(finding: AuditFinding) -> None:
    """A task in the staff review queue, linked to the finding."""
    from personalization.oversight.services import review_task_open

    if finding.review_item_id:
        return
    item = review_task_open(
        title=_("Bias audit #%(run)d: %(kind)s in %(metric)s")
        % {
            "run": finding.run_id,
            "kind": finding.get_kind_display(),
            "metric": wording.metric_label(finding.metric),
        },
        detail=finding.sentence,
        link=_report_path(finding.run) + f"#finding-{finding.pk}",
        source="audit_finding",
        high_risk=finding.kind == AuditFinding.Kind.BREACH,
    )
    finding.review_item = item
    finding.save(update_fields=["review_item"])


def owner_emails() -> list[str]:
    """Addresses of the active logins that may use the owner's console."""
    app_label, codename = OWNER_CONSOLE.split(".")
    perm = Q(content_type__app_label=app_label, codename=codename)
    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(
            Q(is_superuser=True)
            | Q(groups__permissions__in=Permission.objects.filter(perm))
            | Q(user_permissions__in=Permission.objects.filter(perm))
        )
    )
    return sorted(set(users.values_list("email", flat=True)))


def _email_owners(run: AuditRun, findings: list[AuditFinding]) -> None:
    recipients = owner_emails()
    if not recipients:
        return
    base = getattr(django_settings, "SITE_URL", "").rstrip("/")
    lines = [
        _("The bias audit #%(run)d found %(n)d finding(s) to review:")
        % {"run": run.pk, "n": len(findings)},
        "",
        *[f"- {f.sentence}" for f in findings[:20]],
        "",
        _("Read the report, then acknowledge, explain or resolve each finding: %(url)s")
        % {"url": base + _report_path(run)},
    ]
    send_mail(
        subject=_("Bias audit #%(run)d: %(n)d finding(s)") % {"run": run.pk, "n": len(findings)},
        message="\n".join(lines),
        from_email=None,
        recipient_list=recipients,
    )


# --- findings ----------------------------------------------------------------------------


def _finding_event(finding: AuditFinding, action: str, note: str, actor) -> None:
    AuditFindingEvent.objects.create(
        finding=finding, action=action, note=note, actor=actor, at=timezone.now()
    )


def _locked(finding: AuditFinding) -> AuditFinding:
    return AuditFinding.objects.select_for_update().get(pk=finding.pk)


@transaction.atomic
def audit_finding_acknowledge(*, finding: AuditFinding, user, explanation: str) -> AuditFinding:
    """The owner has read the finding; an explanation is required (accountability)."""
    finding = _locked(finding)
    explanation = explanation.strip()
    if not explanation:
        raise ApplicationError(
            _("Say what you make of this finding before acknowledging it."),
            code="explanation_required",
            field="explanation",
        )
    if finding.status != AuditFinding.Status.OPEN:
        raise ApplicationError(
            _("This finding was already acknowledged."), code="not_open", field="explanation"
        )
    now = timezone.now()
    finding.status = AuditFinding.Status.ACKNOWLEDGED
    finding.explanation = explanation
    finding.acknowledged_by = user
    finding.acknowledged_at = now
    finding.save()
    _finding_event(finding, AuditFindingEvent.Action.ACKNOWLEDGED, explanation, user)
    return finding


@transaction.atomic
def audit_finding_explain(*, finding: AuditFinding, user, explanation: str) -> AuditFinding:
    """Update the explanation; the earlier one stays in the history."""
    finding = _locked(finding)
    explanation = explanation.strip()
    if not explanation:
        raise ApplicationError(
            _("The explanation cannot be empty."), code="explanation_required", field="explanation"
        )
    finding.explanation = explanation
    finding.save(update_fields=["explanation"])
    _finding_event(finding, AuditFindingEvent.Action.EXPLAINED, explanation, user)
    return finding


@transaction.atomic
def audit_finding_resolve(*, finding: AuditFinding, user, explanation: str) -> AuditFinding:
    """Close the finding with what was done about it."""
    finding = _locked(finding)
    explanation = explanation.strip()
    if not explanation:
        raise ApplicationError(
            _("Say what was done before resolving this finding."),
            code="explanation_required",
            field="explanation",
        )
    if finding.status == AuditFinding.Status.RESOLVED:
        raise ApplicationError(
            _("This finding is already resolved."), code="already_resolved", field="explanation"
        )
    now = timezone.now()
    if finding.status == AuditFinding.Status.OPEN:
        finding.acknowledged_by, finding.acknowledged_at = user, now
    finding.status = AuditFinding.Status.RESOLVED
    finding.explanation = explanation
    finding.resolved_by = user
    finding.resolved_at = now
    finding.save()
    _finding_event(finding, AuditFindingEvent.Action.RESOLVED, explanation, user)
    return finding


@transaction.atomic
def audit_finding_reopen(*, finding: AuditFinding, user, explanation: str) -> AuditFinding:
    finding = _locked(finding)
    if finding.status != AuditFinding.Status.RESOLVED:
        raise ApplicationError(
            _("Only a resolved finding can be reopened."), code="not_resolved", field="explanation"
        )
    finding.status = AuditFinding.Status.ACKNOWLEDGED
    finding.resolved_by, finding.resolved_at = None, None
    finding.save()
    _finding_event(finding, AuditFindingEvent.Action.REOPENED, explanation.strip(), user)
    return finding
