"""Replacing customers' current lists: a few plain statements instead of ORM querysets.

Regenerating one customer's list happens on demand (after feedback, a consent change,
`generate_recommendations --customer`), so its writes are on a customer's clock. With
the ORM they cost more in query compiling than in the database: Django's delete
collector alone sent six statements (the ids, the review items, three `SET NULL`
updates that almost never match, the delete). Here the rows to delete are read once
with a flag saying whether anything links to them; rows nothing links to are deleted in
one plain statement, and only linked rows (a customer's feedback, a review item, a
campaign email) go through Django's collector, which knows every relation.

Portable between PostgreSQL and SQLite; table and column names come from the models'
metadata, so a new relation to `Recommendation` is picked up by the link check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.db import connection
from django.db.models import Field

from core import sql
from core.sql import marks
from personalization.models import Recommendation
from personalization.models.engine import RECOMMENDATION_UNDECIDED as UNDECIDED

# Ids per DELETE (well under SQLite's limit on values in one statement).
_SLICE = 5_000


_UNDECIDED_SQL = """
SELECT r.id, CASE WHEN {linked} THEN 1 ELSE 0 END
FROM {table} r
WHERE r.customer_id IN ({ids}) AND r.channel = %s AND r.superseded_at IS NULL
  AND r.status IN ({undecided})
"""
_LINK_SQL = "EXISTS (SELECT 1 FROM {table} WHERE {column} = r.id)"
# Still undecided: a row shown (delivered) or decided since it was read is kept, and
# marked replaced below with the others.
_DELETE_SQL = "DELETE FROM {table} WHERE id IN ({ids}) AND status IN ({undecided})"
_SUPERSEDE_SQL = """
UPDATE {table} SET superseded_at = %s
WHERE customer_id IN ({ids}) AND channel = %s AND superseded_at IS NULL
"""
_INSERT_SQL = "INSERT INTO {table} ({columns}) VALUES {values} RETURNING id"
_UNNEST_SQL = "INSERT INTO {table} ({columns}) SELECT * FROM UNNEST({arrays}) RETURNING id"


@dataclass(frozen=True)
class Undecided:
    """The undecided rows of some customers' current lists on one channel."""

    # Nothing links to these: one DELETE.
    free: list[int]
    # Feedback, a review item or a campaign email links to these. A held row's review
    # item is one such link, so with none of these no review item waits for the list.
    linked: list[int]


def undecided_rows(*, customer_ids: Sequence[int], channel: str) -> Undecided:
    """Read, within the caller's transaction, the rows `lists_replace` will delete."""
    ids = list(customer_ids)
    if not ids:
        return Undecided(free=[], linked=[])
    with sql.cursor() as cursor:
        cursor.execute(
            _UNDECIDED_SQL.format(
                linked=_linked_sql(),
                table=Recommendation._meta.db_table,
                ids=marks(len(ids)),
                undecided=marks(len(UNDECIDED)),
            ),
            [*ids, channel, *UNDECIDED],
        )
        found = cursor.fetchall()
    return Undecided(
        free=[pk for pk, linked in found if not linked],
        linked=[pk for pk, linked in found if linked],
    )


def lists_replace(
    *,
    customer_ids: Sequence[int],
    channel: str,
    rows: list[Recommendation],
    now: datetime,
    undecided: Undecided,
) -> None:
    """Within the caller's transaction: delete these customers' undecided current rows on
    `channel` (as `undecided_rows` read them), mark their decided ones as replaced at
    `now`, and store `rows` (their primary keys are set)."""
    if not customer_ids:
        return
    ids = list(customer_ids)
    table = Recommendation._meta.db_table
    free, linked = undecided.free, undecided.linked
    with sql.cursor() as cursor:
        # In slices: SQLite caps the number of values in one statement.
        for start in range(0, len(free), _SLICE):
            part = free[start : start + _SLICE]
            cursor.execute(
                _DELETE_SQL.format(
                    table=table, ids=marks(len(part)), undecided=marks(len(UNDECIDED))
                ),
                [*part, *UNDECIDED],
            )
        if linked:
            # Feedback keeps its item, a review item goes with its row, the trail keeps
            # its number: Django's collector applies each relation's on_delete.
            Recommendation.objects.filter(pk__in=linked, status__in=UNDECIDED).delete()
        superseded = Recommendation._meta.get_field("superseded_at")
        cursor.execute(
            _SUPERSEDE_SQL.format(table=table, ids=marks(len(ids))),
            [superseded.get_db_prep_save(now, connection), *ids, channel],
        )
    _insert(rows)


@cache
def _linked_sql() -> str:
    """True for a row any other table links to (every relation to Recommendation)."""
    checks = [
        # A many-to-many link (none today) counts as linked: the collector handles it.
        "1 = 1"
        if rel.many_to_many
        else _LINK_SQL.format(table=rel.related_model._meta.db_table, column=rel.field.column)
        for rel in Recommendation._meta.related_objects
    ]
    return " OR ".join(checks) if checks else "1 = 0"


def _insert(rows: list[Recommendation]) -> None:
    """Store `rows` and set their primary keys, values prepared by each field as Django
    does: on PostgreSQL one INSERT from column arrays (a short statement psycopg can
    cache and prepare, however many rows), elsewhere INSERT ... VALUES ... RETURNING id;
    where the database cannot return ids from a multi-row insert, bulk_create."""
    if not rows:
        return
    if not connection.features.can_return_rows_from_bulk_insert:
        Recommendation.objects.bulk_create(rows, batch_size=2_000)
        return
    fields = [f for f in Recommendation._meta.concrete_fields if not f.primary_key]
    values = [
        [f.get_db_prep_save(f.pre_save(row, add=True), connection) for f in fields] for row in rows
    ]
    table = Recommendation._meta.db_table
    named = [_column_and_type(f) for f in fields]
    columns = ", ".join(column for column, _ in named)
    with sql.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = ", ".join(f"%s::{db_type}[]" for _, db_type in named)
            cursor.execute(
                _UNNEST_SQL.format(table=table, columns=columns, arrays=arrays),
                [list(column) for column in zip(*values, strict=True)],
            )
            _set_keys(rows, cursor.fetchall())
            return
        one = f"({marks(len(fields))})"
        # Batches keep SQLite's limit on parameters in one statement.
        size = max(1, 900 // len(fields))
        for start in range(0, len(rows), size):
            batch = values[start : start + size]
            cursor.execute(
                _INSERT_SQL.format(
                    table=table, columns=columns, values=", ".join([one] * len(batch))
                ),
                [value for row in batch for value in row],
            )
            _set_keys(rows[start : start + size], cursor.fetchall())


def _column_and_type(field: Field) -> tuple[str, str]:
    """A concrete field's column and its SQL type without the size (every concrete field
    has both)."""
    db_type = field.db_type(connection)
    if field.column is None or db_type is None:
        raise TypeError(f"{field.name} is not stored in a column of its own")
    return field.column, db_type.split("(")[0]


def _set_keys(rows: list[Recommendation], returned: list[tuple]) -> None:
    for row, (pk,) in zip(rows, returned, strict=True):
        row.pk = pk
        row._state.adding = False
        row._state.db = connection.alias
