"""Reasons in words: the plain-language sentence and the "Why this?" lines.

Rendered from the stored, structured reasons with Django's gettext, so every language
gets its own words and the words can never say more than the numbers do.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from personalization import engine, registry

_CATEGORY_NAMES = {spec.code: spec.name for spec in registry.DATA_CATEGORIES}


def data_category_name(code: str) -> str:
    # The registry's names are translated where the registry rows are shown.
    return _(_CATEGORY_NAMES.get(code, code))


def _history_phrase(reason: dict, *, same_item: bool) -> str:
    counts = reason.get("counts") or {}
    name = reason.get("name") or _("an item")
    if "purchase" in counts:
        n = counts["purchase"]
        if same_item:
            return ngettext("you bought it before", "you bought it %(n)d times", n) % {"n": n}
        return ngettext("you bought %(item)s", "you bought %(item)s %(n)d times", n) % {
            "item": name,
            "n": n,
        }
    if "rating" in counts:
        if same_item:
            return _("you rated it")
        return _("you rated %(item)s") % {"item": name}
    if "cart" in counts:
        n = counts["cart"]
        if same_item:
            return ngettext(
                "you put it in your basket", "you put it in your basket %(n)d times", n
            ) % {"n": n}
        return ngettext(
            "you put %(item)s in your basket", "you put %(item)s in your basket %(n)d times", n
        ) % {"item": name, "n": n}
    n = counts.get("view", 1)
    if same_item:
        return ngettext("you looked at it", "you looked at it %(n)d times", n) % {"n": n}
    return ngettext("you looked at %(item)s", "you looked at %(item)s %(n)d times", n) % {
        "item": name,
        "n": n,
    }


def reason_phrase(reason: dict, *, item_id: int) -> str:
    """One reason as a phrase that fits after "Because"."""
    kind = reason["kind"]
    if kind == engine.HISTORY:
        if reason["contribution"] < 0 and reason.get("item") != item_id:
            # EASE^R's negative weights: the model's reason, stated as such.
            return _("customers who buy %(item)s rarely buy this, so it ranks lower") % {
                "item": reason.get("name") or _("an item")
            }
        return _history_phrase(reason, same_item=reason.get("item") == item_id)
    if kind == engine.OTHER_HISTORY:
        n = reason.get("items", 1)
        return ngettext(
            "%(n)d more item in your %(data)s",
            "%(n)d more items in your %(data)s",
            n,
        ) % {"n": n, "data": data_category_name(reason.get("data_category", "")).lower()}
    if kind == engine.LIKED_CATEGORY:
        return _("you told us you like %(category)s") % {
            "category": reason.get("category_name", "")
        }
    if kind == engine.FEWER_LIKE_THIS:
        return _("you asked for fewer %(category)s") % {"category": reason.get("category_name", "")}
    return _("it is popular with our customers")


def _together_phrase(reason: dict, item_name: str) -> str:
    """ "People who buy Wheat Sourdough Loaf often also buy Rye Sourdough": the evidence
    item carrying a suggestion, named with what the customer did with it."""
    counts = reason.get("counts") or {}
    evidence = reason.get("name") or _("an item")
    target = item_name or _("this")
    if "purchase" in counts:
        return _("people who buy %(evidence)s often also buy %(item)s") % {
            "evidence": evidence,
            "item": target,
        }
    if "rating" in counts:
        return _("people who like %(evidence)s often also buy %(item)s") % {
            "evidence": evidence,
            "item": target,
        }
    if "cart" in counts:
        return _("people who choose %(evidence)s often also buy %(item)s") % {
            "evidence": evidence,
            "item": target,
        }
    return _("people who look at %(evidence)s often also buy %(item)s") % {
        "evidence": evidence,
        "item": target,
    }


def sentence(reasons: list[dict], *, item_id: int, item_name: str = "") -> str:
    """The strongest evidence behind the item, in one sentence:
    "You told us you like Cakes" when the liked category's term is the largest, else
    "People who buy Wheat Sourdough Loaf often also buy Rye Sourdough", "Because you
    bought it 6 times and like Pastries", or popularity. `item_name`: the suggested
    item's name ("this" without it)."""
    history = [r for r in reasons if r["kind"] == engine.HISTORY and r["contribution"] > 0]
    liked = [r for r in reasons if r["kind"] == engine.LIKED_CATEGORY]
    top = max(history, key=lambda r: r["contribution"]) if history else None
    strongest = max(reasons, key=lambda r: r["contribution"]) if reasons else None
    if strongest is not None and strongest["kind"] == engine.LIKED_CATEGORY:
        # The like carries the item (its term is the largest): said first, then the
        # history evidence behind it, so two such suggestions still read differently.
        category = strongest.get("category_name", "")
        if top is None:
            return _("You told us you like %(category)s") % {"category": category}
        evidence = (
            _together_phrase(top, item_name)
            if top.get("item") != item_id
            else _history_phrase(top, same_item=False)
        )
        return _("You told us you like %(category)s, and %(reason)s") % {
            "category": category,
            "reason": evidence,
        }
    if top is not None and top.get("item") != item_id:
        together = _together_phrase(top, item_name)
        text = together[:1].upper() + together[1:]
        if liked:
            return _("%(reason)s, and you told us you like %(category)s") % {
                "reason": text,
                "category": liked[0].get("category_name", ""),
            }
        return text
    parts = []
    if top is not None:
        # Buying again: the item is named, so two such suggestions never read alike.
        parts.append(_history_phrase(top, same_item=False))
    if liked:
        category = liked[0].get("category_name", "")
        if parts:
            parts.append(_("like %(category)s") % {"category": category})
        else:
            parts.append(_("you like %(category)s") % {"category": category})
    if not parts:
        return _("Popular with our customers")
    if len(parts) == 1:
        return _("Because %(reason)s") % {"reason": parts[0]}
    return _("Because %(first)s and %(second)s") % {"first": parts[0], "second": parts[1]}


@dataclass(frozen=True)
class ReasonLine:
    text: str
    # The data category it was read from; None for popularity and the customer's feedback.
    data_category: str | None
    data_category_name: str | None
    # Share of the suggestion's positive total, in percent (negative for feedback).
    percent: int


def reason_lines(reasons: list[dict], *, item_id: int) -> list[ReasonLine]:
    positive = sum(r["contribution"] for r in reasons if r["contribution"] > 0) or 1.0
    lines = []
    for reason in reasons:
        code = reason.get("data_category")
        phrase = reason_phrase(reason, item_id=item_id)
        lines.append(
            ReasonLine(
                text=phrase[:1].upper() + phrase[1:],
                data_category=code,
                data_category_name=data_category_name(code) if code else None,
                percent=round(100 * reason["contribution"] / positive),
            )
        )
    return lines
