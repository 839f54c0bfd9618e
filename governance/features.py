"""The personalization features every installation has, as plain data (names marked
for translation; pages translate them when shown).

A data migration writes them switched on, each with an approved baseline assessment, so
an installation keeps doing what it did before the risk gate existed; the owner reviews
and replaces those baselines in the console. `feature_enabled` treats a built-in
feature without a row (a database emptied by a test) as switched on, for the same
reason; any other feature is off until someone switches it on.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_noop

ONSITE_RECOMMENDATIONS = "onsite_recommendations"
API_RECOMMENDATIONS = "api_recommendations"
OFFER_EMAILS = "offer_emails"
MODEL_ITEM_KNN = "model_item_knn"

ENGINE_CATEGORIES = ("purchase_history", "browsing_history", "stated_preferences")
# Declared for fairness audits only (personalization.registry.AUDIT_ATTRIBUTES): no
# personalization feature may ever use them.
AUDIT_ATTRIBUTES = "audit_attributes"


@dataclass(frozen=True)
class FeatureSpec:
    code: str
    name: str
    description: str
    data_categories: tuple[str, ...]
    model_type: str


BUILTIN_FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        ONSITE_RECOMMENDATIONS,
        gettext_noop("On-site recommendations"),
        gettext_noop(
            "Suggestions on the customer's own pages, each with the reasons it was chosen."
        ),
        ENGINE_CATEGORIES,
        "item_knn",
    ),
    FeatureSpec(
        API_RECOMMENDATIONS,
        gettext_noop("Recommendations through the API"),
        gettext_noop(
            "Suggestions the shop's own systems (till, web shop) fetch with their reasons."
        ),
        ENGINE_CATEGORIES,
        "item_knn",
    ),
    FeatureSpec(
        OFFER_EMAILS,
        gettext_noop("Offer email campaigns"),
        gettext_noop("Personalized offers by email to customers who allowed marketing."),
        (*ENGINE_CATEGORIES, "email_engagement"),
        "item_knn",
    ),
    FeatureSpec(
        MODEL_ITEM_KNN,
        gettext_noop("Item-to-item recommender (model type)"),
        gettext_noop(
            "The model behind every suggestion: items bought or liked together, with "
            "contributions that add up to the score."
        ),
        ENGINE_CATEGORIES,
        "item_knn",
    ),
)

BUILTIN_CODES = frozenset(spec.code for spec in BUILTIN_FEATURES)

# Written into each built-in feature's baseline assessment by the data migration.
BASELINE = {
    "people_affected": "Every customer who allowed personalization (or marketing, for "
    "offer emails); customers who switched it off see the same list as any visitor.",
    "harm_bias": "Groups with thin histories could get worse suggestions. The scheduled "
    "fairness audit compares groups using only voluntarily declared attributes.",
    "harm_manipulation": "Premium items could be pushed. A guardrail holds suggestions "
    "priced far above a customer's usual spend for a person to review.",
    "harm_filter_bubble": "Suggestions could narrow to what a customer already buys. "
    "Popular items fill lists, and customers can say 'fewer like this'.",
    "harm_privacy": "Histories reveal habits. Only categories the customer allowed are "
    "read, reasons are shown, and data is deleted when its retention ends.",
    "mitigations": "Consent per purpose and data category; exact explanations; human "
    "review of flagged suggestions; restrictions never overridden; the kill switch.",
    "sign_off_note": "Baseline recorded when the risk gate was installed, for the "
    "behaviour the shop already had. Review it and sign off a new version.",
}

# Plain names for the model types the owner sees (the stored code stays as it is).
MODEL_TYPE_LABELS = {
    "item_knn": gettext_noop("Item-to-item similarity (items bought together)"),
    "ease": gettext_noop("Item-to-item regression (EASE)"),
    "popularity": gettext_noop("Most popular items"),
}


def model_type_label(code: str) -> str:
    """The model type in the owner's words; an owner's own code is shown as typed."""
    from django.utils.translation import gettext

    label = MODEL_TYPE_LABELS.get(code)
    return gettext(label) if label else code
