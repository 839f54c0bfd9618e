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
from django.utils.translation import gettext as _

from accounts.language import customer_language
from personalization.campaigns.links import PREVIEW_TOKEN, LinkAction, link_token, link_url
from personalization.campaigns.models import Campaign, CampaignRecipient
from personalization.datarights.emails import customer_address
from personalization.models import Recommendation

# The one placeholder a greeting may hold.
NAME_PLACEHOLDER = "{name}"


def greeting_line(greeting: str, name: str) -> str:
    """The campaign's greeting for one customer: "{name}" becomes their name; without a
    name it goes with the space before it ("Hello {name}," -> "Hello,")."""
    if not greeting:
        return ""
    if name:
        return greeting.replace(NAME_PLACEHOLDER, name)
    return greeting.replace(" " + NAME_PLACEHOLDER, "").replace(NAME_PLACEHOLDER, "").strip()


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
    test_to: str = "",
) -> EmailMultiAlternatives:
    """The email `recipient` gets (in a preview, with links that do nothing).

    `test_to`: a test for a person at the shop instead, to that address, with links
    that do nothing, "Test" in the subject and a note at the top saying whose email
    it shows; it is never counted as sent."""
    preview = preview or bool(test_to)
    customer = recipient.customer
    item = recommendation.item
    links = _links(base_url=base_url, recipient=recipient, preview=preview)
    # The customer's language from the site's switch, else the shop's.
    with translation.override(customer_language(customer) or settings.LANGUAGE_CODE):
        context = {
            "shop_name": settings.SHOP_NAME,
            "campaign": campaign,
            "greeting": greeting_line(campaign.greeting, customer.name),
            "test": bool(test_to),
            "item_name": item.name,
            "item_category": item.category.name if item.category_id else "",
            # Written by the templates' money filter in the email's language: £4.50 / 4,50 £.
            "item_price": item.price,
            "reason": recommendation.sentence,
            **links,
        }
        text = render_to_string("campaigns/email.txt", context)
        html = render_to_string("campaigns/email.html", context)
        subject = campaign.subject
        if test_to:
            subject = _("[Test] %(subject)s") % {"subject": subject}
    headers = {
        # RFC 2369 and RFC 8058: mail clients offer a one-click unsubscribe that POSTs
        # "List-Unsubscribe=One-Click" to this address.
        "List-Unsubscribe": f"<{links['unsubscribe_url']}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    if test_to:
        # Mail filters and the shop's own tools can tell a test from a real offer.
        headers = {"X-Fairshare-Test": "yes"}
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=None,
        to=[test_to or customer_address(customer)],
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    return message
