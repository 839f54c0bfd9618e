from django.shortcuts import render

from accounts.decorators import console_required
from accounts.roles import STAFF_CONSOLE
from personalization import selectors
from personalization.consent.notices import notice_current, notice_display, notice_ensure_initial


def transparency(request):
    """Public: the current privacy notice and "How we use AI" statement, with its version."""
    notice = notice_current() or notice_ensure_initial()
    return render(request, "transparency.html", {"display": notice_display(notice=notice)})


@console_required(STAFF_CONSOLE)
def staff_dashboard(request):
    return render(request, "staff/dashboard.html", {"totals": selectors.shop_totals()})
