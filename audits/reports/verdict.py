"""The first thing an owner reads on an audit report: one plain verdict, then what to do.

"No group is treated differently; 2 groups are too small to check." A group here is one
declared value of one attribute (age band 55+, gender woman): combinations of two or
three attributes stay in the details, where dozens of them are too small by nature.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from audits import wording
from audits.models import AuditFinding, AuditRun


@dataclass(frozen=True)
class Verdict:
    # One sentence, e.g. "1 group is treated differently (age band 55+); 2 groups are
    # too small to check."
    headline: str
    # "ok" (nothing found), "attention" (open findings), "done" (all acted on), "empty".
    tone: str
    # What to do next, in order.
    next_steps: list[str] = field(default_factory=list)
    groups_checked: int = 0
    groups_too_small: list[str] = field(default_factory=list)
    groups_treated_differently: list[str] = field(default_factory=list)


def _words(attributes, group) -> str:
    # Stored as a list of values in attribute order (a mapping in some older rows).
    values = list(group.values()) if isinstance(group, dict) else list(group)
    return wording.group_words(list(attributes), values)


def _single_groups(run: AuditRun) -> tuple[list[str], list[str]]:
    """Groups of one attribute that were measured, and those too small to check (no
    measure had enough customers, or every figure was hidden to protect a smaller one)."""
    measured: dict[tuple[str, str], bool] = {}
    names: dict[tuple[str, str], str] = {}
    rows = run.results.filter(order=1).values_list(
        "attributes", "group", "attributes_key", "group_key", "suppressed"
    )
    for attributes, group, attributes_key, group_key, suppressed in rows:
        key = (attributes_key, group_key)
        names[key] = _words(attributes, group)
        measured[key] = measured.get(key, False) or not suppressed
    ordered = sorted(names, key=lambda key: names[key])
    return (
        [names[key] for key in ordered if measured[key]],
        [names[key] for key in ordered if not measured[key]],
    )


def _join(names: list[str]) -> str:
    # Semicolons: a combined group already reads "age band 55+ and gender woman".
    return "; ".join(names)


def audit_verdict(run: AuditRun, findings: list[AuditFinding] | None = None) -> Verdict | None:
    """The verdict of a completed run (None before it completes)."""
    if run.status != AuditRun.Status.COMPLETED:
        return None
    if findings is None:
        findings = list(run.findings.order_by("kind", "pk"))
    checked, too_small = _single_groups(run)
    if not checked and not too_small:
        return Verdict(
            headline=_(
                "Nothing could be checked: no customer with recommendations has declared "
                "details for fairness checks and allowed their use."
            ),
            tone="empty",
            next_steps=[
                _(
                    "Customers can declare details such as their age band on their privacy "
                    "page, or the shop's import can bring those they gave the shop with "
                    "their consent. The next audit then checks them."
                )
            ],
        )
    breaches = [f for f in findings if f.kind == AuditFinding.Kind.BREACH]
    drifts = [f for f in findings if f.kind == AuditFinding.Kind.DRIFT]
    different = sorted({_words(f.attributes, f.group) for f in breaches}, key=lambda n: (len(n), n))
    small_part = (
        ngettext(
            "%(n)s group is too small to check",
            "%(n)s groups are too small to check",
            len(too_small),
        )
        % {"n": intcomma(len(too_small))}
        if too_small
        else ""
    )
    if different:
        head = ngettext(
            "%(n)s group is treated differently (%(groups)s)",
            "%(n)s groups are treated differently (%(groups)s)",
            len(different),
        ) % {"n": intcomma(len(different)), "groups": _join(different)}
    else:
        head = ngettext(
            "No group is treated differently (%(n)s checked)",
            "No group is treated differently (%(n)s checked)",
            len(checked),
        ) % {"n": intcomma(len(checked))}
    headline = (
        _("%(head)s; %(small)s.") % {"head": head, "small": small_part}
        if small_part
        else _("%(head)s.") % {"head": head}
    )
    steps: list[str] = []
    open_ = [f for f in findings if f.status == AuditFinding.Status.OPEN]
    acknowledged = [f for f in findings if f.status == AuditFinding.Status.ACKNOWLEDGED]
    if open_:
        steps.append(
            ngettext(
                "Read the finding below and acknowledge it, saying what you make of it and "
                "what you will do (for example, check which items this group is shown and "
                "why). Resolve it once it is dealt with.",
                "Read the %(n)s findings below and acknowledge each, saying what you make "
                "of it and what you will do (for example, check which items the group is "
                "shown and why). Resolve each once it is dealt with.",
                len(open_),
            )
            % {"n": intcomma(len(open_))}
        )
    if acknowledged:
        steps.append(
            ngettext(
                "%(n)s finding is acknowledged but not resolved yet: resolve it once it is "
                "dealt with; the next audit shows whether the gap closed.",
                "%(n)s findings are acknowledged but not resolved yet: resolve each once it "
                "is dealt with; the next audit shows whether the gap closed.",
                len(acknowledged),
            )
            % {"n": intcomma(len(acknowledged))}
        )
    if drifts and not open_:
        steps.append(
            ngettext(
                "%(n)s figure moved a lot since an earlier audit: see the details below.",
                "%(n)s figures moved a lot since an earlier audit: see the details below.",
                len(drifts),
            )
            % {"n": intcomma(len(drifts))}
        )
    if too_small:
        steps.append(
            _(
                "%(groups)s: too few customers declared this to check it (the minimum is "
                "%(min)s, set in your audit policy). More customers declaring it, always "
                "voluntarily, makes it checkable."
            )
            % {
                "groups": _join(too_small),
                "min": intcomma(run.policy.get("min_group_size", "")),
            }
        )
    if not steps:
        steps.append(_("Nothing to do now: the next audit runs on its schedule."))
    if open_:
        tone = "attention"
    elif findings:
        tone = "done"
    else:
        tone = "ok"
    return Verdict(
        headline=headline,
        tone=tone,
        next_steps=steps,
        groups_checked=len(checked),
        groups_too_small=too_small,
        groups_treated_differently=different,
    )


def public_summary(run: AuditRun, findings: list[AuditFinding]) -> list[str]:
    """For /transparency/: the verdict and what the owner did about it, no figures."""
    verdict = audit_verdict(run, findings)
    if verdict is None:
        return []
    sentences = [verdict.headline]
    breaches = [f for f in findings if f.kind == AuditFinding.Kind.BREACH]
    if breaches:
        handled = sum(1 for f in breaches if f.status != AuditFinding.Status.OPEN)
        resolved = sum(1 for f in breaches if f.status == AuditFinding.Status.RESOLVED)
        sentences.append(
            ngettext(
                "The shop's owner has looked at %(handled)s of %(n)s finding and resolved "
                "%(resolved)s.",
                "The shop's owner has looked at %(handled)s of %(n)s findings and resolved "
                "%(resolved)s.",
                len(breaches),
            )
            % {
                "handled": intcomma(handled),
                "n": intcomma(len(breaches)),
                "resolved": intcomma(resolved),
            }
        )
    return sentences
