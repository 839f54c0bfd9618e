"""Writes behind the customer's feedback menu: say something about a suggestion, add
what they can't have as a restriction in the same step, and undo either.

Each write locks the customer's row first (the lock order of list generation, decision
42) and changes feedback and restrictions in one transaction; the list is regenerated
right after, so the page the customer lands on already reflects what they said.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import CustomerProfile
from accounts.services import customer_profile_lock, customer_profile_set_preferences
from core.errors import ApplicationError
from personalization.dashboard import wording
from personalization.models import Feedback, FeedbackKind, Item, Recommendation
from personalization.recommending import services as recommending


@dataclass(frozen=True)
class FeedbackGiven:
    feedback: Feedback
    # Restriction codes this step added to the profile (none it already had).
    restrictions_added: tuple[str, ...] = ()
    # False when the same feedback was already on record (pressed twice, an old page).
    created: bool = True


@dataclass(frozen=True)
class FeedbackUndone:
    item_name: str
    kind: str
    restrictions_removed: tuple[str, ...] = ()


def restrictable_attributes(*, item: Item) -> list[str]:
    """The item's attribute codes a customer may turn into a restriction (allergens it
    declares, alcohol, meat...), in the catalog's order."""
    return [
        code
        for code in item.attributes.order_by("code").values_list("code", flat=True)
        if wording.is_restrictable(code)
    ]


def _own_recommendation(customer: CustomerProfile, recommendation_id: int) -> Recommendation:
    recommendation = (
        Recommendation.objects.filter(pk=recommendation_id, customer=customer)
        .select_related("item")
        .first()
    )
    if recommendation is None:
        raise ApplicationError(
            _("That suggestion is not on your list."), code="not_found", field="recommendation"
        )
    return recommendation


def feedback_give(
    *,
    customer: CustomerProfile,
    recommendation_id: int,
    kind: str,
    restrictions: Sequence[str] = (),
) -> FeedbackGiven:
    """Record "not for me", "fewer like this" or "I can't have this" on one of the
    customer's suggestions and regenerate their list.

    With "I can't have this", `restrictions` are attribute codes of that item the
    customer says they can't have: they become restrictions in the same transaction
    (never recommend anything containing them). A code the item does not carry, or one
    that is not restrictable, is refused and nothing is saved.
    """
    if kind not in FeedbackKind.values:
        raise ApplicationError(
            _("Choose one of the feedback buttons."), code="invalid", field="kind"
        )
    codes = list(dict.fromkeys(code.strip().lower() for code in restrictions if code.strip()))
    if codes and kind != FeedbackKind.CANT_HAVE:
        raise ApplicationError(
            _("Only “I can't have this” adds a restriction."), code="invalid", field="restrictions"
        )
    recommendation = _own_recommendation(customer, recommendation_id)
    if codes:
        offered = set(restrictable_attributes(item=recommendation.item))
        if unknown := [code for code in codes if code not in offered]:
            raise ApplicationError(
                _("%(item)s does not contain %(what)s: choose from the list.")
                % {
                    "item": recommendation.item.name,
                    "what": ", ".join(wording.attribute_label(c) for c in unknown),
                },
                code="invalid",
                field="restrictions",
            )
    with transaction.atomic():
        profile = customer_profile_lock(profile_id=customer.pk)
        feedback = Feedback.objects.filter(
            customer=profile, item_id=recommendation.item_id, kind=kind
        ).first()
        created = feedback is None
        if feedback is None:
            feedback = Feedback.objects.create(
                customer=profile,
                item=recommendation.item,
                # None when a regeneration replaced the row meanwhile: what the customer
                # said about the item still counts.
                recommendation=Recommendation.objects.filter(pk=recommendation.pk).first(),
                kind=kind,
            )
        current = list(profile.restrictions or ())
        added = tuple(code for code in codes if code not in current)
        if added:
            customer_profile_set_preferences(profile=profile, restrictions=[*current, *added])
    customer.refresh_from_db()
    recommending.recommendations_generate_for_customer(customer=customer)
    return FeedbackGiven(feedback=feedback, restrictions_added=added, created=created)


def feedback_undo(
    *,
    customer: CustomerProfile,
    feedback_id: int,
    restrictions: Sequence[str] = (),
) -> FeedbackUndone:
    """Take back one piece of the customer's feedback, and the restrictions the same step
    added (`restrictions`: only those still set are removed), then regenerate the list.

    Feedback that is gone already (undone in another tab) raises `ApplicationError`
    and changes nothing.
    """
    codes = list(dict.fromkeys(code.strip().lower() for code in restrictions if code.strip()))
    with transaction.atomic():
        profile = customer_profile_lock(profile_id=customer.pk)
        feedback = (
            Feedback.objects.select_for_update()
            .filter(pk=feedback_id, customer=profile)
            .select_related("item")
            .first()
        )
        if feedback is None:
            raise ApplicationError(
                _("That was undone already."), code="not_found", field="feedback"
            )
        if codes and feedback.kind != FeedbackKind.CANT_HAVE:
            raise ApplicationError(
                _("Only “I can't have this” added a restriction."),
                code="invalid",
                field="restrictions",
            )
        item_name, kind = feedback.item.name, feedback.kind
        feedback.delete()
        current = list(profile.restrictions or ())
        removed = tuple(code for code in codes if code in current)
        if removed:
            customer_profile_set_preferences(
                profile=profile, restrictions=[c for c in current if c not in removed]
            )
    customer.refresh_from_db()
    # Removing feedback leaves nothing newer for the page's staleness check to notice:
    # the list is rebuilt here, so the item can come back at once.
    recommending.recommendations_generate_for_customer(customer=customer)
    return FeedbackUndone(item_name=item_name, kind=kind, restrictions_removed=removed)
