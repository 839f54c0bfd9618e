"""The serving model in words: which family, how well it validated, its main settings.

Read by the owner's dashboard and the public transparency page; everything comes from
the active ModelVersion (its `parameters` and `metrics["tuning"]`, see services._tune).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from personalization.models import ModelVersion

# Half-lives at or above this many days read as "old purchases do not fade".
NO_DECAY_DAYS = 10_000


@dataclass(frozen=True)
class ModelSummary:
    version: int
    family: str
    family_words: str
    trained_at: datetime | None
    # nDCG@10 on the shop's own validation split; None when no choice was made.
    validation: float | None
    most_popular: float | None
    # validation / most popular (e.g. 2.4 = 2.4 times as good); None without both.
    lift: float | None
    judged: int
    tuned: bool
    # Why no choice was made (too few customers ...), in plain words.
    untuned_reason: str
    settings: tuple[str, ...]


def family_words(family: str) -> str:
    return {
        "ease": _(
            "items that go together: from every consented purchase, a shop-wide model "
            "(EASE) learns which items customers buy together and which they rarely do"
        ),
        "knn": _("items bought by the same customers (item neighbourhoods)"),
        "popularity": _("the shop's most popular items, and what a customer buys again"),
    }.get(family, family)


def settings_words(parameters: dict) -> tuple[str, ...]:
    family = parameters.get("family", "knn")
    half_life = float(parameters.get("half_life_days", 120.0))
    lines = []
    if half_life >= NO_DECAY_DAYS:
        lines.append(_("Older purchases count as much as recent ones."))
    else:
        lines.append(
            _("A purchase counts half as much after %(days)d days.") % {"days": round(half_life)}
        )
    recency = float(parameters.get("recency_visits", 0.0))
    if recency > 0:
        lines.append(
            _(
                "Your latest visits count most: an item counts half as much after every "
                "%(visits)s of your visits since you last bought it."
            )
            % {"visits": f"{recency:g}"}
        )
    repeat = float(parameters.get("repeat_weight", 0.0))
    if repeat > 0:
        lines.append(
            _("Buying an item again is expected: what you buy often comes back (weight %(w)s).")
            % {"w": f"{repeat:g}"}
        )
    else:
        lines.append(_("What you already bought is not pushed again."))
    popularity = float(parameters.get("popularity_weight", 0.0))
    if popularity > 0:
        lines.append(
            _("Popularity with all customers adds a little to every item (weight %(w)s).")
            % {"w": f"{popularity:g}"}
        )
    if family == "ease":
        lines.append(
            _(
                "It learns from the %(n)s most bought items; a larger penalty (now %(lam)s) "
                "keeps it closer to simple popularity."
            )
            % {
                "n": f"{int(parameters.get('ease_max_items', 0)):,}",
                "lam": f"{float(parameters.get('ease_lambda', 0.0)):.0f}",
            }
        )
    return tuple(lines)


def model_summary() -> ModelSummary | None:
    """The newest active version in words; None before any training."""
    version = (
        ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE)
        .order_by("-trained_at", "-pk")
        .only("pk", "parameters", "metrics", "trained_at")
        .first()
    )
    if version is None:
        return None
    parameters = version.parameters or {}
    tuning = (version.metrics or {}).get("tuning") or {}
    family = str(parameters.get("family", "knn"))
    validation = (tuning.get("validation") or {}).get("ndcg@10")
    popular = (tuning.get("most_popular") or {}).get("ndcg@10")
    lift = validation / popular if validation is not None and popular else None
    return ModelSummary(
        version=version.pk,
        family=family,
        family_words=family_words(family),
        trained_at=version.trained_at,
        validation=validation,
        most_popular=popular,
        lift=lift,
        judged=int(tuning.get("judged", 0)),
        tuned=validation is not None,
        untuned_reason=_("too few customers with repeat visits to compare settings")
        if tuning and validation is None
        else "",
        settings=settings_words(parameters),
    )
