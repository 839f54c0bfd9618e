"""Load validated CSV rows into the database in one transaction (all or nothing)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import AuditAttribute, CustomerProfile
from personalization.importing import rows as R
from personalization.importing.csvstream import CsvStream, MalformedCsv
from personalization.models import Attribute, Category, Interaction, Item
from personalization.registry import INTERACTION_KIND_CATEGORY

CHUNK = 5000
# Most errors a report keeps in memory; every error is still passed to `on_error`.
KEPT_ERRORS = 1000
PROGRESS_EVERY = 20_000

ErrorCallback = Callable[[str], None]
ProgressCallback = Callable[["FileReport", int, int], None]


@dataclass
class FileReport:
    kind: str  # catalog | customers | events
    path: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    already_imported: int = 0
    errors: int = 0


@dataclass
class ImportReport:
    dry_run: bool
    files: list[FileReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    error_count: int = 0

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run


class _Run:
    """State of one import: error sink, lookups shared between the files."""

    def __init__(
        self,
        report: ImportReport,
        on_error: ErrorCallback | None,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.report = report
        self.on_error = on_error
        self.on_progress = on_progress
        self.now = timezone.now()
        self.sku_ids: dict[str, int | None] = {}
        self.customer_ids: dict[str, int | None] = {}

    @property
    def failed(self) -> bool:
        return self.report.error_count > 0

    def error(self, file: FileReport, line: int | None, message: str) -> None:
        text = f"{file.path}:{line}: {message}" if line else f"{file.path}: {message}"
        file.errors += 1
        self.report.error_count += 1
        if len(self.report.errors) < KEPT_ERRORS:
            self.report.errors.append(text)
        if self.on_error:
            self.on_error(text)


def import_files(
    *,
    catalog: str | None = None,
    customers: str | None = None,
    events: str | None = None,
    dry_run: bool = False,
    on_error: ErrorCallback | None = None,
    on_progress: ProgressCallback | None = None,
) -> ImportReport:
    """Validate and import the given CSV files; write nothing unless every row is valid.

    Catalog and customers are upserted by sku / external_id; events whose event_id is
    already stored are skipped, so importing the same files again adds nothing.
    """
    report = ImportReport(dry_run=dry_run)
    run = _Run(report, on_error, on_progress)
    try:
        with transaction.atomic():
            if catalog:
                _import_catalog(run, FileReport("catalog", catalog))
            if customers:
                _import_customers(run, FileReport("customers", customers))
            if events:
                _import_events(run, FileReport("events", events))
            if run.failed or dry_run:
                transaction.set_rollback(True)
    except DatabaseError as exc:
        # Rows are validated first, so this is a race with another writer or an outage.
        last = report.files[-1] if report.files else FileReport("import", "import")
        run.error(
            last,
            None,
            f"the database refused the import ({type(exc).__name__}); nothing was written",
        )
    return report


# --- reading ----------------------------------------------------------------------------


def _data_rows(
    run: _Run,
    file: FileReport,
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    prefix: str | None = None,
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line, row dict) for every well-formed row; report the malformed ones."""
    run.report.files.append(file)
    try:
        stream = CsvStream(file.path)
        stream.__enter__()
    except OSError as exc:
        run.error(file, None, f"cannot open the file: {exc.strerror}")
        return
    try:
        rows = stream.rows()
        first = next(rows, None)
        if first is None:
            run.error(file, None, "the file is empty (expected a header line)")
            return
        header = [column.strip().lower() for column in first.values]
        if first.bad_encoding:
            run.error(file, 1, "the header is not valid UTF-8 text")
            return
        problems = R.header_problems(header, required, optional, prefix)
        for problem in problems:
            run.error(file, 1, problem)
        if problems:
            return
        width = len(header)
        for row in rows:
            file.rows += 1
            if row.bad_encoding:
                run.error(file, row.line, "not valid UTF-8 text (save the file as UTF-8)")
            elif len(row.values) != width:
                run.error(file, row.line, f"expected {width} fields, found {len(row.values)}")
            else:
                yield row.line, dict(zip(header, row.values, strict=True))
            if run.on_progress and file.rows % PROGRESS_EVERY == 0:
                run.on_progress(file, stream.bytes_read, stream.size)
        if run.on_progress:
            run.on_progress(file, stream.size, stream.size)
    except MalformedCsv as exc:
        run.error(
            file, exc.line, f"malformed CSV ({exc.detail}); the rest of the file was not read"
        )
    finally:
        stream.__exit__(None, None, None)


def _chunks(items: Iterator[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _in_batches(values: list[Any]) -> Iterator[list[Any]]:
    """Split a list for `__in` lookups under the backend's parameter limit."""
    size = min(connection.features.max_query_params or 10_000, 10_000) - 10
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- catalog ----------------------------------------------------------------------------


def _valid_catalog_rows(run: _Run, file: FileReport) -> Iterator[tuple[int, R.CatalogRow]]:
    first_line: dict[str, int] = {}
    for line, raw in _data_rows(run, file, R.CATALOG_COLUMNS, R.CATALOG_OPTIONAL):
        try:
            row = R.parse_catalog(raw)
        except R.RowError as exc:
            run.error(file, line, str(exc))
            continue
        if row.sku in first_line:
            run.error(
                file, line, f"duplicate sku '{row.sku}' (first on line {first_line[row.sku]})"
            )
            continue
        first_line[row.sku] = line
        run.sku_ids[row.sku] = None
        yield line, row


def _import_catalog(run: _Run, file: FileReport) -> None:
    categories = dict(Category.objects.values_list("slug", "id"))
    attributes = dict(Attribute.objects.values_list("code", "id"))
    for chunk in _chunks(_valid_catalog_rows(run, file)):
        if run.failed:
            continue
        rows = [row for _, row in chunk]
        for row in rows:
            if row.category_slug not in categories:
                category, _ = Category.objects.get_or_create(
                    slug=row.category_slug, defaults={"name": row.category_name}
                )
                categories[row.category_slug] = category.pk
        missing = {code for row in rows for code in row.attributes} - attributes.keys()
        if missing:
            Attribute.objects.bulk_create(
                [Attribute(code=c) for c in missing], ignore_conflicts=True
            )
            attributes.update(Attribute.objects.filter(code__in=missing).values_list("code", "id"))
        skus = [row.sku for row in rows]
        existing = set(Item.objects.filter(sku__in=skus).values_list("sku", flat=True))
        Item.objects.bulk_create(
            [
                Item(
                    sku=row.sku,
                    name=row.name,
                    category_id=categories[row.category_slug],
                    price=row.price,
                    active=row.active,
                    consumable=row.consumable,
                    allergens_declared=row.allergens_declared,
                )
                for row in rows
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
        run.sku_ids.update(ids)
        through = Item.attributes.through
        through.objects.filter(item_id__in=ids.values()).delete()
        through.objects.bulk_create(
            [
                through(item_id=ids[row.sku], attribute_id=attributes[code])
                for row in rows
                for code in row.attributes
            ]
        )
        file.updated += len(existing)
        file.created += len(rows) - len(existing)


# --- customers --------------------------------------------------------------------------


def _valid_customer_rows(run: _Run, file: FileReport) -> Iterator[tuple[int, R.CustomerRow]]:
    first_line: dict[str, int] = {}
    email_line: dict[str, int] = {}
    for line, raw in _data_rows(run, file, R.CUSTOMER_COLUMNS, prefix=R.AUDIT_PREFIX):
        try:
            row = R.parse_customer(raw)
        except R.RowError as exc:
            run.error(file, line, str(exc))
            continue
        if row.external_id in first_line:
            run.error(
                file,
                line,
                f"duplicate external_id '{row.external_id}' "
                f"(first on line {first_line[row.external_id]})",
            )
            continue
        if row.email and row.email in email_line:
            run.error(file, line, f"email '{row.email}' is also on line {email_line[row.email]}")
            continue
        first_line[row.external_id] = line
        if row.email:
            email_line[row.email] = line
        run.customer_ids[row.external_id] = None
        yield line, row


def _import_customers(run: _Run, file: FileReport) -> None:
    for chunk in _chunks(_valid_customer_rows(run, file)):
        by_email = {row.email: (line, row) for line, row in chunk if row.email}
        taken = (
            CustomerProfile.objects.annotate(email_lower=Lower("email"))
            .filter(email_lower__in=list(by_email))
            .values_list("email_lower", "external_id")
        )
        for email, owner in taken:
            line, row = by_email[email]
            if owner != row.external_id:
                run.error(file, line, f"email '{email}' already belongs to customer '{owner}'")
        if run.failed:
            continue
        rows = [row for _, row in chunk]
        ids_in_chunk = [row.external_id for row in rows]
        existing = set(
            CustomerProfile.objects.filter(external_id__in=ids_in_chunk).values_list(
                "external_id", flat=True
            )
        )
        CustomerProfile.objects.bulk_create(
            [CustomerProfile(external_id=r.external_id, email=r.email, name=r.name) for r in rows],
            update_conflicts=True,
            unique_fields=["external_id"],
            update_fields=["email", "name", "updated_at"],
        )
        ids = dict(
            CustomerProfile.objects.filter(external_id__in=ids_in_chunk).values_list(
                "external_id", "id"
            )
        )
        run.customer_ids.update(ids)
        declared = [
            AuditAttribute(
                customer_id=ids[row.external_id],
                name=name,
                value=value,
                source=AuditAttribute.Source.IMPORT,
                declared_at=run.now,
            )
            for row in rows
            for name, value in row.audit
        ]
        AuditAttribute.objects.bulk_create(
            declared,
            update_conflicts=True,
            unique_fields=["customer", "name"],
            update_fields=["value", "source"],
        )
        file.updated += len(existing)
        file.created += len(rows) - len(existing)


# --- events -----------------------------------------------------------------------------


def _valid_event_rows(run: _Run, file: FileReport) -> Iterator[R.EventRow]:
    first_line: dict[str, int] = {}
    for line, raw in _data_rows(run, file, R.EVENT_COLUMNS):
        try:
            row = R.parse_event(raw, now=run.now)
        except R.RowError as exc:
            run.error(file, line, str(exc))
            continue
        problems = []
        if row.event_id in first_line:
            problems.append(
                f"duplicate event_id '{row.event_id}' (first on line {first_line[row.event_id]})"
            )
        else:
            first_line[row.event_id] = line
        if row.customer_external_id not in run.customer_ids:
            problems.append(f"unknown customer_external_id '{row.customer_external_id}'")
        if row.sku not in run.sku_ids:
            problems.append(f"unknown sku '{row.sku}'")
        for problem in problems:
            run.error(file, line, problem)
        if not problems:
            yield row


def _import_events(run: _Run, file: FileReport) -> None:
    # Everything already stored is a valid reference; rows from the other files were
    # added to these maps while they were read.
    for external_id, pk in (
        CustomerProfile.objects.exclude(external_id=None)
        .values_list("external_id", "id")
        .iterator(chunk_size=10_000)
    ):
        run.customer_ids[external_id] = pk
    for sku, pk in Item.objects.values_list("sku", "id").iterator(chunk_size=10_000):
        run.sku_ids[sku] = pk
    write = _copy_events if connection.vendor == "postgresql" else _insert_events
    for chunk in _chunks(_valid_event_rows(run, file)):
        if run.failed:
            continue
        stored = _stored_event_ids([row.event_id for row in chunk])
        new = [row for row in chunk if row.event_id not in stored]
        if new:
            write(run, new)
        file.already_imported += len(chunk) - len(new)
        file.created += len(new)


def _stored_event_ids(event_ids: list[str]) -> set[str]:
    """Which of these event ids the database already holds."""
    if connection.vendor == "postgresql":
        # One array parameter instead of thousands of placeholders.
        table = Interaction._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT event_id FROM {table} WHERE event_id = ANY(%s)",  # noqa: S608
                [event_ids],
            )
            return {event_id for (event_id,) in cursor.fetchall()}
    stored: set[str] = set()
    for batch in _in_batches(event_ids):
        stored.update(
            Interaction.objects.filter(event_id__in=batch).values_list("event_id", flat=True)
        )
    return stored


def _event_values(run: _Run, row: R.EventRow) -> tuple[Any, ...]:
    customer_id = run.customer_ids[row.customer_external_id]
    item_id = run.sku_ids[row.sku]
    return (
        row.event_id,
        customer_id,
        item_id,
        row.kind,
        INTERACTION_KIND_CATEGORY[row.kind],
        row.quantity,
        row.value,
        row.occurred_at,
    )


def _insert_events(run: _Run, new: list[R.EventRow]) -> None:
    """One parameterized INSERT executed for many rows: the fastest path without COPY."""
    ops = connection.ops
    table = Interaction._meta.db_table
    now = ops.adapt_datetimefield_value(run.now)
    sql = (
        f"INSERT INTO {table} (event_id, customer_id, item_id, kind, data_category, "  # noqa: S608
        "quantity, value, occurred_at, imported_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
    )
    rows = []
    for row in new:
        event_id, customer_id, item_id, kind, category, quantity, value, occurred_at = (
            _event_values(run, row)
        )
        rows.append(
            (
                event_id,
                customer_id,
                item_id,
                kind,
                category,
                quantity,
                ops.adapt_decimalfield_value(value, 12, 2),
                ops.adapt_datetimefield_value(occurred_at),
                now,
            )
        )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _copy_events(run: _Run, new: list[R.EventRow]) -> None:
    """PostgreSQL's COPY: several times faster than INSERT for large event files."""
    table = Interaction._meta.db_table
    columns = (
        "event_id",
        "customer_id",
        "item_id",
        "kind",
        "data_category",
        "quantity",
        "value",
        "occurred_at",
        "imported_at",
    )
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"  # noqa: S608 - fixed names
    with connection.cursor() as cursor:
        with cursor.cursor.copy(sql) as copy:
            for row in new:
                copy.write_row((*_event_values(run, row), run.now))
