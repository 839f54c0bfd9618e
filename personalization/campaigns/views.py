"""Campaign pages for the owner and staff. Thin: parse, call a service or selector, render.

The same views serve /owner/campaigns/ (owner console) and /staff/campaigns/ (staff
console): staff compose, choose offers, preview and stop; only the owner sends.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.roles import OWNER_CONSOLE, STAFF_CONSOLE
from core.errors import ApplicationError
from governance.selectors import kill_switch_state
from personalization.campaigns import selectors, sending, services
from personalization.campaigns.emails import offer_email
from personalization.campaigns.forms import CampaignForm, StopForm
from personalization.campaigns.models import Campaign, CampaignRecipient, CampaignStatus


def campaign_console(view):
    """Signed in, with the console of the area the page is in (owner or staff)."""

    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        area = request.resolver_match.namespace
        permission = OWNER_CONSOLE if area == "owner" else STAFF_CONSOLE
        if not request.user.has_perm(permission):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def _ns(request) -> str:
    return request.resolver_match.namespace


def _detail(request, campaign: Campaign):
    return redirect(f"{_ns(request)}:campaign_detail", pk=campaign.pk)


def _queue_url() -> str:
    """The staff review queue, filtered to offer emails."""
    for name in ("staff:review_queue", "staff:review", "staff:review-queue"):
        try:
            return reverse(name) + "?channel=email"
        except NoReverseMatch:
            continue
    return "/staff/review/?channel=email"


def _base_context(request) -> dict:
    return {
        "ns": _ns(request),
        "can_send": request.user.has_perm(OWNER_CONSOLE),
        "kill_switch": kill_switch_state(),
    }


@campaign_console
def campaign_list(request):
    context = {
        **_base_context(request),
        "campaigns": selectors.campaign_list(),
        "audience": selectors.audience_count(),
    }
    return render(request, "owner/campaigns/list.html", context)


def _form_page(request, *, form, campaign=None, status=200):
    context = {**_base_context(request), "form": form, "campaign": campaign}
    return render(request, "owner/campaigns/form.html", context, status=status)


def _apply_error(form, exc: ApplicationError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@campaign_console
def campaign_create(request):
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.campaign_create(created_by=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("Campaign saved as a draft."))
            return _detail(request, campaign)
    status = 400 if request.method == "POST" else 200
    return _form_page(request, form=form, status=status)


@campaign_console
def campaign_edit(request, pk: int):
    campaign = get_object_or_404(Campaign, pk=pk)
    form = CampaignForm.for_campaign(campaign, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.campaign_update(campaign=campaign, **form.cleaned_data)
        except ApplicationError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("Campaign saved."))
            return _detail(request, campaign)
    status = 400 if request.method == "POST" else 200
    return _form_page(request, form=form, campaign=campaign, status=status)


@campaign_console
def campaign_detail(request, pk: int):
    campaign = get_object_or_404(Campaign.objects.select_related("created_by"), pk=pk)
    context = {
        **_base_context(request),
        "campaign": campaign,
        "audience": selectors.audience_count(),
        "progress": selectors.campaign_progress(campaign=campaign),
        "reach": selectors.campaign_reach(campaign=campaign),
        "send_plan": (
            sending.campaign_send_plan(campaign=campaign)
            if campaign.status == CampaignStatus.IN_REVIEW
            else None
        ),
        "review": selectors.review_counts(campaign=campaign),
        "skips": selectors.skip_counts(campaign=campaign),
        "queue_url": _queue_url(),
        "stop_form": StopForm(),
        "statuses": CampaignStatus,
    }
    return render(request, "owner/campaigns/detail.html", context)


def _act(request, pk: int, action, success: str):
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        action(campaign)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return _detail(request, campaign)


@require_POST
@campaign_console
def campaign_generate(request, pk: int):
    return _act(
        request,
        pk,
        lambda c: services.campaign_generate_start(campaign=c),
        _("Choosing an offer for each customer. Each one then waits for a reviewer."),
    )


@campaign_console
def campaign_send(request, pk: int):
    """GET: the confirmation, with the number of emails that would go and who gets none.
    POST: start sending, only with the number the owner confirmed (or resume)."""
    if not request.user.has_perm(OWNER_CONSOLE):
        raise PermissionDenied
    campaign = get_object_or_404(Campaign, pk=pk)
    if request.method == "POST":
        resume = campaign.status == CampaignStatus.SENDING
        confirmed = _confirmed_count(request.POST.get("count"))
        if not resume and confirmed is None:
            messages.error(request, _("Confirm the number of emails first."))
            return redirect(f"{_ns(request)}:campaign_send", pk=campaign.pk)
        base_url = request.build_absolute_uri("/")
        try:
            sending.campaign_send_start(
                campaign=campaign,
                user=request.user,
                base_url=base_url,
                confirmed_count=None if resume else confirmed,
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            if exc.code == "count_changed":
                return redirect(f"{_ns(request)}:campaign_send", pk=campaign.pk)
        else:
            messages.success(request, _("Sending the approved offers."))
        return _detail(request, campaign)
    if campaign.status != CampaignStatus.IN_REVIEW:
        return _detail(request, campaign)
    plan = sending.campaign_send_plan(campaign=campaign)
    context = {
        **_base_context(request),
        "campaign": campaign,
        "count": len(plan.queued),
        "rejected": len(plan.rejected),
        "waiting": len(plan.unapproved),
        "reach": selectors.campaign_reach(campaign=campaign),
    }
    return render(request, "owner/campaigns/send_confirm.html", context)


def _confirmed_count(value: str | None) -> int | None:
    try:
        count = int(value or "")
    except ValueError:
        return None
    return count if count >= 0 else None


@require_POST
@campaign_console
def campaign_send_test(request, pk: int):
    """Send the signed-in person the email a real recipient would get, marked as a test."""
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        address = sending.campaign_send_test(
            campaign=campaign, user=request.user, base_url=request.build_absolute_uri("/")
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("A test email went to %(address)s. No customer got anything.") % {"address": address},
        )
    return _detail(request, campaign)


@require_POST
@campaign_console
def campaign_stop(request, pk: int):
    form = StopForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _act(
        request,
        pk,
        lambda c: services.campaign_stop(campaign=c, user=request.user, reason=reason),
        _("Campaign stopped. Emails already sent stay sent; no more go out."),
    )


@campaign_console
def campaign_preview(request, pk: int):
    campaign = get_object_or_404(Campaign, pk=pk)
    base_url = request.build_absolute_uri("/")
    segments = []
    for segment in selectors.campaign_segments(campaign=campaign):
        offer = segment.sample.recommendation
        if offer is None:  # samples are chosen among recipients with an offer
            continue
        email = offer_email(
            campaign=campaign,
            recipient=segment.sample,
            recommendation=offer,
            base_url=base_url,
            preview=True,
        )
        segments.append(
            {"segment": segment, "email": email, "headers": sorted(email.extra_headers.items())}
        )
    context = {**_base_context(request), "campaign": campaign, "segments": segments}
    return render(request, "owner/campaigns/preview.html", context)


@campaign_console
def campaign_preview_html(request, pk: int, recipient_pk: int):
    """The HTML part of a sample recipient's email, as the mail client gets it."""
    recipient = get_object_or_404(
        CampaignRecipient.objects.select_related(
            "campaign", "customer", "customer__user", "recommendation__item__category"
        ),
        pk=recipient_pk,
        campaign_id=pk,
    )
    if recipient.recommendation is None:
        raise Http404
    email = offer_email(
        campaign=recipient.campaign,
        recipient=recipient,
        recommendation=recipient.recommendation,
        base_url=request.build_absolute_uri("/"),
        preview=True,
    )
    html = next(content for content, mimetype in email.alternatives if mimetype == "text/html")
    return HttpResponse(html, content_type="text/html; charset=utf-8")


@campaign_console
def campaign_progress(request, pk: int):
    campaign = get_object_or_404(Campaign, pk=pk)
    return JsonResponse(selectors.campaign_progress(campaign=campaign).as_json())
