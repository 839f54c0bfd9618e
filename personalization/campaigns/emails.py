"""The offer email: composed the same way for the preview and for sending.

Text and HTML alternatives from templates/campaigns/, the recommendation's reason in
plain language, a signed "stop personalizing my offers" link, an unsubscribe link that
needs no login, and RFC 8058 one-click unsubscribe headers.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.formats import number_format

from personalization.campaigns.links import PREVIEW_TOKEN, LinkAction, link_token, link_url
from personalization.campaigns.models import Campaign, CampaignRecipient
from personalization.datarights.emails import customer_address
from personalization.models import Recommendation


def _links(*, base_url: str, recipient: CampaignRecipient, preview: bool) -> dict[str, str]:
    def token(action: LinkAction) -> str:
        if preview:
            return PREVIEW_TOKEN
        return link_token(
            action=action, customer_id=recipient.customer_id, campaign_id=recipient.campaign_id
        )

    return {
        "unsubscribe_url": link_url(
            base_url=base_url,
            action=LinkAction.UNSUBSCRIBE,
            token=token(LinkAction.UNSUBSCRIBE),
        ),
        "stop_personalizing_url": link_url(
            base_url=base_url,
            action=LinkAction.STOP_PERSONALIZING,
            token=token(LinkAction.STOP_PERSONALIZING),
        ),
        "choices_url": base_url.rstrip("/") + reverse("me:dashboard"),
    }


def offer_email(
    *,
    campaign: Campaign,
    recipient: CampaignRecipient,
    recommendation: Recommendation,
    base_url: str,
    preview: bool = False,
) -> EmailMultiAlternatives:
    """The email `recipient` gets (in a preview, with links that do nothing)."""
    customer = recipient.customer
    item = recommendation.item
    links = _links(base_url=base_url, recipient=recipient, preview=preview)
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "shop_name": settings.SHOP_NAME,
            "campaign": campaign,
            "customer_name": customer.name,
            "item_name": item.name,
            "item_category": item.category.name if item.category_id else "",
            "item_price": number_format(item.price, decimal_pos=2, use_l10n=True),
            "reason": recommendation.sentence,
            **links,
        }
        text = render_to_string("campaigns/email.txt", context)
        html = render_to_string("campaigns/email.html", context)
    message = EmailMultiAlternatives(
        subject=campaign.subject,
        body=text,
        from_email=None,
        to=[customer_address(customer)],
        headers={
            # RFC 2369 and RFC 8058: mail clients offer a one-click unsubscribe that POSTs
            # "List-Unsubscribe=One-Click" to this address.
            "List-Unsubscribe": f"<{links['unsubscribe_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(html, "text/html")
    return message
