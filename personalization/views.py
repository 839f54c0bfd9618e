from django.shortcuts import render

from accounts.decorators import console_required
from accounts.roles import STAFF_CONSOLE
from personalization import selectors
from personalization.oversight import selectors as oversight_selectors


@console_required(STAFF_CONSOLE)
def staff_dashboard(request):
    return render(
        request,
        "staff/dashboard.html",
        {"totals": selectors.shop_totals(), "review": oversight_selectors.queue_counts()},
    )
