"""The front doors: the staff's and the owner's home pages and the public /transparency/."""

from django.shortcuts import render

from accounts.decorators import console_required
from accounts.roles import OWNER_CONSOLE, STAFF_CONSOLE
from console import dashboard
from console.attention import attention_items
from console.overview import owner_overview
from console.transparency import transparency_facts
from personalization import selectors
from personalization.consent.notices import notice_current_or_default, notice_display
from personalization.oversight import selectors as oversight_selectors
from personalization.recommending import model_report


def transparency(request):
    """Public: how the shop's AI works now, from the live configuration, then the
    current privacy notice with its version."""
    notice = notice_current_or_default()
    context = {"display": notice_display(notice=notice), **transparency_facts()}
    return render(request, "transparency.html", context)


@console_required(STAFF_CONSOLE)
def staff_dashboard(request):
    return render(
        request,
        "staff/dashboard.html",
        {"totals": selectors.shop_totals(), "review": oversight_selectors.queue_counts()},
    )


@console_required(OWNER_CONSOLE)
def owner_dashboard(request):
    return render(
        request,
        "owner/dashboard.html",
        {
            **owner_overview(),
            "attention": attention_items(),
            **dashboard.dashboard_context(),
            "model": model_report.model_summary(),
        },
    )
