"""The owner's upload form: a profile and one or more .csv / .csv.gz files."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from personalization.importing import PROFILE_NAMES, PROFILES

FAIRSHARE_LABEL = _("Fairshare CSV files (catalog, customers, events)")
FAIRSHARE_DESCRIPTION = _(
    "The import_data contract: a catalog, a customers and an events file, each told by "
    "its columns (docs/data-formats.md)."
)


def import_profiles() -> list[tuple[str, str, str]]:
    """(name, label, description) of every profile, in the order offered."""
    rows = []
    for name in PROFILE_NAMES:
        profile = PROFILES.get(name)
        if profile is None:
            rows.append((name, str(FAIRSHARE_LABEL), str(FAIRSHARE_DESCRIPTION)))
        else:
            rows.append((name, str(profile.label), str(profile.description)))
    return rows


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files under one name (Django's documented pattern)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".csv,.gz"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else single(data, initial)


def _profile_choices() -> list[tuple[str, str]]:
    return [(name, label) for name, label, _description in import_profiles()]


class ImportUploadForm(forms.Form):
    profile = forms.ChoiceField(
        label=_("What the files are"),
        choices=_profile_choices,
        help_text=_("The export your files come from; each is described below."),
    )
    uploads = MultipleFileField(
        label=_("Files"),
        help_text=_("One or more .csv or .csv.gz files. Nothing is imported before you confirm."),
    )


class NonProductCodeForm(forms.Form):
    """A stock code to keep out of the catalog and the recommendations."""

    code = forms.CharField(
        label=_("Stock code"),
        max_length=64,
        help_text=_(
            "As it appears in your exports, e.g. POST or BANK CHARGES; case does not matter."
        ),
    )
    note = forms.CharField(
        label=_("What it is (optional)"),
        max_length=200,
        required=False,
        help_text=_("For you and your staff, e.g. postage."),
    )
