"""Faults: brief database errors, a database that never answers, stuck work (issue 13)."""

from __future__ import annotations

from django.db import OperationalError

from audits import services as audit_services
from audits import tasks as audit_tasks
from audits.models import AuditRun


def test_a_brief_database_error_retries_the_audit_step_instead_of_failing_the_audit(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    # given the database drops the connection once, during the audit's first step
    real_advance = audit_services.audit_run_advance
    errors = ["server closed the connection unexpectedly"]

    def advance_failing_once(*, run_id: int) -> bool:
        if errors:
            raise OperationalError(errors.pop())
        return real_advance(run_id=run_id)

    monkeypatch.setattr(audit_tasks.services, "audit_run_advance", advance_failing_once)
    # when the owner starts an audit (the worker runs eagerly in tests)
    with django_capture_on_commit_callbacks(execute=True):
        run = audit_services.audit_run_start(trigger="console")
    # then the step was tried again and the audit completed
    run.refresh_from_db()
    assert errors == []
    assert run.failure == ""
    assert run.status == AuditRun.Status.COMPLETED
