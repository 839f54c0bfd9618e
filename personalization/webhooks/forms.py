from django import forms
from django.utils.translation import gettext_lazy as _

from personalization.models import Webhook, WebhookEvent


class WebhookForm(forms.ModelForm):
    url = forms.URLField(
        label=_("URL"),
        assume_scheme="https",
        help_text=_("An https:// address of the shop's system that accepts POSTs."),
    )
    events = forms.MultipleChoiceField(
        label=_("Send"), choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Webhook
        fields = ["name", "url", "events"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        if not url.startswith(("https://", "http://")):
            raise forms.ValidationError(_("Use an http:// or https:// address."))
        return url
