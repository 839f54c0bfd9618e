"""Forms for the consent page, the notice confirmation and the owner's notice editor.

Forms only parse input; the services decide. None of them accepts a customer id: the
customer is always the signed-in person.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.errors import ApplicationError
from personalization.consent.selectors import ConsentRow
from personalization.models import PrivacyNotice

_FORMAT_HELP = _(
    "Plain text. Start a line with “## ” for a heading and with “- ” for a list item; "
    "leave an empty line between paragraphs."
)


class ApplicationErrorMixin:
    def add_application_error(self, error: ApplicationError) -> None:
        field = error.field if error.field in self.fields else None  # type: ignore[attr-defined]
        self.add_error(field, error.message)  # type: ignore[attr-defined]


class ConsentForm(forms.Form):
    """One checkbox per cell that exists, plus the notice version the page showed."""

    notice_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, rows: list[ConsentRow], **kwargs):
        super().__init__(*args, **kwargs)
        self.cells = [cell for row in rows for cell in row.cells if cell.applies]
        self.categories = {
            cell.field_name: row.category for row in rows for cell in row.cells if cell.applies
        }
        for cell in self.cells:
            self.fields[cell.field_name] = forms.BooleanField(required=False)

    def choices(self) -> dict[tuple[str, str], bool]:
        """(purpose, data category) -> ticked, for every cell on the page."""
        return {
            (cell.purpose.code, self.categories[cell.field_name].code): bool(
                self.cleaned_data.get(cell.field_name)
            )
            for cell in self.cells
        }


class AcknowledgeForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class NoticeForm(ApplicationErrorMixin, forms.Form):
    title = forms.CharField(
        label=_("Title"),
        max_length=PrivacyNotice._meta.get_field("title").max_length,
    )
    ai_statement = forms.CharField(
        label=_("How we use AI"),
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=_FORMAT_HELP,
    )
    body = forms.CharField(
        label=_("Privacy notice"),
        widget=forms.Textarea(attrs={"rows": 24}),
        help_text=_FORMAT_HELP,
    )
