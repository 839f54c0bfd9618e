"""Hold items, not lists: screen each list's candidates before it is stored, hold the
flagged ones for a person and fill their places from the next candidates that pass every
rule, so a customer sees a full personalized list while a flagged item waits.

Generation (services.py) calls `lists_screen_and_fill` inside its transaction with the
customers' rows locked. Rounds: the engine's lists are screened; customers with newly
held items get their list again without those items (the engine's own hard rules,
diversity and ranking apply to the refill); the new candidates are screened; and so on,
at most `MAX_ROUNDS` times. A list still short after that (the catalog has too few safe
items for this customer) is stored short, and serving says so.

The owner's review budget ("about N items a day") caps the holds: high-risk flags are
always held; beyond the budget the lowest-risk flags go out unreviewed, and then a random
sample of everything that went out unreviewed is opened as spot checks after delivery.
Items a reviewer rejected for the customer are never offered again; items a reviewer
approved pass the low-risk rules that held them and take their place in the ranking.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np
from django.db import connection

from personalization import engine
from personalization.models import OversightSettings, Recommendation
from personalization.oversight import rules, screening

# Refill rounds per list (each one runs the engine again for the customers who had an
# item held in the round before). On Online Retail and the demo, 2 suffice for every list.
MAX_ROUNDS = 4
# Holds for the lowest-risk rule alone (low confidence) per list and regeneration: a few
# examples of the same doubt (say, a customer whose one purchase every suggestion rests
# on) tell a reviewer as much as forty would, and the list stays personal. Beyond them
# such flags go out and are in the spot checks' pool.
HOLDS_PER_LIST = 3
# The mark on every shown row of a list shorter than the model's length (serving says so).
SHORT_LIST = Recommendation.SHORT_LIST
# The review budget's period.
BUDGET_PERIOD = timedelta(days=1)


@dataclass
class Screened:
    """One customer's list after screening, ready to store."""

    customer: int
    # What the customer sees, best first: unflagged, approved, or sent out over budget.
    shown: list[engine.Suggestion] = field(default_factory=list)
    # Held for a person, with the flags that held them.
    held: list[tuple[engine.Suggestion, list[rules.Flag]]] = field(default_factory=list)
    # Item key -> the low-risk flags an item went out with (over the budget).
    unreviewed: dict[int, list[rules.Flag]] = field(default_factory=dict)
    # Item keys sampled for a spot check after delivery.
    spot_checks: set[int] = field(default_factory=set)
    # Reviewers' replacements kept from earlier decisions, in the list's last places
    # (after `shown`): the engine's lowest-ranked suggestions made room for them.
    picks: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    lists: dict[int, Screened]
    # Held items opened in this call (counts against the review budget).
    held: int
    # Low-risk flags sent out over the budget, and beyond a list's share of holds.
    over_budget: int
    over_cap: int
    rounds: int


def lists_screen_and_fill(
    *,
    model: engine.Model,
    catalog: engine.Catalog,
    histories: engine.Histories,
    shoppers: Sequence[engine.Shopper],
    version_id: int,
    known: screening.Known,
    settings: OversightSettings,
    decided: screening.Decided,
    budget_left: Callable[[], int],
    now: datetime,
    rng: random.Random | None = None,
) -> tuple[list[engine.CustomerList], Outcome]:
    """The engine's lists for `shoppers` (mode on), screened and filled, and what was held.

    Returns the lists as the engine would (suggestions ranked 1..n are what the customer
    sees, `needs_review` what waits, ranked 1..m) and the outcome with each customer's
    flags. Items rejected before are left out from the start. `budget_left` says how
    many more items may be held today; it is asked once, when something is flagged.
    """
    personal = [
        replace(s, not_for_me=s.not_for_me | frozenset(decided.rejected[s.key]))
        if s.key in decided.rejected
        else s
        for s in shoppers
    ]
    by_key = {s.key: s for s in personal}
    results = {r.customer: r for r in engine.recommend(model, catalog, histories, personal)}
    screened = {key: Screened(customer=key) for key, r in results.items() if r.mode == "on"}
    # The median unit price each customer paid (the premium rule's reference).
    usual_spend = {key: results[key].usual_unit_price for key in screened}
    evaluated: dict[int, set[int]] = {key: set() for key in screened}
    excluded: dict[int, set[int]] = {key: set() for key in screened}
    held_total = over_budget = over_cap = 0
    low_holds: dict[int, int] = dict.fromkeys(screened, 0)
    pending = list(screened)
    rounds = 0
    sample_seen: dict[int, int] = {}
    room: int | None = None
    while pending and rounds < MAX_ROUNDS:
        rounds += 1
        # The candidates not screened yet, in each list's rank order (items waiting for
        # allergen data first: they are always held).
        fresh: list[tuple[int, engine.Suggestion]] = []
        for key in pending:
            result = results[key]
            for suggestion in (*result.needs_review, *result.suggestions):
                if suggestion.item not in evaluated[key]:
                    evaluated[key].add(suggestion.item)
                    fresh.append((key, suggestion))
        probes = [
            Recommendation(
                customer_id=key,
                item_id=suggestion.item,
                score=suggestion.score,
                rank=suggestion.rank,
                model_version_id=version_id,
                reasons=[reason.as_dict() for reason in suggestion.reasons],
                flags=list(suggestion.flags),
            )
            for key, suggestion in fresh
        ]
        flags = screening.candidates_flags(
            candidates=probes,
            usual_spend=usual_spend,
            known=known,
            settings=settings,
            approved=decided.approved,
            now=now,
            sample_seen=sample_seen,
        )
        flagged: list[int] = []
        for i, found in enumerate(flags):
            if not found:
                continue
            key, suggestion = fresh[i]
            if rules.risk_of(found) == rules.LOWEST_RISK:
                if low_holds[key] >= HOLDS_PER_LIST:
                    screened[key].unreviewed[suggestion.item] = found
                    over_cap += 1
                    continue
                low_holds[key] += 1
            flagged.append(i)
        if flagged and room is None:
            room = budget_left()
        keep = rules.hold_within_budget(
            [rules.risk_of(flags[i]) for i in flagged], max(0, (room or 0) - held_total)
        )
        newly_held: dict[int, set[int]] = {}
        for i, hold in zip(flagged, keep, strict=True):
            key, suggestion = fresh[i]
            if hold:
                screened[key].held.append((suggestion, flags[i]))
                newly_held.setdefault(key, set()).add(suggestion.item)
                held_total += 1
            else:
                screened[key].unreviewed[suggestion.item] = flags[i]
                over_budget += 1
        # Lists with a newly held suggestion are made again without it; the others are done.
        refill = [key for key in pending if newly_held.get(key, set()) - _waiting(results[key])]
        for key, items in newly_held.items():
            excluded[key] |= items | _complained_categories_items(
                catalog, [(s, f) for s, f in screened[key].held if s.item in items]
            )
        if refill and rounds < MAX_ROUNDS:
            again = [
                replace(by_key[key], not_for_me=by_key[key].not_for_me | frozenset(excluded[key]))
                for key in refill
            ]
            for result in engine.recommend(model, catalog, histories, again):
                # Items waiting for allergen data stay as the first round found them.
                first = results[result.customer]
                results[result.customer] = replace(result, needs_review=first.needs_review)
        else:
            for key in refill:
                # Out of rounds: the held items leave the list, which stays short.
                result = results[key]
                results[key] = replace(
                    result,
                    suggestions=tuple(s for s in result.suggestions if s.item not in excluded[key]),
                )
        pending = refill
    lists: list[engine.CustomerList] = []
    for result in results.values():
        if result.mode != "on":
            lists.append(result)
            continue
        entry = screened[result.customer]
        held_items = {s.item for s, _flags in entry.held}
        entry.shown = [s for s in result.suggestions if s.item not in held_items]
        lists.append(
            replace(
                result,
                suggestions=tuple(
                    s._replace(rank=rank) for rank, s in enumerate(entry.shown, start=1)
                ),
                needs_review=tuple(
                    s._replace(rank=rank) for rank, (s, _f) in enumerate(entry.held, start=1)
                ),
            )
        )
        # Only what is shown can be sent out with a flag.
        shown_items = {s.item for s in entry.shown}
        entry.unreviewed = {k: v for k, v in entry.unreviewed.items() if k in shown_items}
    _place_staff_picks(
        lists,
        screened,
        decided=decided,
        shoppers=by_key,
        top_k=model.params.top_k,
        known=known,
        settings=settings,
        now=now,
    )
    if over_budget or over_cap:
        pool = [(key, s.item) for key, entry in screened.items() for s in entry.shown]
        for key, item in screening.spot_check_sample(
            pool, percent=settings.spot_check_percent, rng=rng
        ):
            screened[key].spot_checks.add(item)
    return lists, Outcome(
        lists=screened,
        held=held_total,
        over_budget=over_budget,
        over_cap=over_cap,
        rounds=rounds,
    )


def _complained_categories_items(
    catalog: engine.Catalog, held: list[tuple[engine.Suggestion, list[rules.Flag]]]
) -> set[int]:
    """The items of each category a held item was held for by a recent complaint: the
    refill leaves the whole category out for now (each of its items would be held in
    turn, and the rounds would run out with the list short)."""
    codes = {
        f.facts.get("category")
        for _s, found in held
        for f in found
        if f.rule == "recent_complaint" and f.facts.get("category")
    }
    if not codes:
        return set()
    wanted = [i for i, code in enumerate(catalog.category_codes) if code in codes]
    return {int(k) for k in catalog.keys[np.isin(catalog.category, wanted)].tolist()}


def _place_staff_picks(
    lists: list[engine.CustomerList],
    screened: dict[int, Screened],
    *,
    decided: screening.Decided,
    shoppers: dict[int, engine.Shopper],
    top_k: int,
    known: screening.Known,
    settings: OversightSettings,
    now: datetime,
) -> None:
    """Keep reviewers' recent replacements (decision 67) in the lists made again.

    A pick stays while it is still fine for the customer: not turned down since (not
    for me, can't have, a later rejection), not already on the list on its own merits,
    and free of high-risk flags today (a restriction added since, allergen data
    missing under a restriction). It takes the list's last place, as when it was chosen,
    and the engine's lowest-ranked suggestion makes room (`lists` is updated in place)."""
    wanted: list[tuple[int, int]] = []
    for key, entry in screened.items():
        shopper = shoppers[key]
        gone = shopper.not_for_me | shopper.cant_have | {s.item for s, _f in entry.held}
        on_list = {s.item for s in entry.shown}
        for item in decided.picked.get(key, ())[:top_k]:
            if item not in gone and item not in on_list:
                wanted.append((key, item))
    if not wanted:
        return
    probes = [
        Recommendation(customer_id=key, item_id=item, score=1.0, rank=1) for key, item in wanted
    ]
    picked: dict[int, set[int]] = {}
    for key, item in wanted:
        picked.setdefault(key, set()).add(item)
    flags = screening.candidates_flags(
        candidates=probes, known=known, settings=settings, approved=picked, now=now
    )
    for (key, item), found in zip(wanted, flags, strict=True):
        if not found:
            screened[key].picks.append(item)
    for i, result in enumerate(lists):
        picking = screened.get(result.customer)
        if picking is None or not picking.picks:
            continue
        room = max(0, top_k - len(picking.picks))
        picking.shown = picking.shown[:room]
        kept = {s.item for s in picking.shown}
        picking.unreviewed = {k: v for k, v in picking.unreviewed.items() if k in kept}
        lists[i] = replace(result, suggestions=result.suggestions[:room])


def _waiting(result: engine.CustomerList) -> set[int]:
    """Items held without being on the list (waiting for allergen data): no refill."""
    return {s.item for s in result.needs_review}


# Any constant: the PostgreSQL advisory lock two generations take before they count the
# review budget, so the second counts the first's holds (it waits for its commit).
_BUDGET_LOCK = 727_401


def budget_left(*, settings: OversightSettings, now: datetime) -> int:
    """How many more items may be held today under the owner's review budget.

    Asked only when a low-risk flag needs room, inside generation's transaction: the
    budget's lock is taken first and held until that transaction ends, so two generations
    at once never both spend the same room (no check-then-act)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_BUDGET_LOCK])
    return max(0, settings.review_budget - screening.holds_opened_since(now - BUDGET_PERIOD))
