"""A real Celery worker killed (SIGKILL) in the middle of an audit leaves a run that a
fresh worker resumes from its last committed chunk, with no duplicated results and the
same figures as an uninterrupted run.

How the kill lands mid-way: each chunk (one measure) commits its results with its chunk
row, and a test-only hook makes the worker stop after its first committed chunk when
FAIRSHARE_AUDIT_TEST_PAUSE_DIR is set in its environment (read at run time). The test
waits for that point, checks what is committed, then kills the process.
"""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest

from audits import services, tasks
from audits.models import AuditFinding, AuditResult, AuditRun, AuditRunChunk
from tests.builders import build_audit_shop
from tests.workers import require_worker_services, wait_for, worker_pool

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def workers(tmp_path, monkeypatch):
    require_worker_services("the audit worker test")
    with worker_pool(
        tmp_path=tmp_path,
        monkeypatch=monkeypatch,
        prefix="test-audit",
        tasks=[tasks.audit_run_step],
    ) as pool:
        yield pool.start


def figures(run: AuditRun) -> dict[tuple, tuple]:
    return {
        (r.metric, r.segment, r.attributes_key, r.group_key): (r.value, r.low, r.high, r.n)
        for r in AuditResult.objects.filter(run=run)
    }


def test_a_worker_killed_mid_audit_is_resumed_by_a_fresh_one_without_duplicates(workers, tmp_path):
    build_audit_shop()
    pause_dir = tmp_path / "pause"
    pause_dir.mkdir()

    # given an audit queued for a worker
    run = services.audit_run_start(trigger="schedule")

    # when a worker has committed its first chunk...
    first, first_log = workers("first", FAIRSHARE_AUDIT_TEST_PAUSE_DIR=str(pause_dir))
    wait_for(
        (pause_dir / "paused").exists,
        processes=[first],
        logs=[first_log],
        what="reach the middle",
    )
    run.refresh_from_db()
    assert run.status == "running"
    assert list(AuditRunChunk.objects.filter(run=run).values_list("name", flat=True)) == [
        "exposure"
    ]
    committed = AuditResult.objects.filter(run=run).count()
    assert committed == AuditRunChunk.objects.get(run=run).results > 0

    # ...and is killed there
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    run.refresh_from_db()
    assert run.status == "running" and run.finished_at is None
    assert AuditResult.objects.filter(run=run).count() == committed

    # then beat's check finds it stuck and a fresh worker continues it
    assert services.audit_runs_stuck(stuck_after=timedelta(0)) == [run.pk]
    second, second_log = workers("second")
    assert services.audit_runs_requeue_stuck(stuck_after=timedelta(0)) == [run.pk]

    def completed() -> bool:
        run.refresh_from_db()
        return run.status == "completed" and run.notified_at is not None

    wait_for(completed, processes=[second], logs=[second_log], what="complete the audit")

    # every chunk exactly once, no result twice, findings once
    chunks = list(AuditRunChunk.objects.filter(run=run).values_list("name", "results"))
    assert [name for name, _ in chunks] == run.policy["metrics"]
    assert AuditResult.objects.filter(run=run).count() == sum(n for _, n in chunks)
    assert run.restarts == 1
    breaches = AuditFinding.objects.filter(
        run=run, kind="breach", metric="exposure", segment="Breads"
    )
    assert breaches.count() == 1 and breaches.get().review_item_id is not None

    # and the figures are those of an audit nobody interrupted
    fresh = services.audit_run_execute(run=services.audit_run_create(trigger="command"))
    assert figures(run) == figures(fresh)
