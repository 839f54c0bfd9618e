"""Guardrail rules: which recommendations a person must see before a customer does.

Plain Python (no Django), one small function per rule so each can be tested alone.
A rule returns a `Flag` (a code, whether it is high-risk, and the facts behind it; the
Django layer turns those into a sentence for the reviewer) or None.

Each rule flags something a reviewer can check by looking at the item and the customer
(a restriction, the price against what they usually pay, the one or two purchases a
suggestion rests on). `RISK` ranks the rules: when a regeneration would hold more than
the owner's review budget, the lowest-ranked flags go out and are spot-checked instead
(`hold_within_budget`); high-risk flags are always held.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Candidate:
    """What the rules may look at for one proposed recommendation."""

    item_attributes: frozenset[str]
    item_allergens_declared: bool
    item_category: str
    item_price: float
    customer_restrictions: frozenset[str] = frozenset()
    # Median price the customer paid per item in their consented purchase history.
    customer_usual_spend: float | None = None
    # Events of the customer's own consented history the item's score rests on (the
    # purchases, visits, carts and ratings of the history items its reasons cite; 0 for
    # an item that rests on popularity or a liked category alone).
    evidence_events: int = 0
    history_size: int = 0
    # Recent complaints ("not for me", "I can't have this") about items of this item's
    # catalog category: the complaint concerns this item, not the whole list.
    recent_complaints: int = 0
    # Position of this recommendation among the first ones a new model version made.
    model_sample_index: int | None = None
    is_campaign: bool = False


@dataclass(frozen=True)
class Thresholds:
    """The owner's settings (editable in the console)."""

    sensitive_attributes: frozenset[str] = frozenset({"alcohol"})
    sensitive_categories: frozenset[str] = frozenset()
    # Calibrated on Online Retail and the demo (docs/decisions.md): see the model's
    # defaults, which these mirror.
    premium_multiple: float = 5.0
    min_evidence: int = 2
    new_model_sample: int = 0


@dataclass(frozen=True)
class Flag:
    rule: str
    high_risk: bool
    facts: dict[str, Any] = field(default_factory=dict)


def restriction_conflict(c: Candidate, t: Thresholds) -> Flag | None:
    clash = sorted(c.item_attributes & c.customer_restrictions)
    if clash:
        return Flag("restriction_conflict", True, {"attributes": clash})
    return None


def missing_attribute_data(c: Candidate, t: Thresholds) -> Flag | None:
    allergen_restrictions = sorted(r for r in c.customer_restrictions if r.startswith("contains:"))
    if allergen_restrictions and not c.item_allergens_declared:
        return Flag("missing_attribute_data", True, {"restrictions": allergen_restrictions})
    return None


def sensitive_item(c: Candidate, t: Thresholds) -> Flag | None:
    attributes = sorted(c.item_attributes & t.sensitive_attributes)
    category = c.item_category in t.sensitive_categories
    if attributes or category:
        return Flag(
            "sensitive_item",
            False,
            {"attributes": attributes, "category": c.item_category if category else None},
        )
    return None


def premium_nudge(c: Candidate, t: Thresholds) -> Flag | None:
    if c.customer_usual_spend and c.item_price > t.premium_multiple * c.customer_usual_spend:
        return Flag(
            "premium_nudge",
            False,
            {
                "price": c.item_price,
                "usual_spend": c.customer_usual_spend,
                "multiple": round(c.item_price / c.customer_usual_spend, 1),
            },
        )
    return None


def low_confidence(c: Candidate, t: Thresholds) -> Flag | None:
    """The suggestion rests on fewer of the customer's own events than `min_evidence`: a
    reviewer can open those one or two events and judge whether they say enough."""
    if c.evidence_events == 0:
        # Nothing personal behind it: what every visitor gets, unreviewed.
        return None
    if c.evidence_events < t.min_evidence:
        return Flag(
            "low_confidence",
            False,
            {"evidence_events": c.evidence_events, "history_size": c.history_size},
        )
    return None


def recent_complaint(c: Candidate, t: Thresholds) -> Flag | None:
    if c.recent_complaints > 0:
        return Flag(
            "recent_complaint",
            False,
            {"complaints": c.recent_complaints, "category": c.item_category},
        )
    return None


def new_model_sample(c: Candidate, t: Thresholds) -> Flag | None:
    if c.model_sample_index is not None and c.model_sample_index < t.new_model_sample:
        return Flag("new_model_sample", False, {"sample_size": t.new_model_sample})
    return None


def campaign(c: Candidate, t: Thresholds) -> Flag | None:
    return Flag("campaign", False) if c.is_campaign else None


RULES: tuple[Callable[[Candidate, Thresholds], Flag | None], ...] = (
    restriction_conflict,
    missing_attribute_data,
    sensitive_item,
    premium_nudge,
    low_confidence,
    recent_complaint,
    new_model_sample,
    campaign,
)
RULE_CODES = tuple(rule.__name__ for rule in RULES)

# How much a flag matters, lowest first: over the review budget, flags are sent out as
# spot checks from the start of this order. High-risk flags are never on it.
RISK = (
    "low_confidence",
    "new_model_sample",
    "premium_nudge",
    "sensitive_item",
    "recent_complaint",
    "campaign",
)


# The rank of a high-risk flag: above every rule in RISK; and the lowest rank.
HIGH_RISK = len(RISK)
LOWEST_RISK = 0


def risk_of(flags: list[Flag]) -> int:
    """The rank of the riskiest flag (HIGH_RISK for a high-risk one; -1 for none)."""
    if any(f.high_risk for f in flags):
        return HIGH_RISK
    return max((RISK.index(f.rule) if f.rule in RISK else HIGH_RISK for f in flags), default=-1)


def hold_within_budget(risks: list[int], budget: int | None) -> list[bool]:
    """Which flagged candidates (by `risk_of`) are held, when at most `budget` of them may
    be: high-risk ones always, then the riskiest first; ties keep their order (the
    caller passes them best-ranked first). None: no budget, all are held."""
    if budget is None:
        return [True] * len(risks)
    held = [r >= HIGH_RISK for r in risks]
    room = budget - sum(held)
    order = sorted((i for i, r in enumerate(risks) if r < HIGH_RISK), key=lambda i: (-risks[i], i))
    for i in order[: max(0, room)]:
        held[i] = True
    return held


def evaluate(candidate: Candidate, thresholds: Thresholds | None = None) -> list[Flag]:
    """Every rule's flag for this candidate; empty means it may go out unreviewed."""
    thresholds = thresholds or Thresholds()
    return [flag for rule in RULES if (flag := rule(candidate, thresholds)) is not None]
