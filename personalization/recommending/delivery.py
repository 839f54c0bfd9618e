"""Delivering a customer's list, a service: what they see, in a bounded number of queries.

The customer's mode sits in front of delivery: off or paused gives the anonymous list,
none gives nothing, whatever is stored. A stored list that no longer matches the
customer's consent, restrictions, feedback or the catalog is regenerated before it is
shown, so nothing shown ever cites a category they switched off; what is shown is marked
delivered. Both are writes, so the page and the API call this service explicitly; the
reads are in `selectors.py` (decision 54).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext

from accounts.models import CustomerProfile, PersonalizationMode
from accounts.selectors import effective_mode
from governance.features import MODEL_ITEM_KNN, ONSITE_RECOMMENDATIONS
from personalization import engine
from personalization import explanations as sentences
from personalization.models import (
    Category,
    Channel,
    Item,
    Recommendation,
    RecommendationStatus,
)
from personalization.models.engine import RECOMMENDATION_SHOWN
from personalization.recommending import filling, services, serving
from personalization.registry import PERSONALIZATION

SHOWN = RECOMMENDATION_SHOWN


@dataclass(frozen=True)
class ShownItem:
    item_id: int
    name: str
    category: str
    price: Decimal
    rank: int
    sentence: str
    reasons: list[sentences.ReasonLine]
    # (code, name) of the data categories the reasons came from.
    data_categories: list[tuple[str, str]]
    # None for the anonymous list (nothing stored, no feedback buttons).
    recommendation_id: int | None = None
    sku: str = ""
    category_slug: str = ""
    # The stored score, model version and structured reasons (None/[] when anonymous).
    score: float | None = None
    model_version_id: int | None = None
    structured_reasons: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class RecommendationsPage:
    mode: PersonalizationMode
    personalized: bool
    model_ready: bool
    items: list[ShownItem] = field(default_factory=list)
    # The owner's kill switch is on: everyone gets the non-personalized list.
    shop_paused: bool = False
    # The customer's own list is all waiting for a person; the visitors' list is shown.
    under_review: bool = False
    # False when the personalized list is shorter than a full one: too few items pass
    # the customer's restrictions and the shop's checks (some may wait for a person).
    complete: bool = True


def recommendations_deliver(
    *,
    customer: CustomerProfile,
    explain: bool = True,
    feature: str = ONSITE_RECOMMENDATIONS,
    state: serving.ServingState | None = None,
) -> RecommendationsPage:
    """The customer's own list, ready to show; marks what is shown as delivered.

    Every channel serves this: the customer's mode and the owner's kill switch sit in
    front of whatever is stored, read on each request. A stored list that is still valid
    costs three queries (serving state, rows, and the attributes only under a
    restriction). `explain=False` leaves out the per-reason lines and data-category names
    (the API sends the structured reasons and the stored sentence instead). `feature` is
    the channel's switch in the risk gate: while it (or the model's type) is off, the channel serves
    the non-personalized list, as under the kill switch. `state` is the serving state
    when the caller read it with the customer (the API does, in one statement).
    """
    mode = effective_mode(profile=customer)
    if mode is PersonalizationMode.NONE:
        return RecommendationsPage(mode=mode, personalized=False, model_ready=True)
    if state is None:
        state = serving.serving_state(
            customer_id=customer.pk, purpose=PERSONALIZATION, features=(feature, MODEL_ITEM_KNN)
        )
    if state.version_id is None:
        return RecommendationsPage(mode=mode, personalized=False, model_ready=False)
    shop_paused = state.shop_paused or state.switched_off
    if mode is not PersonalizationMode.ON or shop_paused:
        return RecommendationsPage(
            mode=mode,
            personalized=False,
            model_ready=True,
            items=_anonymous_items(services.anonymous_recommendations(customer=customer)),
            shop_paused=shop_paused,
        )
    rows = _current_rows(customer)
    if not _still_valid(customer, rows, state):
        # Unless a request at the same moment has just replaced these rows: then its
        # list is the one read below.
        services.recommendations_refresh_stale(customer=customer, seen=[row.pk for row in rows])
        rows = _current_rows(customer)
    shown = [row for row in rows if row.status in SHOWN]
    if not shown and any(row.status == RecommendationStatus.HELD for row in rows):
        # Everything waits for a person (e.g. after a complaint): meanwhile the
        # customer gets what any visitor gets, without what they must never be offered.
        return RecommendationsPage(
            mode=mode,
            personalized=False,
            model_ready=True,
            items=_anonymous_items(
                services.anonymous_recommendations(customer=customer, honour_feedback=True)
            ),
            under_review=True,
        )
    to_deliver = [row.pk for row in shown if row.status != RecommendationStatus.DELIVERED]
    if to_deliver:
        Recommendation.objects.filter(pk__in=to_deliver).update(
            status=RecommendationStatus.DELIVERED
        )
    return RecommendationsPage(
        mode=mode,
        personalized=True,
        model_ready=True,
        items=[_shown(row, explain=explain) for row in shown],
        # Nothing at all to suggest is the shortest list of all.
        complete=bool(shown) and not any(filling.SHORT_LIST in row.flags for row in shown),
    )


def _current_rows(customer: CustomerProfile) -> list[serving.StoredRow]:
    return serving.stored_rows(customer_id=customer.pk, channel=Channel.ONSITE)


def _still_valid(
    customer: CustomerProfile, rows: list[serving.StoredRow], state: serving.ServingState
) -> bool:
    if not rows:
        return False
    made = min(row.created_at for row in rows)
    if any(row.model_version_id != state.version_id for row in rows):
        return False
    if state.changed_at is not None and state.changed_at > made:
        return False
    if customer.updated_at > made:
        return False
    if _decided_since(rows):
        return False
    restrictions = set(customer.restrictions or ())
    allergen_rule = any(code.startswith(engine.data.ALLERGEN_PREFIX) for code in restrictions)
    codes: dict[int, set[str]] = defaultdict(set)
    if restrictions:
        # Only a restriction makes the items' attributes matter for serving.
        for item_id, code in Item.attributes.through.objects.filter(
            item_id__in=[row.item_id for row in rows]
        ).values_list("item_id", "attribute__code"):
            codes[item_id].add(code)
    for row in rows:
        if row.status not in SHOWN:
            continue
        if not row.active:
            return False
        if codes[row.item_id] & restrictions:
            return False
        if allergen_rule and not row.allergens_declared:
            return False
        cited = {r.get("data_category") for r in row.reasons if r.get("data_category")}
        if not cited <= state.allowed:
            return False
    return True


def _decided_since(rows: list[serving.StoredRow]) -> bool:
    """A person decided on a held or spot-checked item of this list since it was made:
    an approved item takes its place in the ranking and a rejected one leaves the list
    (regenerated, the list is full again). A reviewer's replacement (no reasons of its
    own) stands in for the item it replaced and keeps the list as it is, also once it has
    been shown (delivered), so it stays on the list after the first view."""
    replaced = {row.rank for row in rows if row.status in SHOWN and not row.reasons}
    for row in rows:
        if row.status == RecommendationStatus.APPROVED and row.reasons:
            return True
        if row.status == RecommendationStatus.REJECTED and row.rank not in replaced:
            return True
    return False


def _shown(row: serving.StoredRow, *, explain: bool = True) -> ShownItem:
    reasons = row.reasons
    lines = sentences.reason_lines(reasons, item_id=row.item_id) if explain else []
    codes = (
        list(dict.fromkeys(r["data_category"] for r in reasons if r.get("data_category")))
        if explain
        else []
    )
    return ShownItem(
        item_id=row.item_id,
        name=row.name,
        category=row.category_name,
        price=row.price,
        rank=row.rank,
        # Rendered in the reader's language from the reasons; a row without reasons
        # (a reviewer's replacement) keeps the sentence stored with it, translated.
        sentence=sentences.sentence(reasons, item_id=row.item_id)
        if explain and reasons
        else _stored_sentence(row.sentence),
        reasons=lines,
        data_categories=[(code, sentences.data_category_name(code)) for code in codes],
        recommendation_id=row.pk,
        sku=row.sku,
        category_slug=row.category_slug,
        score=row.score,
        model_version_id=row.model_version_id,
        structured_reasons=reasons,
    )


def _stored_sentence(sentence: str) -> str:
    # gettext("") would be the catalogue's header.
    return gettext(sentence) if sentence else ""


def _anonymous_items(result: engine.CustomerList) -> list[ShownItem]:
    return _items_of(result)


def preview_items(
    *, customer: CustomerProfile, without_data_category: str | None = None
) -> list[ShownItem]:
    """The list the customer would see now without one data category, ready to show
    (nothing is stored): for "what changes if I switch this off?" on the consent page."""
    return _items_of(
        services.recommendations_preview(
            customer=customer, without_data_category=without_data_category
        )
    )


def _items_of(result: engine.CustomerList) -> list[ShownItem]:
    """Display rows for a list the engine just computed (two queries)."""
    wanted = {s.item for s in result.suggestions}
    wanted |= {r.item for s in result.suggestions for r in s.reasons if r.item is not None}
    items = Item.objects.select_related("category").in_bulk(list(wanted))
    categories = {
        r.category for s in result.suggestions for r in s.reasons if r.category is not None
    }
    category_names = (
        dict(Category.objects.filter(slug__in=categories).values_list("slug", "name"))
        if categories
        else {}
    )
    shown = []
    for suggestion in result.suggestions:
        item = items.get(suggestion.item)
        if item is None:
            continue
        reasons = []
        for reason in suggestion.reasons:
            data = reason.as_dict()
            if reason.item is not None and reason.item in items:
                data["name"] = items[reason.item].name
            if reason.category is not None:
                data["category_name"] = category_names.get(reason.category, reason.category)
            reasons.append(data)
        codes = list(dict.fromkeys(r.data_category for r in suggestion.reasons if r.data_category))
        shown.append(
            ShownItem(
                item_id=item.pk,
                name=item.name,
                category=item.category.name,
                price=item.price,
                rank=suggestion.rank,
                sentence=sentences.sentence(reasons, item_id=item.pk),
                reasons=sentences.reason_lines(reasons, item_id=item.pk),
                data_categories=[(code, sentences.data_category_name(code)) for code in codes],
                sku=item.sku,
                category_slug=item.category.slug,
            )
        )
    return shown
