"""Screening: the guardrail rules run over recommendations. Generation screens its
candidates before storing them (`candidates_flags`), holds the flagged ones and fills
the list from the next candidates; `review_items_open` then opens one review item per
held row (the rules that fired, in words a reviewer understands) and one per spot check.
`recommendations_screen` screens rows already stored (offer campaigns). The facts the
rules need are read in a bounded number of queries per batch."""

from __future__ import annotations

import logging
import random
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TypeVar

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
    ReviewDecision,
    ReviewItem,
    ReviewKind,
    ReviewSource,
    ReviewStatus,
)
from personalization.models.engine import RECOMMENDATION_UNDECIDED
from personalization.models.oversight import UNDECIDED_STATUSES
from personalization.oversight import rules, trail, wording
from personalization.oversight.selectors import oversight_settings, thresholds_of

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

# Rows screened per round of queries (keeps every IN (...) list short on SQLite).
SCREEN_BATCH = 2_000
# Feedback that counts as a complaint for the recent-complaint rule.
COMPLAINTS = (FeedbackKind.CANT_HAVE, FeedbackKind.NOT_FOR_ME)
# The engine's own marks (Suggestion.flags) that must always reach a person.
_ENGINE_MISSING = engine.MISSING_ALLERGEN_DATA


@dataclass(frozen=True)
class _Facts:
    """What the rules need beyond the row itself, for one batch (bounded queries)."""

    items: dict[int, tuple[float, str, bool]]  # pk -> price, category slug, allergens declared
    attributes: dict[int, frozenset[str]]
    restrictions: dict[int, frozenset[str]]
    usual_spend: dict[int, float | None]
    history: dict[int, int]
    # customer pk -> category slug -> complaints about items of that category
    complaints: dict[int, dict[str, int]]
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
            if row.pk is None:
                # Not stored yet (generation screens before it stores): the rows the
                # version made so far.
                sample_start.setdefault(
                    row.model_version_id,
                    Recommendation.objects.filter(model_version_id=row.model_version_id).count(),
                )
            else:
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
) -> dict[int, dict[str, int]]:
    """Complaints within the window that no person has looked at yet, per customer and
    catalog category of the item complained about: a complaint concerns the items of
    that kind, not the customer's whole list.

    A complaint counts until a person has decided on the customer's suggestions since it
    was made: after that review, the next lists go out as usual again."""
    since = now - timedelta(days=settings.complaint_window_days)
    if known.feedback is not None and all(pk in known.feedback for pk in customer_ids):
        # Generation loaded every customer's feedback times: only those with a recent
        # complaint need the query below.
        candidates = [
            pk
            for pk in customer_ids
            if any(kind in COMPLAINTS and at >= since for kind, at in known.feedback[pk])
        ]
        if not candidates:
            return {}
    else:
        candidates = customer_ids
    made: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for customer_id, at, slug in Feedback.objects.filter(
        customer_id__in=candidates, kind__in=COMPLAINTS, created_at__gte=since
    ).values_list("customer_id", "created_at", "item__category__slug"):
        made[customer_id].append((at, slug))
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
    counts: dict[int, dict[str, int]] = {}
    for pk in complained:
        seen = reviewed.get(pk)
        for at, slug in made[pk]:
            if seen is None or at > seen:
                per = counts.setdefault(pk, {})
                per[slug] = per.get(slug, 0) + 1
    return counts


def evidence_events(reasons: list[dict]) -> int:
    """How many of the customer's own events the score rests on: the events of each
    cited history item that adds to it, plus one for each further item summed in an
    "other history" term (each has at least one event)."""
    total = 0
    for reason in reasons:
        if reason.get("contribution", 0.0) <= 0:
            continue
        kind = reason.get("kind")
        if kind == engine.HISTORY:
            counts = reason.get("counts") or {}
            total += max(1, sum(int(n) for n in counts.values()))
        elif kind == engine.OTHER_HISTORY:
            total += int(reason.get("items") or 1)
    return total


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
        evidence_events=evidence_events(reasons) if reasons is not None else 0,
        history_size=facts.history.get(customer_id, 0),
        recent_complaints=facts.complaints.get(customer_id, {}).get(category, 0),
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
  AND w.kind = %s
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
        cursor.execute(sql, [*ids, channel, *UNDECIDED_STATUSES, ReviewKind.HOLD])
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
    rows = [r for r in recommendations if r.pk is not None and r.status in RECOMMENDATION_UNDECIDED]
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
    return _hold_and_open(
        rows,
        flagged,
        {pk: item for pk, item in existing.items() if pk is not None},
        carried,
        now,
        fresh,
    )


def _hold_and_open(
    rows: list[Recommendation],
    flagged: Mapping[int, list[dict]],
    existing: Mapping[int, ReviewItem],
    carried: Mapping[tuple[int, int], Carried],
    now: datetime,
    fresh: bool,
    spot_checks: Mapping[int, list[dict]] | None = None,
) -> list[ReviewItem]:
    """Hold the `flagged` rows (pk -> flags) with one review item each, release rows a
    re-screen no longer flags, and open a spot check for each row of `spot_checks` (pk ->
    the low-risk flags it went out with; it stays proposed and is shown)."""
    to_create: list[ReviewItem] = []
    to_update: list[ReviewItem] = []
    carried_from: dict[int, int] = {}
    # Inside generation's transaction no savepoint is needed: it commits or rolls back whole.
    with (
        translation.override(django_settings.LANGUAGE_CODE),
        transaction.atomic(savepoint=False),
    ):
        # Generation stores the rows it holds as held already.
        held_ids = [r.pk for r in rows if r.pk in flagged and r.status != RecommendationStatus.HELD]
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
        for row in rows:
            if row.pk in (spot_checks or {}) and row.pk not in flagged:
                found = (spot_checks or {})[row.pk]
                to_create.append(
                    ReviewItem(
                        source=ReviewSource.RECOMMENDATION,
                        kind=ReviewKind.SPOT_CHECK,
                        recommendation_id=row.pk,
                        customer_id=row.customer_id,
                        channel=row.channel,
                        flags=found,
                        rules=rules_text(found),
                        high_risk=False,
                        waiting_since=now,
                    )
                )
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
    thresholds = replace(thresholds_of(settings), min_evidence=0)
    candidate = candidate_for(
        item_id=item_id, customer_id=customer_id, facts=facts, is_campaign=is_campaign
    )
    return [_flag_json(flag) for flag in rules.evaluate(candidate, thresholds)]


# --- screening before storing (generation) --------------------------------------------


def candidates_flags(
    *,
    candidates: Sequence[Recommendation],
    usual_spend: Mapping[int, float | None] | None = None,
    known: Known = Known(),
    settings: OversightSettings | None = None,
    approved: Mapping[int, set[int]] | None = None,
    now: datetime | None = None,
    sample_seen: dict[int, int] | None = None,
) -> list[list[rules.Flag]]:
    """Every rule's flags for each candidate (unsaved rows: customer, item, version,
    reasons, score, the engine's marks), in order. A pair a person approved before
    (`approved`: customer pk -> item pks) keeps only its high-risk flags: the reviewer's
    look covered the rest. `sample_seen` (model version -> candidates numbered so far)
    carries the new-model sample's count from one call to the next within one
    generation, whose rows are stored only at its end. Bounded queries, as
    `recommendations_screen`."""
    settings = settings or oversight_settings()
    now = now or timezone.now()
    thresholds = thresholds_of(settings)
    rows = list(candidates)
    if not rows:
        return []
    facts = _facts(rows, usual_spend, now, settings, known)
    seen_per_version = sample_seen if sample_seen is not None else {}
    out: list[list[rules.Flag]] = []
    for row in rows:
        sample_index = None
        if row.model_version_id in facts.sample_start:
            seen = seen_per_version.get(row.model_version_id, 0)
            sample_index = facts.sample_start[row.model_version_id] + seen
            seen_per_version[row.model_version_id] = seen + 1
        candidate = candidate_for(
            item_id=row.item_id,
            customer_id=row.customer_id,
            facts=facts,
            reasons=row.reasons,
            score=row.score,
            sample_index=sample_index,
        )
        flags = rules.evaluate(candidate, thresholds)
        if _ENGINE_MISSING in (row.flags or ()) and not any(
            f.rule == "missing_attribute_data" for f in flags
        ):
            flags.insert(
                0,
                rules.Flag(
                    "missing_attribute_data",
                    True,
                    {"restrictions": sorted(candidate.customer_restrictions)},
                ),
            )
        if approved and row.item_id in approved.get(row.customer_id, ()):
            flags = [f for f in flags if f.high_risk]
        out.append(flags)
    return out


def flags_json(flags: list[rules.Flag]) -> list[dict]:
    return [_flag_json(f) for f in flags]


# How long a reviewer's replacement keeps its place when the list is made again.
STAFF_PICK_DAYS = 30


@dataclass(frozen=True)
class Decided:
    """What people decided earlier about these customers' suggestions on a channel."""

    # customer pk -> item pks a reviewer rejected (or replaced): never offered again.
    rejected: dict[int, set[int]]
    # customer pk -> item pks a reviewer approved after a hold.
    approved: dict[int, set[int]]
    # customer pk -> the items reviewers chose instead of a rejected one within the last
    # STAFF_PICK_DAYS, newest decision first: a regenerated list keeps them.
    picked: dict[int, list[int]] = field(default_factory=dict)


def decided_pairs(
    *, customer_ids: Sequence[int], channel: str, now: datetime | None = None
) -> Decided:
    """Earlier decisions on these customers' held or spot-checked suggestions (one query)."""
    rejected: dict[int, set[int]] = defaultdict(set)
    approved: dict[int, set[int]] = defaultdict(set)
    picked: dict[int, list[int]] = defaultdict(list)
    ids = list(customer_ids)
    if not ids:
        return Decided({}, {})
    since = (now or timezone.now()) - timedelta(days=STAFF_PICK_DAYS)
    found = (
        ReviewItem.objects.filter(
            customer_id__in=ids,
            channel=channel,
            status=ReviewStatus.DECIDED,
            recommendation__isnull=False,
        )
        .order_by("-decided_at", "-pk")
        .values_list(
            "customer_id",
            "recommendation__item_id",
            "decision",
            "replacement_item_id",
            "replacement_item__active",
            "decided_at",
        )
    )
    for customer_id, item_id, decision, pick, active, decided_at in found.iterator(
        chunk_size=5_000
    ):
        if decision == ReviewDecision.APPROVE:
            approved[customer_id].add(item_id)
        elif decision in (ReviewDecision.REJECT, ReviewDecision.REPLACE):
            rejected[customer_id].add(item_id)
        if (
            decision == ReviewDecision.REPLACE
            and pick is not None
            and active
            and decided_at is not None
            and decided_at >= since
            and pick not in picked[customer_id]
        ):
            picked[customer_id].append(pick)
    # A later rejection wins over an earlier approval of the same item, and over a pick.
    for customer_id, items in rejected.items():
        approved[customer_id] -= items
        if customer_id in picked:
            picked[customer_id] = [i for i in picked[customer_id] if i not in items]
    return Decided(dict(rejected), dict(approved), {k: v for k, v in picked.items() if v})


def holds_opened_since(since: datetime) -> int:
    """Items held for review since `since` (the review budget's day), not counting held
    items a regeneration carried over (they keep their first waiting time)."""
    return ReviewItem.objects.filter(
        kind=ReviewKind.HOLD,
        source=ReviewSource.RECOMMENDATION,
        waiting_since__gte=since,
    ).count()


def spot_check_sample(
    pool: Sequence[_T], *, percent: float, rng: random.Random | None = None
) -> list[_T]:
    """A uniform random sample of `pool` (what went out unreviewed), `percent` of it,
    rounded, at least one when the pool is not empty and percent > 0."""
    if not pool or percent <= 0:
        return []
    size = min(len(pool), max(1, round(len(pool) * percent / 100)))
    return (rng or random.SystemRandom()).sample(list(pool), size)


def review_items_open(
    *,
    rows: Sequence[Recommendation],
    held: Mapping[int, list[dict]],
    spot_checks: Mapping[int, list[dict]],
    carried: Mapping[tuple[int, int], Carried] | None = None,
    now: datetime | None = None,
) -> list[ReviewItem]:
    """For rows generation just stored: hold the `held` ones (pk -> flags) with one
    review item each, keeping a carried item's place in the queue, and open a spot check
    for each of `spot_checks` (pk -> flags it went out with)."""
    return _hold_and_open(
        list(rows), held, {}, carried or {}, now or timezone.now(), True, spot_checks
    )
