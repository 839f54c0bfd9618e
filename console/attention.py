"""What needs the owner now: the attention strip at the top of the owner's home page.

Reads only. Each item is a count, a sentence and the page where the owner acts; an item
whose count is 0 is left out, so an empty list means nothing needs the owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from audits.models import AuditFinding
from governance import selectors as governance
from personalization.oversight.selectors import escalations_count

# The address Django sends from when nobody configured one: customers cannot write to it.
PLACEHOLDER_DOMAIN = "@localhost"


@dataclass(frozen=True)
class AttentionItem:
    key: str
    count: int
    text: str
    link: str


def contact_address() -> str:
    """The address customers are told to write to (as on /transparency/)."""
    return settings.SHOP_CONTACT_EMAIL or settings.DEFAULT_FROM_EMAIL


def attention_items(*, today: date | None = None) -> list[AttentionItem]:
    today = today or timezone.localdate()
    items: list[AttentionItem] = []

    def add(key: str, count: int, text: str, link: str) -> None:
        if count:
            items.append(AttentionItem(key, count, text, link))

    escalated = escalations_count()
    add(
        "escalations",
        escalated,
        ngettext(
            "review item is escalated to you and waits for your decision",
            "review items are escalated to you and wait for your decision",
            escalated,
        ),
        reverse("owner:escalations"),
    )
    findings = AuditFinding.objects.filter(status=AuditFinding.Status.OPEN).count()
    add(
        "findings",
        findings,
        ngettext(
            "audit finding is not acknowledged yet",
            "audit findings are not acknowledged yet",
            findings,
        ),
        reverse("owner:audit_list"),
    )
    overdue = len(governance.vendors_review_overdue(today=today))
    add(
        "vendors",
        overdue,
        ngettext("vendor review is overdue", "vendor reviews are overdue", overdue),
        reverse("owner:vendors"),
    )
    unread = len(governance.ai_policy_not_acknowledged_by())
    add(
        "policy",
        unread,
        ngettext(
            "person at the shop has not read the current AI policy",
            "people at the shop have not read the current AI policy",
            unread,
        ),
        reverse("owner:ai_policy"),
    )
    placeholder = contact_address().lower().endswith(PLACEHOLDER_DOMAIN)
    add(
        "contact",
        int(placeholder),
        ngettext(
            "contact address is still shop@localhost: customers cannot reach you "
            "(set SHOP_CONTACT_EMAIL)",
            "contact addresses are still shop@localhost (set SHOP_CONTACT_EMAIL)",
            int(placeholder),
        ),
        reverse("transparency") + "#t-contact",
    )
    baseline = len(governance.features_on_install_baseline())
    add(
        "baseline",
        baseline,
        ngettext(
            "feature's risk assessment is still the install baseline",
            "features' risk assessments are still the install baseline",
            baseline,
        ),
        reverse("owner:features"),
    )
    return items
