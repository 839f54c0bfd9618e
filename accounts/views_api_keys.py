"""The owner's API keys: create (shown once), list with last use, revoke."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts import services
from accounts.decorators import console_required
from accounts.forms_api_keys import ApiKeyForm
from accounts.models import ApiKey, ApiScope
from accounts.roles import OWNER_CONSOLE
from core.errors import ApplicationError


@never_cache
@console_required(OWNER_CONSOLE)
def api_key_list(request):
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            api_key, key = services.api_key_create(
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                created_by=request.user,
            )
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            # Rendered, not redirected: the key is shown once and stored nowhere.
            return render(request, "owner/api_key_created.html", {"api_key": api_key, "key": key})
    keys = ApiKey.objects.select_related("created_by").order_by("revoked_at", "name")
    labels = dict(ApiScope.choices)
    rows = [(key, [labels.get(scope, scope) for scope in key.scopes]) for key in keys]
    return render(request, "owner/api_keys.html", {"form": form, "rows": rows})


@require_http_methods(["GET", "POST"])
@console_required(OWNER_CONSOLE)
def api_key_revoke(request, pk: int):
    """GET: the question, with what stops working. POST with confirm=yes: revoke."""
    api_key = get_object_or_404(ApiKey, pk=pk)
    if request.method == "GET" or request.POST.get("confirm") != "yes":
        if api_key.revoked_at is not None:
            return redirect("owner:api_keys")
        return render(request, "owner/api_key_revoke.html", {"api_key": api_key})
    if api_key.revoked_at is None:
        services.api_key_revoke(api_key=api_key)
        messages.success(
            request,
            _("Key “%(name)s” revoked: requests with it are refused from now on.")
            % {"name": api_key.name},
        )
    return redirect("owner:api_keys")
