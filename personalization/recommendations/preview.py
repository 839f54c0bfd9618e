"""/me/consent/preview/<category>/: what changes if I switch this off, the list now next to
the list without that data. It reads the recommender, so it lives with the recommendation
pages rather than in consent (which sits below recommending)."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render

from accounts.models import CustomerProfile
from personalization.consent.selectors import consent_granted
from personalization.consent.views import customer_only
from personalization.engine.data import EVIDENCE_CATEGORIES
from personalization.models import DataCategory
from personalization.recommending.delivery import preview_items
from personalization.registry import PERSONALIZATION


@customer_only
def consent_preview(request, profile: CustomerProfile, data_category: str):
    """What changes if I switch this off: the list now next to the list without it."""
    if data_category not in EVIDENCE_CATEGORIES:
        raise Http404
    category = DataCategory.objects.get(code=data_category)
    used = consent_granted(customer=profile, purpose=PERSONALIZATION, data_category=data_category)
    now, without = [], []
    if used:
        now = preview_items(customer=profile)
        without = preview_items(customer=profile, without_data_category=data_category)
    names_now = {item.name for item in now}
    names_without = {item.name for item in without}
    context = {
        "category": category,
        "used": used,
        "now": now,
        "without": without,
        "dropped": [item for item in now if item.name not in names_without],
        "added": [item for item in without if item.name not in names_now],
        # The same items can still move or lose the reasons that cited this category.
        "reordered": [(i.name, i.sentence) for i in now] != [(i.name, i.sentence) for i in without],
    }
    return render(request, "me/consent_preview.html", context)
