"""Forms of the governance pages: thin parsing; the services check and save."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from governance.models import RiskAssessment, Vendor
from governance.services import COMMENT_MAX


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Say why, for the log.")},
    )


class KillSwitchForm(ReasonForm):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown on the public transparency page while personalization is paused."),
        error_messages={"required": _("Say why, for the log.")},
    )


class PolicyForm(forms.Form):
    title = forms.CharField(
        label=_("Title"), max_length=200, error_messages={"required": _("Give the policy a title.")}
    )
    body = forms.CharField(
        label=_("Policy"),
        widget=forms.Textarea(attrs={"rows": 16}),
        help_text=_(
            'Plain text. A line starting with "## " is a heading, lines starting with "- " '
            "form a list. Published versions never change: to change the policy, publish a "
            "new version."
        ),
        error_messages={"required": _("Write the policy.")},
    )


class FeatureForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=50,
        help_text=_("Lower-case letters, digits and underscores, e.g. model_matrix_factorization."),
    )
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(
        label=_("What it does"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    data_categories = forms.MultipleChoiceField(
        label=_("Data categories it uses"), required=False, widget=forms.CheckboxSelectMultiple
    )
    model_type = forms.CharField(label=_("Model type"), max_length=50, required=False)

    def __init__(self, *args, category_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["data_categories"].choices = category_choices


class ScopeForm(forms.Form):
    data_categories = forms.MultipleChoiceField(
        label=_("Data categories it uses"), required=False, widget=forms.CheckboxSelectMultiple
    )
    model_type = forms.CharField(label=_("Model type"), max_length=50, required=False)
    reason = forms.CharField(
        label=_("What changed and why"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Say why, for the log.")},
    )

    def __init__(self, *args, category_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["data_categories"].choices = category_choices


class AssessmentForm(forms.ModelForm):
    class Meta:
        model = RiskAssessment
        fields = [
            "data_categories",
            "model_type",
            "people_affected",
            "harm_bias",
            "harm_manipulation",
            "harm_filter_bubble",
            "harm_privacy",
            "mitigations",
        ]
        widgets = {
            name: forms.Textarea(attrs={"rows": 3})
            for name in (
                "people_affected",
                "harm_bias",
                "harm_manipulation",
                "harm_filter_bubble",
                "harm_privacy",
                "mitigations",
            )
        }

    data_categories = forms.MultipleChoiceField(
        label=_("Data categories used"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, category_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["data_categories"].choices = category_choices


class SignOffForm(forms.Form):
    note = forms.CharField(
        label=_("Reviewer's note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class VendorForm(forms.ModelForm):
    class Meta:
        model = Vendor
        fields = [
            "name",
            "service",
            "receives",
            "dpa_status",
            "bias_answers",
            "privacy_answers",
            "last_reviewed",
            "next_review",
        ]
        widgets = {
            "receives": forms.Textarea(attrs={"rows": 2}),
            "bias_answers": forms.Textarea(attrs={"rows": 3}),
            "privacy_answers": forms.Textarea(attrs={"rows": 3}),
            # A date picker takes ISO dates whatever the page's language (en-gb would
            # write 01/12/2026 and the picker would show nothing).
            "last_reviewed": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "next_review": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def validate_unique(self):
        # The service checks the name (case-insensitively) and says so next to the field.
        pass


class TrustSurveyForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("How much do you trust our recommendations?"),
        coerce=int,
        choices=[
            (1, _("1 – not at all")),
            (2, "2"),
            (3, "3"),
            (4, "4"),
            (5, _("5 – completely")),
        ],
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose a number from 1 to 5."),
            "invalid_choice": _("Choose a number from 1 to 5."),
        },
    )
    comment = forms.CharField(
        label=_("Anything you want to tell us? (optional)"),
        required=False,
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
