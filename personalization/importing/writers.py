"""Database writes shared by the CSV importer and the REST API.

Rows arrive already validated (`rows.parse_*`); these functions only write, in bulk,
inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from django.db import IntegrityError, connection, transaction
from django.db.models import Field
from django.db.models.functions import Lower

from accounts.models import AuditAttribute, CustomerProfile
from personalization.importing import rows as R
from personalization.models import Attribute, Category, Interaction, Item
from personalization.registry import INTERACTION_KIND_CATEGORY


@dataclass
class Written:
    created: int = 0
    updated: int = 0
    ids: dict[str, int] = field(default_factory=dict)


def in_batches(values: list[Any]) -> Iterator[list[Any]]:
    """Split a list for `__in` lookups under the backend's parameter limit."""
    size = min(connection.features.max_query_params or 10_000, 10_000) - 10
    for start in range(0, len(values), size):
        yield values[start : start + size]


@dataclass
class CatalogCache:
    """Category and attribute ids, loaded once per import."""

    categories: dict[str, int] = field(default_factory=dict)
    attributes: dict[str, int] = field(default_factory=dict)
    loaded: bool = False

    def load(self) -> None:
        if not self.loaded:
            self.categories = dict(Category.objects.values_list("slug", "id"))
            self.attributes = dict(Attribute.objects.values_list("code", "id"))
            self.loaded = True


def catalog_write(rows: list[R.CatalogRow], *, cache: CatalogCache | None = None) -> Written:
    """Upsert items by sku, creating categories and attributes they name."""
    cache = cache or CatalogCache()
    cache.load()
    for row in rows:
        if row.category_slug not in cache.categories:
            category, _ = Category.objects.get_or_create(
                slug=row.category_slug, defaults={"name": row.category_name}
            )
            cache.categories[row.category_slug] = category.pk
    missing = {code for row in rows for code in row.attributes} - cache.attributes.keys()
    if missing:
        Attribute.objects.bulk_create([Attribute(code=c) for c in missing], ignore_conflicts=True)
        cache.attributes.update(
            Attribute.objects.filter(code__in=missing).values_list("code", "id")
        )
    skus = [row.sku for row in rows]
    existing = set(Item.objects.filter(sku__in=skus).values_list("sku", flat=True))
    Item.objects.bulk_create(
        # In key order: batches that overlap lock the rows they update in the same order.
        [
            Item(
                sku=row.sku,
                name=row.name,
                category_id=cache.categories[row.category_slug],
                price=row.price,
                active=row.active,
                consumable=row.consumable,
                allergens_declared=row.allergens_declared,
            )
            for row in sorted(rows, key=lambda row: row.sku)
        ],
        update_conflicts=True,
        unique_fields=["sku"],
        update_fields=[
            "name",
            "category",
            "price",
            "active",
            "consumable",
            "allergens_declared",
            "updated_at",
        ],
    )
    ids = dict(Item.objects.filter(sku__in=skus).values_list("sku", "id"))
    through = Item.attributes.through
    through.objects.filter(item_id__in=ids.values()).delete()
    through.objects.bulk_create(
        [
            through(item_id=ids[row.sku], attribute_id=cache.attributes[code])
            for row in rows
            for code in row.attributes
        ]
    )
    return Written(created=len(rows) - len(existing), updated=len(existing), ids=ids)


def customer_email_conflicts(rows: list[R.CustomerRow]) -> list[tuple[R.CustomerRow, str]]:
    """Rows whose email already belongs to another customer, with that customer's id."""
    by_email = {row.email: row for row in rows if row.email}
    taken = (
        CustomerProfile.objects.annotate(email_lower=Lower("email"))
        .filter(email_lower__in=list(by_email))
        .values_list("email_lower", "external_id")
    )
    return [
        (by_email[email], owner or "")
        for email, owner in taken
        if owner != by_email[email].external_id
    ]


def customers_write(
    rows: list[R.CustomerRow], *, now: datetime, consent_method: str = "import"
) -> Written:
    """Upsert customers by external_id, with the audit attributes they declared.

    Per the import contract, declared `audit:` columns count as given with
    fairness_audit consent: that consent is recorded in the ledger (method `import`, or
    `api` for the REST API) for customers who have not decided yet. A customer who
    refused fairness_audit consent keeps that refusal and their declared values are not
    stored.
    """
    external_ids = [row.external_id for row in rows]
    existing = set(
        CustomerProfile.objects.filter(external_id__in=external_ids).values_list(
            "external_id", flat=True
        )
    )
    CustomerProfile.objects.bulk_create(
        # In key order: batches that overlap lock the rows they update in the same order.
        [
            CustomerProfile(external_id=r.external_id, email=r.email, name=r.name)
            for r in sorted(rows, key=lambda r: r.external_id)
        ],
        update_conflicts=True,
        unique_fields=["external_id"],
        update_fields=["email", "name", "updated_at"],
    )
    ids = {
        external_id: pk
        for external_id, pk in CustomerProfile.objects.filter(
            external_id__in=external_ids
        ).values_list("external_id", "id")
        if external_id is not None  # matched above; the column itself is nullable
    }
    declaring = {ids[row.external_id] for row in rows if row.audit}
    answered = _audit_consent_answers(declaring)
    AuditAttribute.objects.bulk_create(
        [
            AuditAttribute(
                customer_id=ids[row.external_id],
                name=name,
                value=value,
                source=AuditAttribute.Source.IMPORT,
                declared_at=now,
            )
            for row in rows
            if answered.get(ids[row.external_id]) is not False
            for name, value in row.audit
        ],
        update_conflicts=True,
        unique_fields=["customer", "name"],
        update_fields=["value", "source"],
    )
    _audit_consent_record(
        [pk for pk in sorted(declaring) if pk not in answered], method=consent_method
    )
    return Written(created=len(rows) - len(existing), updated=len(existing), ids=ids)


def _audit_consent_answers(customer_ids: set[int]) -> dict[int, bool]:
    """The current fairness_audit answer of the customers who have one."""
    from personalization.models import Consent
    from personalization.registry import AUDIT_ATTRIBUTES, FAIRNESS_AUDIT

    answers: dict[int, bool] = {}
    for batch in in_batches(sorted(customer_ids)):
        answers.update(
            Consent.objects.filter(
                customer_id__in=batch, purpose=FAIRNESS_AUDIT, data_category=AUDIT_ATTRIBUTES
            ).values_list("customer_id", "granted")
        )
    return answers


def _audit_consent_record(customer_ids: list[int], *, method: str) -> None:
    """Ledger events granting fairness_audit for customers who declared audit attributes."""
    if not customer_ids:
        return
    # Imported here: the consent services import the webhooks, which import models only.
    from personalization.consent.notices import notice_current
    from personalization.consent.services import ConsentChange, consent_set
    from personalization.registry import AUDIT_ATTRIBUTES, FAIRNESS_AUDIT

    notice = notice_current()
    change = ConsentChange(FAIRNESS_AUDIT, AUDIT_ATTRIBUTES, True)
    for batch in in_batches(customer_ids):
        for customer in CustomerProfile.objects.filter(pk__in=batch).order_by("pk"):
            consent_set(
                customer=customer,
                changes=[change],
                method=method,
                actor=f"system:{method}",
                notice_version=notice.version if notice else None,
            )


def stored_event_ids(event_ids: list[str]) -> set[str]:
    """Which of these event ids the database already holds."""
    if connection.vendor == "postgresql":
        # One array parameter instead of thousands of placeholders.
        table = connection.ops.quote_name(Interaction._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT event_id FROM {table} WHERE event_id = ANY(%s)",  # noqa: S608
                [event_ids],
            )
            return {event_id for (event_id,) in cursor.fetchall()}
    stored: set[str] = set()
    for batch in in_batches(event_ids):
        stored.update(
            Interaction.objects.filter(event_id__in=batch).values_list("event_id", flat=True)
        )
    return stored


_EVENT_FIELDS = (
    "event_id",
    "customer",
    "item",
    "kind",
    "data_category",
    "quantity",
    "value",
    "occurred_at",
    "imported_at",
)
# The session's own table that COPY fills and the INSERT below reads; emptied after use.
_INCOMING = "fairshare_incoming_events"
_INCOMING_SQL = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS {incoming} ON COMMIT DELETE ROWS AS "
    "SELECT {columns} FROM {table} WITH NO DATA"
)
_FROM_INCOMING_SQL = (
    "INSERT INTO {table} ({columns}) SELECT {columns} FROM {incoming} "
    "ORDER BY {event_id} ON CONFLICT ({event_id}) DO NOTHING"
)
_INSERT_EVENT_SQL = (
    "INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT ({event_id}) DO NOTHING"
)


def _event_column(name: str) -> str:
    """The column of one of Interaction's own fields (each is stored in one)."""
    field = Interaction._meta.get_field(name)
    if not isinstance(field, Field) or field.column is None:
        raise TypeError(f"Interaction.{name} is not stored in a column of its own")
    return field.column


def _event_names() -> dict[str, str]:
    """The quoted table, columns, key and staging table of the events' COPY."""
    quote = connection.ops.quote_name
    fields = [_event_column(name) for name in _EVENT_FIELDS]
    return {
        "table": quote(Interaction._meta.db_table),
        "columns": ", ".join(quote(column) for column in fields),
        "event_id": quote(fields[0]),
        "incoming": quote(_INCOMING),
    }


def _copy_direct(names: dict[str, str], rows: list[tuple[Any, ...]]) -> bool:
    """COPY rows not stored yet straight into the table, in a savepoint; False (nothing
    written) when one was stored meanwhile by another writer (a unique violation)."""
    copy_sql = f"COPY {names['table']} ({names['columns']}) FROM STDIN"
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            with connection.wrap_database_errors, cursor.cursor.copy(copy_sql) as copy:
                # In key order, as the INSERT below: overlapping writers never wait in a circle.
                # (Keys are unique: the tuples sort by their first value alone.)
                for values in sorted(rows):
                    copy.write_row(values)
    except IntegrityError:
        return False
    return True


def events_write(
    rows: list[R.EventRow],
    *,
    customer_ids: dict[str, Any],
    sku_ids: dict[str, Any],
    now: datetime,
    direct: bool = False,
) -> int:
    """Store the events not stored yet (idempotent on event_id); return how many were new.

    `direct` (the importer, which holds the import lock): on PostgreSQL the new rows are
    copied straight into the table, the fastest way in; should another writer (an API
    batch) have stored one of them meanwhile, that copy is rolled back to its savepoint
    and the rows go the way below instead.

    What is already stored is left out first (cheap, and a re-import sends nothing);
    the rest is inserted with `ON CONFLICT DO NOTHING`, so batches that overlap, written
    at the same moment, store each event once and count it once: a batch waits for an
    overlapping one to commit (or roll back) and counts only what it stored itself. In
    event_id order, so two such batches wait for each other's rows in the same order,
    never in a circle.
    """
    stored = stored_event_ids([row.event_id for row in rows])
    new = [
        (
            row.event_id,
            customer_ids[row.customer_external_id],
            sku_ids[row.sku],
            row.kind,
            INTERACTION_KIND_CATEGORY[row.kind],
            row.quantity,
            row.value,
            row.occurred_at,
            now,
        )
        for row in rows
        if row.event_id not in stored
    ]
    return event_values_write(new, direct=direct)


def event_values_write(new: list[tuple[Any, ...]], *, direct: bool = False) -> int:
    """`events_write` from the columns' values (in `_EVENT_FIELDS` order), of events not
    stored a moment ago; `ON CONFLICT DO NOTHING` still stores each once."""
    if not new:
        return 0
    names = _event_names()
    fields = [_event_column(name) for name in _EVENT_FIELDS]
    if connection.vendor == "postgresql":
        if direct and _copy_direct(names, new):
            return len(new)
        return _staged_copy(names, new)
    ops = connection.ops
    marks = ", ".join(["%s"] * len(fields))
    with connection.cursor() as cursor:
        # sqlite3 sums the rows each execution inserted.
        cursor.executemany(
            _INSERT_EVENT_SQL.format(marks=marks, **names),
            [
                (
                    *values[:6],
                    ops.adapt_decimalfield_value(values[6], 12, 2),
                    ops.adapt_datetimefield_value(values[7]),
                    ops.adapt_datetimefield_value(values[8]),
                )
                for values in sorted(new)
            ],
        )
        return cursor.rowcount


# Guest sales: the same COPY-then-INSERT as events, into the guest sales' own temp table.
_INCOMING_GUESTS = "fairshare_incoming_guest_sales"
_GUEST_FIELDS = ("line_id", "item", "kind", "quantity", "occurred_at", "imported_at")


def guest_sales_write(rows: list[tuple[str, int, str, int, datetime]], *, now: datetime) -> int:
    """Store the guest lines (line_id, item_id, kind, quantity, occurred_at) not stored yet
    (idempotent on line_id); return how many were new. As `events_write(direct=True)`:
    the stored ones are left out, the rest copied straight in, and `ON CONFLICT DO
    NOTHING` in line_id order should another writer have stored one meanwhile."""
    from personalization.models import GuestSale

    stored = _stored_keys(GuestSale._meta.db_table, "line_id", [row[0] for row in rows])
    rows = [row for row in rows if row[0] not in stored]
    if not rows:
        return 0
    names = _guest_names()
    columns = names["columns"].split(", ")
    if connection.vendor == "postgresql":
        full = [(*values, now) for values in rows]
        if _copy_direct(names, full):
            return len(rows)
        return _guest_values_write(full)
    ops = connection.ops
    marks = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(
            _INSERT_EVENT_SQL.format(marks=marks, **names),
            [
                (
                    *values[:4],
                    ops.adapt_datetimefield_value(values[4]),
                    ops.adapt_datetimefield_value(now),
                )
                for values in sorted(rows)
            ],
        )
        return cursor.rowcount


def _guest_values_write(rows: list[tuple[Any, ...]]) -> int:
    """Guest lines with every column's value (`_GUEST_FIELDS` order) through the staging
    table and `ON CONFLICT DO NOTHING` (PostgreSQL); how many were new."""
    return _staged_copy(_guest_names(), rows)


def _staged_copy(names: dict[str, str], rows: list[tuple[Any, ...]]) -> int:
    """PostgreSQL: COPY `rows` into the staging table `names` describes, then one
    `INSERT ... ON CONFLICT DO NOTHING` into the real table; how many were new."""
    with connection.cursor() as cursor:
        cursor.execute(_INCOMING_SQL.format(**names))
        # COPY: several times faster than INSERT for large batches. psycopg's own
        # cursor, so its errors are wrapped as Django's (DatabaseError) by hand.
        copy_sql = f"COPY {names['incoming']} ({names['columns']}) FROM STDIN"
        with connection.wrap_database_errors, cursor.cursor.copy(copy_sql) as copy:
            for values in rows:
                copy.write_row(values)
        cursor.execute(_FROM_INCOMING_SQL.format(**names))
        created = cursor.rowcount
        # The importer writes several chunks in one transaction.
        cursor.execute(f"TRUNCATE {names['incoming']}")
    return created


def _guest_names() -> dict[str, str]:
    """The quoted table, columns, key and staging table of the guest sales' COPY."""
    from personalization.models import GuestSale

    quote = connection.ops.quote_name
    meta = GuestSale._meta
    columns = []
    for name in _GUEST_FIELDS:
        field = meta.get_field(name)
        if not isinstance(field, Field) or field.column is None:
            raise TypeError(f"GuestSale.{name} is not stored in a column of its own")
        columns.append(quote(field.column))
    return {
        "table": quote(meta.db_table),
        "columns": ", ".join(columns),
        "event_id": columns[0],
        "incoming": quote(_INCOMING_GUESTS),
    }


def stored_guest_line_ids(line_ids: list[str]) -> set[str]:
    """Which of these guest line ids the database already holds."""
    from personalization.models import GuestSale

    return _stored_keys(GuestSale._meta.db_table, "line_id", line_ids)


class BackgroundCopy:
    """The importer's COPY of new events and guest lines, sent from a second thread on
    the import's own connection (so inside its transaction) while the caller reads and
    checks the next chunk of the file: the server stores one chunk while Python parses
    the next. PostgreSQL only, for the importer, which holds the import lock.

    One COPY runs at a time, in a savepoint. `settle()` waits for it and returns what was
    stored; should another writer (an API batch) have stored one of its rows meanwhile,
    the COPY is rolled back to its savepoint and the rows are written the careful way
    (`ON CONFLICT DO NOTHING`) instead, as `events_write(direct=True)` does. The caller
    must settle before any other statement (each chunk's own reads and writes, the end
    of the transaction): the connection is the caller's again only then.
    """

    _SAVEPOINT = "fairshare_background_copy"

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-copy")
        self._pending: list[tuple[str, list[tuple[Any, ...]], Future[bool]]] = []

    def start(self, what: str, rows: list[tuple[Any, ...]]) -> None:
        """COPY `rows` (events or guest lines: `what` is "events" or "guests", their
        columns in `_EVENT_FIELDS` / `_GUEST_FIELDS` order) once the COPY before is done."""
        names = _event_names() if what == "events" else _guest_names()
        copy_sql = f"COPY {names['table']} ({names['columns']}) FROM STDIN"
        connection.ensure_connection()
        raw = connection.connection
        # In key order, as every writer: overlapping writers never wait in a circle.
        rows = sorted(rows)
        if rows:
            future = self._pool.submit(self._copy, raw, copy_sql, rows)
        else:
            future = Future()
            future.set_result(True)
        self._pending.append((what, rows, future))

    def _copy(self, raw: Any, copy_sql: str, rows: list[tuple[Any, ...]]) -> bool:
        with raw.cursor() as cursor:
            cursor.execute(f"SAVEPOINT {self._SAVEPOINT}")
            try:
                with cursor.copy(copy_sql) as copy:
                    for values in rows:
                        copy.write_row(values)
            except psycopg.errors.UniqueViolation:
                cursor.execute(f"ROLLBACK TO SAVEPOINT {self._SAVEPOINT}")
                return False
            cursor.execute(f"RELEASE SAVEPOINT {self._SAVEPOINT}")
        return True

    def settle(self) -> list[tuple[str, int]]:
        """Wait for the COPYs started; (what, rows stored) of each, in order. A database
        error of the thread is raised here, as Django's (DatabaseError)."""
        done: list[tuple[str, int]] = []
        pending, self._pending = self._pending, []
        for what, rows, future in pending:
            with connection.wrap_database_errors:
                copied = future.result()
            if copied:
                done.append((what, len(rows)))
            elif what == "events":
                done.append((what, event_values_write(rows, direct=False)))
            else:
                done.append((what, _guest_values_write(rows)))
        return done

    def close(self) -> None:
        """Wait for the thread (whatever it met) and stop it."""
        for _what, _rows, future in self._pending:
            wait([future])
        self._pending = []
        self._pool.shutdown(wait=True)


def _stored_keys(table: str, column: str, keys: list[str]) -> set[str]:
    """Which of these keys the table's unique `column` holds already."""
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {quote(column)} FROM {quote(table)} WHERE {quote(column)} = ANY(%s)",  # noqa: S608
                [keys],
            )
            return {key for (key,) in cursor.fetchall()}
    stored: set[str] = set()
    for batch in in_batches(keys):
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {quote(column)} FROM {quote(table)} "  # noqa: S608
                f"WHERE {quote(column)} IN ({', '.join(['%s'] * len(batch))})",
                batch,
            )
            stored.update(key for (key,) in cursor.fetchall())
    return stored
