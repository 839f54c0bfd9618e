"""Plain-language sentences for audit figures and findings (translated, localized)."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from audits.models import Metric

RATE_METRICS = {
    Metric.EXPOSURE,
    Metric.TRUE_POSITIVE_RATE,
    Metric.HIT_RATE,
    Metric.FLAGGED,
    Metric.REJECTED,
    Metric.COMPLAINED,
    Metric.OPT_OUT,
}


def metric_label(metric: str) -> str:
    try:
        return str(Metric(metric).label)
    except ValueError:
        return metric


def is_rate(metric: str) -> bool:
    return metric in RATE_METRICS


def attribute_label(name: str) -> str:
    return name.replace("_", " ")


def group_words(attributes: Sequence[str], group: Sequence[str]) -> str:
    """'age band 55+' or 'age band 55+ and gender woman'."""
    parts = [f"{attribute_label(a)} {g}" for a, g in zip(attributes, group, strict=False)]
    if len(parts) <= 1:
        return "".join(parts)
    return _("%(first)s and %(last)s") % {"first": ", ".join(parts[:-1]), "last": parts[-1]}


def figure(metric: str, value: float | None) -> str:
    """A figure as people read it: rates as percentages, means with two decimals."""
    if value is None:
        return _("too few to measure")
    if is_rate(metric):
        return number_format(value * 100, 1) + "%"
    return number_format(value, 2)


def percent(share: float) -> str:
    return number_format(abs(share) * 100, 0) + "%"


# What a disadvantaged group experienced, per measure ("%(who)s" starts the sentence).
_LESS = {
    Metric.EXPOSURE: gettext_noop("%(who)s were shown %(segment)s %(pct)s less often than %(ref)s"),
    Metric.RANK_EXPOSURE: gettext_noop(
        "%(who)s got %(pct)s less rank-weighted exposure to %(segment)s than %(ref)s"
    ),
    Metric.TRUE_POSITIVE_RATE: gettext_noop(
        "%(who)s who went on to buy %(segment)s had been recommended it %(pct)s less often "
        "than %(ref)s"
    ),
    Metric.NDCG: gettext_noop(
        "%(who)s got recommendations %(pct)s less useful (nDCG@10) than %(ref)s"
    ),
    Metric.HIT_RATE: gettext_noop(
        "%(who)s found a later purchase in their top 10 %(pct)s less often than %(ref)s"
    ),
}
_MORE = {
    Metric.FLAGGED: gettext_noop(
        "%(who)s had recommendations flagged for review %(pct)s more often than %(ref)s"
    ),
    Metric.REJECTED: gettext_noop(
        "%(who)s had recommendations rejected by staff %(pct)s more often than %(ref)s"
    ),
    Metric.COMPLAINED: gettext_noop(
        "%(who)s complained about recommendations %(pct)s more often than %(ref)s"
    ),
    Metric.OPT_OUT: gettext_noop(
        "%(who)s switched personalization off %(pct)s more often than %(ref)s"
    ),
}


def _translated(template: str) -> str:
    # Marked with gettext_noop above (for makemessages); translated at use time.
    return _(template)


def breach_sentence(
    *,
    metric: str,
    attributes: Sequence[str],
    group: Sequence[str],
    segment: str,
    reference: Sequence[str],
    reference_is_largest: bool,
    value: float,
    reference_value: float,
    ratio: float | None,
    fails_four_fifths_rule: bool,
    difference_threshold: float,
    ratio_threshold: float = 0.8,
) -> str:
    """E.g. "Customers with age band 55+ were shown Breads 31% less often than the
    largest group (age band 25-34): 27.6% against 40.0%, below your threshold of 95% of
    the reference group's value."

    The verdict names the owner's own thresholds (the audit policy's `ratio_threshold`
    and `difference_threshold` when the run started), never a fixed "80% rule":
    `fails_four_fifths_rule` is kept for the tables and exports."""
    who = _("Customers with %(group)s") % {"group": group_words(attributes, group)}
    ref_group = group_words(attributes, reference)
    ref = (
        _("the largest group (%(group)s)")
        if reference_is_largest
        else _("the reference group (%(group)s)")
    ) % {"group": ref_group}
    if ratio is not None and reference_value:
        share = (1 - ratio) if metric not in _MORE else (ratio - 1)
        how = percent(share)
    else:
        how = _("%(points)s percentage points") % {
            "points": number_format(abs(value - reference_value) * 100, 1)
        }
    known = Metric(metric) if metric in Metric.values else None
    template = (
        _MORE.get(known) or _LESS.get(known) if known is not None else None
    ) or "%(who)s: %(pct)s apart from %(ref)s"
    sentence = _translated(template) % {
        "who": who,
        "segment": segment or _("recommendations"),
        "pct": how,
        "ref": ref,
    }
    figures = _("%(value)s against %(reference)s") % {
        "value": figure(metric, value),
        "reference": figure(metric, reference_value),
    }
    verdict = threshold_words(
        metric=metric,
        ratio=ratio,
        ratio_threshold=ratio_threshold,
        difference_threshold=difference_threshold,
    )
    return f"{sentence}: {figures}, {verdict}."


def crosses_ratio_threshold(*, metric: str, ratio: float | None, ratio_threshold: float) -> bool:
    """Below `ratio_threshold` times the reference (above 1 / it where lower is better)."""
    if ratio is None or not ratio_threshold:
        return False
    if metric in _MORE:
        return ratio > 1 / ratio_threshold
    return ratio < ratio_threshold


def threshold_words(
    *, metric: str, ratio: float | None, ratio_threshold: float, difference_threshold: float
) -> str:
    """Which of the owner's thresholds a figure is past, in words."""
    if crosses_ratio_threshold(metric=metric, ratio=ratio, ratio_threshold=ratio_threshold):
        if metric in _MORE:
            # Lower is better: the limit is the reference's value divided by the threshold.
            return _("above your limit of %(times)s times the reference group's value") % {
                "times": number_format(1 / ratio_threshold, 2)
            }
        return _("below your threshold of %(pct)s of the reference group's value") % {
            "pct": percent(ratio_threshold)
        }
    return _("more than your threshold of %(threshold)s apart") % {
        "threshold": _("%(points)s percentage points")
        % {"points": number_format(difference_threshold * 100, 1)}
        if is_rate(metric)
        else number_format(difference_threshold, 2)
    }


def drift_sentence(
    *,
    metric: str,
    attributes: Sequence[str],
    group: Sequence[str],
    segment: str,
    before: float,
    after: float,
    against_baseline: bool,
) -> str:
    """E.g. "Shown the category (Breads) for customers with age band 55+ moved from 40.0%
    to 22.0% since the previous run."."""
    what = metric_label(metric) + (f" ({segment})" if segment else "")
    since = _("since the baseline run") if against_baseline else _("since the previous run")
    return _(
        "%(what)s for customers with %(group)s moved from %(before)s to %(after)s %(since)s."
    ) % {
        "what": what,
        "group": group_words(attributes, group),
        "before": figure(metric, before),
        "after": figure(metric, after),
        "since": since,
    }
