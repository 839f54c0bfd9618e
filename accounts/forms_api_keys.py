from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import ApiScope


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("Which system uses it, e.g. “till” or “web shop”."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("It may"),
        choices=ApiScope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Give each system only what it needs."),
    )
