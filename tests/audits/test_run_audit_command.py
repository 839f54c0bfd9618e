"""`run_audit [--sync] [--json]` (PRODUCT.md's contract)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from audits.models import AuditResult, AuditRun

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("run_audit", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_sync_json_prints_the_runs_results_as_one_json_object(audit_shop):
    out, err = run("--sync", "--json")

    data = json.loads(out)  # the whole of stdout is one object
    run_ = AuditRun.objects.get()
    assert data["id"] == run_.pk and data["status"] == "completed"
    assert len(data["results"]) == AuditResult.objects.filter(run=run_).count()
    breach = next(f for f in data["findings"] if f["kind"] == "breach")
    assert breach["group"] == ["55+"] and breach["segment"] == "Breads"
    assert all(r["value"] is None for r in data["results"] if r["group"] == ["35-54"])
    # The progress line goes to stderr, ending at 100%.
    assert "100%" in err


def test_sync_prints_progress_and_the_summary(audit_shop):
    out, _ = run("--sync")

    assert "100%" in out
    assert "completed" in out
    assert "Customers with age band 55+ were shown Breads" in out
    assert "/owner/audits/" in out


def test_without_sync_the_run_is_queued_for_a_worker(
    audit_shop, monkeypatch, django_capture_on_commit_callbacks
):
    from audits import tasks

    sent = []
    monkeypatch.setattr(tasks.audit_run_step, "delay", lambda run_id: sent.append(run_id))

    with django_capture_on_commit_callbacks(execute=True):
        out, _ = run()

    run_ = AuditRun.objects.get()
    assert run_.status == "queued"
    assert sent == [run_.pk]
    assert f"Audit #{run_.pk} queued" in out and f"/owner/audits/{run_.pk}/" in out


def test_a_second_audit_while_one_runs_is_a_clear_error(audit_shop):
    AuditRun.objects.create(trigger="console", policy={"metrics": ["exposure"]})
    with pytest.raises(CommandError, match="still running"):
        run("--sync")


def test_if_none_runs_the_first_audit_only(audit_shop):
    out, _ = run("--sync", "--if-none")
    assert "100%" in out
    first = AuditRun.objects.get()
    assert first.status == AuditRun.Status.COMPLETED

    out, _ = run("--sync", "--if-none")
    assert out.strip() == f"Audit #{first.pk} has already completed: nothing to do."
    assert AuditRun.objects.count() == 1
