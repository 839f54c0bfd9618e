"""The owner's audit pages: list with trend, report, progress, exports, findings, policy."""

from __future__ import annotations

import csv
import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import console_required
from accounts.roles import OWNER_CONSOLE
from audits import findings, schedules, services
from audits.loading import declared_values
from audits.models import AuditFinding, AuditRun
from audits.reports import pages, selectors
from audits.reports.forms import AuditPolicyForm, FindingActionForm
from core.errors import ApplicationError


@console_required(OWNER_CONSOLE)
def audit_list(request):
    page = Paginator(selectors.audit_runs(), 20).get_page(request.GET.get("page"))
    return render(
        request,
        "owner/audits/list.html",
        {
            "page": page,
            "active": selectors.audit_run_active(),
            "trend": pages.runs_trend(),
            "latest": selectors.audit_latest_summary(),
        },
    )


@require_POST
@console_required(OWNER_CONSOLE)
def audit_start(request):
    try:
        run = services.audit_run_start(trigger=AuditRun.Trigger.CONSOLE, requested_by=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("owner:audit_list")
    messages.success(request, _("Audit #%(id)d started.") % {"id": run.pk})
    return redirect("owner:audit_detail", pk=run.pk)


@console_required(OWNER_CONSOLE)
def audit_detail(request, pk: int):
    run = get_object_or_404(AuditRun, pk=pk)
    context = pages.report_context(run)
    context["finding_form"] = FindingActionForm()
    return render(request, "owner/audits/detail.html", context)


@require_GET
@console_required(OWNER_CONSOLE)
def audit_progress(request, pk: int):
    run = get_object_or_404(AuditRun, pk=pk)
    return JsonResponse(pages.progress_dict(run))


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_GET
@console_required(OWNER_CONSOLE)
def audit_export_csv(request, pk: int):
    run = get_object_or_404(AuditRun, pk=pk, status=AuditRun.Status.COMPLETED)
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in selectors.audit_run_csv_rows(run)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="audit-{run.pk}.csv"'
    return response


@require_GET
@console_required(OWNER_CONSOLE)
def audit_export_json(request, pk: int):
    run = get_object_or_404(AuditRun, pk=pk, status=AuditRun.Status.COMPLETED)
    response = HttpResponse(
        json.dumps(selectors.audit_run_export(run), indent=2, sort_keys=True),
        content_type="application/json",
    )
    response["Content-Disposition"] = f'attachment; filename="audit-{run.pk}.json"'
    return response


_ACTIONS = {
    "acknowledge": (findings.audit_finding_acknowledge, _("Finding acknowledged.")),
    "explain": (findings.audit_finding_explain, _("Explanation saved.")),
    "resolve": (findings.audit_finding_resolve, _("Finding resolved.")),
    "reopen": (findings.audit_finding_reopen, _("Finding reopened.")),
}


@require_POST
@console_required(OWNER_CONSOLE)
def finding_action(request, pk: int):
    finding = get_object_or_404(AuditFinding.objects.select_related("run"), pk=pk)
    form = FindingActionForm(request.POST)
    anchor = f"#finding-{finding.pk}"
    if not form.is_valid():
        messages.error(
            request,
            _("That did not work: %(errors)s")
            % {"errors": "; ".join(str(e) for errors in form.errors.values() for e in errors)},
        )
        return redirect(_detail_url(finding) + anchor)
    service, done = _ACTIONS[form.cleaned_data["action"]]
    try:
        service(
            finding=finding, user=request.user, explanation=form.cleaned_data["explanation"] or ""
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(_detail_url(finding) + anchor)
    messages.success(request, str(done))
    return redirect(_detail_url(finding) + anchor)


def _detail_url(finding: AuditFinding) -> str:
    from django.urls import reverse

    return reverse("owner:audit_detail", args=[finding.run_id])


@console_required(OWNER_CONSOLE)
def audit_policy(request):
    policy = services.audit_policy_get()
    attributes = sorted(declared_values().items())
    schedule = services.audit_schedule_get()
    initial = {
        "attributes": policy.attributes,
        "metrics": policy.metrics,
        "ratio_threshold": policy.ratio_threshold,
        "difference_threshold": policy.difference_threshold,
        "min_group_size": policy.min_group_size,
        "drift_threshold": policy.drift_threshold,
        "baseline_run": policy.baseline_run_id,
        "notify_owners": policy.notify_owners,
        **schedule,
        **{f"reference__{k}": v for k, v in policy.reference_groups.items()},
    }
    form = AuditPolicyForm(request.POST or None, initial=initial, attributes=attributes)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.audit_policy_update(
                policy=policy,
                attributes=list(data["attributes"]),
                metrics=list(data["metrics"]),
                ratio_threshold=data["ratio_threshold"],
                difference_threshold=data["difference_threshold"],
                min_group_size=data["min_group_size"],
                drift_threshold=data["drift_threshold"],
                reference_groups=form.reference_groups(),
                baseline_run=data["baseline_run"],
                notify_owners=data["notify_owners"],
            )
            services.audit_schedule_update(
                frequency=data["frequency"], weekday=data["weekday"] or "1", hour=data["hour"]
            )
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("Audit policy saved. The next audit uses it."))
            return redirect("owner:audit_policy")
    return render(
        request,
        "owner/audits/policy.html",
        {
            "form": form,
            "policy": policy,
            "schedule_name": schedules.AUDIT_SCHEDULE_NAME,
            "declared": attributes,
        },
    )
