from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.roles import Role
from accounts.selectors import user_role

# The pages of each area, shown as a second row of navigation inside it. The owner's
# pages come in groups (a group without a title is shown first, alone).
Pages = tuple[tuple[Promise, str], ...]
SECTIONS: dict[str, tuple[tuple[Promise | None, Pages], ...]] = {
    "/me/": (
        (
            None,
            (
                (gettext_lazy("Overview"), "me:dashboard"),
                (gettext_lazy("Recommendations"), "me:recommendations"),
                (gettext_lazy("Consent"), "me:consent"),
                (gettext_lazy("History"), "me:history"),
                (gettext_lazy("Preferences"), "me:preferences"),
                (gettext_lazy("Data requests"), "me:data_requests"),
                (gettext_lazy("Privacy notice"), "me:notice"),
            ),
        ),
    ),
    "/staff/": (
        (
            None,
            (
                (gettext_lazy("Overview"), "staff:dashboard"),
                (gettext_lazy("Review queue"), "staff:review_queue"),
                (gettext_lazy("Data requests"), "staff:data_requests"),
                (gettext_lazy("Campaigns"), "staff:campaign_list"),
                (gettext_lazy("AI policy"), "staff:ai_policy"),
                (gettext_lazy("Two-factor sign-in"), "mfa_index"),
            ),
        ),
    ),
    "/owner/": (
        (None, ((gettext_lazy("Overview"), "owner:dashboard"),)),
        (
            gettext_lazy("Trust"),
            (
                (gettext_lazy("Privacy notice"), "owner:notice_list"),
                (gettext_lazy("Campaigns"), "owner:campaign_list"),
                (gettext_lazy("Trust survey"), "owner:trust_survey"),
                (gettext_lazy("Kill switch"), "owner:kill_switch"),
            ),
        ),
        (
            gettext_lazy("Data"),
            (
                (gettext_lazy("Import data"), "owner:import"),
                (gettext_lazy("Retention"), "owner:retention"),
                (gettext_lazy("Review trail"), "owner:review_trail"),
            ),
        ),
        (
            gettext_lazy("AI governance"),
            (
                (gettext_lazy("Bias audits"), "owner:audit_list"),
                (gettext_lazy("Audit policy"), "owner:audit_policy"),
                (gettext_lazy("Oversight rules"), "owner:oversight"),
                (gettext_lazy("Escalations"), "owner:escalations"),
                (gettext_lazy("AI policy"), "owner:ai_policy"),
                (gettext_lazy("Features & risk"), "owner:features"),
                (gettext_lazy("Vendors"), "owner:vendors"),
            ),
        ),
        (
            gettext_lazy("Integrations"),
            (
                (gettext_lazy("API keys"), "owner:api_keys"),
                (gettext_lazy("Webhooks"), "owner:webhooks"),
                (gettext_lazy("Two-factor sign-in"), "mfa_index"),
            ),
        ),
    ),
}


def section_pages(prefix: str) -> list[tuple[Promise, str]]:
    """Every page of an area ("/me/", "/staff/", "/owner/"), in the order its navigation
    shows them: (label, URL name)."""
    return [page for _title, pages in SECTIONS[prefix] for page in pages]


@dataclass(frozen=True)
class SectionGroup:
    title: str
    links: list[tuple[str, str]]
    current: bool


def _section_groups(path: str) -> list[SectionGroup]:
    for prefix, groups in SECTIONS.items():
        if path.startswith(prefix):
            built = []
            for title, pages in groups:
                links = [(str(label), reverse(name)) for label, name in pages]
                built.append(
                    SectionGroup(
                        str(title or ""), links, current=any(href == path for _l, href in links)
                    )
                )
            return built
    return []


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
    groups = _section_groups(request.path) if role is not None else []
    section = [link for group in groups for link in group.links]
    # The page the phone's closed menu names ("Menu: Vendors").
    current = next((label for label, href in section if href == request.path), "")
    return {
        "nav_links": links,
        "section_links": section,
        "section_groups": groups,
        "section_current": current,
        "nav_role": role,
        "shop_name": settings.SHOP_NAME,
    }
