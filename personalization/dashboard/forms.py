"""Forms of the customer's preferences page: they parse input; services decide."""

from __future__ import annotations

from datetime import date, timedelta
from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import PersonalizationMode
from core.errors import ApplicationError
from personalization.dashboard import wording
from personalization.dashboard.services import NOTES_MAX_LENGTH


class ApplicationErrorsMixin:
    """Shows a service's `ApplicationError` next to the field it names."""

    def add_application_error(self, error: ApplicationError) -> None:
        field = error.field if error.field in self.fields else None  # type: ignore[attr-defined]
        self.add_error(field, error.message)  # type: ignore[attr-defined]


class ModeForm(ApplicationErrorsMixin, forms.Form):
    mode = forms.ChoiceField(
        label=_("Personalization"),
        choices=[(mode.value, wording.MODE_LABELS[mode]) for mode in PersonalizationMode],
        widget=forms.RadioSelect,
    )
    paused_until = forms.DateField(
        label=_("Paused until"),
        required=False,
        help_text=_(
            "Only for a pause: the last day without personal suggestions. "
            "Personalization switches back on by itself the day after."
        ),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        # The browser's date picker offers only future days; the service checks again.
        self.fields["paused_until"].widget.attrs["min"] = (today + timedelta(days=1)).isoformat()

    def options(self):
        """Each radio button with the sentence that explains it."""
        for radio in self["mode"]:
            yield radio, wording.MODE_DESCRIPTIONS[PersonalizationMode(radio.data["value"])]


class PreferencesForm(ApplicationErrorsMixin, forms.Form):
    liked_categories = forms.MultipleChoiceField(
        label=_("Categories I like"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Suggestions lean towards these."),
    )
    restrictions = forms.MultipleChoiceField(
        label=_("Never recommend anything containing"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "An item with any of these is never suggested to you. While you have one "
            "ticked, items whose allergens the shop has not declared are not suggested "
            "either."
        ),
    )
    notes_for_staff = forms.CharField(
        label=_("Notes for our staff"),
        required=False,
        max_length=NOTES_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Read only by our staff, for example when they check suggestions for you."),
    )

    def __init__(
        self,
        *args,
        category_choices: list[tuple[str, str]],
        restriction_choices: list[tuple[str, str]],
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["liked_categories"]).choices = category_choices
        cast(forms.ChoiceField, self.fields["restrictions"]).choices = restriction_choices
