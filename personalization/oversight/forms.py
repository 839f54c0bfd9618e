"""Forms of the review queue and the owner's oversight pages."""

from __future__ import annotations

import re
from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from personalization.models import Channel, ReasonCode, ReviewActionKind, ReviewDecision
from personalization.oversight import rules, selectors, services, wording


class QueueFilterForm(forms.Form):
    view = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[
            (selectors.VIEW_WAITING, _("Everything waiting")),
            (selectors.VIEW_MINE, _("Claimed by me")),
            (selectors.VIEW_ESCALATED, _("Escalated to the owner")),
            (selectors.VIEW_SECOND, _("Waiting for a second person")),
        ],
    )
    rule = forms.ChoiceField(label=_("Rule"), required=False)
    age = forms.ChoiceField(
        label=_("Age"),
        required=False,
        choices=[
            (selectors.AGE_ANY, _("Any age")),
            (selectors.AGE_HOUR, _("Older than an hour")),
            (selectors.AGE_OVERDUE, _("Past the deadline")),
            (selectors.AGE_DAYS, _("Older than 3 days")),
        ],
    )
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("All channels")), *Channel.choices]
    )
    customer = forms.CharField(
        label=_("Customer"),
        required=False,
        max_length=100,
        help_text=_("The shop's customer id or the customer's number."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rule"].choices = [("", _("All rules"))] + [
            (code, wording.RULE_NAMES[code]) for code in rules.RULE_CODES
        ]

    def filters(self) -> selectors.QueueFilters:
        if not self.is_valid():
            return selectors.QueueFilters()
        data = self.cleaned_data
        return selectors.QueueFilters(
            rule=data["rule"] or "",
            age=data["age"] or "",
            channel=data["channel"] or "",
            customer=data["customer"] or "",
            view=data["view"] or "",
        )


class ClaimForm(forms.Form):
    count = forms.IntegerField(
        label=_("How many"),
        min_value=1,
        max_value=100,
        initial=10,
        error_messages={
            "min_value": _("Claim at least one item."),
            "max_value": _("Claim at most 100 items at once."),
            "invalid": _("Enter a whole number."),
            "required": _("Say how many items to claim."),
        },
    )


REASON_REQUIRED = {"required": _("Choose a reason for the decision.")}

# Headings of the reason list, one group per decision.
REASON_GROUPS = {
    ReviewDecision.APPROVE: _("Reasons to approve"),
    ReviewDecision.REJECT: _("Reasons to reject"),
    ReviewDecision.REPLACE: _("Reasons to replace"),
    ReviewDecision.CLOSE: _("Reasons to close"),
}


def reason_choices(decisions) -> list:
    """The reason list grouped by decision (review.js shows only the chosen decision's
    group; the service refuses a reason that does not fit)."""
    labels = dict(ReasonCode.choices)
    return [("", _("Choose a reason"))] + [
        (
            REASON_GROUPS[ReviewDecision(decision)],
            [(code, labels[code]) for code in services.REASONS_FOR[decision]],
        )
        for decision in decisions
        if decision in services.REASONS_FOR
    ]


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=ReviewDecision.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a decision.")},
    )
    reason_code = forms.ChoiceField(
        label=_("Reason"),
        choices=[("", _("Choose a reason"))] + list(ReasonCode.choices),
        error_messages=REASON_REQUIRED,
    )
    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    replacement_item = forms.IntegerField(
        label=_("Replacement item"),
        required=False,
        widget=forms.Select,
        help_text=_("Only for 'Replace': the item to offer instead; it is checked by the rules."),
    )
    # Set by review.js when the reviewer opened the explanation; required by the server
    # to approve a high-risk item.
    explanation_seen = forms.BooleanField(required=False, widget=forms.HiddenInput)
    policy_level = forms.BooleanField(
        label=_("Policy-level decision: a second person must confirm it"), required=False
    )

    def __init__(self, *args, decisions, replacement_choices, owner: bool, **kwargs):
        super().__init__(*args, **kwargs)
        decision = cast(forms.ChoiceField, self.fields["decision"])
        decision.choices = [
            (value, label) for value, label in ReviewDecision.choices if value in decisions
        ]
        cast(forms.ChoiceField, self.fields["reason_code"]).choices = reason_choices(
            [value for value, _label in decision.choices]
        )
        if ReviewDecision.REPLACE in decisions:
            self.fields["replacement_item"].widget = forms.Select(
                choices=[("", _("Choose an item")), *replacement_choices]
            )
        else:
            del self.fields["replacement_item"]
        if not owner:
            del self.fields["policy_level"]


class NoteOnlyForm(forms.Form):
    note = forms.CharField(
        label=_("Note"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class EscalateForm(forms.Form):
    prefix = "escalate"
    note = forms.CharField(
        label=_("What should the owner look at?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Say what the owner should look at.")},
    )


class BulkForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            (ReviewDecision.APPROVE, _("Approve all")),
            (ReviewDecision.REJECT, _("Reject all")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a decision.")},
    )
    reason_code = forms.ChoiceField(
        label=_("Reason"),
        choices=[("", _("Choose a reason"))] + list(ReasonCode.choices),
        error_messages=REASON_REQUIRED,
    )
    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["reason_code"]).choices = reason_choices(
            (ReviewDecision.APPROVE, ReviewDecision.REJECT)
        )


def _codes(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


class OversightSettingsForm(forms.Form):
    premium_multiple = forms.FloatField(
        label=_("Premium nudge: hold items priced above this many times the usual spend"),
        min_value=1.0,
        max_value=100.0,
    )
    min_evidence = forms.IntegerField(
        label=_(
            "Low confidence: hold a suggestion that rests on fewer of the customer's own "
            "purchases and visits than this (0: never)"
        ),
        min_value=0,
        max_value=1_000,
    )
    review_budget = forms.IntegerField(
        label=_("Review budget: about this many items a day"),
        min_value=1,
        max_value=1_000_000,
        help_text=_(
            "Beyond it, the lowest-risk flags go out unreviewed and a random sample of "
            "what went out is checked afterwards. Restriction conflicts and missing "
            "allergen data are always held."
        ),
    )
    spot_check_percent = forms.FloatField(
        label=_("Spot checks: % of unreviewed items sampled when over the budget"),
        min_value=0.0,
        max_value=100.0,
    )
    sensitive_attributes = forms.CharField(
        label=_("Sensitive attributes (codes, comma-separated), always reviewed"),
        required=False,
        max_length=1000,
        help_text=_("For example: alcohol, contains:nuts"),
    )
    sensitive_categories = forms.CharField(
        label=_("Sensitive categories (slugs, comma-separated), always reviewed"),
        required=False,
        max_length=1000,
    )
    new_model_sample = forms.IntegerField(
        label=_(
            "New-model sample: hold the first this many recommendations of a new model "
            "version (0: none)"
        ),
        min_value=0,
        max_value=100_000,
    )
    complaint_window_days = forms.IntegerField(
        label=_("Recent complaint: days a 'not for me' or 'I can't have this' counts"),
        min_value=1,
        max_value=3_650,
    )
    sla_hours = forms.FloatField(
        label=_("Decision deadline (hours)"), min_value=0.5, max_value=24 * 90
    )
    claim_minutes = forms.IntegerField(
        label=_("A claim lasts (minutes)"), min_value=1, max_value=24 * 60
    )

    def clean_sensitive_attributes(self) -> list[str]:
        return _checked_codes(self.cleaned_data["sensitive_attributes"])

    def clean_sensitive_categories(self) -> list[str]:
        return _checked_codes(self.cleaned_data["sensitive_categories"])


# Codes may name attributes or categories the catalog does not have yet (an owner can
# mark "alcohol" sensitive before the first wine is listed); they must look like codes.
_CODE = re.compile(r"^[a-z0-9][a-z0-9:_-]{0,63}$")


def _checked_codes(text: str) -> list[str]:
    codes = list(dict.fromkeys(c.lower() for c in _codes(text)))
    bad = [c for c in codes if not _CODE.match(c)]
    if bad:
        raise forms.ValidationError(
            _("Not a code: %(codes)s. Use lower-case letters, digits, ':', '_' or '-'.")
            % {"codes": ", ".join(bad)}
        )
    return codes


class TrailFilterForm(forms.Form):
    action = forms.ChoiceField(
        label=_("Action"),
        required=False,
        choices=[("", _("All actions")), *ReviewActionKind.choices],
    )
    actor = forms.EmailField(label=_("By (email)"), required=False)
    item = forms.IntegerField(label=_("Item number"), required=False, min_value=1)
    since = forms.DateField(
        label=_("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    until = forms.DateField(
        label=_("Until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def filters(self) -> selectors.TrailFilters:
        if not self.is_valid():
            return selectors.TrailFilters()
        data = self.cleaned_data
        return selectors.TrailFilters(
            action=data["action"] or "",
            actor=data["actor"] or "",
            item=data["item"],
            since=data["since"],
            until=data["until"],
        )
