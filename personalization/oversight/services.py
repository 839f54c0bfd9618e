"""Writes for human oversight: screening recommendations with the guardrail rules,
opening review tasks, claiming and deciding them. Every action is written to the
append-only trail (`ReviewAction`) in the same transaction as the change it records.
"""

from __future__ import annotations

import logging
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import Count, FloatField
from django.db.models.functions import Cast
from django.utils import timezone, translation

from accounts.models import CustomerProfile
from personalization import engine
from personalization.models import (
    Feedback,
    FeedbackKind,
    InteractionKind,
    Item,
    Recommendation,
    RecommendationStatus,
    ReviewAction,
    ReviewActionKind,
    ReviewItem,
    ReviewSource,
)
from personalization.oversight import rules, wording
from personalization.oversight.selectors import oversight_settings, thresholds_of
from personalization.recommending.loading import consented_interactions

logger = logging.getLogger(__name__)

# Rows screened per round of queries (keeps every IN (...) list short on SQLite).
SCREEN_BATCH = 2_000
# Feedback that counts as a complaint for the recent-complaint rule.
COMPLAINTS = (FeedbackKind.CANT_HAVE, FeedbackKind.NOT_FOR_ME)
# The engine's own marks (Suggestion.flags) that must always reach a person.
_ENGINE_MISSING = engine.MISSING_ALLERGEN_DATA
_OWN_HISTORY = (engine.HISTORY, engine.OTHER_HISTORY)


# --- the trail --------------------------------------------------------------------------


def _snapshot(item: ReviewItem) -> dict:
    """What the item was, for the trail: no personal data beyond the customer's number."""
    data: dict = {
        "source": item.source,
        "channel": item.channel,
        "rules": item.rule_codes,
        "high_risk": item.high_risk,
        "status": item.status,
    }
    if item.recommendation_id is not None:
        data["recommendation"] = item.recommendation_id
    if item.title:
        data["title"] = item.title
    if item.decision:
        data["decision"] = item.decision
    if item.replacement_item_id is not None:
        data["replacement_item"] = item.replacement_item_id
    return data


def _action(
    item: ReviewItem,
    kind: str,
    *,
    actor=None,
    reason_code: str = "",
    note: str = "",
    extra: dict | None = None,
) -> ReviewAction:
    return ReviewAction(
        item=item,
        item_ref=item.pk,
        customer_ref=item.customer_id,
        actor=actor,
        action=kind,
        reason_code=reason_code,
        note=note,
        snapshot={**_snapshot(item), **(extra or {})},
    )


# --- screening --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Facts:
    """What the rules need beyond the row itself, for one batch (bounded queries)."""

    items: dict[int, tuple[float, str, bool]]  # pk -> price, category slug, allergens declared
    attributes: dict[int, frozenset[str]]
    restrictions: dict[int, frozenset[str]]
    usual_spend: dict[int, float | None]
    history: dict[int, int]
    complaints: dict[int, int]
    sample_start: dict[int, int]  # model version -> rows it made before this batch


def _usual_spend(customer_ids: list[int]) -> dict[int, float | None]:
    """Median price per unit the customer paid over their consented purchase history."""
    paid: dict[int, list[float]] = defaultdict(list)
    rows = (
        consented_interactions(customer_ids)
        .filter(kind=InteractionKind.PURCHASE)
        .annotate(amount=Cast("value", FloatField()), list_price=Cast("item__price", FloatField()))
        .values_list("customer_id", "amount", "quantity", "list_price")
    )
    for customer_id, amount, quantity, list_price in rows.iterator(chunk_size=20_000):
        quantity = quantity or 1
        unit = amount / quantity if amount else list_price
        if unit is not None and unit > 0:
            paid[customer_id].append(unit)
    return {pk: statistics.median(values) for pk, values in paid.items()}


def _facts(
    rows: list[Recommendation], usual_spend: Mapping[int, float | None] | None, now: datetime
) -> _Facts:
    settings = oversight_settings()
    item_ids = sorted({r.item_id for r in rows})
    customer_ids = sorted({r.customer_id for r in rows})
    items = {
        pk: (float(price), slug, declared)
        for pk, price, slug, declared in Item.objects.filter(pk__in=item_ids).values_list(
            "pk", "price", "category__slug", "allergens_declared"
        )
    }
    codes: dict[int, set[str]] = defaultdict(set)
    for item_id, code in Item.attributes.through.objects.filter(item_id__in=item_ids).values_list(
        "item_id", "attribute__code"
    ):
        codes[item_id].add(code)
    restrictions = {
        pk: frozenset(value or ())
        for pk, value in CustomerProfile.objects.filter(pk__in=customer_ids).values_list(
            "pk", "restrictions"
        )
    }
    history = dict(
        consented_interactions(customer_ids)
        .order_by()
        .values("customer_id")
        .annotate(n=Count("pk"))
        .values_list("customer_id", "n")
    )
    if usual_spend is None or not all(pk in usual_spend for pk in customer_ids):
        usual_spend = {**_usual_spend(customer_ids), **(usual_spend or {})}
    complaints = dict(
        Feedback.objects.filter(
            customer_id__in=customer_ids,
            kind__in=COMPLAINTS,
            created_at__gte=now - timedelta(days=settings.complaint_window_days),
        )
        .order_by()
        .values("customer_id")
        .annotate(n=Count("pk"))
        .values_list("customer_id", "n")
    )
    sample_start: dict[int, int] = {}
    if settings.new_model_sample:
        first: dict[int, int] = {}
        for row in rows:
            first[row.model_version_id] = min(first.get(row.model_version_id, row.pk), row.pk)
        for version_id, pk in first.items():
            # Rows are numbered in the order they were stored, so the rows a version made
            # before this batch are those with a smaller number (replaced undecided rows
            # are deleted, so this counts what is still on record).
            sample_start[version_id] = Recommendation.objects.filter(
                model_version_id=version_id, pk__lt=pk
            ).count()
    return _Facts(
        items=items,
        attributes={pk: frozenset(c) for pk, c in codes.items()},
        restrictions=restrictions,
        usual_spend=dict(usual_spend),
        history=history,
        complaints=complaints,
        sample_start=sample_start,
    )


def _confidence(reasons: list[dict], score: float) -> float:
    """Share of the score that rests on the customer's own history (0..1)."""
    if score <= 0:
        return 0.0
    own = sum(r.get("contribution", 0.0) for r in reasons if r.get("kind") in _OWN_HISTORY)
    return max(0.0, min(1.0, own / score))


def _flag_json(flag: rules.Flag) -> dict:
    return {
        "rule": flag.rule,
        "high_risk": flag.high_risk,
        "facts": flag.facts,
        "words": wording.flag_words(flag.rule, flag.facts),
    }


def candidate_for(
    *,
    item_id: int,
    customer_id: int,
    facts: _Facts,
    reasons: list[dict] | None = None,
    score: float = 0.0,
    sample_index: int | None = None,
    is_campaign: bool = False,
) -> rules.Candidate:
    price, category, declared = facts.items.get(item_id, (0.0, "", False))
    return rules.Candidate(
        item_attributes=facts.attributes.get(item_id, frozenset()),
        item_allergens_declared=declared,
        item_category=category,
        item_price=price,
        customer_restrictions=facts.restrictions.get(customer_id, frozenset()),
        customer_usual_spend=facts.usual_spend.get(customer_id),
        confidence=_confidence(reasons, score) if reasons is not None else 1.0,
        history_size=facts.history.get(customer_id, 0),
        recent_complaints=facts.complaints.get(customer_id, 0),
        model_sample_index=sample_index,
        is_campaign=is_campaign,
    )


def recommendations_screen(
    *,
    recommendations: Sequence[Recommendation],
    is_campaign: bool = False,
    usual_spend: Mapping[int, float | None] | None = None,
    now: datetime | None = None,
) -> list[ReviewItem]:
    """Run the guardrail rules on already-saved Recommendation rows (one batch, a bounded
    number of queries regardless of size). Each flagged row gets status HELD and one open
    ReviewItem recording every rule that fired, with the rule code, high_risk and the
    reason in words a reviewer understands; unflagged rows are left PROPOSED. Returns the
    ReviewItems created. Campaign rows (is_campaign=True) are always flagged (rule "campaign").

    Screening a row again (e.g. a campaign screening the rows generation just screened)
    adds the new rules to its open item instead of opening a second one; rows already
    decided (approved, rejected, delivered) are left alone. `usual_spend` (customer pk ->
    median unit price) may come from the engine, saving a query.
    """
    now = now or timezone.now()
    rows = [
        r
        for r in recommendations
        if r.pk is not None
        and r.status in (RecommendationStatus.PROPOSED, RecommendationStatus.HELD)
    ]
    created: list[ReviewItem] = []
    for start in range(0, len(rows), SCREEN_BATCH):
        created += _screen_batch(rows[start : start + SCREEN_BATCH], is_campaign, usual_spend, now)
    return created


def _screen_batch(
    rows: list[Recommendation],
    is_campaign: bool,
    usual_spend: Mapping[int, float | None] | None,
    now: datetime,
) -> list[ReviewItem]:
    facts = _facts(rows, usual_spend, now)
    thresholds = thresholds_of(oversight_settings())
    existing = {
        item.recommendation_id: item
        for item in ReviewItem.objects.filter(recommendation_id__in=[r.pk for r in rows])
    }
    seen_per_version: dict[int, int] = defaultdict(int)
    flagged: dict[int, list[dict]] = {}
    for row in sorted(rows, key=lambda r: r.pk):
        sample_index = None
        if row.model_version_id in facts.sample_start:
            sample_index = (
                facts.sample_start[row.model_version_id] + seen_per_version[row.model_version_id]
            )
            seen_per_version[row.model_version_id] += 1
        candidate = candidate_for(
            item_id=row.item_id,
            customer_id=row.customer_id,
            facts=facts,
            reasons=row.reasons,
            score=row.score,
            sample_index=sample_index,
            is_campaign=is_campaign,
        )
        flags = rules.evaluate(candidate, thresholds)
        if _ENGINE_MISSING in (row.flags or ()) and not any(
            f.rule == "missing_attribute_data" for f in flags
        ):
            # The engine held it back for missing allergen data: always a person's call.
            flags.insert(
                0,
                rules.Flag(
                    "missing_attribute_data",
                    True,
                    {"restrictions": sorted(candidate.customer_restrictions)},
                ),
            )
        if flags:
            flagged[row.pk] = [_flag_json(f) for f in flags]

    to_create: list[ReviewItem] = []
    to_update: list[ReviewItem] = []
    with translation.override(django_settings.LANGUAGE_CODE), transaction.atomic():
        held_ids = [pk for pk in flagged]
        released = [r.pk for r in rows if r.pk not in flagged and r.pk not in existing]
        if held_ids:
            Recommendation.objects.filter(pk__in=held_ids).update(status=RecommendationStatus.HELD)
        if released:
            Recommendation.objects.filter(pk__in=released, status=RecommendationStatus.HELD).update(
                status=RecommendationStatus.PROPOSED
            )
        for row in rows:
            flags = flagged.get(row.pk)
            if flags is None:
                if row.pk not in existing:
                    row.status = RecommendationStatus.PROPOSED
                continue
            row.status = RecommendationStatus.HELD
            item = existing.get(row.pk)
            if item is not None:
                known = set(item.rule_codes)
                added = [f for f in flags if f["rule"] not in known]
                if added:
                    item.flags = [*item.flags, *added]
                    item.high_risk = item.high_risk or any(f["high_risk"] for f in added)
                    to_update.append(item)
                continue
            to_create.append(
                ReviewItem(
                    source=ReviewSource.RECOMMENDATION,
                    recommendation_id=row.pk,
                    customer_id=row.customer_id,
                    channel=row.channel,
                    flags=flags,
                    high_risk=any(f["high_risk"] for f in flags),
                )
            )
        if to_update:
            ReviewItem.objects.bulk_update(to_update, ["flags", "high_risk"])
        if to_create:
            ReviewItem.objects.bulk_create(to_create, batch_size=1_000)
            if any(item.pk is None for item in to_create):
                # A backend that does not return ids from bulk inserts (old SQLite).
                by_rec = dict(
                    ReviewItem.objects.filter(
                        recommendation_id__in=[i.recommendation_id for i in to_create]
                    ).values_list("recommendation_id", "pk")
                )
                for item in to_create:
                    item.pk = by_rec[item.recommendation_id]
            ReviewAction.objects.bulk_create(
                [_action(item, ReviewActionKind.OPENED) for item in to_create],
                batch_size=1_000,
            )
    return to_create


# --- tasks that are not a recommendation ------------------------------------------------


def review_task_open(
    *,
    title: str,
    detail: str,
    link: str,
    source: str = "audit_finding",
    high_risk: bool = False,
) -> ReviewItem:
    """A review-queue task that is not a recommendation (e.g. a bias-audit finding): shows
    the title/detail and a link to act on; a reviewer claims it and closes it with a
    reason code and note, like any other item."""
    if source not in ReviewSource.values or source == ReviewSource.RECOMMENDATION:
        source = ReviewSource.OTHER
    with transaction.atomic():
        item = ReviewItem.objects.create(
            source=source,
            title=title[:200],
            detail=detail,
            link=link[:500],
            high_risk=high_risk,
        )
        _action(item, ReviewActionKind.OPENED).save()
    return item
