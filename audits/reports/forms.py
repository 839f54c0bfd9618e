"""Forms of the audit pages: the policy (with its schedule) and a finding's handling."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from audits.models import AuditRun, Metric

FREQUENCIES = (
    ("weekly", _("Weekly")),
    ("daily", _("Daily")),
    ("off", _("Off (run by hand only)")),
)
WEEKDAYS = (
    ("1", _("Monday")),
    ("2", _("Tuesday")),
    ("3", _("Wednesday")),
    ("4", _("Thursday")),
    ("5", _("Friday")),
    ("6", _("Saturday")),
    ("0", _("Sunday")),
)


class AuditPolicyForm(forms.Form):
    attributes = forms.MultipleChoiceField(
        label=_("Attributes audited"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Only attributes customers declared with consent for fairness audits. None "
            "ticked: every declared attribute."
        ),
    )
    metrics = forms.MultipleChoiceField(
        label=_("Measures"), choices=Metric.choices, widget=forms.CheckboxSelectMultiple
    )
    ratio_threshold = forms.FloatField(
        label=_("Ratio threshold"),
        min_value=0.01,
        max_value=1.0,
        # xgettext:no-python-format
        help_text=_("0.8 is the 80% rule: a group below 80% of the reference group's rate."),
    )
    difference_threshold = forms.FloatField(
        label=_("Difference threshold"),
        min_value=0.0,
        max_value=1.0,
        help_text=_("0.1 is ten percentage points of a rate."),
    )
    min_group_size = forms.IntegerField(
        label=_("Minimum group size"),
        min_value=5,
        max_value=10_000,
        help_text=_("Smaller groups are reported as too few to measure, never with a value."),
    )
    drift_threshold = forms.FloatField(
        label=_("Drift threshold"),
        min_value=0.0,
        max_value=1.0,
        help_text=_("A figure that moved more than this between runs is a drift finding."),
    )
    baseline_run = forms.ModelChoiceField(
        label=_("Baseline run"),
        queryset=AuditRun.objects.none(),
        required=False,
        empty_label=_("None (compare with the previous run only)"),
    )
    notify_owners = forms.BooleanField(label=_("Email the owners about findings"), required=False)
    frequency = forms.ChoiceField(label=_("Run automatically"), choices=FREQUENCIES)
    weekday = forms.ChoiceField(label=_("On"), choices=WEEKDAYS, required=False)
    hour = forms.IntegerField(
        label=_("At hour (UTC)"), min_value=0, max_value=23, help_text=_("0 to 23.")
    )

    def __init__(self, *args, attributes: list[tuple[str, list[str]]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.declared = attributes
        self.fields["attributes"].choices = [  # type: ignore[attr-defined]
            (name, name.replace("_", " ")) for name, _values in attributes
        ]
        baseline = self.fields["baseline_run"]
        assert isinstance(baseline, forms.ModelChoiceField)  # noqa: S101 (declared above)
        baseline.queryset = AuditRun.objects.filter(status=AuditRun.Status.COMPLETED).order_by(
            "-pk"
        )
        baseline.label_from_instance = lambda run: (  # type: ignore[method-assign,assignment]
            _("Audit #%(id)s of %(date)s")
            % {"id": run.pk, "date": run.finished_at.date().isoformat() if run.finished_at else ""}
        )
        for name, values in attributes:
            self.fields[f"reference__{name}"] = forms.ChoiceField(
                label=_("Reference group for %(name)s") % {"name": name.replace("_", " ")},
                choices=[("", _("The largest group"))] + [(v, v) for v in values],
                required=False,
            )

    def reference_fields(self):
        return [self[f"reference__{name}"] for name, _values in self.declared]

    def reference_groups(self) -> dict[str, str]:
        return {
            name: self.cleaned_data.get(f"reference__{name}") or ""
            for name, _values in self.declared
            if self.cleaned_data.get(f"reference__{name}")
        }


class FindingActionForm(forms.Form):
    ACTIONS = (
        ("acknowledge", _("Acknowledge")),
        ("explain", _("Update explanation")),
        ("resolve", _("Resolve")),
        ("reopen", _("Reopen")),
    )
    action = forms.ChoiceField(choices=ACTIONS, widget=forms.HiddenInput)
    explanation = forms.CharField(
        label=_("Your explanation"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        required=False,
        help_text=_("What you make of it, and what you did or will do. Kept in the history."),
    )
