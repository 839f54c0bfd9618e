from django import forms
from django.utils.translation import gettext_lazy as _

from personalization.campaigns.models import Campaign


class CampaignForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=120,
        help_text=_("For the shop only, e.g. “Autumn bread week”."),
    )
    subject = forms.CharField(
        label=_("Subject"), max_length=150, help_text=_("The email's subject line.")
    )
    greeting = forms.CharField(
        label=_("Greeting"),
        max_length=120,
        required=False,
        initial=_("Hello {name},"),
        help_text=_(
            "The first line of every email, exactly as written. {name} becomes the "
            "customer's name (left out when the shop has none). Leave it empty for no "
            "greeting."
        ),
    )
    message = forms.CharField(
        label=_("Message"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "Your words to every customer, below the greeting. Below them each email shows "
            "the offer chosen for that customer and why, and the links to stop "
            "personalizing or unsubscribe."
        ),
    )

    @classmethod
    def for_campaign(cls, campaign: Campaign, data=None) -> "CampaignForm":
        return cls(
            data,
            initial={
                "name": campaign.name,
                "subject": campaign.subject,
                "greeting": campaign.greeting,
                "message": campaign.message,
            },
        )


class StopForm(forms.Form):
    reason = forms.CharField(
        label=_("Why (optional)"),
        max_length=500,
        required=False,
        help_text=_("Shown on the campaign's page."),
    )
