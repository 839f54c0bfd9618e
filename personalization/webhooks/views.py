from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.decorators import console_required
from accounts.roles import OWNER_CONSOLE
from personalization.models import Webhook, WebhookDelivery
from personalization.webhooks import configuring
from personalization.webhooks.forms import WebhookForm
from personalization.webhooks.targets import TargetRefused


@never_cache
@console_required(OWNER_CONSOLE)
def webhook_list(request):
    form = WebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            hook, secret = configuring.webhook_create(
                name=form.cleaned_data["name"],
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
            )
        except TargetRefused as refused:
            form.add_error("url", str(refused.reason))
        else:
            # Rendered, not redirected: the secret is shown this once only.
            return render(
                request, "owner/webhook_secret.html", {"hook": hook, "secret": secret, "new": True}
            )
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


@never_cache
@require_POST
@console_required(OWNER_CONSOLE)
def webhook_rotate(request, pk: int):
    hook = get_object_or_404(Webhook, pk=pk)
    secret = configuring.webhook_secret_rotate(webhook=hook)
    return render(
        request, "owner/webhook_secret.html", {"hook": hook, "secret": secret, "new": False}
    )


@require_POST
@console_required(OWNER_CONSOLE)
def webhook_test(request, pk: int):
    hook = get_object_or_404(Webhook, pk=pk)
    result = configuring.webhook_test_send(webhook=hook)
    if result.ok:
        messages.success(request, result.message)
    else:
        messages.error(request, _("Test event not accepted: %(why)s") % {"why": result.message})
    return redirect("owner:webhook-detail", pk=hook.pk)


@console_required(OWNER_CONSOLE)
def webhook_delete(request, pk: int):
    hook = get_object_or_404(Webhook, pk=pk)
    if request.method == "POST":
        configuring.webhook_delete(webhook=hook)
        messages.success(request, _("Webhook '%(name)s' deleted.") % {"name": hook.name})
        return redirect("owner:webhooks")
    pending = hook.deliveries.filter(status=WebhookDelivery.Status.PENDING).count()
    return render(request, "owner/webhook_delete.html", {"hook": hook, "pending": pending})
