"""Governance rows for the demo bakery (called by `seed_demo`; idempotent).

A published AI policy, a reviewed risk assessment signed off by the owner, two vendors
(one review overdue, so the dashboard shows it) and a few trust-survey answers. Nobody
has acknowledged the policy yet: the demo staff login meets the gate before its first
review decision.
"""

from __future__ import annotations

import zlib
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import CustomerProfile, User
from governance import selectors, services
from governance.features import ONSITE_RECOMMENDATIONS
from governance.models import PersonalizationFeature, TrustSurveyAnswer, Vendor

POLICY_TITLE = "How we work with our AI"
POLICY_BODY = """## Why we use it
Our recommender suggests bakes a customer is likely to enjoy, from what they allowed us to use.

## Rules for everyone at the shop
- Read the reason shown with a suggestion before you approve it.
- Never approve a suggestion that conflicts with a customer's restriction or allergy.
- Reject anything that pushes a customer to spend far more than usual.
- When unsure, escalate to the owner; do not guess.
- Never look up or use the details customers declared for fairness checks.

## When something goes wrong
The owner pauses all personalization with the kill switch and says why."""

OWNER_EMAIL = "owner@example.com"
SURVEY_COMMENTS = (
    "I like that you explain why you suggest things.",
    "Feels fair, and I trust the suggestions.",
    "Too many suggestions for things I never buy.",
)


@transaction.atomic
def governance_seed_demo(*, as_of: date) -> list[str]:
    """Add what is missing; returns one line per thing added (for the command's output)."""
    owner = User.objects.filter(email=OWNER_EMAIL).first()
    added: list[str] = []
    if selectors.ai_policy_current() is None:
        policy = services.ai_policy_publish(title=POLICY_TITLE, body=POLICY_BODY, actor=owner)
        added.append(f"AI policy version {policy.version}")
    added += _reviewed_assessment(owner)
    added += _vendors(as_of)
    added += _survey(as_of)
    return added


def _reviewed_assessment(owner) -> list[str]:
    feature = PersonalizationFeature.objects.filter(code=ONSITE_RECOMMENDATIONS).first()
    if feature is None:
        return []
    approved = selectors.assessment_approved(feature=feature)
    # Only replace the installation baseline (signed off by nobody), once.
    if approved is None or approved.approved_by_id is not None or feature.assessments.count() > 1:
        return []
    draft = services.risk_assessment_save(
        feature=feature,
        actor=owner,
        data_categories=feature.data_categories,
        model_type=feature.model_type,
        people_affected="About 300 regulars who allowed on-site recommendations; visitors "
        "and customers who switched it off see the same list as anyone.",
        harm_bias="Older customers buy in the shop more than online, so their browsing "
        "history is thinner. The monthly fairness audit compares age bands.",
        harm_manipulation="Celebration cakes cost five times a loaf. Suggestions far above a "
        "customer's usual spend are held for a person to check.",
        harm_filter_bubble="Regulars could see only what they always buy. Lists mix in "
        "popular seasonal bakes, and 'fewer like this' is one click.",
        harm_privacy="Purchase history shows habits and diets. Only allowed categories are "
        "read, restrictions are never overridden, data expires with its retention.",
        mitigations="Consent per purpose and category, exact reasons, human review of "
        "flagged suggestions, allergen restrictions as hard rules, kill switch.",
    )
    services.risk_assessment_approve(
        assessment=draft, actor=owner, note="Reviewed with the bakery team."
    )
    return [f"risk assessment version {draft.version} for {feature.name}"]


def _vendors(as_of: date) -> list[str]:
    rows: tuple[dict[str, Any], ...] = (
        {
            "name": "MailHive",
            "service": "Sends the offer emails",
            "receives": "Email address, first name and the offer text; no purchase history",
            "dpa_status": Vendor.DpaStatus.SIGNED,
            "bias_answers": "They choose no recipients and rank nothing.",
            "privacy_answers": "EU data centres; addresses deleted 30 days after a campaign.",
            "last_reviewed": as_of - timedelta(days=200),
            "next_review": as_of + timedelta(days=165),
        },
        {
            "name": "PostcodePal",
            "service": "Checks delivery addresses",
            "receives": "Postcodes only",
            "dpa_status": Vendor.DpaStatus.REQUESTED,
            "bias_answers": "No model; a lookup table.",
            "privacy_answers": "Asked; waiting for their answer.",
            "last_reviewed": as_of - timedelta(days=400),
            "next_review": as_of - timedelta(days=35),
        },
    )
    added = []
    for row in rows:
        if not Vendor.objects.filter(name=row["name"]).exists():
            services.vendor_save(**row)
            added.append(f"vendor {row['name']}")
    return added


def _survey(as_of: date) -> list[str]:
    if TrustSurveyAnswer.objects.exists():
        return []
    moment = timezone.make_aware(datetime.combine(as_of, time(12)))
    customers = CustomerProfile.objects.exclude(external_id=None).order_by("external_id")[:40]
    count = 0
    for index, customer in enumerate(customers):
        dice = zlib.crc32((customer.external_id or "").encode()) % 10
        if dice > 4:  # about half answer
            continue
        score = (2, 3, 4, 4, 5)[dice]
        comment = SURVEY_COMMENTS[index % 3] if index % 4 == 0 else ""
        services.trust_survey_answer(customer=customer, score=score, comment=comment, now=moment)
        count += 1
    return [f"{count} trust-survey answers"] if count else []
