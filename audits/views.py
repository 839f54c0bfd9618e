from django.shortcuts import render

from accounts.decorators import console_required
from accounts.roles import OWNER_CONSOLE
from audits import selectors


@console_required(OWNER_CONSOLE)
def owner_dashboard(request):
    return render(request, "owner/dashboard.html", selectors.owner_overview())
