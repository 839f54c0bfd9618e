"""What a batch of lists needs once, whatever the customers.

Built by `recommend` and read by the list shaping (`shaping`) and the explanations
(`explaining`) alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from personalization.engine.data import Catalog
from personalization.engine.training import Model


@dataclass
class _Context:
    """What a batch needs once, whatever the customers."""

    model: Model
    catalog: Catalog
    k: int
    popularity: np.ndarray
    shop_unit_price: float
    base_cap: int

    def restricted(self, codes: frozenset[str]) -> np.ndarray:
        return self.catalog.carrying(codes)


def _context(model: Model, catalog: Catalog, k: int | None) -> _Context:
    k = k or model.params.top_k
    return _Context(
        model=model,
        catalog=catalog,
        k=k,
        popularity=model.params.popularity_weight * model.popularity,
        shop_unit_price=catalog.usual_price if np.isfinite(catalog.usual_price) else math.inf,
        base_cap=max(1, math.ceil(model.params.max_category_share * k - 1e-9)),
    )
