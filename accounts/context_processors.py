from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.roles import Role
from accounts.selectors import user_role


def navigation(request):
    """Navigation links for the signed-in person's role."""
    role = user_role(user=request.user)
    links = [(_("Home"), reverse("home")), (_("How we use AI"), reverse("transparency"))]
    if role is Role.CUSTOMER:
        links.append((_("My data & choices"), reverse("me:dashboard")))
    if role in (Role.STAFF, Role.OWNER):
        links.append((_("Staff console"), reverse("staff:dashboard")))
    if role is Role.OWNER:
        links.append((_("Owner console"), reverse("owner:dashboard")))
        links.append((_("Admin"), reverse("admin:index")))
    return {"nav_links": links, "nav_role": role, "shop_name": settings.SHOP_NAME}
