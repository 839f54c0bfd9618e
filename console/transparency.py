"""What the public transparency page says, read from the live configuration.

Reads across apps (personalization, oversight, audits) and lives above them, like the
owner's dashboard; nothing here is written by hand except the fixed promises the code
itself keeps (see `NEVER`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import PersonalizationMode
from audits.reports.selectors import audit_latest_summary
from governance import selectors as governance
from personalization.consent.selectors import cell_applies, retention_words
from personalization.models import DataCategory, Purpose
from personalization.oversight.selectors import review_sla, spot_checks
from personalization.recommending.model_report import model_summary

# Days of review decisions the page's "how fast" figures cover.
REVIEW_WINDOW_DAYS = 30

# What the code guarantees whatever the configuration (each is enforced and tested
# elsewhere: engine consent filter, audit attributes, guardrails, restrictions).
NEVER = (
    _("It never reads data you did not allow, for a purpose you did not allow."),
    _(
        "It never uses the details you declared for fairness checks (such as an age band) "
        "to choose what you are shown."
    ),
    _("It never recommends anything you told us never to recommend."),
    _("It never sets prices, and never decides anything about you on its own."),
)


@dataclass(frozen=True)
class CategoryRow:
    name: str
    description: str
    purposes: tuple[str, ...]
    retention: str


def transparency_facts() -> dict[str, object]:
    now = timezone.now()
    purposes = list(Purpose.objects.order_by("pk"))
    categories = [
        CategoryRow(
            name=category.name,
            description=category.description,
            purposes=tuple(
                p.name
                for p in purposes
                if cell_applies(purpose=p.code, data_category=category.code)
            ),
            retention=retention_words(category.retention_days),
        )
        for category in DataCategory.objects.order_by("pk")
    ]
    features = governance.features_overview()
    on = [row for row in features if row.feature.enabled]
    return {
        # Features still running on the installation baseline, not yet signed off by a
        # person at the shop: the page says so rather than claim a review.
        "features_on_baseline": [
            row.feature for row in on if row.approved is None or row.approved.approved_by_id is None
        ],
        "kill_switch": governance.kill_switch_state(),
        "features_on": [row.feature for row in features if row.feature.enabled],
        "features_off": [row.feature for row in features if not row.feature.enabled],
        "never": NEVER,
        "purposes": purposes,
        "categories": categories,
        "review": review_sla(since=now - timedelta(days=REVIEW_WINDOW_DAYS), now=now),
        "review_window_days": REVIEW_WINDOW_DAYS,
        "spot_checks": spot_checks(since=now - timedelta(days=REVIEW_WINDOW_DAYS)),
        # Aggregates only: groups under the minimum size carry no figure at all.
        "audit": audit_latest_summary(),
        "policy": governance.ai_policy_current(),
        # The serving model and its main settings in plain words (recommending.model_report).
        "model": model_summary(),
        "vendors": governance.vendors(),
        "contact_email": settings.SHOP_CONTACT_EMAIL or settings.DEFAULT_FROM_EMAIL,
        "contact_address": settings.SHOP_CONTACT_ADDRESS,
        "modes": [
            (mode.label, _mode_words(mode))
            for mode in (
                PersonalizationMode.PAUSED,
                PersonalizationMode.OFF,
                PersonalizationMode.NONE,
            )
        ],
    }


def _mode_words(mode: PersonalizationMode) -> str:
    words = {
        PersonalizationMode.PAUSED: _(
            "No personalization until a date you choose; then it resumes."
        ),
        PersonalizationMode.OFF: _("You see the same suggestions as any visitor."),
        PersonalizationMode.NONE: _("You see no suggestions at all."),
    }
    return str(words[mode])
