from django import forms
from django.utils.translation import gettext_lazy as _

from personalization.models import Webhook, WebhookEvent


class WebhookForm(forms.ModelForm):
    # The target itself (https, public addresses only) is checked by the service
    # (personalization.webhooks.targets), which the view reports next to this field.
    url = forms.URLField(
        label=_("URL"),
        max_length=500,
        assume_scheme="https",
        help_text=_(
            "An https:// address on the public internet of the shop's system that accepts POSTs."
        ),
    )
    events = forms.MultipleChoiceField(
        label=_("Send"), choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Webhook
        fields = ["name", "url", "events"]
