"""Writes for bias audits: the policy and runs (chunked, resumable).

A run is a list of chunks, one per measure, then a "compare" step:
- each chunk computes one measure and commits its results together with its
  `AuditRunChunk` row, while holding a lock on the run: a chunk is done with all its
  results or not done at all, and two workers never measure the same chunk;
- the compare step (also under the lock, once; `audits.findings`) turns results into
  breach findings and compares the run with the previous run and with the owner's
  baseline (drift);
- a run whose worker died keeps its committed chunks; `audit_runs_requeue_stuck` (beat)
  queues it again and the next worker continues with the first chunk not done. Unique
  constraints on chunks, results and findings make a repeat impossible to store twice.

Findings, the owners' notification and the handling of findings are in `audits.findings`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audits import loading
from audits.findings import COMPARE, _compare_and_complete, _key, audit_run_notify
from audits.metrics import GroupResult
from audits.models import (
    DEFAULT_METRICS,
    AuditPolicy,
    AuditResult,
    AuditRun,
    AuditRunChunk,
    Metric,
)
from core.enqueue import enqueue_on_commit
from core.errors import ApplicationError
from core.pause import pause_point

logger = logging.getLogger(__name__)

# How long a queued or running audit may go without progress before beat (every minute)
# queues it again. A run whose row a worker holds locked is measuring a chunk, however
# long that takes, and is never taken for stuck; a killed worker's lock is gone at once.
STUCK_AFTER = timedelta(minutes=3)
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
    """Queue the run's next step for a worker once the current transaction commits
    (when the broker is down, the stuck-audit check queues it once it is back)."""
    from audits import tasks

    enqueue_on_commit(tasks.audit_run_step, run.pk)


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
            # Every measure of this run is done: the shared replay is not needed any more.
            _REPLAY_CACHE.clear()
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


def audit_runs_stuck(
    *, stuck_after: timedelta = STUCK_AFTER, now: datetime | None = None
) -> list[int]:
    """Runs in progress without progress for `stuck_after` (their worker likely died)."""
    limit = (now or timezone.now()) - stuck_after
    runs = AuditRun.objects.filter(status__in=(AuditRun.Status.QUEUED, AuditRun.Status.RUNNING))
    return [
        run.pk
        for run in runs.order_by("pk")
        if (run.heartbeat_at or run.started_at or run.created_at) <= limit
    ]


def audit_runs_requeue_stuck(
    *, stuck_after: timedelta = STUCK_AFTER, now: datetime | None = None
) -> list[int]:
    """Queue stuck runs again; a fresh worker continues with the first chunk not done."""
    ids = []
    for run_id in audit_runs_stuck(stuck_after=stuck_after, now=now):
        with transaction.atomic():
            # Locked: a live worker is measuring a chunk of it (PostgreSQL; SQLite has
            # one writer and waits instead).
            run = (
                AuditRun.objects.select_for_update(skip_locked=True)
                .filter(pk=run_id, status__in=(AuditRun.Status.QUEUED, AuditRun.Status.RUNNING))
                .first()
            )
            if run is None:
                continue
            run.restarts += 1
            run.heartbeat_at = timezone.now()
            run.save(update_fields=["restarts", "heartbeat_at"])
            audit_run_enqueue(run=run)
        ids.append(run_id)
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
