"""Guardrail rules: which recommendations a person must see before a customer does.

Plain Python (no Django), one small function per rule so each can be tested alone.
A rule returns a `Flag` (a code, whether it is high-risk, and the facts behind it; the
Django layer turns those into a sentence for the reviewer) or None.
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
    # 0..1: how much of the score rests on the customer's own history.
    confidence: float = 1.0
    history_size: int = 0
    recent_complaints: int = 0
    # Position of this recommendation among the first ones a new model version made.
    model_sample_index: int | None = None
    is_campaign: bool = False


@dataclass(frozen=True)
class Thresholds:
    """The owner's settings (editable in the console)."""

    sensitive_attributes: frozenset[str] = frozenset({"alcohol"})
    sensitive_categories: frozenset[str] = frozenset()
    premium_multiple: float = 3.0
    min_confidence: float = 0.2
    min_history: int = 3
    new_model_sample: int = 20


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
    if c.history_size == 0 and c.confidence == 0:
        # Nothing personal to go on: the popularity list every visitor gets unreviewed.
        return None
    if c.confidence < t.min_confidence or c.history_size < t.min_history:
        return Flag(
            "low_confidence",
            False,
            {"confidence": round(c.confidence, 2), "history_size": c.history_size},
        )
    return None


def recent_complaint(c: Candidate, t: Thresholds) -> Flag | None:
    if c.recent_complaints > 0:
        return Flag("recent_complaint", True, {"complaints": c.recent_complaints})
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


def evaluate(candidate: Candidate, thresholds: Thresholds | None = None) -> list[Flag]:
    """Every rule's flag for this candidate; empty means it may go out unreviewed."""
    thresholds = thresholds or Thresholds()
    return [flag for rule in RULES if (flag := rule(candidate, thresholds)) is not None]
