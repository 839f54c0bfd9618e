import secrets

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import console_required
from accounts.roles import OWNER_CONSOLE
from personalization.models import Webhook, WebhookDelivery
from personalization.webhooks.forms import WebhookForm


@console_required(OWNER_CONSOLE)
def webhook_list(request):
    form = WebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        hook = form.save(commit=False)
        hook.secret = secrets.token_urlsafe(32)
        hook.save()
        messages.success(
            request,
            _("Webhook '%(name)s' added. Give its signing secret to the receiving system.")
            % {"name": hook.name},
        )
        return redirect("owner:webhook-detail", pk=hook.pk)
    hooks = Webhook.objects.all()
    return render(request, "owner/webhooks.html", {"form": form, "hooks": hooks})


@console_required(OWNER_CONSOLE)
def webhook_detail(request, pk: int):
    hook = get_object_or_404(Webhook, pk=pk)
    deliveries = WebhookDelivery.objects.filter(webhook=hook)[:50]
    return render(request, "owner/webhook_detail.html", {"hook": hook, "deliveries": deliveries})


@require_POST
@console_required(OWNER_CONSOLE)
def webhook_toggle(request, pk: int):
    hook = get_object_or_404(Webhook, pk=pk)
    hook.active = not hook.active
    hook.save(update_fields=["active"])
    if hook.active:
        messages.success(request, _("Webhook '%(name)s' switched on.") % {"name": hook.name})
    else:
        messages.success(request, _("Webhook '%(name)s' switched off.") % {"name": hook.name})
    return redirect("owner:webhook-detail", pk=hook.pk)
