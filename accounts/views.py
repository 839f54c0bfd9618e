from allauth.account.forms import SetPasswordForm
from allauth.account.models import EmailAddress
from allauth.account.utils import perform_login
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts import credentials, services
from accounts.roles import Role
from accounts.selectors import user_role


def home(request):
    """Public landing page; signed-in people go to their role's start page."""
    role = user_role(user=request.user)
    if role is Role.OWNER:
        return redirect("owner:dashboard")
    if role is Role.STAFF:
        return redirect("staff:dashboard")
    if role is Role.CUSTOMER:
        return redirect("me:dashboard")
    return render(request, "home.html")


@require_http_methods(["GET", "POST"])
def choose_password(request):
    """The browser that just proved an account's mailbox chooses its password.

    Reached after the confirmation link was opened somewhere other than the browser
    that signed up (that password was dropped); the shop's record is claimed here.
    """
    user = credentials.user_who_may_choose_password(request)
    if user is None:
        messages.info(
            request,
            _("This step is no longer open. Sign in with a code sent to your email instead."),
        )
        return redirect("account_request_login_code")
    form = SetPasswordForm(data=request.POST if request.method == "POST" else None, user=user)
    if request.method == "POST" and form.is_valid():
        services.user_password_choose(user=user, password=form.cleaned_data["password1"])
        credentials.forget_choosing_password(request)
        response = perform_login(request, user, redirect_url=reverse("home"))
        messages.success(request, _("Your password is saved."))
        return response
    email = EmailAddress.objects.filter(user=user, verified=True).order_by("-primary").first()
    return render(
        request,
        "account/choose_password.html",
        {"form": form, "email": email.email if email else user.email},
    )
