"""The registry of data categories and purposes (PRODUCT.md), as plain data.

A data migration writes these rows; consent (per purpose x category) refers to them.
Kept free of Django imports so the engine and tests can read it directly.
"""

from __future__ import annotations

from dataclasses import dataclass


def gettext_noop(message: str) -> str:
    """Marks a name or description for the German catalogue (makemessages knows this
    name) without importing Django; pages translate them with {% translate %}."""
    return message


@dataclass(frozen=True)
class DataCategorySpec:
    code: str
    name: str
    description: str
    retention_days: int


@dataclass(frozen=True)
class PurposeSpec:
    code: str
    name: str
    description: str
    # Opt-in purposes start switched off for every customer.
    requires_opt_in: bool
    # Purposes a Global Privacy Control signal opts out of (sale/sharing, marketing).
    honours_gpc: bool


PURCHASE_HISTORY = "purchase_history"
BROWSING_HISTORY = "browsing_history"
STATED_PREFERENCES = "stated_preferences"
EMAIL_ENGAGEMENT = "email_engagement"
AUDIT_ATTRIBUTES = "audit_attributes"

DATA_CATEGORIES: tuple[DataCategorySpec, ...] = (
    DataCategorySpec(
        PURCHASE_HISTORY,
        gettext_noop("Purchase history"),
        gettext_noop("What you bought, when, how many and for how much."),
        # Five years: loyal customers' long histories are what makes suggestions good.
        retention_days=1825,
    ),
    DataCategorySpec(
        BROWSING_HISTORY,
        gettext_noop("Browsing history"),
        gettext_noop("Items you looked at or put in your basket in the web shop."),
        retention_days=180,
    ),
    DataCategorySpec(
        STATED_PREFERENCES,
        gettext_noop("Stated preferences"),
        gettext_noop("What you told us: ratings, liked categories and things never to recommend."),
        retention_days=730,
    ),
    DataCategorySpec(
        EMAIL_ENGAGEMENT,
        gettext_noop("Email engagement"),
        gettext_noop("Whether you opened or clicked our offer emails."),
        retention_days=365,
    ),
    DataCategorySpec(
        AUDIT_ATTRIBUTES,
        gettext_noop("Audit attributes"),
        gettext_noop(
            "Details you chose to declare (such as an age band) so we can check that our "
            "AI treats every group fairly. Never used to pick what we show you."
        ),
        retention_days=730,
    ),
)

PERSONALIZATION = "personalization"
MARKETING = "marketing"
FAIRNESS_AUDIT = "fairness_audit"

PURPOSES: tuple[PurposeSpec, ...] = (
    PurposeSpec(
        PERSONALIZATION,
        gettext_noop("On-site recommendations"),
        gettext_noop("Suggesting items on your dashboard and in the shop, with the reasons shown."),
        requires_opt_in=True,
        honours_gpc=False,
    ),
    PurposeSpec(
        MARKETING,
        gettext_noop("Offer emails"),
        gettext_noop("Sending you personalized offers by email."),
        requires_opt_in=True,
        honours_gpc=True,
    ),
    PurposeSpec(
        FAIRNESS_AUDIT,
        gettext_noop("Fairness audits"),
        gettext_noop("Using the details you declared only to check our AI for bias, in aggregate."),
        requires_opt_in=True,
        honours_gpc=False,
    ),
)

# Which data category an interaction of each kind belongs to.
INTERACTION_KIND_CATEGORY: dict[str, str] = {
    "purchase": PURCHASE_HISTORY,
    "view": BROWSING_HISTORY,
    "cart": BROWSING_HISTORY,
    "rating": STATED_PREFERENCES,
    "return": PURCHASE_HISTORY,
}
