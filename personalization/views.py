from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.decorators import console_required
from accounts.roles import STAFF_CONSOLE
from accounts.selectors import customer_profile_for_user
from personalization import selectors


def transparency(request):
    """Public: what data the shop holds, for what purposes, and for how long."""
    return render(request, "transparency.html", selectors.registry_for_display())


@login_required
def me_dashboard(request):
    """The customer's own page: what the shop knows about them."""
    profile = customer_profile_for_user(user=request.user)
    context = {"profile": profile, "summary": [], "recent": []}
    if profile is not None:
        context["summary"] = selectors.customer_data_summary(customer=profile)
        context["recent"] = selectors.recent_interactions(customer=profile)
    return render(request, "me/dashboard.html", context)


@console_required(STAFF_CONSOLE)
def staff_dashboard(request):
    return render(request, "staff/dashboard.html", {"totals": selectors.shop_totals()})
