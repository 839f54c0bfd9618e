"""The customer's recommendations page: the list, "Why this?", and feedback buttons."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.selectors import customer_profile_for_user
from core.errors import ApplicationError
from personalization.models import FeedbackKind
from personalization.recommending import selectors, services


def _consent_url() -> str:
    try:
        return reverse("me:consent")
    except NoReverseMatch:
        return "/me/consent/"


@login_required
def recommendations(request):
    """The signed-in customer's own list; nobody else's can be asked for."""
    profile = customer_profile_for_user(user=request.user)
    context = {
        "profile": profile,
        "page": None,
        "consent_url": _consent_url(),
        "feedback_kinds": FeedbackKind.choices,
    }
    if profile is not None:
        context["page"] = selectors.recommendations_page(customer=profile)
    return render(request, "me/recommendations.html", context)


@login_required
@require_POST
def recommendation_feedback(request, pk: int):
    """Store "not for me", "I can't have this" or "fewer like this" and show the new list."""
    profile = customer_profile_for_user(user=request.user)
    if profile is None or selectors.recommendation_of_customer(customer=profile, pk=pk) is None:
        raise Http404(_("That suggestion is not on your list."))
    try:
        result = services.feedback_record(
            customer=profile, recommendation_id=pk, kind=request.POST.get("kind", "")
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("me:recommendations")
    item = result.feedback.item.name
    text = {
        FeedbackKind.NOT_FOR_ME: _("Got it: %(item)s is not for you. Your list has been updated."),
        FeedbackKind.CANT_HAVE: _(
            "Got it: you can't have %(item)s. We won't suggest it again, even with "
            "personalization off."
        ),
        FeedbackKind.FEWER_LIKE_THIS: _(
            "Got it: fewer suggestions like %(item)s. Your list has been updated."
        ),
    }[FeedbackKind(result.feedback.kind)]
    messages.success(request, text % {"item": item})
    return redirect("me:recommendations")
