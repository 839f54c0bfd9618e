from django.shortcuts import redirect, render

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
