"""The engine's tunable numbers, in one frozen record stored with every model version."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class Parameters:
    # How much one event of each kind says about a customer's taste (before decay).
    # Defaults tuned on generated shops (seed 7), checked on another seed and the demo;
    # see docs/decisions.md.
    purchase_weight: float = 1.0
    view_weight: float = 0.3
    cart_weight: float = 0.5
    # A rating of 5 stars counts this much; 2 stars or fewer count nothing (never negative,
    # so removing evidence can only lower a score).
    rating_weight: float = 1.0
    # An event loses half its weight after this many days.
    half_life_days: float = 120.0
    # Item-item collaborative filtering: cosine similarity shrunk towards 0 for pairs that
    # few customers share (sim * n / (n + shrinkage)).
    shrinkage: float = 5.0
    # Each history item keeps only its strongest neighbours.
    neighbours: int = 40
    # Content similarity (category and attributes) mixed into the neighbourhood.
    content_weight: float = 0.15
    # Buying a consumable again: how much an item's own history counts for it.
    repeat_weight: float = 2.0
    # A liked category adds this much to each of its items.
    liked_weight: float = 0.25
    # Popularity prior: popularity (0..1) times this weight; all a newcomer gets.
    popularity_weight: float = 0.15
    # How long the list is.
    top_k: int = 10
    # At most this share of a list from one catalog category, unless the customer's own
    # history is narrower than that.
    max_category_share: float = 0.4
    # An item priced above this multiple of the customer's usual unit price is flagged.
    premium_price_ratio: float = 3.0
    # Each "fewer like this" on a category multiplies its items' scores by this factor
    # and halves the category's room in the list.
    fewer_like_this_factor: float = 0.5
    # History items cited one by one in a reason; the rest are summed per data category.
    evidence_cited: int = 3

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, object]) -> Parameters:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})  # type: ignore[arg-type]
