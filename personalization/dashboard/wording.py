"""Plain words for codes the customer sees: attribute labels, counts, retention periods.

The one place that maps attribute codes (`contains:gluten`) to the labels people read
("Gluten"); other pages that show restrictions should import `attribute_label` too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import PersonalizationMode
from personalization.models import InteractionKind

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

ALLERGEN_PREFIX = "contains:"
# "contains:none" states that an item has no allergens: not something to avoid.
NO_ALLERGENS = "contains:none"

# Attribute codes a customer may ask never to be recommended, with their labels.
# The 14 allergens of EU Regulation 1169/2011 plus alcohol and the ones the demo uses;
# any other `contains:` code in the catalog is offered too, labelled from its name.
ATTRIBUTE_LABELS = {
    "contains:gluten": _("Gluten"),
    "contains:nuts": _("Nuts"),
    "contains:peanuts": _("Peanuts"),
    "contains:milk": _("Milk"),
    "contains:egg": _("Egg"),
    "contains:sesame": _("Sesame"),
    "contains:soya": _("Soya"),
    "contains:sulphites": _("Sulphites"),
    "contains:celery": _("Celery"),
    "contains:mustard": _("Mustard"),
    "contains:lupin": _("Lupin"),
    "contains:fish": _("Fish"),
    "contains:crustaceans": _("Crustaceans"),
    "contains:molluscs": _("Molluscs"),
    "alcohol": _("Alcohol"),
    "meat": _("Meat"),
    "pork": _("Pork"),
    "caffeine": _("Caffeine"),
    # Facts about items that are never restrictions, labelled for other pages.
    "contains:none": _("No allergens"),
    "vegan": _("Vegan"),
    "gluten-free": _("Gluten-free"),
}
# Non-allergen codes a customer may restrict (allergens are recognised by their prefix).
# Offered only when the catalog uses them: unlike allergens, the shop does not declare
# them for every item, so "never meat" would promise nothing without tagged items.
RESTRICTABLE_CODES = frozenset({"alcohol", "meat", "pork", "caffeine"})

AUDIT_ATTRIBUTE_LABELS = {
    "age_band": _("Age band"),
    "gender": _("Gender"),
}

MODE_LABELS = {
    PersonalizationMode.ON: _("On"),
    PersonalizationMode.PAUSED: _("Paused"),
    PersonalizationMode.OFF: _("Off"),
    PersonalizationMode.NONE: _("None"),
}
MODE_DESCRIPTIONS = {
    PersonalizationMode.ON: _(
        "Suggestions are picked for you, only from the data you allow, with the reasons shown."
    ),
    PersonalizationMode.PAUSED: _(
        "No personal suggestions until the date you choose; then personalization "
        "switches back on by itself."
    ),
    PersonalizationMode.OFF: _(
        "You'll see exactly what any visitor sees: the same list for everyone, "
        "nothing picked from your data."
    ),
    PersonalizationMode.NONE: _("No recommendations at all."),
}

# Why on-site recommendations read nothing now although the customer allowed them.
MODE_NOT_USED_NOTES = {
    PersonalizationMode.PAUSED: _("you allowed it, but not used while personalization is paused"),
    PersonalizationMode.OFF: _("you allowed it, but not used while personalization is off"),
    PersonalizationMode.NONE: _("you allowed it, but not used while recommendations are off"),
}


def is_allergen(code: str) -> bool:
    return code.startswith(ALLERGEN_PREFIX) and code != NO_ALLERGENS


def is_restrictable(code: str) -> bool:
    """Whether a customer may ask never to be recommended items with this attribute."""
    return is_allergen(code) or code in RESTRICTABLE_CODES


def attribute_label(code: str) -> str:
    """ "contains:gluten" -> "Gluten"; an unknown code is tidied up rather than shown raw."""
    label = ATTRIBUTE_LABELS.get(code)
    if label is not None:
        return str(label)
    name = code.removeprefix(ALLERGEN_PREFIX).replace("-", " ").replace("_", " ").strip()
    return name[:1].upper() + name[1:] if name else code


def audit_attribute_label(name: str) -> str:
    label = AUDIT_ATTRIBUTE_LABELS.get(name)
    if label is not None:
        return str(label)
    words = name.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def number(value: int) -> str:
    """A count in the reader's locale, with thousands grouped (1,234 / 1.234)."""
    return number_format(value, force_grouping=True)


def kind_count(kind: str, count: int) -> str:
    """ "38 purchases", "1 item viewed"... for one kind of interaction."""
    n = number(count)
    if kind == InteractionKind.PURCHASE:
        text = ngettext("%(n)s purchase", "%(n)s purchases", count)
    elif kind == InteractionKind.VIEW:
        text = ngettext("%(n)s item viewed", "%(n)s items viewed", count)
    elif kind == InteractionKind.CART:
        text = ngettext("%(n)s item added to the basket", "%(n)s items added to the basket", count)
    elif kind == InteractionKind.RATING:
        text = ngettext("%(n)s rating", "%(n)s ratings", count)
    elif kind == InteractionKind.RETURN:
        text = ngettext("%(n)s return", "%(n)s returns", count)
    else:
        text = ngettext("%(n)s record", "%(n)s records", count)
    return text % {"n": n}


def kind_label(kind: str) -> str:
    """What the customer did, as a short heading for one history entry."""
    labels: dict[str, StrOrPromise] = {
        InteractionKind.PURCHASE: _("Bought"),
        InteractionKind.VIEW: _("Viewed"),
        InteractionKind.CART: _("Added to the basket"),
        InteractionKind.RATING: _("Rated"),
        InteractionKind.RETURN: _("Returned"),
    }
    return str(labels.get(kind, kind))


def retention_period(days: int) -> str:
    """ "5 years", "6 months", "45 days": how long a category is kept, in plain words."""
    if days and days % 365 == 0:
        years = days // 365
        return ngettext("%(n)s year", "%(n)s years", years) % {"n": number(years)}
    if days and days % 30 == 0 and days < 365:
        months = days // 30
        return ngettext("%(n)s month", "%(n)s months", months) % {"n": number(months)}
    return ngettext("%(n)s day", "%(n)s days", days) % {"n": number(days)}
