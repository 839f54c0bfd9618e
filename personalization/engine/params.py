"""The engine's tunable numbers, in one frozen record stored with every model version."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

FAMILIES = ("ease", "knn", "popularity")


@dataclass(frozen=True)
class Parameters:
    # The model family: "ease" (EASE^R, Steck 2019, over the most-used items, with the
    # item-kNN for the rest of a large catalog), "knn" (the item-kNN hybrid below) or
    # "popularity" (the popularity prior and the buy-again term only). `train_recommender`
    # chooses it per shop on validation (engine.tuning).
    family: str = "ease"
    # EASE^R: the ridge penalty lambda of B = I - P / diag(P), P = (X'X + lambda I)^-1.
    ease_lambda: float = 10.0
    # EASE^R covers at most this many items (the most used); P is N x N float64 in the
    # artifact (3,000 items: 72 MB). Further items get the item-kNN rows.
    ease_max_items: int = 3_000
    # EASE^R fitted on 0/1 rows ("used the item or not") instead of the weighted evidence;
    # scoring still reads the weighted evidence. Chosen per shop by tuning.
    ease_binary: bool = False
    # Each history item keeps its strongest weights (by size, either sign); 0 keeps all.
    ease_neighbours: int = 0
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
    # Query-time recency: when scoring, a history item's evidence is halved for every
    # this many of the customer's own visits since they last used it (0: off). The model
    # is fitted on the unweighted evidence; a score stays the exact sum of its reasons.
    recency_visits: float = 0.0
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

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"unknown model family {self.family!r}")

    def to_dict(self) -> dict[str, float | int | str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, object]) -> Parameters:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})  # type: ignore[arg-type]
