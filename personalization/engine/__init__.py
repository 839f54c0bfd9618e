"""The recommender: plain Python over numpy/scipy, no Django.

A hybrid, additive scorer: item-item collaborative filtering on implicit interactions
(kind weights, time decay), content similarity over categories and attributes, liked
categories and a popularity prior. Every score is the exact sum of its reasons.
The Django layer (`personalization.recommending`) loads consented data and stores lists.
"""

from personalization.engine.data import (
    EVIDENCE_CATEGORIES,
    KINDS,
    Catalog,
    Events,
    Shopper,
)
from personalization.engine.history import Histories, build_histories
from personalization.engine.params import Parameters
from personalization.engine.reasons import (
    FEWER_LIKE_THIS,
    HISTORY,
    LIKED_CATEGORY,
    OTHER_HISTORY,
    POPULARITY,
    Reason,
)
from personalization.engine.recommend import (
    MISSING_ALLERGEN_DATA,
    PREMIUM_PRICE,
    CustomerList,
    Suggestion,
    anonymous_list,
    recommend,
    recommend_one,
)
from personalization.engine.training import GuestLines, Model, guest_popularity, train

__all__ = [
    "EVIDENCE_CATEGORIES",
    "FEWER_LIKE_THIS",
    "HISTORY",
    "KINDS",
    "LIKED_CATEGORY",
    "MISSING_ALLERGEN_DATA",
    "OTHER_HISTORY",
    "POPULARITY",
    "PREMIUM_PRICE",
    "Catalog",
    "CustomerList",
    "Events",
    "Histories",
    "Model",
    "Parameters",
    "Reason",
    "Shopper",
    "Suggestion",
    "anonymous_list",
    "build_histories",
    "recommend",
    "recommend_one",
    "train",
    "GuestLines",
    "guest_popularity",
]
