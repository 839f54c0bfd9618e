"""Writes the customer makes from the dashboard: removing history from use, preferences.

Each service takes the customer's own profile and touches only that customer's rows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import CustomerProfile
from accounts.services import customer_profile_set_preferences
from core.errors import ApplicationError
from personalization.dashboard import wording
from personalization.dashboard.selectors import restriction_codes
from personalization.models import Category, Interaction

logger = logging.getLogger(__name__)

# Long enough for "please no raisins, my son hates them", short enough to read at a glance.
NOTES_MAX_LENGTH = 1000


def _own_interaction(*, customer: CustomerProfile, interaction_id: int) -> Interaction:
    # Filtering by customer is the guard: another customer's id is simply not found.
    return (
        Interaction.objects.select_for_update()
        .select_related("item")
        .get(customer=customer, pk=interaction_id)
    )


@transaction.atomic
def interaction_exclude(*, customer: CustomerProfile, interaction_id: int) -> Interaction:
    """Remove one of the customer's records from use: the engine never reads it again.

    The record stays stored (and shown to the customer as removed) until its data
    category's retention period deletes it. Removing twice keeps the first date.
    Raises `Interaction.DoesNotExist` for an id that is not this customer's.
    """
    interaction = _own_interaction(customer=customer, interaction_id=interaction_id)
    if interaction.excluded_at is None:
        interaction.excluded_at = timezone.now()
        interaction.save(update_fields=["excluded_at"])
        logger.info("interaction %s removed from use by its customer", interaction.pk)
    return interaction


@transaction.atomic
def interaction_restore(*, customer: CustomerProfile, interaction_id: int) -> Interaction:
    """Undo `interaction_exclude` while the record is still stored.

    Raises `Interaction.DoesNotExist` for an id that is not this customer's (or that
    retention has already deleted).
    """
    interaction = _own_interaction(customer=customer, interaction_id=interaction_id)
    if interaction.excluded_at is not None:
        interaction.excluded_at = None
        interaction.save(update_fields=["excluded_at"])
        logger.info("interaction %s back in use by its customer", interaction.pk)
    return interaction


@dataclass(frozen=True)
class PreferenceChanges:
    liked_categories: bool = False
    restrictions: bool = False
    notes_for_staff: bool = False

    def __bool__(self) -> bool:
        return self.liked_categories or self.restrictions or self.notes_for_staff


@transaction.atomic
def customer_preferences_update(
    *,
    profile: CustomerProfile,
    liked_categories: Sequence[str],
    restrictions: Sequence[str],
    notes_for_staff: str,
) -> PreferenceChanges:
    """Save what the customer likes, what never to recommend, and a note for staff.

    Returns which of the three changed, so the page can say so. Unknown categories or
    restriction codes, and notes over `NOTES_MAX_LENGTH`, raise `ApplicationError`
    naming the field, and nothing is saved.
    """
    liked = list(dict.fromkeys(liked_categories))
    known = set(Category.objects.filter(slug__in=liked).values_list("slug", flat=True))
    if unknown := [slug for slug in liked if slug not in known]:
        raise ApplicationError(
            _("There is no category %(names)s in the shop.") % {"names": ", ".join(unknown)},
            code="unknown_category",
            field="liked_categories",
        )
    codes = list(dict.fromkeys(code.strip().lower() for code in restrictions))
    allowed = restriction_codes(current=list(profile.restrictions))
    if unknown := [code for code in codes if code not in allowed]:
        raise ApplicationError(
            _("%(codes)s cannot be chosen here.") % {"codes": ", ".join(unknown)},
            code="unknown_restriction",
            field="restrictions",
        )
    notes = notes_for_staff.strip()
    if len(notes) > NOTES_MAX_LENGTH:
        raise ApplicationError(
            _("Please keep the note to %(max)s characters (it has %(n)s).")
            % {"max": wording.number(NOTES_MAX_LENGTH), "n": wording.number(len(notes))},
            code="too_long",
            field="notes_for_staff",
        )

    changes = PreferenceChanges(
        liked_categories=liked != list(profile.liked_categories),
        restrictions=codes != list(profile.restrictions),
        notes_for_staff=notes != profile.notes_for_staff,
    )
    if changes.liked_categories or changes.restrictions:
        customer_profile_set_preferences(
            profile=profile,
            liked_categories=liked if changes.liked_categories else None,
            restrictions=codes if changes.restrictions else None,
        )
    if changes.notes_for_staff:
        profile.notes_for_staff = notes
        profile.save(update_fields=["notes_for_staff", "updated_at"])
    return changes
