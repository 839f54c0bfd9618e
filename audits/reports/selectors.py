"""Reads for audit reports, exports, the API and other pages (aggregates only).

Nothing here returns a figure of a group under the minimum size: suppressed results
carry no value, interval or count in the database already, and every export copies
them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from audits import wording
from audits.models import AuditFinding, AuditResult, AuditRun
from audits.reports.verdict import audit_verdict, public_summary


@dataclass(frozen=True)
class AuditSummary:
    """The latest completed audit in a few sentences, for the owner's and public pages."""

    run_id: int
    finished_at: datetime
    status: str
    sentences: list[str]
    open_findings: int
    findings: int
    groups_measured: int
    groups_too_few: int
    url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # For /transparency/: the verdict and what the owner did, without figures.
    public_sentences: list[str] = field(default_factory=list)
    # The report's verdict headline ("No group is treated differently; ...").
    verdict: str = ""


def audit_runs() -> QuerySet[AuditRun]:
    """Runs newest first, with their finding counts (one query)."""
    return AuditRun.objects.annotate(
        findings_total=Count("findings", distinct=True),
        findings_open=Count(
            "findings", filter=Q(findings__status=AuditFinding.Status.OPEN), distinct=True
        ),
    ).order_by("-created_at", "-pk")


def audit_run_latest_completed() -> AuditRun | None:
    return (
        AuditRun.objects.filter(status=AuditRun.Status.COMPLETED)
        .order_by("-finished_at", "-pk")
        .first()
    )


def audit_run_active() -> AuditRun | None:
    return (
        AuditRun.objects.filter(status__in=(AuditRun.Status.QUEUED, AuditRun.Status.RUNNING))
        .order_by("-pk")
        .first()
    )


def summary_sentences(run: AuditRun, findings: list[AuditFinding] | None = None) -> list[str]:
    """What an owner should read first: findings in words, or that there were none."""
    if run.status != AuditRun.Status.COMPLETED:
        return []
    if findings is None:
        findings = list(run.findings.order_by("kind", "pk"))
    counts = run.results.aggregate(
        measured=Count("pk", filter=Q(suppressed=False)),
        hidden=Count("pk", filter=Q(suppressed=True)),
    )
    sentences: list[str] = []
    if not counts["measured"] and not counts["hidden"]:
        return [
            _(
                "Nothing could be measured: no customer with a recommendation list has "
                "declared audit attributes with consent for fairness audits."
            )
        ]
    breaches = [f for f in findings if f.kind == AuditFinding.Kind.BREACH]
    drifts = [f for f in findings if f.kind == AuditFinding.Kind.DRIFT]
    sentences += [f.sentence for f in breaches[:5]]
    if len(breaches) > 5:
        sentences.append(
            _("%(n)d more groups crossed a threshold: see the findings below.")
            % {"n": len(breaches) - 5}
        )
    if not breaches:
        sentences.append(
            _(
                "No group was treated differently beyond the policy's thresholds with "
                "enough evidence to be sure."
            )
        )
    if drifts:
        sentences.append(
            ngettext(
                "%(n)d figure moved more than the drift threshold since an earlier run.",
                "%(n)d figures moved more than the drift threshold since an earlier run.",
                len(drifts),
            )
            % {"n": len(drifts)}
        )
    sentences.append(
        _(
            "%(measured)d group figures were measured; %(hidden)d are too few to measure "
            "(or hidden to protect a smaller group) and are shown without a value."
        )
        % counts
    )
    return sentences


def audit_latest_summary() -> AuditSummary | None:
    """The latest completed run's id, time, status, summary sentences and open findings
    (aggregates only; None before the first completed audit)."""
    from django.urls import reverse

    run = audit_run_latest_completed()
    if run is None or run.finished_at is None:
        return None
    findings = list(run.findings.order_by("kind", "pk"))
    counts = run.results.aggregate(
        measured=Count("pk", filter=Q(suppressed=False)),
        hidden=Count("pk", filter=Q(suppressed=True)),
    )
    verdict = audit_verdict(run, findings)
    return AuditSummary(
        run_id=run.pk,
        finished_at=run.finished_at,
        status=run.status,
        sentences=summary_sentences(run, findings),
        open_findings=sum(1 for f in findings if f.status == AuditFinding.Status.OPEN),
        findings=len(findings),
        groups_measured=counts["measured"],
        groups_too_few=counts["hidden"],
        url=reverse("owner:audit_detail", args=[run.pk]),
        public_sentences=public_summary(run, findings),
        verdict=verdict.headline if verdict is not None else "",
    )


def result_dict(row: AuditResult) -> dict[str, Any]:
    return {
        "metric": row.metric,
        "segment": row.segment or None,
        "attributes": list(row.attributes),
        "group": list(row.group),
        "too_few_to_measure": row.suppressed,
        "suppression": row.suppression or None,
        "n": row.n,
        "customers": row.customers,
        "value": row.value,
        "low": row.low,
        "high": row.high,
        "interval": row.interval,
        "higher_is_better": row.higher_is_better,
        "reference_group": row.reference_key.split("|") if row.reference_key else None,
        "is_reference": row.is_reference,
        "difference": row.difference,
        "ratio": row.ratio,
        "fails_four_fifths_rule": row.fails_four_fifths_rule,
        "finding": row.finding,
    }


def finding_dict(finding: AuditFinding) -> dict[str, Any]:
    return {
        "id": finding.pk,
        "kind": finding.kind,
        "compared_with": finding.compared_with,
        "metric": finding.metric,
        "segment": finding.segment or None,
        "attributes": list(finding.attributes),
        "group": list(finding.group),
        "value": finding.value,
        "low": finding.low,
        "high": finding.high,
        "compared_value": finding.compared_value,
        "ratio": finding.ratio,
        "difference": finding.difference,
        "sentence": finding.sentence,
        "status": finding.status,
        "explanation": finding.explanation,
        "acknowledged_at": _iso(finding.acknowledged_at),
        "resolved_at": _iso(finding.resolved_at),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def run_dict(run: AuditRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "status": run.status,
        "trigger": run.trigger,
        "step": run.step,
        "percent": run.percent,
        "created_at": _iso(run.created_at),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "previous_run": run.previous_run_id,
        "baseline_run": run.baseline_run_id,
        "policy": {
            k: run.policy.get(k)
            for k in (
                "attributes",
                "metrics",
                "ratio_threshold",
                "difference_threshold",
                "min_group_size",
                "drift_threshold",
                "reference_groups",
                "confidence",
            )
        },
        "failure": run.failure or None,
    }


def run_gaps(results: list[AuditResult]) -> list[dict[str, Any]]:
    """Per table (measure, category, attributes): highest minus lowest published group
    value and lowest / highest; for "exposure" this is the demographic parity difference
    and ratio. No interval: a bootstrap interval of a max-min gap is biased upward."""
    from audits.findings import result_record
    from audits.metrics import gaps

    out = []
    for gap in gaps([result_record(r) for r in results]):
        if not gap.groups_compared:
            continue
        out.append(
            {
                "metric": gap.metric,
                "segment": gap.segment,
                "attributes": list(gap.attributes),
                "groups_compared": gap.groups_compared,
                "highest_group": list(gap.highest_group or ()),
                "lowest_group": list(gap.lowest_group or ()),
                "difference": gap.difference,
                "ratio": gap.ratio,
            }
        )
    return out


def audit_run_export(run: AuditRun) -> dict[str, Any]:
    """One JSON object: the run, its summary, results, gaps and findings (`run_audit
    --json`, the report's JSON download and the API's detail)."""
    findings = list(run.findings.order_by("pk"))
    results = list(run.results.order_by("pk"))
    return {
        **run_dict(run),
        "summary": summary_sentences(run, findings),
        "results": [result_dict(r) for r in results],
        "gaps": run_gaps(results),
        "findings": [finding_dict(f) for f in findings],
    }


CSV_COLUMNS = (
    "metric",
    "segment",
    "attributes",
    "group",
    "too_few_to_measure",
    "customers",
    "n",
    "value",
    "low",
    "high",
    "interval",
    "reference_group",
    "difference",
    "ratio",
    "fails_four_fifths_rule",
    "finding",
)


def audit_run_csv_rows(run: AuditRun):
    """Rows for the CSV download (header first); suppressed groups have empty figures."""
    yield list(CSV_COLUMNS)
    for row in run.results.order_by("pk").iterator(chunk_size=2000):
        data = result_dict(row)
        yield [
            _cell(data[column])
            if column not in ("attributes", "group", "reference_group")
            else _text(" & ".join(data[column] or []))
            for column in CSV_COLUMNS
        ]


def _text(value: str) -> str:
    # Labels come from the shop's data: never let a spreadsheet read one as a formula.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def metric_label(metric: str) -> str:
    return wording.metric_label(metric)
