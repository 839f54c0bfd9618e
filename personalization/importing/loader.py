"""Load validated CSV rows into the database in one transaction (all or nothing)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts.models import CustomerProfile
from core.services import tables_analyze
from personalization.importing import rows as R
from personalization.importing import writers as W
from personalization.importing.csvstream import CsvStream, MalformedCsv
from personalization.models import Consent, Interaction, Item

CHUNK = 5000
# Any constant: the PostgreSQL advisory lock that lets one import run at a time.
_IMPORT_LOCK = 727_201
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
    # The export profile read (`import_profile`); "fairshare" for the CSV contract.
    profile: str = "fairshare"
    # Rows of each kind and what was done with them (keys: profiles.COUNT_LABELS).
    counts: dict[str, int] = field(default_factory=dict)
    # A shop's tag as written -> the attribute code stored ("" when dropped).
    tag_mapping: dict[str, str] = field(default_factory=dict)
    # Non-product stock code -> lines kept out of the catalog and the event log.
    non_product_codes: dict[str, int] = field(default_factory=dict)

    def count_labels(self) -> list[tuple[str, str, int]]:
        """(key, translated label, count) of every count above zero, in a fixed order."""
        from django.utils.translation import gettext

        from personalization.importing.profiles import COUNT_LABELS

        return [
            (key, gettext(label), self.counts[key])
            for key, label in COUNT_LABELS.items()
            if self.counts.get(key)
        ]

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
            _one_import_at_a_time()
            if catalog:
                _import_catalog(run, FileReport("catalog", catalog))
            if customers:
                _import_customers(run, FileReport("customers", customers))
            if events:
                _import_events(run, FileReport("events", events))
            if run.failed or dry_run:
                transaction.set_rollback(True)
            elif any(f.created or f.updated for f in report.files):
                # Fresh statistics for the planner once the rows are visible.
                transaction.on_commit(_analyze)
    except DatabaseError as exc:
        # Rows are validated first, so this is a race with another writer or an outage.
        last = report.files[-1] if report.files else FileReport("import", "import")
        run.error(
            last,
            None,
            f"the database refused the import ({type(exc).__name__}); nothing was written",
        )
    return report


def _one_import_at_a_time() -> None:
    """Within the import's transaction: wait for any other import to finish (PostgreSQL;
    SQLite runs one writing transaction at a time anyway). Each chunk is written in key
    order, but two imports of files in different orders would write their chunks across
    each other's and wait for each other's rows in a circle."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_IMPORT_LOCK])


def _analyze() -> None:
    tables_analyze(Item, Item.attributes.through, CustomerProfile, Interaction, Consent)


# --- reading ----------------------------------------------------------------------------


# Checks a file's header (lower-cased, trimmed; then as written): the problems, or none.
HeaderCheck = Callable[[list[str], list[str]], list[str]]


def read_rows(
    run: _Run, file: FileReport, check_header: HeaderCheck
) -> Iterator[tuple[int, list[str]]]:
    """Yield (line, values) of every row as wide as the header, once `check_header` found
    nothing wrong with it; every other problem is reported with its line. Every reader of
    an import file (the contract's files and the shops' own exports) goes through here."""
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
        if first.bad_encoding:
            run.error(file, 1, "the header is not valid UTF-8 text (save the file as UTF-8)")
            return
        header = [column.strip().lower() for column in first.values]
        problems = check_header(header, first.values)
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
                yield row.line, row.values
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


def _data_rows(
    run: _Run,
    file: FileReport,
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    prefix: str | None = None,
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line, row dict) for every well-formed row of a contract file."""
    columns: list[str] = []

    def check(header: list[str], _written: list[str]) -> list[str]:
        columns[:] = header
        return R.header_problems(header, required, optional, prefix)

    for line, values in read_rows(run, file, check):
        yield line, dict(zip(columns, values, strict=True))


def _chunks(items: Iterator[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


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
    cache = W.CatalogCache()
    for chunk in _chunks(_valid_catalog_rows(run, file)):
        if run.failed:
            continue
        written = W.catalog_write([row for _, row in chunk], cache=cache)
        run.sku_ids.update(written.ids)
        file.created += written.created
        file.updated += written.updated


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
        line_of = {row.external_id: line for line, row in chunk}
        for row, owner in W.customer_email_conflicts([row for _, row in chunk]):
            run.error(
                file,
                line_of[row.external_id],
                f"email '{row.email}' already belongs to customer '{owner}'",
            )
        if run.failed:
            continue
        written = W.customers_write([row for _, row in chunk], now=run.now)
        run.customer_ids.update(written.ids)
        file.created += written.created
        file.updated += written.updated


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
        if external_id is not None:  # excluded above; the column itself is nullable
            run.customer_ids[external_id] = pk
    for sku, pk in Item.objects.values_list("sku", "id").iterator(chunk_size=10_000):
        run.sku_ids[sku] = pk
    for chunk in _chunks(_valid_event_rows(run, file)):
        if run.failed:
            continue
        created = W.events_write(
            chunk, customer_ids=run.customer_ids, sku_ids=run.sku_ids, now=run.now
        )
        file.already_imported += len(chunk) - created
        file.created += created
