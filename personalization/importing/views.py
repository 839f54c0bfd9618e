"""The owner's data import (/owner/import/). Thin: parse, call runs.py, render."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import OWNER_CONSOLE
from core.errors import ApplicationError
from personalization.importing import non_product, runs
from personalization.importing.forms import (
    ImportUploadForm,
    NonProductCodeForm,
    import_profiles,
)
from personalization.models import ImportRun, ImportRunStatus
from personalization.models.import_runs import IMPORT_RUN_WAITING, IMPORT_RUN_WORKING

IMPORT_PERMISSION = "personalization.import_data"


def owner_import(view):
    """Signed in as the owner, who may import the shop's data."""

    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not (request.user.has_perm(OWNER_CONSOLE) and request.user.has_perm(IMPORT_PERMISSION)):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


@owner_import
def import_page(request):
    status = 200
    if request.method == "POST":
        form = ImportUploadForm(request.POST, request.FILES)
        too_large = getattr(request, "upload_too_large", None)
        if too_large:
            form.is_valid()
            form.errors.pop("uploads", None)
            form.add_error(
                "uploads",
                _("The files are larger than %(limit)s together; nothing was kept.")
                % {"limit": filesizeformat(too_large)},
            )
        elif form.is_valid():
            try:
                run = runs.import_run_create(
                    profile=form.cleaned_data["profile"],
                    uploads=form.cleaned_data["uploads"],
                    user=request.user,
                )
            except ApplicationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                return redirect("owner:import_detail", pk=run.pk)
        status = 400
    else:
        form = ImportUploadForm()
    context = {
        "form": form,
        "profiles": import_profiles(),
        "runs": runs.import_runs_recent(),
        "statuses": ImportRunStatus,
    }
    return render(request, "importing/page.html", context, status=status)


@owner_import
@require_GET
def import_detail(request, pk: int):
    run = get_object_or_404(ImportRun.objects.select_related("created_by", "confirmed_by"), pk=pk)
    context = {
        "run": run,
        "progress": runs.import_run_progress(run=run),
        "in_progress": run.status in (*IMPORT_RUN_WAITING, *IMPORT_RUN_WORKING),
        "profile_label": dict((n, label) for n, label, _d in import_profiles()).get(
            run.profile, run.profile
        ),
        "statuses": ImportRunStatus,
    }
    return render(request, "importing/detail.html", context)


@owner_import
@require_POST
def import_confirm(request, pk: int):
    run = get_object_or_404(ImportRun, pk=pk)
    try:
        runs.import_run_confirm(run_id=run.pk, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Import confirmed: it runs now, all or nothing."))
    return redirect("owner:import_detail", pk=run.pk)


@owner_import
@require_POST
def import_discard(request, pk: int):
    run = get_object_or_404(ImportRun, pk=pk)
    try:
        runs.import_run_discard(run_id=run.pk)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Discarded: the uploaded files were deleted."))
    return redirect("owner:import")


@owner_import
@require_GET
def import_progress(request, pk: int):
    run = get_object_or_404(ImportRun, pk=pk)
    return JsonResponse(runs.import_run_progress(run=run))


@owner_import
def non_product_codes(request):
    """The owner's list of non-product codes: read it, add one (POST)."""
    status = 200
    if request.method == "POST":
        form = NonProductCodeForm(request.POST)
        if form.is_valid():
            try:
                added = non_product.non_product_code_add(
                    code=form.cleaned_data["code"], note=form.cleaned_data["note"]
                )
            except ApplicationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(
                    request,
                    _(
                        "%(code)s added: its lines are kept out of imports, and its items out "
                        "of recommendations from the next generation on."
                    )
                    % {"code": added.code},
                )
                return redirect("owner:import_non_product_codes")
        status = 400
    else:
        form = NonProductCodeForm()
    items = non_product.non_product_items_count()
    context = {
        "form": form,
        "codes": [(code, items.get(code.code, 0)) for code in non_product.non_product_codes_list()],
    }
    return render(request, "importing/non_product_codes.html", context, status=status)


@owner_import
@require_POST
def non_product_code_remove(request, pk: int):
    try:
        code = non_product.non_product_code_remove(code_id=pk)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _(
                "%(code)s removed: its items may be recommended again from the next generation "
                "on, and later imports read its lines as sales."
            )
            % {"code": code},
        )
    return redirect("owner:import_non_product_codes")
