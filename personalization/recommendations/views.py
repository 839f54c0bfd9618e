"""The customer's recommendations page: the cards, "Why this?", and the feedback menu
("Not for me", "Fewer like this", "I can't have this…"), each undoable."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.selectors import customer_profile_for_user
from core.errors import ApplicationError
from personalization.dashboard import wording
from personalization.models import FeedbackKind
from personalization.recommendations import selectors as cards
from personalization.recommendations import services as feedback
from personalization.recommending import delivery, selectors

# The last feedback step, so its "Undo" stays on the page until replaced or used:
# {"feedback": pk, "restrictions": [codes that step added]}.
UNDO_SESSION_KEY = "fairshare.feedback_undo"
# Kinds pressed straight from the card's menu ("I can't have this" asks first).
MENU_KINDS = (FeedbackKind.NOT_FOR_ME, FeedbackKind.FEWER_LIKE_THIS)


def _consent_url() -> str:
    try:
        return reverse("me:consent")
    except NoReverseMatch:
        return "/me/consent/"


def _labels(codes: list[str]) -> str:
    names = [wording.attribute_label(code) for code in codes]
    if len(names) <= 1:
        return "".join(names)
    return _("%(first)s and %(last)s") % {"first": ", ".join(names[:-1]), "last": names[-1]}


def _done_text(kind: str, item: str, added: list[str]) -> str:
    if kind == FeedbackKind.NOT_FOR_ME:
        return _("Got it: %(item)s is not for you. Your list has been updated.") % {"item": item}
    if kind == FeedbackKind.FEWER_LIKE_THIS:
        return _("Got it: fewer suggestions like %(item)s. Your list has been updated.") % {
            "item": item
        }
    if added:
        return _(
            "Got it: you can't have %(item)s. Nothing containing %(what)s will be suggested "
            "to you, even with personalization off."
        ) % {"item": item, "what": _labels(added)}
    return _(
        "Got it: you can't have %(item)s. We won't suggest it again, even with personalization off."
    ) % {"item": item}


def _undo_offer(request, given: list[cards.GivenFeedback]) -> dict | None:
    """The last step's "Undo", while that feedback is still on record."""
    saved = request.session.get(UNDO_SESSION_KEY)
    if not isinstance(saved, dict):
        return None
    last = next((g for g in given if g.pk == saved.get("feedback")), None)
    if last is None:
        request.session.pop(UNDO_SESSION_KEY, None)
        return None
    added = [str(code) for code in saved.get("restrictions") or []]
    return {
        "feedback": last.pk,
        "restrictions": added,
        "text": _done_text(last.kind, last.item_name, added),
    }


@login_required
def recommendations(request):
    """The signed-in customer's own list; nobody else's can be asked for."""
    profile = customer_profile_for_user(user=request.user)
    context: dict = {
        "profile": profile,
        "page": None,
        "consent_url": _consent_url(),
        "menu_kinds": [(kind.value, kind.label) for kind in MENU_KINDS],
        "cards": [],
        "given": [],
        "undo": None,
    }
    if profile is not None:
        page = delivery.recommendations_deliver(customer=profile)
        context["page"] = page
        labels = cards.card_labels(item_ids=[i.item_id for i in page.items])
        context["cards"] = [(item, labels.get(item.item_id)) for item in page.items]
        context["given"] = cards.feedback_given(customer=profile)
        context["undo"] = _undo_offer(request, context["given"])
    return render(request, "me/recommendations.html", context)


def _own(request, pk: int):
    profile = customer_profile_for_user(user=request.user)
    if profile is None:
        raise Http404(_("That suggestion is not on your list."))
    recommendation = selectors.recommendation_of_customer(customer=profile, pk=pk)
    if recommendation is None:
        raise Http404(_("That suggestion is not on your list."))
    return profile, recommendation


def _give(request, profile, pk: int, kind: str, restrictions: list[str]):
    try:
        given = feedback.feedback_give(
            customer=profile, recommendation_id=pk, kind=kind, restrictions=restrictions
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return None
    request.session[UNDO_SESSION_KEY] = {
        "feedback": given.feedback.pk,
        "restrictions": list(given.restrictions_added),
    }
    return given


@login_required
@require_POST
def recommendation_feedback(request, pk: int):
    """ "Not for me", "Fewer like this" (or "I can't have this" for the item alone), then
    the new list with an "Undo"."""
    profile, _recommendation = _own(request, pk)
    _give(request, profile, pk, request.POST.get("kind", ""), [])
    return redirect("me:recommendations")


@login_required
def recommendation_cant_have(request, pk: int):
    """ "I can't have this": asks what (the item's allergens and other restrictable facts)
    and adds the chosen ones as restrictions in the same step."""
    profile, recommendation = _own(request, pk)
    offered = feedback.restrictable_attributes(item=recommendation.item)
    already = set(profile.restrictions or ())
    choices = [(code, wording.attribute_label(code)) for code in offered if code not in already]
    error = None
    if request.method == "POST":
        wanted = request.POST.getlist("restrictions")
        if _give(request, profile, pk, FeedbackKind.CANT_HAVE, wanted) is not None:
            return redirect("me:recommendations")
        # The error is in the messages; the page is shown again with the same choices.
        error = True
    context = {
        "item": recommendation.item,
        "recommendation": recommendation,
        "choices": choices,
        "error": error,
    }
    return render(
        request, "me/recommendation_cant_have.html", context, status=400 if error else 200
    )


@login_required
@require_POST
def feedback_undo(request, feedback_id: int):
    """Take back one piece of feedback (and the restrictions its step added)."""
    profile = customer_profile_for_user(user=request.user)
    if profile is None or not cards.feedback_is_customers(customer=profile, pk=feedback_id):
        # Someone else's, or undone already (in another tab): nothing to take back.
        raise Http404(_("That was undone already."))
    try:
        undone = feedback.feedback_undo(
            customer=profile,
            feedback_id=feedback_id,
            restrictions=request.POST.getlist("restrictions"),
        )
    except ApplicationError as error:
        messages.info(request, error.message)
    else:
        text = _("Undone: %(item)s can be suggested to you again.") % {"item": undone.item_name}
        if undone.restrictions_removed:
            removed = list(undone.restrictions_removed)
            text += " " + ngettext(
                "%(what)s is no longer on your never-recommend list.",
                "%(what)s are no longer on your never-recommend list.",
                len(removed),
            ) % {"what": _labels(removed)}
        messages.success(request, text)
    saved = request.session.get(UNDO_SESSION_KEY)
    if isinstance(saved, dict) and saved.get("feedback") == feedback_id:
        request.session.pop(UNDO_SESSION_KEY, None)
    return redirect("me:recommendations")
