"""The rules' flags in words a reviewer understands (translated when shown or stored)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

# Rule code -> short name for filters and counts.
# The sentence of a reviewer's replacement (stored in the shop's language, shown in the
# reader's: serving translates it).
STAFF_PICK_SENTENCE = gettext_lazy("Chosen for you by our staff")


def staff_pick_sentence_stored() -> str:
    """The staff pick's sentence as rows store it: in the shop's language, like the
    generated sentences (serving shows the reader's translation)."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(STAFF_PICK_SENTENCE)


RULE_NAMES = {
    "restriction_conflict": gettext_lazy("Conflicts with a restriction"),
    "missing_attribute_data": gettext_lazy("Allergen data missing"),
    "sensitive_item": gettext_lazy("Sensitive item"),
    "premium_nudge": gettext_lazy("Premium nudge"),
    "low_confidence": gettext_lazy("Rests on little evidence"),
    "recent_complaint": gettext_lazy("Recent complaint"),
    "new_model_sample": gettext_lazy("New model sample"),
    "campaign": gettext_lazy("Campaign"),
}


def rule_name(code: str) -> str:
    return str(RULE_NAMES.get(code, code))


def _codes(values: list[str]) -> str:
    return ", ".join(values)


def flag_words(rule: str, facts: dict[str, Any]) -> str:
    """Why the rule fired, as one sentence (in the active language)."""
    if rule == "restriction_conflict":
        return _("The item has %(attributes)s, which the customer asked never to be offered.") % {
            "attributes": _codes(facts.get("attributes", []))
        }
    if rule == "missing_attribute_data":
        return _(
            "The shop has not recorded this item's allergens, and the customer avoids "
            "%(restrictions)s: check the item before it is offered."
        ) % {"restrictions": _codes(facts.get("restrictions", []))}
    if rule == "sensitive_item":
        parts = list(facts.get("attributes") or [])
        if facts.get("category"):
            parts.append(facts["category"])
        return _("The item is in a sensitive group the owner wants reviewed (%(what)s).") % {
            "what": _codes(parts)
        }
    if rule == "premium_nudge":
        return _(
            "The item costs £%(price)s, %(multiple)s times the £%(usual)s the customer "
            "usually pays per item."
        ) % {
            "price": number_format(facts.get("price", 0), 2),
            "multiple": number_format(facts.get("multiple", 0), 1),
            "usual": number_format(facts.get("usual_spend", 0), 2),
        }
    if rule == "low_confidence":
        n = facts.get("evidence_events", 0)
        return ngettext(
            "The suggestion rests on %(n)s of the customer's own purchases or visits: "
            "check whether it says enough about them.",
            "The suggestion rests on only %(n)s of the customer's own purchases or "
            "visits: check whether they say enough about them.",
            n,
        ) % {"n": number_format(n, 0)}
    if rule == "recent_complaint":
        n = facts.get("complaints", 1)
        return ngettext(
            "The customer recently said an item of this kind was not for them or that "
            "they cannot have it.",
            "The customer recently complained %(n)d times about items of this kind (not "
            "for them, or they cannot have them).",
            n,
        ) % {"n": n}
    if rule == "new_model_sample":
        return _(
            "One of the first %(n)s recommendations of a new model version: a sample a "
            "person checks before the model runs unattended."
        ) % {"n": number_format(facts.get("sample_size", 0), 0)}
    if rule == "campaign":
        return _("Every offer email is checked by a person before it is sent.")
    return rule
