"""Screening: the guardrail rules run over stored recommendations. Each flagged row is
held with one review item (the rules that fired, in words a reviewer understands); the
facts the rules need are read in a bounded number of queries per batch."""

from __future__ import annotations

import logging
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import Count, FloatField, Max
from django.db.models.functions import Cast
from django.utils import timezone, translation

from accounts.models import CustomerProfile
from core.sql import aware, marks
from core.sql import cursor as sql_cursor
from personalization import engine
from personalization.consent.rule import consented_interactions
from personalization.models import (
    Feedback,
    FeedbackKind,
    InteractionKind,
    Item,
    OversightSettings,
    Recommendation,
    RecommendationStatus,
    ReviewAction,
    ReviewActionKind,
    ReviewItem,
    ReviewSource,
    ReviewStatus,
)
from personalization.models.oversight import UNDECIDED_STATUSES
from personalization.oversight import rules, trail, wording
from personalization.oversight.selectors import oversight_settings, thresholds_of

logger = logging.getLogger(__name__)

# Rows screened per round of queries (keeps every IN (...) list short on SQLite).
SCREEN_BATCH = 2_000
# Feedback that counts as a complaint for the recent-complaint rule.
COMPLAINTS = (FeedbackKind.CANT_HAVE, FeedbackKind.NOT_FOR_ME)
# The engine's own marks (Suggestion.flags) that must always reach a person.
_ENGINE_MISSING = engine.MISSING_ALLERGEN_DATA
_OWN_HISTORY = (engine.HISTORY, engine.OTHER_HISTORY)


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


@dataclass(frozen=True)
class Known:
    """What the caller already loaded (generation has both), saving queries."""

    catalog: engine.Catalog | None = None
    profiles: Sequence[CustomerProfile] | None = None
    # Consented interactions per customer, and (kind, when) of each one's feedback.
    history: Mapping[int, int] | None = None
    feedback: Mapping[int, Sequence[tuple[str, datetime]]] | None = None


def _facts(
    rows: list[Recommendation],
    usual_spend: Mapping[int, float | None] | None,
    now: datetime,
    settings: OversightSettings,
    known: Known = Known(),
) -> _Facts:
    item_ids = sorted({r.item_id for r in rows})
    customer_ids = sorted({r.customer_id for r in rows})
    items: dict[int, tuple[float, str, bool]] = {}
    codes: dict[int, set[str]] = defaultdict(set)
    catalog = known.catalog
    position = catalog.position if catalog is not None else {}
    if catalog is not None and all(pk in position for pk in item_ids):
        for pk in item_ids:
            i = position[pk]
            items[pk] = (
                float(catalog.price[i]),
                catalog.category_codes[int(catalog.category[i])],
                bool(catalog.allergens_declared[i]),
            )
            codes[pk] = set(catalog.attributes[i])
    else:
        items = {
            pk: (float(price), slug, declared)
            for pk, price, slug, declared in Item.objects.filter(pk__in=item_ids).values_list(
                "pk", "price", "category__slug", "allergens_declared"
            )
        }
        for item_id, code in Item.attributes.through.objects.filter(
            item_id__in=item_ids
        ).values_list("item_id", "attribute__code"):
            codes[item_id].add(code)
    given = {p.pk: p for p in known.profiles or ()}
    if all(pk in given for pk in customer_ids):
        restrictions = {pk: frozenset(given[pk].restrictions or ()) for pk in customer_ids}
    else:
        restrictions = {
            pk: frozenset(value or ())
            for pk, value in CustomerProfile.objects.filter(pk__in=customer_ids).values_list(
                "pk", "restrictions"
            )
        }
    if known.history is not None and all(pk in known.history for pk in customer_ids):
        history = {pk: known.history[pk] for pk in customer_ids}
    else:
        history = dict(
            consented_interactions(customer_ids)
            .order_by()
            .values("customer_id")
            .annotate(n=Count("pk"))
            .values_list("customer_id", "n")
        )
    if usual_spend is None or not all(pk in usual_spend for pk in customer_ids):
        usual_spend = {**_usual_spend(customer_ids), **(usual_spend or {})}
    complaints = _recent_complaints(customer_ids, now, settings, known)
    sample_start: dict[int, int] = {}
    if settings.new_model_sample:
        first: dict[int, int] = {}
        for row in rows:
            if row.pk is not None:
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
        complaints=dict(complaints),
        sample_start=sample_start,
    )


def _recent_complaints(
    customer_ids: list[int], now: datetime, settings: OversightSettings, known: Known
) -> dict[int, int]:
    """Complaints within the window that no person has looked at yet, per customer.

    A complaint counts until a person has decided on the customer's suggestions since it
    was made: after that review, the next lists go out as usual again."""
    since = now - timedelta(days=settings.complaint_window_days)
    made: dict[int, list[datetime]] = defaultdict(list)
    if known.feedback is not None and all(pk in known.feedback for pk in customer_ids):
        for pk in customer_ids:
            made[pk] = [at for kind, at in known.feedback[pk] if kind in COMPLAINTS and at >= since]
    else:
        for customer_id, at in Feedback.objects.filter(
            customer_id__in=customer_ids, kind__in=COMPLAINTS, created_at__gte=since
        ).values_list("customer_id", "created_at"):
            made[customer_id].append(at)
    complained = [pk for pk, times in made.items() if times]
    if not complained:
        return {}
    reviewed = dict(
        ReviewItem.objects.filter(
            customer_id__in=complained,
            status=ReviewStatus.DECIDED,
            rules__contains=",recent_complaint,",
        )
        .order_by()
        .values("customer_id")
        .annotate(at=Max("decided_at"))
        .values_list("customer_id", "at")
    )
    counts = {}
    for pk in complained:
        seen = reviewed.get(pk)
        n = sum(1 for at in made[pk] if seen is None or at > seen)
        if n:
            counts[pk] = n
    return counts


def _confidence(reasons: list[dict], score: float) -> float:
    """Share of the score that rests on the customer's own history (0..1)."""
    if score <= 0:
        return 0.0
    own = sum(r.get("contribution", 0.0) for r in reasons if r.get("kind") in _OWN_HISTORY)
    return max(0.0, min(1.0, own / score))


def rules_text(flags: list[dict]) -> str:
    """The rule codes as stored in ReviewItem.rules (",a,b,")."""
    codes = [f["rule"] for f in flags]
    return f",{','.join(codes)}," if codes else ""


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


@dataclass(frozen=True)
class Carried:
    """What a waiting item hands to its successor when its list is regenerated."""

    item_pk: int
    waiting_since: datetime
    escalated_at: datetime | None
    policy_level: bool
    claimed_by_id: int | None
    claim_expires_at: datetime | None


# Plain SQL (core/sql.py): every regeneration reads this inside its transaction.
_WAITING_SQL = """
SELECT w.id, w.customer_id, r.item_id, w.waiting_since, w.escalated_at, w.policy_level,
       w.claimed_by_id, w.claim_expires_at
FROM {review} w JOIN {recommendation} r ON r.id = w.recommendation_id
WHERE w.customer_id IN ({ids}) AND w.channel = %s AND w.status IN (%s, %s, %s)
"""


def waiting_items_of(
    *, customer_ids: Sequence[int], channel: str
) -> dict[tuple[int, int], Carried]:
    """(customer pk, catalog item pk) -> the undecided item waiting for it on `channel`.

    Read by generation before it replaces the undecided rows (one query), so the same
    held item in the new list keeps its age, escalation, four-eyes mark and claim.
    """
    ids = list(customer_ids)
    if not ids:
        return {}
    sql = _WAITING_SQL.format(
        review=ReviewItem._meta.db_table,
        recommendation=Recommendation._meta.db_table,
        ids=marks(len(ids)),
    )
    with sql_cursor() as cursor:
        cursor.execute(sql, [*ids, channel, *UNDECIDED_STATUSES])
        rows = cursor.fetchall()
    return {
        (customer, item): Carried(
            pk, aware(since), aware(escalated), bool(policy), claimed, aware(expires)
        )
        for pk, customer, item, since, escalated, policy, claimed, expires in rows
    }


def recommendations_screen(
    *,
    recommendations: Sequence[Recommendation],
    is_campaign: bool = False,
    usual_spend: Mapping[int, float | None] | None = None,
    known: Known = Known(),
    carried: Mapping[tuple[int, int], Carried] | None = None,
    now: datetime | None = None,
    fresh: bool = False,
) -> list[ReviewItem]:
    """Run the guardrail rules on already-saved Recommendation rows (one batch, a bounded
    number of queries regardless of size). Each flagged row gets status HELD and one open
    ReviewItem recording every rule that fired, with the rule code, high_risk and the
    reason in words a reviewer understands; unflagged rows are left PROPOSED. Returns the
    ReviewItems created. Campaign rows (is_campaign=True) are always flagged (rule "campaign").

    Screening a row again (e.g. a campaign screening the rows generation just screened)
    adds the new rules to its open item instead of opening a second one; rows already
    decided (approved, rejected, delivered) are left alone. `usual_spend` (customer pk ->
    median unit price) and `known` (the catalog and profiles) may come from generation,
    which already loaded them, saving queries; `carried` (from `waiting_items_of`, read
    before the old rows went) lets a re-held item keep its place in the queue.
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
        created += _screen_batch(
            rows[start : start + SCREEN_BATCH],
            is_campaign,
            usual_spend,
            known,
            carried or {},
            now,
            fresh,
        )
    return created


def _screen_batch(
    rows: list[Recommendation],
    is_campaign: bool,
    usual_spend: Mapping[int, float | None] | None,
    known: Known,
    carried: Mapping[tuple[int, int], Carried],
    now: datetime,
    fresh: bool,
) -> list[ReviewItem]:
    settings = oversight_settings()
    facts = _facts(rows, usual_spend, now, settings, known)
    thresholds = thresholds_of(settings)
    # Rows stored in this very transaction (`fresh`) cannot have queue items yet.
    existing = (
        {}
        if fresh
        else {
            item.recommendation_id: item
            for item in ReviewItem.objects.filter(recommendation_id__in=[r.pk for r in rows])
        }
    )
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
    carried_from: dict[int, int] = {}
    # Inside generation's transaction no savepoint is needed: it commits or rolls back whole.
    with (
        translation.override(django_settings.LANGUAGE_CODE),
        transaction.atomic(savepoint=False),
    ):
        held_ids = [pk for pk in flagged]
        # Rows stored just now are all proposed: only a re-screen may release a held row.
        released = (
            [] if fresh else [r.pk for r in rows if r.pk not in flagged and r.pk not in existing]
        )
        if held_ids:
            Recommendation.objects.filter(pk__in=held_ids).update(status=RecommendationStatus.HELD)
        if released:
            Recommendation.objects.filter(pk__in=released, status=RecommendationStatus.HELD).update(
                status=RecommendationStatus.PROPOSED
            )
        for row in rows:
            found = flagged.get(row.pk)
            if found is None:
                if row.pk not in existing:
                    row.status = RecommendationStatus.PROPOSED
                continue
            row.status = RecommendationStatus.HELD
            item = existing.get(row.pk)
            if item is not None:
                already = set(item.rule_codes)
                added = [f for f in found if f["rule"] not in already]
                if added:
                    item.flags = [*item.flags, *added]
                    item.high_risk = item.high_risk or any(f["high_risk"] for f in added)
                    item.rules = rules_text(item.flags)
                    to_update.append(item)
                continue
            new = ReviewItem(
                source=ReviewSource.RECOMMENDATION,
                recommendation_id=row.pk,
                customer_id=row.customer_id,
                channel=row.channel,
                flags=found,
                rules=rules_text(found),
                high_risk=any(f["high_risk"] for f in found),
                waiting_since=now,
            )
            before = carried.get((row.customer_id, row.item_id))
            if before is not None:
                new.waiting_since = before.waiting_since
                new.policy_level = before.policy_level
                new.claimed_by_id = before.claimed_by_id
                new.claim_expires_at = before.claim_expires_at
                if before.escalated_at is not None:
                    new.status = ReviewStatus.ESCALATED
                    new.escalated_at = before.escalated_at
                carried_from[row.pk] = before.item_pk
            to_create.append(new)
        if to_update:
            ReviewItem.objects.bulk_update(to_update, ["flags", "rules", "high_risk"])
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
                    item.pk = by_rec[item.recommendation_id or 0]
            ReviewAction.objects.bulk_create(
                [
                    trail.action(
                        item,
                        ReviewActionKind.OPENED,
                        extra={"carried_from": carried_from[item.recommendation_id]}
                        if item.recommendation_id in carried_from
                        else None,
                    )
                    for item in to_create
                ],
                batch_size=1_000,
            )
    return to_create


def replacement_flags(*, customer_id: int, item_id: int, is_campaign: bool) -> list[dict]:
    """What the rules say about offering this item to this customer (a staff pick: no
    model score, so no confidence or sample rule)."""
    probe = Recommendation(customer_id=customer_id, item_id=item_id, score=1.0, rank=1)
    settings = oversight_settings()
    facts = _facts([probe], None, timezone.now(), settings)
    thresholds = replace(thresholds_of(settings), min_confidence=0.0, min_history=0)
    candidate = candidate_for(
        item_id=item_id, customer_id=customer_id, facts=facts, is_campaign=is_campaign
    )
    return [_flag_json(flag) for flag in rules.evaluate(candidate, thresholds)]
