"""What the audit pages show: tables, charts and trends built from stored results."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Min, Q
from django.utils import formats
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from audits import wording
from audits.models import AuditFinding, AuditResult, AuditRun, Metric
from audits.reports.selectors import run_gaps, summary_sentences
from audits.reports.verdict import audit_verdict
from core.charts import Bar, Series, bar_chart, line_chart

# Past runs shown in trends.
TREND_RUNS = 12
# Bar charts on one report (the tables have everything).
MAX_CHARTS = 12
# Each chart is drawn twice, for a wide screen and for a phone, and site.css shows the one
# that fits: an SVG scales its text with its width, so a 640-unit chart on a 390 px phone
# would print 11 px labels at about 6 px. The phone's drawing is as wide as its screen.
PHONE_CHART = {"width": 300}
PHONE_BAR_CHART = {"width": 300, "label_width": 104}


def _both_sizes(draw: Callable[..., str], phone: dict[str, int], **kwargs: Any) -> str:
    return draw(**kwargs, extra_class="chart-wide") + draw(
        **kwargs, **phone, extra_class="chart-narrow"
    )


def step_label(run: AuditRun) -> str:
    if run.status == AuditRun.Status.QUEUED:
        return _("Waiting for a worker")
    if run.step.startswith("measure:"):
        return _("Measuring: %(metric)s") % {
            "metric": wording.metric_label(run.step.split(":", 1)[1])
        }
    if run.step == "compare":
        return _("Comparing with the reference groups and earlier runs")
    if run.status == AuditRun.Status.COMPLETED:
        return _("Completed")
    if run.status == AuditRun.Status.FAILED:
        return _("Failed")
    return run.get_status_display()


def progress_dict(run: AuditRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "status": run.status,
        "step": run.step,
        "step_label": step_label(run),
        "percent": run.percent,
        "done": not run.is_active,
    }


def _percent(value: float) -> str:
    # Small rates (flagged, complained) need a decimal to be told apart.
    digits = 1 if 0 < abs(value) < 0.1 else 0
    return formats.number_format(value * 100, digits) + "%"


def _fmt(metric: str):
    if wording.is_rate(metric):
        return _percent
    return lambda v: formats.number_format(v, 2)


@dataclass
class Row:
    group: str
    order: int
    suppressed: bool
    suppression: str
    value: str
    interval: str
    customers: int | None
    difference: str
    ratio: str
    is_reference: bool
    fails_four_fifths_rule: bool
    finding: bool
    # Past one of the owner's thresholds, but not by enough to rule out chance.
    crosses_threshold: bool = False


@dataclass
class Table:
    key: str
    segment: str
    attributes: str
    rows: list[Row]
    has_finding: bool
    gap: str = ""


@dataclass
class Section:
    metric: str
    label: str
    tables: list[Table] = field(default_factory=list)

    @property
    def has_finding(self) -> bool:
        return any(t.has_finding for t in self.tables)


def _crosses(result: AuditResult, policy: dict[str, Any]) -> bool:
    if result.is_reference or result.finding or result.value is None or result.suppressed:
        return False
    ratio_threshold = float(policy.get("ratio_threshold", 0.8))
    if result.ratio is not None and ratio_threshold:
        if result.higher_is_better and result.ratio < ratio_threshold:
            return True
        if not result.higher_is_better and result.ratio > 1 / ratio_threshold:
            return True
    if result.difference is None:
        return False
    threshold = float(policy.get("difference_threshold", 0.1))
    worse_by = -result.difference if result.higher_is_better else result.difference
    return worse_by > threshold


def _row(result: AuditResult, policy: dict[str, Any] | None = None) -> Row:
    fmt = wording.figure
    hidden = result.suppressed or result.value is None
    interval = ""
    if not hidden and result.low is not None and result.high is not None:
        interval = f"{fmt(result.metric, result.low)} – {fmt(result.metric, result.high)}"
    difference = ""
    if not hidden and result.difference is not None and not result.is_reference:
        sign = "+" if result.difference > 0 else "−" if result.difference < 0 else ""
        size = abs(result.difference)
        difference = sign + (
            formats.number_format(size * 100, 1) + " " + _("pts")
            if wording.is_rate(result.metric)
            else formats.number_format(size, 2)
        )
    return Row(
        group=wording.group_words(result.attributes, result.group),
        order=result.order,
        suppressed=hidden,
        suppression=result.suppression,
        value="" if hidden else fmt(result.metric, result.value),
        interval=interval,
        customers=None if hidden else result.customers,
        difference=difference,
        ratio=""
        if hidden or result.ratio is None or result.is_reference
        else formats.number_format(result.ratio, 2),
        is_reference=result.is_reference,
        fails_four_fifths_rule=result.fails_four_fifths_rule,
        finding=result.finding,
        crosses_threshold=_crosses(result, policy or {}),
    )


def _gap_words(gap: dict[str, Any]) -> str:
    metric = gap["metric"]
    size = (
        formats.number_format(gap["difference"] * 100, 1) + " " + _("pts")
        if wording.is_rate(metric)
        else formats.number_format(gap["difference"], 2)
    )
    words = _("Gap between the highest and the lowest group: %(size)s") % {"size": size}
    if gap["ratio"] is not None:
        words += " " + _("(lowest ÷ highest: %(ratio)s)") % {
            "ratio": formats.number_format(gap["ratio"], 2)
        }
    if metric == Metric.EXPOSURE:
        words += "; " + _("this is the demographic parity difference and ratio")
    # German abbreviates points with a full stop ("Pkt."): never a second one after it.
    end = " " if words.endswith(".") else ". "
    return words + end + _("No interval: one for a largest gap would be biased upward.")


def report_sections(run: AuditRun) -> list[Section]:
    """Results as tables: one section per measure, one table per segment and attributes."""
    sections: dict[str, Section] = {}
    tables: dict[tuple, Table] = {}
    for result in run.results.order_by("pk"):
        section = sections.get(result.metric)
        if section is None:
            section = sections[result.metric] = Section(
                metric=result.metric, label=wording.metric_label(result.metric)
            )
        key = (result.metric, result.segment, result.attributes_key)
        table = tables.get(key)
        if table is None:
            table = tables[key] = Table(
                key=f"{result.metric}-{len(tables)}",
                segment=result.segment,
                attributes=" × ".join(wording.attribute_label(a) for a in result.attributes),
                rows=[],
                has_finding=False,
            )
            section.tables.append(table)
        table.rows.append(_row(result, run.policy))
        table.has_finding |= result.finding
    for gap in run_gaps(list(run.results.order_by("pk"))):
        key = (gap["metric"], gap["segment"] or "", "|".join(gap["attributes"]))
        if key in tables and gap["groups_compared"] > 1:
            tables[key].gap = _gap_words(gap)
    order = {m.value: i for i, m in enumerate(Metric)}
    return sorted(sections.values(), key=lambda s: order.get(s.metric, 99))


def _bar_chart(results: list[AuditResult], title: str, run: AuditRun) -> SafeString:
    metric = results[0].metric
    reference = next((r for r in results if r.is_reference and r.value is not None), None)
    ratio_threshold = float(run.policy.get("ratio_threshold", 0.8))
    bars = [
        Bar(
            label=wording.group_words(r.attributes, r.group),
            value=None if r.suppressed else r.value,
            low=r.low,
            high=r.high,
            note=_("too few to measure") if r.suppressed else "",
            highlight=r.finding,
            reference=r.is_reference,
        )
        for r in results
    ]
    rule, rule_label = None, ""
    if reference is not None and reference.value:
        if reference.higher_is_better:
            rule = ratio_threshold * reference.value
            rule_label = _("%(pct)s of the reference") % {
                "pct": formats.number_format(ratio_threshold * 100, 0) + "%"
            }
        else:
            rule = reference.value / ratio_threshold
            rule_label = _("%(times)s× the reference") % {
                "times": formats.number_format(1 / ratio_threshold, 2)
            }
    description = _(
        "Bars: each group's value, lines: its 95%% interval; dashed line: the ratio threshold. "
        "The same figures are in the table below."
    )
    return mark_safe(  # noqa: S308 (core.charts escapes every text it draws)
        _both_sizes(
            bar_chart,
            PHONE_BAR_CHART,
            bars=bars,
            title=title,
            description=description,
            fmt=_fmt(metric),
            rule=rule,
            rule_label=rule_label,
        )
    )


def report_charts(run: AuditRun) -> list[dict[str, Any]]:
    """Per-group bars with intervals: every table with a finding first, then each
    single-attribute table of the measures without segments, up to MAX_CHARTS."""
    by_table: dict[tuple, list[AuditResult]] = defaultdict(list)
    for result in run.results.filter(order=1).order_by("pk"):
        by_table[(result.metric, result.segment, result.attributes_key)].append(result)
    finding_tables = set(
        run.results.filter(finding=True).values_list("metric", "segment", "attributes_key")
    )
    chosen: list[tuple] = []
    for key in by_table:
        if key in finding_tables:
            chosen.append(key)
    for key, results in by_table.items():
        if key not in chosen and not key[1] and any(not r.suppressed for r in results):
            chosen.append(key)
    # Findings in intersections: chart the intersection table.
    for key in sorted(finding_tables):
        if key not in by_table:
            rows = list(
                run.results.filter(
                    metric=key[0], segment=key[1], attributes_key=key[2], suppressed=False
                ).order_by("pk")
            )
            if rows:
                by_table[key] = rows
                chosen.insert(0, key)
    charts = []
    for key in chosen[:MAX_CHARTS]:
        results = by_table[key]
        metric, segment, attributes_key = key
        title = wording.metric_label(metric)
        if segment:
            title += f" — {segment}"
        title += " " + _("by %(attributes)s") % {
            "attributes": " × ".join(wording.attribute_label(a) for a in attributes_key.split("|"))
        }
        charts.append({"title": title, "svg": _bar_chart(results, title, run)})
    return charts


def finding_trends(run: AuditRun, findings: list[AuditFinding]) -> dict[int, SafeString]:
    """For each breach (up to 6): the group's and the reference's value over past runs."""
    past = list(
        AuditRun.objects.filter(status=AuditRun.Status.COMPLETED, pk__lte=run.pk).order_by("-pk")[
            :TREND_RUNS
        ]
    )[::-1]
    if len(past) < 2:
        return {}
    run_ids = [r.pk for r in past]
    labels = [formats.date_format(r.finished_at or r.created_at, "SHORT_DATE_FORMAT") for r in past]
    out: dict[int, SafeString] = {}
    for finding in [f for f in findings if f.kind == AuditFinding.Kind.BREACH][:6]:
        wanted = [finding.group_key, finding.reference_key]
        values = {
            (r.run_id, r.group_key): r
            for r in AuditResult.objects.filter(
                run_id__in=run_ids,
                metric=finding.metric,
                segment=finding.segment,
                attributes_key=finding.attributes_key,
                group_key__in=wanted,
                suppressed=False,
            )
        }
        series = []
        for key, name in (
            (finding.group_key, wording.group_words(finding.attributes, finding.group)),
            (
                finding.reference_key,
                _("reference: %(group)s")
                % {
                    "group": wording.group_words(
                        finding.attributes, finding.reference_key.split("|")
                    )
                },
            ),
        ):
            rows = [values.get((rid, key)) for rid in run_ids]
            series.append(
                Series(
                    name=name,
                    values=[r.value if r else None for r in rows],
                    low=[r.low if r else None for r in rows],
                    high=[r.high if r else None for r in rows],
                )
            )
        title = _("Trend: %(metric)s") % {"metric": wording.metric_label(finding.metric)}
        out[finding.pk] = mark_safe(  # noqa: S308 (escaped by core.charts)
            _both_sizes(
                line_chart,
                PHONE_CHART,
                x_labels=labels,
                series=series,
                title=title,
                description=_("The group's value and the reference group's, per audit run."),
                fmt=_fmt(finding.metric),
            )
        )
    return out


def earlier_findings(run: AuditRun, findings: list[AuditFinding]) -> dict[int, list[AuditFinding]]:
    """For each finding, the same finding (same kind, measure, category and group) in
    earlier runs, newest first (up to 5): how long it has been there and what the owner
    said then."""
    if not findings:
        return {}
    keys = {(f.kind, f.metric, f.segment, f.attributes_key, f.group_key): f.pk for f in findings}
    out: dict[int, list[AuditFinding]] = {}
    rows = AuditFinding.objects.filter(
        run_id__lt=run.pk,
        metric__in={f.metric for f in findings},
        group_key__in={f.group_key for f in findings},
    ).order_by("-run_id", "pk")
    for row in rows:
        key = (row.kind, row.metric, row.segment, row.attributes_key, row.group_key)
        if key in keys:
            earlier = out.setdefault(keys[key], [])
            if len(earlier) < 5 and all(e.run_id != row.run_id for e in earlier):
                earlier.append(row)
    return out


def runs_trend() -> SafeString | None:
    """Findings per completed run and the lowest exposure ratio, oldest first."""
    runs = list(
        AuditRun.objects.filter(status=AuditRun.Status.COMPLETED)
        .annotate(
            breaches=Count("findings", filter=Q(findings__kind="breach"), distinct=True),
            drifts=Count("findings", filter=Q(findings__kind="drift"), distinct=True),
        )
        .order_by("-pk")[:TREND_RUNS]
    )[::-1]
    if not runs:
        return None
    lowest = dict(
        AuditResult.objects.filter(
            run__in=[r.pk for r in runs],
            suppressed=False,
            is_reference=False,
            higher_is_better=True,
            ratio__isnull=False,
        )
        .values("run_id")
        .annotate(low=Min("ratio"))
        .values_list("run_id", "low")
    )
    labels = [formats.date_format(r.finished_at or r.created_at, "SHORT_DATE_FORMAT") for r in runs]
    threshold = float(runs[-1].policy.get("ratio_threshold", 0.8))
    findings_chart = _both_sizes(
        line_chart,
        PHONE_CHART,
        x_labels=labels,
        series=[
            Series(_("Threshold findings"), [r.breaches for r in runs]),
            Series(_("Drift findings"), [r.drifts for r in runs]),
        ],
        title=_("Findings per audit"),
        description=_("How many findings each audit run had, oldest first."),
        fmt=lambda v: formats.number_format(v, 0),
        # Whole numbers on every tick: the axis ends at a multiple of its 4 steps.
        max_value=4 * max(1, math.ceil(max(max(r.breaches, r.drifts) for r in runs) / 4)),
    )
    ratio_chart = _both_sizes(
        line_chart,
        PHONE_CHART,
        x_labels=labels,
        series=[Series(_("Lowest ratio to the reference group"), [lowest.get(r.pk) for r in runs])],
        title=_("Lowest ratio to the reference group"),
        description=_(
            # xgettext:no-python-format
            "The smallest group's value divided by its reference group's, per run; below "
            "the dashed line is below the ratio threshold of the latest audit's policy."
        ),
        fmt=lambda v: formats.number_format(v, 2),
        max_value=1.0,
        rule=threshold,
        rule_label=_("your threshold (%(value)s)") % {"value": formats.number_format(threshold, 2)},
    )
    return mark_safe(findings_chart + ratio_chart)  # noqa: S308 (escaped by core.charts)


def report_context(run: AuditRun) -> dict[str, Any]:
    findings = list(
        run.findings.select_related("acknowledged_by", "resolved_by")
        .prefetch_related("events__actor")
        .order_by("kind", "pk")
    )
    completed = run.status == AuditRun.Status.COMPLETED
    trends = finding_trends(run, findings) if completed else {}
    earlier = earlier_findings(run, findings)
    for finding in findings:
        finding.trend = trends.get(finding.pk)  # type: ignore[attr-defined]
        finding.earlier = earlier.get(finding.pk, [])  # type: ignore[attr-defined]
    return {
        "run": run,
        "progress": progress_dict(run),
        "summary": summary_sentences(run, findings) if completed else [],
        "verdict": audit_verdict(run, findings) if completed else None,
        "findings": findings,
        "open_findings": [f for f in findings if f.status == AuditFinding.Status.OPEN],
        "charts": report_charts(run) if completed else [],
        "sections": report_sections(run) if completed else [],
        "policy": run.policy,
        "metric_labels": {m.value: m.label for m in Metric},
    }
