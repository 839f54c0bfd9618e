"""Governance pages: the owner's kill switch, AI policy, risk gate, vendor register and
trust survey results, the staff's policy page and the customer's trust question. Thin:
parse, call a governance service or selector, render. They sit in the console because
they also read the shop's data categories and the customer's overview."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import console_required
from accounts.roles import OWNER_CONSOLE, STAFF_CONSOLE
from accounts.selectors import customer_profile_for_user
from console import dashboard
from core.errors import ApplicationError
from governance import selectors, services
from governance.features import AUDIT_ATTRIBUTES
from governance.forms import (
    AssessmentForm,
    FeatureForm,
    KillSwitchForm,
    PolicyForm,
    ReasonForm,
    ScopeForm,
    SignOffForm,
    TrustSurveyForm,
    VendorForm,
)
from governance.models import RiskAssessment, Vendor
from governance.survey import trust_card
from personalization.consent.notices import notice_blocks
from personalization.dashboard.selectors import customer_overview
from personalization.models import DataCategory


def _add_error(form, error: ApplicationError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


def _category_choices() -> list[tuple[str, str]]:
    """Data categories a feature may use: every one but the audit attributes."""
    return [
        (c.code, c.name) for c in DataCategory.objects.exclude(code=AUDIT_ATTRIBUTES).order_by("pk")
    ]


def _status(request, form) -> int:
    return 400 if request.method == "POST" and form.errors else 200


# --- Owner: kill switch -------------------------------------------------------------------


@console_required(OWNER_CONSOLE)
def kill_switch(request):
    """Pause all AI personalization at once, or resume it; both with a reason, logged."""
    state = selectors.kill_switch_state()
    form = KillSwitchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        engage = request.POST.get("action") == "pause"
        try:
            services.kill_switch_set(
                engaged=engage, reason=form.cleaned_data["reason"], actor=request.user
            )
        except ApplicationError as error:
            _add_error(form, error)
        else:
            messages.success(
                request,
                _(
                    "All AI personalization is paused. Every channel now shows the same list "
                    "as any visitor."
                )
                if engage
                else _("AI personalization is running again."),
            )
            return redirect("owner:kill_switch")
    context = {"state": state, "form": form, "log": selectors.kill_switch_log()}
    return render(
        request, "owner/governance/kill_switch.html", context, status=_status(request, form)
    )


# --- Owner: AI policy ----------------------------------------------------------------------


@console_required(OWNER_CONSOLE)
def ai_policy_owner(request):
    """Versions with who acknowledged each; write a new version, preview, publish."""
    current = selectors.ai_policy_current()
    initial = {"title": current.title, "body": current.body} if current else None
    form = PolicyForm(request.POST or None, initial=initial)
    preview = None
    if request.method == "POST" and form.is_valid():
        if request.POST.get("action") == "publish":
            try:
                policy = services.ai_policy_publish(
                    title=form.cleaned_data["title"],
                    body=form.cleaned_data["body"],
                    actor=request.user,
                )
            except ApplicationError as error:
                _add_error(form, error)
            else:
                messages.success(
                    request,
                    _(
                        "Version %(version)d is published. Staff must acknowledge it before they "
                        "decide review items."
                    )
                    % {"version": policy.version},
                )
                return redirect("owner:ai_policy")
        else:
            preview = {
                "title": form.cleaned_data["title"],
                "blocks": notice_blocks(form.cleaned_data["body"]),
            }
    context = {
        "form": form,
        "preview": preview,
        "current": current,
        "versions": [
            (policy, notice_blocks(policy.body)) for policy in selectors.ai_policy_versions()
        ],
        "missing": selectors.ai_policy_not_acknowledged_by(),
    }
    return render(request, "owner/governance/policy.html", context, status=_status(request, form))


# --- Staff: AI policy ---------------------------------------------------------------------


@console_required(STAFF_CONSOLE)
def ai_policy_staff(request):
    """Read the current AI policy and acknowledge it (needed before deciding review items)."""
    policy = selectors.ai_policy_current()
    if request.method == "POST":
        if policy is None or str(policy.version) != request.POST.get("version"):
            messages.error(
                request,
                _("The policy changed while you were reading it. Read this version, please."),
            )
            return redirect("staff:ai_policy")
        services.ai_policy_acknowledge(policy=policy, user=request.user)
        messages.success(
            request,
            _("Thank you: you acknowledged version %(version)d.") % {"version": policy.version},
        )
        return redirect("staff:ai_policy")
    acknowledged = (
        policy is not None and selectors.ai_policy_unacknowledged(user=request.user) is None
    )
    context = {
        "policy": policy,
        "blocks": notice_blocks(policy.body) if policy else [],
        "acknowledged": acknowledged,
        "acknowledgement": (
            policy.acknowledgements.filter(user=request.user).first() if acknowledged else None
        ),
    }
    return render(request, "staff/policy.html", context)


# --- Owner: risk gate --------------------------------------------------------------------


def _feature_or_404(code: str):
    feature = selectors.feature_by_code(code)
    if feature is None:
        raise Http404
    return feature


@console_required(OWNER_CONSOLE)
def features(request):
    return render(
        request,
        "owner/governance/features.html",
        {"rows": selectors.features_overview(), "log": selectors.feature_log(limit=20)},
    )


@console_required(OWNER_CONSOLE)
def feature_create(request):
    form = FeatureForm(request.POST or None, category_choices=_category_choices())
    if request.method == "POST" and form.is_valid():
        try:
            feature = services.feature_create(**form.cleaned_data)
        except ApplicationError as error:
            _add_error(form, error)
        else:
            messages.success(
                request,
                _(
                    "Feature added, switched off. Write its risk assessment and sign it off "
                    "before switching it on."
                ),
            )
            return redirect("owner:feature_detail", code=feature.code)
    return render(
        request, "owner/governance/feature_form.html", {"form": form}, status=_status(request, form)
    )


def _feature_page(request, feature, *, switch_form=None, scope_form=None, status=200):
    choices = _category_choices()
    names = dict(choices)
    scope_form = scope_form or ScopeForm(
        category_choices=choices,
        initial={"data_categories": feature.data_categories, "model_type": feature.model_type},
    )
    approved = selectors.assessment_approved(feature=feature)
    context = {
        "feature": feature,
        "category_names": [names.get(code, code) for code in feature.data_categories],
        "approved": approved,
        "can_enable": selectors.assessment_covers(assessment=approved, feature=feature),
        "assessments": selectors.feature_assessments(feature=feature),
        "has_draft": any(
            a.status == RiskAssessment.Status.DRAFT
            for a in selectors.feature_assessments(feature=feature)
        ),
        "log": selectors.feature_log(feature=feature),
        "switch_form": switch_form or ReasonForm(),
        "scope_form": scope_form,
    }
    return render(request, "owner/governance/feature_detail.html", context, status=status)


@console_required(OWNER_CONSOLE)
def feature_detail(request, code: str):
    return _feature_page(request, _feature_or_404(code))


@require_POST
@console_required(OWNER_CONSOLE)
def feature_switch(request, code: str):
    feature = _feature_or_404(code)
    form = ReasonForm(request.POST)
    enable = request.POST.get("action") == "enable"
    if form.is_valid():
        try:
            services.feature_set_enabled(
                feature=feature,
                enabled=enable,
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
        except ApplicationError as error:
            _add_error(form, error)
        else:
            messages.success(
                request,
                _("%(name)s is switched on.") % {"name": feature.name}
                if enable
                else _("%(name)s is switched off.") % {"name": feature.name},
            )
            return redirect("owner:feature_detail", code=feature.code)
    return _feature_page(request, feature, switch_form=form, status=400)


@require_POST
@console_required(OWNER_CONSOLE)
def feature_scope(request, code: str):
    feature = _feature_or_404(code)
    form = ScopeForm(request.POST, category_choices=_category_choices())
    if form.is_valid():
        approved_before = selectors.assessment_approved(feature=feature)
        try:
            feature = services.feature_change_scope(
                feature=feature, actor=request.user, **form.cleaned_data
            )
        except ApplicationError as error:
            _add_error(form, error)
        else:
            if (
                approved_before is not None
                and selectors.assessment_approved(feature=feature) is None
            ):
                messages.warning(
                    request,
                    _(
                        "This is a material change: the approved assessment no longer counts. "
                        "Write and sign off a new one before the feature runs again."
                    ),
                )
            else:
                messages.success(request, _("Saved. The approved assessment still covers it."))
            return redirect("owner:feature_detail", code=feature.code)
    return _feature_page(request, feature, scope_form=form, status=400)


def _assessment_or_404(feature, version: int) -> RiskAssessment:
    assessment = feature.assessments.filter(version=version).first()
    if assessment is None:
        raise Http404
    return assessment


def _assessment_fields(data: dict) -> dict:
    return {
        "data_categories": data["data_categories"],
        "model_type": data["model_type"],
        **{name: data[name] for name in services.ASSESSMENT_TEXT_FIELDS},
    }


@console_required(OWNER_CONSOLE)
def assessment_new(request, code: str):
    feature = _feature_or_404(code)
    initial = {"data_categories": feature.data_categories, "model_type": feature.model_type}
    approved = selectors.assessment_approved(feature=feature)
    if approved is not None:
        initial |= {name: getattr(approved, name) for name in services.ASSESSMENT_TEXT_FIELDS}
    form = AssessmentForm(
        request.POST or None, initial=initial, category_choices=_category_choices()
    )
    if request.method == "POST" and form.is_valid():
        try:
            assessment = services.risk_assessment_save(
                feature=feature, actor=request.user, **_assessment_fields(form.cleaned_data)
            )
        except ApplicationError as error:
            _add_error(form, error)
        else:
            messages.success(
                request,
                _("Draft assessment saved. A reviewer signs it off before it counts."),
            )
            return redirect(
                "owner:assessment_detail", code=feature.code, version=assessment.version
            )
    return render(
        request,
        "owner/governance/assessment_form.html",
        {"form": form, "feature": feature, "assessment": None},
        status=_status(request, form),
    )


@console_required(OWNER_CONSOLE)
def assessment_detail(request, code: str, version: int):
    """One assessment; a draft can be edited here and signed off."""
    feature = _feature_or_404(code)
    assessment = _assessment_or_404(feature, version)
    is_draft = assessment.status == RiskAssessment.Status.DRAFT
    form = None
    if is_draft:
        form = AssessmentForm(
            request.POST or None, instance=assessment, category_choices=_category_choices()
        )
        if request.method == "POST" and form.is_valid():
            try:
                services.risk_assessment_save(
                    feature=feature,
                    actor=request.user,
                    assessment=assessment,
                    **_assessment_fields(form.cleaned_data),
                )
            except ApplicationError as error:
                _add_error(form, error)
            else:
                messages.success(request, _("Draft saved."))
                return redirect("owner:assessment_detail", code=code, version=version)
    elif request.method == "POST":
        messages.error(
            request, _("Only a draft can be edited; signed-off assessments stay as they were.")
        )
        return redirect("owner:assessment_detail", code=code, version=version)
    names = dict(_category_choices())
    context = {
        "feature": feature,
        "assessment": assessment,
        "form": form,
        "sign_off_form": SignOffForm(),
        "category_names": [names.get(c, c) for c in assessment.data_categories],
        "covers": selectors.assessment_covers(assessment=assessment, feature=feature),
    }
    status = 400 if form is not None and form.errors else 200
    return render(request, "owner/governance/assessment_detail.html", context, status=status)


@require_POST
@console_required(OWNER_CONSOLE)
def assessment_approve(request, code: str, version: int):
    feature = _feature_or_404(code)
    assessment = _assessment_or_404(feature, version)
    form = SignOffForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        services.risk_assessment_approve(assessment=assessment, actor=request.user, note=note)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("owner:assessment_detail", code=code, version=version)
    messages.success(
        request,
        _("Version %(version)d is signed off. The feature can be switched on.")
        % {"version": version},
    )
    return redirect("owner:feature_detail", code=code)


# --- Owner: vendors ------------------------------------------------------------------------


@console_required(OWNER_CONSOLE)
def vendors(request):
    return render(
        request,
        "owner/governance/vendors.html",
        {
            "vendors": selectors.vendors(),
            "overdue": {v.pk for v in selectors.vendors_review_overdue()},
        },
    )


@console_required(OWNER_CONSOLE)
def vendor_edit(request, pk: int | None = None):
    vendor = None
    if pk is not None:
        vendor = Vendor.objects.filter(pk=pk).first()
        if vendor is None:
            raise Http404
    form = VendorForm(request.POST or None, instance=vendor)
    if request.method == "POST" and form.is_valid():
        try:
            services.vendor_save(vendor=vendor, **form.cleaned_data)
        except ApplicationError as error:
            _add_error(form, error)
        else:
            messages.success(request, _("Vendor saved."))
            return redirect("owner:vendors")
    return render(
        request,
        "owner/governance/vendor_form.html",
        {"form": form, "vendor": vendor},
        status=_status(request, form),
    )


# --- Trust survey --------------------------------------------------------------------------


@console_required(OWNER_CONSOLE)
def trust_survey(request):
    """The survey's results per quarter and the customers' comments (no names)."""
    return render(request, "owner/governance/trust_survey.html", dashboard.survey_context())


@require_POST
@login_required
def trust_survey_answer(request):
    """The customer's answer from their dashboard; back there with a message."""
    profile = customer_profile_for_user(user=request.user)
    if profile is None:
        raise Http404
    form = TrustSurveyForm(request.POST)
    if form.is_valid():
        try:
            services.trust_survey_answer(
                customer=profile,
                score=form.cleaned_data["score"],
                comment=form.cleaned_data["comment"],
            )
        except ApplicationError as error:
            _add_error(form, error)
        else:
            messages.success(request, _("Thank you for your answer."))
            return redirect(f"{reverse('me:dashboard')}#trust-heading")
    # Shown again with the answer as typed and the message next to the field.
    context = {
        "profile": profile,
        "overview": customer_overview(customer=profile),
        "trust": trust_card(customer=profile, form=form),
    }
    return render(request, "me/dashboard.html", context, status=400)
