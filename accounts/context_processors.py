from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from accounts.roles import Role
from accounts.selectors import user_role

# The pages of each area, shown as a second row of navigation inside it.
SECTIONS = {
    "/me/": (
        (_lazy("Overview"), "me:dashboard"),
        (_lazy("Recommendations"), "me:recommendations"),
        (_lazy("Consent"), "me:consent"),
        (_lazy("History"), "me:history"),
        (_lazy("Preferences"), "me:preferences"),
        (_lazy("Data requests"), "me:data_requests"),
        (_lazy("Privacy notice"), "me:notice"),
    ),
    "/staff/": (
        (_lazy("Overview"), "staff:dashboard"),
        (_lazy("Review queue"), "staff:review_queue"),
        (_lazy("Data requests"), "staff:data_requests"),
        (_lazy("Campaigns"), "staff:campaign_list"),
        (_lazy("AI policy"), "staff:ai_policy"),
        (_lazy("Two-factor sign-in"), "mfa_index"),
    ),
    "/owner/": (
        (_lazy("Overview"), "owner:dashboard"),
        (_lazy("Privacy notice"), "owner:notice_list"),
        (_lazy("Retention"), "owner:retention"),
        (_lazy("Oversight rules"), "owner:oversight"),
        (_lazy("Review trail"), "owner:review_trail"),
        (_lazy("Webhooks"), "owner:webhooks"),
        (_lazy("Bias audits"), "owner:audit_list"),
        (_lazy("Audit policy"), "owner:audit_policy"),
        (_lazy("Campaigns"), "owner:campaign_list"),
        (_lazy("Import data"), "owner:import"),
        (_lazy("Kill switch"), "owner:kill_switch"),
        (_lazy("AI policy"), "owner:ai_policy"),
        (_lazy("Features & risk"), "owner:features"),
        (_lazy("Vendors"), "owner:vendors"),
        (_lazy("Trust survey"), "owner:trust_survey"),
        (_lazy("API keys"), "owner:api_keys"),
        (_lazy("Two-factor sign-in"), "mfa_index"),
    ),
}


def navigation(request):
    """Navigation links for the signed-in person's role, and for the area they are in."""
    role = user_role(user=request.user)
    links = [(_("Home"), reverse("home")), (_("How we use AI"), reverse("transparency"))]
    if role is Role.CUSTOMER:
        links.append((_("My data & choices"), reverse("me:dashboard")))
    if role in (Role.STAFF, Role.OWNER):
        links.append((_("Staff console"), reverse("staff:dashboard")))
    if role is Role.OWNER:
        links.append((_("Owner console"), reverse("owner:dashboard")))
        links.append((_("Admin"), reverse("admin:index")))
    section = []
    if role is not None:
        for prefix, pages in SECTIONS.items():
            if request.path.startswith(prefix):
                section = [(str(label), reverse(name)) for label, name in pages]
    return {
        "nav_links": links,
        "section_links": section,
        "nav_role": role,
        "shop_name": settings.SHOP_NAME,
    }
