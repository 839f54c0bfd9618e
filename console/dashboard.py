"""The owner's trust dashboard and the survey pages: KPI figures as words, charts and
links to where the owner acts on each. Builds on `console.kpis` (the numbers)."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from console.kpis import TrustKpis, owner_kpis
from core.charts import Bar, Series, bar_chart, line_chart, nice_max
from governance import selectors
from governance.trustmath import count_mentions


def pct(value: float | None) -> str:
    if value is None:
        return _("no data")
    # number_format cuts decimals off; round first so 27.27 shows as 27.3.
    return _("%(n)s%%") % {"n": number_format(round(value * 100, 1), 1)}


def hours(value: float | None) -> str:
    if value is None:
        return _("no data")
    return _("%(n)s h") % {"n": number_format(round(value, 1), 1)}


def _pct_axis(value: float) -> str:
    percent = round(value * 100, 1)
    # Small axes (a 0.5 % maximum) need the decimal; round ones do not.
    return _("%(n)s%%") % {"n": number_format(percent, 0 if percent == int(percent) else 1)}


def _count(value: float) -> str:
    return number_format(round(value), 0, force_grouping=True)


def _customers(n: int) -> str:
    return ngettext("%(n)s customer", "%(n)s customers", n) % {"n": _count(n)}


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    link: str
    action: str
    detail: str = ""
    alert: bool = False


@dataclass(frozen=True)
class Chart:
    """One chart drawn twice: `wide` for a desktop card and `small` for a phone (its
    text stays at least 11 px there), one shown by CSS (owner.css). The legend is
    HTML under the chart, so long names wrap instead of being cut."""

    wide: str
    small: str
    legend: tuple[tuple[int, str], ...] = ()


# A phone's card is about 310 px wide: the small chart is drawn for that width.
SMALL_WIDTH = 310


def _lines(
    x_labels: list[str], small_labels: list[str] | None, series: list[Series], **options
) -> Chart:
    def draw(labels: list[str], **size) -> str:
        # core.charts escapes every text.
        return mark_safe(line_chart(labels, series, legend=False, **options, **size))  # noqa: S308

    return Chart(
        wide=draw(x_labels),
        # Short month names ("Jul") so the phone's axis labels do not run together.
        small=draw(small_labels or x_labels, width=SMALL_WIDTH, height=220),
        legend=tuple((k % 6, line.name) for k, line in enumerate(series)),
    )


def _bars(bars: list[Bar], **options) -> Chart:
    def draw(**size) -> str:
        return mark_safe(bar_chart(bars, **options, **size))  # noqa: S308

    return Chart(wide=draw(), small=draw(width=SMALL_WIDTH, label_width=80))


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    figures: list[Figure]
    chart: Chart | None = None
    table: tuple[tuple[str, ...], list[tuple[str, ...]]] | None = None


def _month_labels(kpis: TrustKpis) -> list[str]:
    return [date_format(month, "YEAR_MONTH_FORMAT") for month in kpis.months]


def _short_months(kpis: TrustKpis) -> list[str]:
    return [date_format(month, "M") for month in kpis.months]


def dashboard_context() -> dict[str, object]:
    kpis = owner_kpis()
    months = _month_labels(kpis)
    review_url = reverse("staff:review_queue")
    notice_url = reverse("owner:notice_list")
    panels = [
        _status_panel(kpis),
        _consent_panel(kpis, months, notice_url),
        _modes_panel(kpis, months, notice_url),
        _complaints_panel(kpis, months, review_url),
        _flagged_panel(kpis, months, review_url),
        _review_panel(kpis, months, review_url),
        _requests_panel(kpis, months),
        _audit_panel(kpis),
        _survey_panel(kpis),
    ]
    return {"kpis": kpis, "panels": panels}


def _status_panel(kpis: TrustKpis) -> Panel:
    switch = kpis.kill_switch
    policy = kpis.policy
    return Panel(
        "status",
        _("Controls"),
        [
            Figure(
                _("AI personalization"),
                _("Paused") if switch.engaged else _("Running"),
                reverse("owner:kill_switch"),
                _("Kill switch"),
                detail=switch.reason if switch.engaged else "",
                alert=switch.engaged,
            ),
            Figure(
                _("Features without an approved risk assessment"),
                _count(kpis.features_without_approval),
                reverse("owner:features"),
                _("Features and risk"),
                alert=bool(kpis.features_without_approval),
            ),
            Figure(
                _("Vendor reviews overdue"),
                _count(len(kpis.vendors_overdue)),
                reverse("owner:vendors"),
                _("Vendor register"),
                detail=", ".join(vendor.name for vendor in kpis.vendors_overdue),
                alert=bool(kpis.vendors_overdue),
            ),
            Figure(
                _("Staff who have not read the AI policy"),
                _count(kpis.policy_missing) if policy else _("no policy yet"),
                reverse("owner:ai_policy"),
                _("AI policy"),
                detail=(
                    _("Version %(version)d is current.") % {"version": policy.version}
                    if policy
                    else _("Publish one so staff know the rules.")
                ),
                alert=policy is None or bool(kpis.policy_missing),
            ),
        ],
    )


def _consent_panel(kpis: TrustKpis, months: list[str], link: str) -> Panel:
    chart = _lines(
        months,
        _short_months(kpis),
        [Series(row.name, row.history) for row in kpis.consent],
        title=_("Consent rates per purpose"),
        description=_("Share of customers who allowed each purpose, at each month's end."),
        fmt=_pct_axis,
        max_value=1.0,
    )
    return Panel(
        "consent",
        _("Consent"),
        [
            Figure(
                row.name,
                pct(row.rate),
                link,
                _("Privacy notice"),
                detail=ngettext(
                    "%(n)s of %(total)s customer", "%(n)s of %(total)s customers", kpis.customers
                )
                % {"n": _count(row.customers), "total": _count(kpis.customers)},
            )
            for row in kpis.consent
        ],
        chart=chart,
        table=(
            (_("Month"), *[row.name for row in kpis.consent]),
            [
                (month, *[pct(row.history[i]) for row in kpis.consent])
                for i, month in enumerate(months)
            ],
        ),
    )


def _modes_panel(kpis: TrustKpis, months: list[str], link: str) -> Panel:
    withdrew = kpis.withdrawals.share("withdrew")
    labels = {mode.mode: str(mode.label) for mode in kpis.modes}
    chart = _lines(
        months,
        _short_months(kpis),
        [
            *[Series(labels[mode], kpis.mode_history[mode]) for mode in ("paused", "off", "none")],
            Series(_("Withdrew a consent"), withdrew),
        ],
        title=_("Pause, off and opt-out over time"),
        description=_(
            "Share of customers who paused personalization, switched it off, chose none, "
            "or withdrew a consent, per month."
        ),
        fmt=_pct_axis,
    )
    return Panel(
        "modes",
        _("Pause, off and opt-out"),
        [
            *[
                Figure(
                    str(mode.label),
                    pct(mode.rate),
                    link,
                    _("Privacy notice"),
                    detail=_customers(mode.customers),
                )
                for mode in kpis.modes
                if mode.mode != "on"
            ],
            Figure(
                _("Withdrew a consent this month"),
                pct(withdrew[-1]),
                link,
                _("Privacy notice"),
                detail=_customers(kpis.withdrawals.parts["withdrew"][-1]),
            ),
        ],
        chart=chart,
        table=(
            (
                _("Month"),
                *[labels[mode] for mode in ("paused", "off", "none")],
                _("Withdrew a consent"),
            ),
            [
                (
                    month,
                    *[pct(kpis.mode_history[mode][i]) for mode in ("paused", "off", "none")],
                    pct(withdrew[i]),
                )
                for i, month in enumerate(months)
            ],
        ),
    )


def _complaints_panel(kpis: TrustKpis, months: list[str], link: str) -> Panel:
    share = kpis.complaints.share("feedback")
    chart = _lines(
        months,
        _short_months(kpis),
        [Series(_("Complaints per suggestion shown"), share)],
        title=_("Complaint rate on recommendations"),
        description=_("Feedback such as 'not for me' per suggestion shown, by month."),
        fmt=_pct_axis,
    )
    return Panel(
        "complaints",
        _("Complaints"),
        [
            Figure(
                _("Complaint rate this month"),
                pct(share[-1]),
                link,
                _("Review queue"),
                detail=ngettext(
                    "%(n)s complaint on %(total)s suggestions shown",
                    "%(n)s complaints on %(total)s suggestions shown",
                    kpis.complaints.parts["feedback"][-1],
                )
                % {
                    "n": _count(kpis.complaints.parts["feedback"][-1]),
                    "total": _count(kpis.complaints.whole[-1]),
                },
            )
        ],
        chart=chart,
    )


def _flagged_panel(kpis: TrustKpis, months: list[str], link: str) -> Panel:
    flagged, rejected = kpis.flagged.share("flagged"), kpis.flagged.share("rejected")
    chart = _lines(
        months,
        _short_months(kpis),
        [Series(_("Flagged for review"), flagged), Series(_("Rejected"), rejected)],
        title=_("Share of suggestions flagged and rejected"),
        description=_(
            "Of the suggestions made each month, the share held for review and rejected."
        ),
        fmt=_pct_axis,
    )
    return Panel(
        "flagged",
        _("Flagged and rejected"),
        [
            Figure(_("Flagged this month"), pct(flagged[-1]), link, _("Review queue")),
            Figure(_("Rejected this month"), pct(rejected[-1]), link, _("Review queue")),
        ],
        chart=chart,
    )


def _review_panel(kpis: TrustKpis, months: list[str], link: str) -> Panel:
    sla = kpis.review
    figures = [
        Figure(
            _("Median time to a decision"),
            hours(sla.median_hours),
            link,
            _("Review queue"),
            detail=ngettext(
                "last 30 days, %(n)s decision", "last 30 days, %(n)s decisions", sla.decided
            )
            % {"n": _count(sla.decided)},
        ),
        Figure(_("90th percentile"), hours(sla.p90_hours), link, _("Review queue")),
        Figure(
            _("Waiting past the target"),
            _count(sla.overdue),
            link,
            _("Review queue"),
            detail=_("%(open)s waiting; target %(hours)s")
            % {"open": _count(sla.open), "hours": hours(sla.sla_hours)},
            alert=bool(sla.overdue),
        ),
    ]
    chart = _lines(
        months,
        _short_months(kpis),
        [
            Series(_("Median"), kpis.review_history["median"]),
            Series(_("90th percentile"), kpis.review_history["p90"]),
        ],
        title=_("Time to a review decision"),
        description=_("Hours from flag to decision, per month."),
        fmt=lambda v: hours(v),
        rule=sla.sla_hours,
        rule_label=_("target"),
    )
    return Panel("review", _("Review speed"), figures, chart=chart)


def _requests_panel(kpis: TrustKpis, months: list[str]) -> Panel:
    requests = kpis.data_requests
    link = reverse("staff:data_requests")
    # Whole numbers on the axis: at least 0-4, in steps of one while that small.
    top = max(requests.filed, default=0)
    chart = _bars(
        [Bar(month, count) for month, count in zip(months, requests.filed, strict=True)],
        title=_("Data requests filed"),
        description=_("Export, erasure and objection requests per month."),
        fmt=_count,
        max_value=4 if top <= 4 else nice_max(top),
    )
    if requests.nearest_days_left is None:
        nearest = _("none open")
    else:
        nearest = _count(requests.nearest_days_left)
    return Panel(
        "requests",
        _("Data requests"),
        [
            Figure(_("Open"), _count(requests.open), link, _("Data requests")),
            Figure(
                _("Overdue"),
                _count(requests.overdue),
                link,
                _("Data requests"),
                alert=bool(requests.overdue),
            ),
            Figure(_("Fewest days left"), nearest, link, _("Data requests")),
        ],
        chart=chart,
    )


def _audit_panel(kpis: TrustKpis) -> Panel:
    link = reverse("owner:audit_list")
    summary = kpis.audit
    if summary is None:
        return Panel(
            "audit",
            _("Fairness audit"),
            [Figure(_("Latest audit"), _("none finished yet"), link, _("Audits"))],
        )
    return Panel(
        "audit",
        _("Fairness audit"),
        [
            Figure(
                _("Latest audit"),
                date_format(timezone.localtime(summary.finished_at), "DATE_FORMAT"),
                summary.url or link,
                _("Audit report"),
                detail=" ".join(summary.sentences[:2]),
            ),
            Figure(
                _("Open findings"),
                _count(summary.open_findings),
                summary.url or link,
                _("Audit report"),
                detail=ngettext("%(n)s finding in all", "%(n)s findings in all", summary.findings)
                % {"n": _count(summary.findings)},
                alert=bool(summary.open_findings),
            ),
        ],
    )


def _survey_panel(kpis: TrustKpis) -> Panel:
    link = reverse("owner:trust_survey")
    survey = kpis.survey
    latest = survey[-1] if survey else None
    chart: Chart | None = None
    if survey:
        chart = _lines(
            [_quarter(row.period) for row in survey],
            None,
            [Series(_("Average trust (1-5)"), [row.average for row in survey])],
            title=_("Trust in our recommendations"),
            description=_("Average answer per quarter, from 1 (not at all) to 5 (completely)."),
            fmt=lambda v: number_format(round(v, 1), 1),
            max_value=5.0,
        )
    mentions = kpis.mentions
    return Panel(
        "survey",
        _("Trust survey"),
        [
            Figure(
                _("Average trust this quarter"),
                number_format(round(latest.average, 1), 1)
                if latest and latest.average
                else _("no data"),
                link,
                _("Survey answers"),
                detail=(
                    ngettext("%(n)s answer", "%(n)s answers", latest.answers)
                    % {"n": _count(latest.answers)}
                    if latest
                    else ""
                ),
            ),
            Figure(
                _("Mentions of trust, fairness, transparency"),
                " · ".join(
                    _count(mentions[theme]) for theme in ("trust", "fairness", "transparency")
                ),
                link,
                _("Survey answers"),
                detail=ngettext(
                    "in %(n)s comment or note", "in %(n)s comments and notes", kpis.mention_texts
                )
                % {"n": _count(kpis.mention_texts)},
            ),
        ],
        chart=chart,
    )


def _quarter(period) -> str:
    return _("Q%(q)d %(year)d") % {"q": (period.month - 1) // 3 + 1, "year": period.year}


def survey_context() -> dict[str, object]:
    results = selectors.trust_survey_results()
    comments = selectors.trust_survey_comments()
    rows = []
    for row in results:
        rows.append(
            {
                "quarter": _quarter(row.period),
                "answers": row.answers,
                "average": row.average,
                "distribution": row.distribution,
                "chart": mark_safe(  # noqa: S308
                    bar_chart(
                        [Bar(str(score), count) for score, count in enumerate(row.distribution, 1)],
                        title=_("Answers in %(quarter)s") % {"quarter": _quarter(row.period)},
                        description=_("How many customers chose each score from 1 to 5."),
                        fmt=_count,
                        label_width=40,
                    )
                ),
            }
        )
    return {
        "results": rows[::-1],
        "comments": comments,
        "mentions": count_mentions(comments),
    }
