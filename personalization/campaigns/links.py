"""Signed links in offer emails: "unsubscribe" and "stop personalizing my offers".

A link carries the customer's and campaign's numbers, signed with the site's secret
(django.core.signing, with a timestamp) and a salt per action, so a token for one action
never works for the other. No email address or name is in the link.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.core import signing
from django.urls import reverse


class LinkAction(StrEnum):
    UNSUBSCRIBE = "unsubscribe"
    STOP_PERSONALIZING = "stop_personalizing"


_SALT = "campaigns.link."
_URL_NAME = {
    LinkAction.UNSUBSCRIBE: "offers:unsubscribe",
    LinkAction.STOP_PERSONALIZING: "offers:stop_personalizing",
}
# Shown in previews instead of a real token: the page says the link is not valid.
PREVIEW_TOKEN = "preview"  # noqa: S105 - not a secret: a link that does nothing


class LinkInvalid(Exception):
    """Tampered, truncated or for another action."""


class LinkExpired(Exception):
    """Correctly signed, but older than CAMPAIGN_LINK_MAX_AGE_DAYS."""


@dataclass(frozen=True)
class LinkTarget:
    customer_id: int
    campaign_id: int


def link_token(*, action: LinkAction, customer_id: int, campaign_id: int) -> str:
    return signing.dumps({"c": customer_id, "k": campaign_id}, salt=_SALT + action, compress=True)


def link_read(*, action: LinkAction, token: str) -> LinkTarget:
    """The customer and campaign a token names; raises LinkExpired or LinkInvalid."""
    max_age = settings.CAMPAIGN_LINK_MAX_AGE_DAYS * 24 * 3600
    try:
        data = signing.loads(token, salt=_SALT + action, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise LinkExpired from exc
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise LinkInvalid from exc
    try:
        return LinkTarget(customer_id=int(data["c"]), campaign_id=int(data["k"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise LinkInvalid from exc


def link_url(*, base_url: str, action: LinkAction, token: str) -> str:
    return base_url.rstrip("/") + reverse(_URL_NAME[action], args=[token])
