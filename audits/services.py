"""Writes for bias audits: the policy, runs (chunked, resumable), findings and their handling.

A run is a list of chunks, one per measure, then a "compare" step:
- each chunk computes one measure and commits its results together with its
  `AuditRunChunk` row, while holding a lock on the run: a chunk is done with all its
  results or not done at all, and two workers never measure the same chunk;
- the compare step (also under the lock, once) turns results into breach findings and
  compares the run with the previous run and with the owner's baseline (drift);
- a run whose worker died keeps its committed chunks; `audit_runs_requeue_stuck` (beat)
  queues it again and the next worker continues with the first chunk not done. Unique
  constraints on chunks, results and findings make a repeat impossible to store twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

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
from audits import loading, wording
from audits.metrics import GroupResult, drift
from audits.models import (
    DEFAULT_METRICS,
    AuditFinding,
    AuditFindingEvent,
    AuditPolicy,
    AuditResult,
    AuditRun,
    AuditRunChunk,
    Metric,
)
from core.errors import ApplicationError
from core.pause import pause_point

logger = logging.getLogger(__name__)

COMPARE = "compare"
# How long a running audit may go without progress before beat queues it again.
STUCK_AFTER = timedelta(minutes=10)
# Test-only hook (tests/audits/test_audit_worker.py): when this environment variable
# names a folder, a worker stops after its first committed chunk, writes
# `<folder>/paused` and waits for `<folder>/resume`, so a test can kill it at a known
# point. Read at run time; never set outside that test.
PAUSE_DIR_ENV = "FAIRSHARE_AUDIT_TEST_PAUSE_DIR"


# --- policy ------------------------------------------------------------------------------


def audit_policy_get() -> AuditPolicy:
    """The shop's one policy (created with the defaults on first use)."""
    policy = AuditPolicy.objects.order_by("pk").first()
    if policy is None:
        policy = AuditPolicy.objects.create()
    return policy


@transaction.atomic
def audit_policy_update(
    *,
    policy: AuditPolicy,
    attributes: list[str],
    metrics: list[str],
    ratio_threshold: float,
    difference_threshold: float,
    min_group_size: int,
    drift_threshold: float,
    reference_groups: dict[str, str],
    baseline_run: AuditRun | None,
    notify_owners: bool,
) -> AuditPolicy:
    """Save the owner's policy; the next run uses it."""
    declared = set(loading.declared_attribute_names())
    unknown = [a for a in attributes if a not in declared]
    if unknown:
        raise ApplicationError(
            _("No customer declared %(names)s with consent for fairness audits.")
            % {"names": ", ".join(unknown)},
            code="unknown_attribute",
            field="attributes",
        )
    if not metrics:
        raise ApplicationError(_("Choose at least one measure."), code="no_metric", field="metrics")
    bad = [m for m in metrics if m not in Metric.values]
    if bad:
        raise ApplicationError(
            _("Unknown measure: %(names)s.") % {"names": ", ".join(bad)},
            code="unknown_metric",
            field="metrics",
        )
    if not 0 < ratio_threshold <= 1:
        raise ApplicationError(
            _("The ratio threshold must be above 0 and at most 1."),
            code="invalid_threshold",
            field="ratio_threshold",
        )
    if not 0 <= difference_threshold <= 1 or not 0 <= drift_threshold <= 1:
        raise ApplicationError(
            _("Thresholds must be between 0 and 1."),
            code="invalid_threshold",
            field="difference_threshold",
        )
    if min_group_size < 5:
        raise ApplicationError(
            _("The minimum group size must be at least 5, to protect small groups."),
            code="invalid_min_group_size",
            field="min_group_size",
        )
    if baseline_run is not None and baseline_run.status != AuditRun.Status.COMPLETED:
        raise ApplicationError(
            _("Only a completed audit can be the baseline."),
            code="invalid_baseline",
            field="baseline_run",
        )
    policy.attributes = sorted(set(attributes))
    policy.metrics = [m for m in DEFAULT_METRICS if m in set(metrics)]
    policy.ratio_threshold = ratio_threshold
    policy.difference_threshold = difference_threshold
    policy.min_group_size = min_group_size
    policy.drift_threshold = drift_threshold
    policy.reference_groups = {k: v for k, v in reference_groups.items() if v}
    policy.baseline_run = baseline_run
    policy.notify_owners = notify_owners
    policy.save()
    return policy


def _audit_task():
    from django_celery_beat.models import PeriodicTask

    from audits.schedules import AUDIT_SCHEDULE_NAME

    return PeriodicTask.objects.select_related("crontab").filter(name=AUDIT_SCHEDULE_NAME).first()


def audit_schedule_get() -> dict[str, Any]:
    """The audit schedule as the policy form shows it: frequency, weekday, hour (UTC)."""
    task = _audit_task()
    if task is None or task.crontab is None:
        return {"frequency": "off" if task else "weekly", "weekday": "1", "hour": 6}
    cron = task.crontab
    hour = int(cron.hour) if cron.hour.isdigit() else 6
    if not task.enabled:
        frequency = "off"
    else:
        frequency = "daily" if cron.day_of_week == "*" else "weekly"
    weekday = cron.day_of_week if cron.day_of_week.isdigit() else "1"
    return {"frequency": frequency, "weekday": weekday, "hour": hour}


@transaction.atomic
def audit_schedule_update(*, frequency: str, weekday: str, hour: int) -> None:
    """Edit the beat schedule of the audit (upserted by name, so a deploy keeps it)."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    from audits.schedules import AUDIT_SCHEDULE_NAME

    if frequency not in ("weekly", "daily", "off"):
        raise ApplicationError(_("Unknown frequency."), code="invalid_schedule", field="frequency")
    if not 0 <= hour <= 23 or weekday not in {str(d) for d in range(7)}:
        raise ApplicationError(
            _("Choose a day and an hour from 0 to 23."), code="invalid_schedule", field="hour"
        )
    crontab, _created = CrontabSchedule.objects.get_or_create(
        minute="0",
        hour=str(hour),
        day_of_week="*" if frequency == "daily" else weekday,
        day_of_month="*",
        month_of_year="*",
    )
    task = PeriodicTask.objects.select_for_update().filter(name=AUDIT_SCHEDULE_NAME).first()
    if task is None:
        task = PeriodicTask(name=AUDIT_SCHEDULE_NAME, task="audits.run_scheduled")
    task.interval = None
    task.crontab = crontab
    task.enabled = frequency != "off"
    task.description = "Runs the bias audit with the owner's policy."
    task.save()


def _policy_snapshot(policy: AuditPolicy) -> dict[str, Any]:
    return {
        "attributes": list(policy.attributes),
        "metrics": [m for m in policy.metrics if m in Metric.values] or list(DEFAULT_METRICS),
        "ratio_threshold": policy.ratio_threshold,
        "difference_threshold": policy.difference_threshold,
        "min_group_size": policy.min_group_size,
        "drift_threshold": policy.drift_threshold,
        "reference_groups": dict(policy.reference_groups),
        "baseline_run": policy.baseline_run_id,
        "notify_owners": policy.notify_owners,
        "window_days": 90,
        "confidence": 0.95,
        "seed": 0,
    }


# --- runs --------------------------------------------------------------------------------


@transaction.atomic
def audit_run_create(*, trigger: str, requested_by=None) -> AuditRun:
    """A queued run with the current policy; refused while another run is in progress."""
    policy = audit_policy_get()
    AuditPolicy.objects.select_for_update().filter(pk=policy.pk).first()
    active = AuditRun.objects.filter(
        status__in=(AuditRun.Status.QUEUED, AuditRun.Status.RUNNING)
    ).first()
    if active is not None:
        raise ApplicationError(
            _("Audit #%(id)d is still running; wait for it to finish.") % {"id": active.pk},
            code="audit_running",
        )
    snapshot = _policy_snapshot(policy)
    return AuditRun.objects.create(
        trigger=trigger,
        requested_by=requested_by,
        policy=snapshot,
        chunks_total=len(snapshot["metrics"]),
        step="queued",
    )


def audit_run_enqueue(*, run: AuditRun) -> None:
    """Queue the run's next step for a worker once the current transaction commits."""
    from audits import tasks

    transaction.on_commit(lambda: tasks.audit_run_step.delay(run.pk))


def audit_run_start(*, trigger: str, requested_by=None) -> AuditRun:
    """Create a run and queue it for a Celery worker."""
    with transaction.atomic():
        run = audit_run_create(trigger=trigger, requested_by=requested_by)
        audit_run_enqueue(run=run)
    return run


def _percent(done: int, total: int) -> int:
    # The compare step counts as one more chunk.
    return min(99, int(100 * done / max(total + 1, 1)))


def audit_run_advance(*, run_id: int) -> bool:
    """Do the run's next step (one chunk, or the comparison); True while steps remain.

    Safe to call again at any time: a finished chunk is skipped, a finished run is left
    alone, and a second worker waits on the run's lock and then finds the work done.
    """
    with transaction.atomic():
        run = AuditRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status in (AuditRun.Status.COMPLETED, AuditRun.Status.FAILED):
            return False
        now = timezone.now()
        if run.status == AuditRun.Status.QUEUED:
            run.status = AuditRun.Status.RUNNING
            run.started_at = run.started_at or now
        done = set(run.chunks.values_list("name", flat=True))
        pending = [m for m in run.policy["metrics"] if m not in done]
        if not pending:
            _compare_and_complete(run)
            return False
        metric = pending[0]
        run.step = f"measure:{metric}"
        results = _measure(run, metric)
        AuditResult.objects.bulk_create([_result_row(run, r) for r in results])
        AuditRunChunk.objects.create(run=run, name=metric, results=len(results), done_at=now)
        run.percent = _percent(len(done) + 1, run.chunks_total)
        run.heartbeat_at = timezone.now()
        # The step shown from now on is the one that comes next.
        run.step = f"measure:{pending[1]}" if len(pending) > 1 else COMPARE
        run.save()
    logger.info("audit %s: measured %s (%d results)", run.pk, metric, len(results))
    pause_point(PAUSE_DIR_ENV)
    return True


def audit_run_execute(
    *, run: AuditRun, progress: Callable[[AuditRun], None] | None = None
) -> AuditRun:
    """Run every remaining step in this process (`run_audit --sync`)."""
    while audit_run_advance(run_id=run.pk):
        run.refresh_from_db()
        if progress is not None:
            progress(run)
    run.refresh_from_db()
    audit_run_notify(run_id=run.pk)
    run.refresh_from_db()
    if progress is not None:
        progress(run)
    return run


def audit_run_fail(*, run_id: int, message: str) -> None:
    """Record why a run failed where the owner sees it (the report page)."""
    AuditRun.objects.filter(
        pk=run_id, status__in=(AuditRun.Status.QUEUED, AuditRun.Status.RUNNING)
    ).update(status=AuditRun.Status.FAILED, failure=message[:2000], finished_at=timezone.now())


def audit_runs_stuck(*, stuck_after: timedelta = STUCK_AFTER) -> list[int]:
    """Runs in progress without progress for `stuck_after` (their worker likely died)."""
    limit = timezone.now() - stuck_after
    runs = AuditRun.objects.filter(status__in=(AuditRun.Status.QUEUED, AuditRun.Status.RUNNING))
    return [
        run.pk
        for run in runs.order_by("pk")
        if (run.heartbeat_at or run.started_at or run.created_at) <= limit
    ]


def audit_runs_requeue_stuck(*, stuck_after: timedelta = STUCK_AFTER) -> list[int]:
    """Queue stuck runs again; a fresh worker continues with the first chunk not done."""
    ids = audit_runs_stuck(stuck_after=stuck_after)
    for run_id in ids:
        with transaction.atomic():
            run = AuditRun.objects.select_for_update().get(pk=run_id)
            run.restarts += 1
            run.heartbeat_at = timezone.now()
            run.save(update_fields=["restarts", "heartbeat_at"])
            audit_run_enqueue(run=run)
        logger.warning("audit %s: no progress, queued again", run_id)
    # A worker that died between completing a run and notifying: notify now.
    unnotified = AuditRun.objects.filter(
        status=AuditRun.Status.COMPLETED,
        notified_at__isnull=True,
        finished_at__lte=timezone.now() - stuck_after,
    ).values_list("pk", flat=True)
    for run_id in list(unnotified):
        audit_run_notify(run_id=run_id)
    return ids


_REPLAY_CACHE: dict[tuple[int, str], Any] = {}


def _measure(run: AuditRun, metric: str) -> list[GroupResult]:
    settings = loading.Settings.from_snapshot(run.policy, as_of=run.created_at)
    declared = loading.declared_load(settings.attributes)
    if not run.customers_declared:
        run.customers_declared = declared.customers()
        from accounts.models import CustomerProfile

        run.customers = CustomerProfile.objects.count()

    def replay():
        # The hold-out replay trains a model once; the chunks of one run (in one worker
        # process) share it. Keyed by the run's id and creation time, never reused.
        key = (run.pk, run.created_at.isoformat())
        if key not in _REPLAY_CACHE:
            _REPLAY_CACHE.clear()
            _REPLAY_CACHE[key] = loading.holdout_replay()
        return _REPLAY_CACHE[key]

    return loading.measure(metric, declared=declared, settings=settings, replay=replay)


def _key(values) -> str:
    return "|".join(str(v) for v in values)


def _result_row(run: AuditRun, r: GroupResult) -> AuditResult:
    return AuditResult(
        run=run,
        metric=r.metric,
        segment=r.segment or "",
        attributes=list(r.attributes),
        group=list(r.group),
        attributes_key=_key(r.attributes),
        group_key=_key(r.group),
        order=len(r.attributes),
        n=None if r.suppressed else r.n,
        customers=None if r.suppressed else r.customers,
        suppressed=r.suppressed,
        suppression=r.suppression or "",
        value=None if r.suppressed else r.value,
        low=None if r.suppressed else r.low,
        high=None if r.suppressed else r.high,
        interval=r.interval,
        higher_is_better=r.higher_is_better,
        reference_key="" if r.reference is None else _key(r.reference),
        is_reference=r.is_reference,
        difference=r.difference,
        ratio=r.ratio,
        fails_four_fifths_rule=r.fails_four_fifths_rule,
        finding=r.finding,
    )


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
    _REPLAY_CACHE.clear()
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
