"""Reads for the customer's recommendation cards: allergen and diet labels, and the
feedback they gave (so each piece can be undone)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from accounts.models import CustomerProfile
from personalization.dashboard import wording
from personalization.models import Feedback, FeedbackKind, Item

# Diet facts worth a chip on a card (other non-allergen codes are not shown).
DIET_CODES = ("vegan", "vegetarian", "gluten-free", "lactose-free", "dairy-free")


@dataclass(frozen=True)
class CardLabels:
    """What a shopper reads on a card before opening it."""

    # "Gluten", "Milk": the allergens the shop declared for the item.
    allergens: list[str] = field(default_factory=list)
    # "Vegan", "Gluten-free".
    diets: list[str] = field(default_factory=list)
    # Other restrictable facts ("Alcohol").
    other: list[str] = field(default_factory=list)
    # The shop declared the item's allergens (an empty list then means "none").
    allergens_declared: bool = True


def card_labels(*, item_ids: Iterable[int]) -> dict[int, CardLabels]:
    """Labels per item, in one query whatever the number of cards."""
    ids = sorted(set(item_ids))
    if not ids:
        return {}
    codes: dict[int, list[str]] = defaultdict(list)
    declared: dict[int, bool] = {}
    for pk, allergens_declared, code in Item.objects.filter(pk__in=ids).values_list(
        "pk", "allergens_declared", "attributes__code"
    ):
        declared[pk] = allergens_declared
        if code:
            codes[pk].append(code)
    out = {}
    for pk in ids:
        own = sorted(codes.get(pk, ()))
        out[pk] = CardLabels(
            allergens=[wording.attribute_label(c) for c in own if wording.is_allergen(c)],
            diets=[wording.attribute_label(c) for c in own if c in DIET_CODES],
            other=[
                wording.attribute_label(c)
                for c in own
                if wording.is_restrictable(c) and not wording.is_allergen(c)
            ],
            allergens_declared=declared.get(pk, True),
        )
    return out


@dataclass(frozen=True)
class GivenFeedback:
    pk: int
    item_name: str
    kind: str
    at: datetime

    @property
    def label(self) -> str:
        return str(FeedbackKind(self.kind).label) if self.kind in FeedbackKind.values else ""


def feedback_given(*, customer: CustomerProfile, limit: int = 50) -> list[GivenFeedback]:
    """What the customer turned down, newest first (one query)."""
    return [
        GivenFeedback(pk=pk, item_name=name, kind=kind, at=at)
        for pk, name, kind, at in Feedback.objects.filter(customer=customer)
        .order_by("-created_at", "-pk")
        .values_list("pk", "item__name", "kind", "created_at")[:limit]
    ]


def feedback_is_customers(*, customer: CustomerProfile, pk: int) -> bool:
    """Whether this feedback is on record and the customer's own."""
    return Feedback.objects.filter(pk=pk, customer=customer).exists()
