"""The review trail: one append-only `ReviewAction` per thing that happened to a review
item, with a snapshot of the item (no personal data beyond the customer's number)."""

from __future__ import annotations

from personalization.models import ReviewAction, ReviewItem


def snapshot(item: ReviewItem) -> dict:
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


def action(
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
        snapshot={**snapshot(item), **(extra or {})},
    )
