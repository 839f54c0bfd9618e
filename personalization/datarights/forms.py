"""Forms of the data-request pages and the owner's retention page."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from personalization.datarights.services import RETENTION_DAYS_MAX, RETENTION_DAYS_MIN
from personalization.models import DataCategory, DataRequestKind, DataRequestStatus


class ErasureRequestForm(forms.Form):
    confirm = forms.BooleanField(
        label=_(
            "I understand that my login and everything the shop holds about me will be "
            "erased, and that this cannot be undone once it has started."
        ),
        error_messages={"required": _("Tick the box to confirm that you want your data erased.")},
    )


class NoteForm(forms.Form):
    # Both staff forms sit on one page: prefixes keep their field ids apart.
    prefix = "note"
    note = forms.CharField(
        label=_("Note"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Write a note.")},
    )


class HandledForm(forms.Form):
    prefix = "handled"
    note = forms.CharField(
        label=_("What was done"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Recorded in the request's log; the customer is told it is complete."),
        error_messages={"required": _("Say what was done.")},
    )


class StaffFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All open"))] + list(DataRequestStatus.choices),
    )
    kind = forms.ChoiceField(
        label=_("Request"),
        required=False,
        choices=[("", _("All kinds"))] + list(DataRequestKind.choices),
    )


class RetentionForm(forms.Form):
    """One number of days per data category."""

    def __init__(self, *args, categories: list[DataCategory], **kwargs):
        super().__init__(*args, **kwargs)
        self.categories = categories
        for category in categories:
            self.fields[category.code] = forms.IntegerField(
                label=category.name,
                min_value=RETENTION_DAYS_MIN,
                max_value=RETENTION_DAYS_MAX,
                initial=category.retention_days,
                help_text=category.description,
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
                error_messages={
                    "required": _("Enter a number of days."),
                    "invalid": _("Enter a whole number of days."),
                    "min_value": _("Keep data at least %(limit_value)s day."),
                    "max_value": _("Keep data at most %(limit_value)s days (ten years)."),
                },
            )
