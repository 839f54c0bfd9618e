"""The terms a score is made of: `Reason` and its kinds.

A suggestion's reasons sum exactly to its score; `explaining` builds them and
`recommend` puts them on the suggestions.
"""

from __future__ import annotations

from typing import NamedTuple

HISTORY = "history"
OTHER_HISTORY = "other_history"
LIKED_CATEGORY = "liked_category"
POPULARITY = "popularity"
FEWER_LIKE_THIS = "fewer_like_this"


class Reason(NamedTuple):
    """One additive term of a score."""

    kind: str
    contribution: float
    # The data category the term was read from (None: the customer's own instruction, or
    # everyone's popularity).
    data_category: str | None = None
    # HISTORY: the evidence item's key and how many events of each kind it has.
    item: int | None = None
    counts: tuple[tuple[str, int], ...] = ()
    # LIKED_CATEGORY / FEWER_LIKE_THIS: the catalog category.
    category: str | None = None
    # OTHER_HISTORY: how many further history items the term sums.
    items: int = 0

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"kind": self.kind, "contribution": self.contribution}
        if self.data_category is not None:
            data["data_category"] = self.data_category
        if self.item is not None:
            data["item"] = self.item
        if self.counts:
            data["counts"] = dict(self.counts)
        if self.category is not None:
            data["category"] = self.category
        if self.items:
            data["items"] = self.items
        return data
