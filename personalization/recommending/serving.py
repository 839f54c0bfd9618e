"""The hot path of serving a stored list: two plain SQL queries instead of ORM querysets.

`GET /api/v1/customers/<id>/recommendations/` and `/me/recommendations/` run this on
every request. Compiling the equivalent ORM querysets cost more than running them, so
the two reads are written in SQL once (portable between PostgreSQL and SQLite; table
and column names come from the models' metadata) and their values converted here.
Everything else about serving stays in `selectors.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection

from accounts.models import CustomerProfile
from core import sql as sql_helpers
from core.sql import aware
from governance.selectors import feature_enabled_sql, feature_params, kill_switch_sql
from personalization.models import (
    Category,
    Consent,
    Feedback,
    Item,
    Recommendation,
)
from personalization.recommending.models_cache import ACTIVE_PARAMS, active_version_sql

# The serving state, as columns of one SELECT; {customer} is the customer's id: a
# parameter, or the id column of the customer's row when it is read in the same statement.
# The active version, the kill switch and the feature switches are the expressions their
# owners define (models_cache, governance.selectors): one definition each.
_STATE_COLUMNS = """
  {active_version},
  {kill_switch},
  (SELECT {concat}(data_category, ',') FROM {consent}
     WHERE customer_id = {customer} AND purpose = %(purpose)s AND granted),
  (SELECT MAX(updated_at) FROM {consent} WHERE customer_id = {customer} AND purpose = %(purpose)s),
  (SELECT MAX(created_at) FROM {feedback} WHERE customer_id = {customer}),
  {channel_feature},
  {model_feature}
"""
_STATE_SQL = "SELECT {columns}"
# The API's read: the customer by external id and their serving state, in one statement.
_CUSTOMER_STATE_SQL = (
    "SELECT {profile_columns}, {columns} FROM {profile} p WHERE p.external_id = %(external_id)s"
)

_ROWS_SQL = """
SELECT r.id, r.item_id, r.score, r.rank, r.model_version_id, r.reasons, r.sentence,
       r.status, r.created_at, i.sku, i.name, i.price, i.active, i.allergens_declared,
       c.slug, c.name, r.flags
FROM {recommendation} r
JOIN {item} i ON i.id = r.item_id
JOIN {category} c ON c.id = i.category_id
WHERE r.customer_id = %s AND r.channel = %s AND r.superseded_at IS NULL
ORDER BY r.rank, r.id
"""


@dataclass(frozen=True)
class ServingState:
    version_id: int | None
    shop_paused: bool
    # The channel's feature or the model's type is switched off in the risk gate.
    switched_off: bool
    # Data categories allowed for personalization, and the last change of any of the
    # customer's consents or feedback (a stored list older than that is regenerated).
    allowed: frozenset[str]
    changed_at: datetime | None


@dataclass(frozen=True)
class StoredRow:
    pk: int
    item_id: int
    score: float
    rank: int
    model_version_id: int
    reasons: list[dict]
    sentence: str
    status: str
    created_at: datetime
    sku: str
    name: str
    price: Decimal
    active: bool
    allergens_declared: bool
    category_slug: str
    category_name: str
    # The engine's and generation's marks (e.g. "short_list").
    flags: list[str]


def serving_state(*, customer_id: int, purpose: str, features: tuple[str, str]) -> ServingState:
    """The active model, the kill switch, the channel's and the model's feature switches
    (built-in features without a row are on), and the customer's consent and feedback
    stamps."""
    sql = _STATE_SQL.format(columns=_state_columns("%(customer)s"))
    params = {**_state_params(purpose, features), "customer": customer_id}
    with sql_helpers.cursor() as cursor:
        cursor.execute(sql, params)
        return _state(cursor.fetchone())


def customer_serving_state(
    *, external_id: str, purpose: str, features: tuple[str, str]
) -> tuple[CustomerProfile, ServingState] | None:
    """The customer with this external id and their serving state (None: no such
    customer), in one statement: the API's recommendations read."""
    reader = sql_helpers.instance_reader(CustomerProfile)
    sql = _CUSTOMER_STATE_SQL.format(
        profile_columns=reader.columns("p"),
        columns=_state_columns("p.id"),
        profile=CustomerProfile._meta.db_table,
    )
    params = {**_state_params(purpose, features), "external_id": external_id}
    with sql_helpers.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    return reader.build(row), _state(row[reader.width :])


def _state_columns(customer: str) -> str:
    return _STATE_COLUMNS.format(
        active_version=active_version_sql(),
        kill_switch=kill_switch_sql(),
        consent=Consent._meta.db_table,
        feedback=Feedback._meta.db_table,
        channel_feature=feature_enabled_sql("channel_feature"),
        model_feature=feature_enabled_sql("model_feature"),
        concat="STRING_AGG" if connection.vendor == "postgresql" else "GROUP_CONCAT",
        customer=customer,
    )


def _state_params(purpose: str, features: tuple[str, str]) -> dict[str, object]:
    channel, model = features
    return {
        **ACTIVE_PARAMS,
        "purpose": purpose,
        **feature_params("channel_feature", channel),
        **feature_params("model_feature", model),
    }


def _state(row) -> ServingState:
    version_id, engaged, allowed, consent_at, feedback_at, *switches = row
    stamps = [at for at in (aware(consent_at), aware(feedback_at)) if at is not None]
    return ServingState(
        version_id=version_id,
        shop_paused=bool(engaged),
        switched_off=not all(switches),
        allowed=frozenset(filter(None, (allowed or "").split(","))),
        changed_at=max(stamps) if stamps else None,
    )


def stored_rows(*, customer_id: int, channel: str) -> list[StoredRow]:
    """The customer's current list on a channel with its items, in rank order."""
    sql = _ROWS_SQL.format(
        recommendation=Recommendation._meta.db_table,
        item=Item._meta.db_table,
        category=Category._meta.db_table,
    )
    with sql_helpers.cursor() as cursor:
        cursor.execute(sql, [customer_id, channel])
        rows = cursor.fetchall()
    return [
        StoredRow(
            pk=pk,
            item_id=item_id,
            score=float(score),
            rank=rank,
            model_version_id=version_id,
            reasons=json.loads(reasons) if isinstance(reasons, str | bytes) else reasons,
            sentence=sentence,
            status=status,
            created_at=aware(created_at),
            sku=sku,
            name=name,
            price=Decimal(str(price)).quantize(Decimal("0.01")),
            active=bool(active),
            allergens_declared=bool(declared),
            category_slug=slug,
            category_name=category_name,
            flags=(json.loads(flags) if isinstance(flags, str | bytes) else flags) or [],
        )
        for (
            pk,
            item_id,
            score,
            rank,
            version_id,
            reasons,
            sentence,
            status,
            created_at,
            sku,
            name,
            price,
            active,
            declared,
            slug,
            category_name,
            flags,
        ) in rows
    ]
