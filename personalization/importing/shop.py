"""Import a shop's own export files through a profile, all or nothing.

    report = import_profile("online-retail", ["orders.csv.gz"], dry_run=False)

One transaction and one import at a time (the advisory lock of `loader`): an import
that overlaps another waits for it and then finds its lines stored, so each event is
stored once. Every row is read; a broken one is reported as FILE:LINE: message and
then nothing is written. A dry run writes inside the transaction and rolls it back, so
its counts are exactly what the import would add.

Order lines become `Interaction` rows (purchase or return) of customers created from the
export when they are new; guest lines become `GuestSale` rows (popularity only); items
an order names and the catalog lacks are added, and items already in the catalog are
never changed by an order export (only a product export updates them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models.functions import Lower

from accounts.models import CustomerProfile
from core.services import tables_analyze
from personalization.importing import rows as R
from personalization.importing import writers as W
from personalization.importing.csvstream import CsvStream, MalformedCsv
from personalization.importing.loader import (
    CHUNK,
    ErrorCallback,
    FileReport,
    ImportReport,
    ProgressCallback,
    _one_import_at_a_time,
    _Run,
    import_files,
    read_rows,
)
from personalization.importing.profiles import (
    FAIRSHARE,
    PROFILE_NAMES,
    PROFILES,
    UNCATEGORISED,
    Context,
    CustomerRecord,
    ItemRecord,
    Line,
    Profile,
    Record,
    RowError,
)
from personalization.models import Category, GuestSale, Interaction, Item, NonProductCode
from personalization.registry import INTERACTION_KIND_CATEGORY

# Records written at a time: larger than the contract's chunks, as most are small lines.
SHOP_CHUNK = 4 * CHUNK


def shop_time_zone() -> ZoneInfo:
    return ZoneInfo(getattr(settings, "SHOP_TIME_ZONE", "Europe/London"))


def import_profile(
    profile: str,
    paths: Sequence[str],
    *,
    dry_run: bool = False,
    on_progress: ProgressCallback | None = None,
    on_error: ErrorCallback | None = None,
) -> ImportReport:
    """Read `paths` (.csv or .csv.gz) as exports of `profile`; see the module docstring."""
    if profile not in PROFILE_NAMES:
        raise ValueError(f"unknown import profile {profile!r}; one of {', '.join(PROFILE_NAMES)}")
    if profile == FAIRSHARE:
        return _import_fairshare(list(paths), dry_run, on_progress, on_error)
    report = ImportReport(dry_run=dry_run, profile=profile)
    run = _Run(report, on_error, on_progress)
    shape = PROFILES[profile]
    try:
        with transaction.atomic():
            _one_import_at_a_time()
            ctx = Context(
                tz=shop_time_zone(),
                now=run.now,
                non_product=set(NonProductCode.objects.values_list("code", flat=True)),
            )
            writer = _Writer(run, ctx)
            try:
                for path in paths:
                    file = FileReport(profile, str(path))
                    for chunk in _chunks(_records(run, file, shape, ctx)):
                        if not run.failed:
                            writer.write(file, chunk)
                writer.settle()
            finally:
                # Before the transaction ends: the connection is this thread's alone again.
                writer.close()
            report.counts = {k: v for k, v in {**ctx.tally.counts, **writer.counts}.items() if v}
            report.tag_mapping = dict(sorted(ctx.tally.tag_mapping.items()))
            report.non_product_codes = dict(ctx.tally.non_product_codes.most_common())
            if run.failed or dry_run:
                transaction.set_rollback(True)
            elif writer.changed:
                transaction.on_commit(_analyze)
    except DatabaseError as exc:
        last = report.files[-1] if report.files else FileReport(profile, "import")
        run.error(
            last,
            None,
            f"the database refused the import ({type(exc).__name__}); nothing was written",
        )
    return report


def _analyze() -> None:
    tables_analyze(Item, Item.attributes.through, CustomerProfile, Interaction, GuestSale)


# --- reading ----------------------------------------------------------------------------


def _rows(run: _Run, file: FileReport, shape: Profile) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, {column: value}) of every well-formed row; other columns are ignored."""
    index: list[tuple[str, int]] = []

    def check(header: list[str], written: list[str]) -> list[str]:
        missing = [column for column in shape.required if column not in header]
        if missing:
            found = ", ".join(column.strip() for column in written[:8])
            return [
                f"not a {shape.label} file: missing column(s) {', '.join(missing)} "
                f"(its columns: {found}{', ...' if len(written) > 8 else ''})"
            ]
        wanted = [*shape.required, *(c for c in shape.optional if c in header)]
        repeated = [c for c in wanted if header.count(c) > 1]
        if repeated:
            return [f"column '{repeated[0]}' appears twice"]
        index[:] = [(column, header.index(column)) for column in wanted]
        return []

    names: list[str] = []
    pick = None
    for line, values in read_rows(run, file, check):
        if pick is None:
            # Built once the header is read: a C-level pick of the wanted fields per row.
            names = [column for column, _ in index]
            pick = itemgetter(*(i for _, i in index), 0)  # at least two: always a tuple
        if "\x00" in "\x1f".join(values):
            run.error(file, line, "contains a NUL character")
        else:
            yield line, dict(zip(names, pick(values), strict=False))


def _records(run: _Run, file: FileReport, shape: Profile, ctx: Context) -> Iterator[Record]:
    first_line: dict[str, int] = ctx.state.setdefault("item_lines", {})
    for line, raw in _rows(run, file, shape):
        try:
            records = shape.parse(raw, ctx)
        except RowError as exc:
            run.error(file, line, str(exc))
            continue
        for record in records:
            if isinstance(record, ItemRecord):
                if record.sku in first_line:
                    run.error(
                        file,
                        line,
                        f"duplicate SKU '{record.sku}' (first on line {first_line[record.sku]})",
                    )
                    continue
                first_line[record.sku] = line
            yield record


def _chunks(records: Iterator[Record], size: int = SHOP_CHUNK) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- writing ----------------------------------------------------------------------------


class _Writer:
    """Writes chunks of records; holds the sku/customer ids of this import."""

    def __init__(self, run: _Run, ctx: Context) -> None:
        self.run = run
        self.ctx = ctx
        self.counts: dict[str, int] = {}
        self.changed = False
        self.sku_ids: dict[str, int] = dict(Item.objects.values_list("sku", "id"))
        self.customer_ids: dict[str, int] = {
            external_id: pk
            for external_id, pk in CustomerProfile.objects.exclude(external_id=None)
            .values_list("external_id", "id")
            .iterator(chunk_size=10_000)
            if external_id is not None
        }
        self._category: int | None = None
        self._catalog = W.CatalogCache()
        # PostgreSQL: each chunk's new sales are stored while the next chunk is read.
        self._background = W.BackgroundCopy() if connection.vendor == "postgresql" else None
        self._waiting: list[tuple[FileReport, int]] = []  # per COPY started: file, lines

    def settle(self) -> None:
        """Wait for the sales being stored in the background, and count them."""
        if self._background is None:
            return
        done = self._background.settle()
        for (file, lines), (what, created) in zip(self._waiting, done, strict=True):
            key = "events" if what == "events" else "guest_lines"
            file.created += created
            file.already_imported += lines - created
            self._add(f"{key}_created", created)
            self._add(f"{key}_already_imported", lines - created)
        self._waiting = []

    def close(self) -> None:
        if self._background is not None:
            self._background.close()

    def _add(self, key: str, n: int) -> None:
        if n:
            self.counts[key] = self.counts.get(key, 0) + n
            if not key.endswith("already_imported"):
                self.changed = True

    def write(self, file: FileReport, chunk: list[Record]) -> None:
        self.settle()
        items = [r for r in chunk if isinstance(r, ItemRecord)]
        lines = [r for r in chunk if isinstance(r, Line)]
        if items:
            self._write_items(file, items)
        named = [r for r in chunk if isinstance(r, CustomerRecord)] + [
            CustomerRecord(line.customer, line.email, line.customer_name)
            for line in lines
            if line.customer is not None and line.customer not in self.customer_ids
        ]
        if named:
            self._create_missing_customers(named)
        if lines:
            self._create_missing_items(lines)
            self._write_events(file, [line for line in lines if line.customer])
            self._write_guest_sales(file, [line for line in lines if not line.customer])

    def _write_items(self, file: FileReport, items: list[ItemRecord]) -> None:
        rows = [
            R.CatalogRow(
                sku=item.sku,
                name=item.name,
                category_slug=(R.slugify_category(item.category) or UNCATEGORISED)[:50],
                category_name=item.category[:100],
                price=item.price,
                attributes=item.attributes,
                active=item.active,
                consumable=True,
            )
            for item in items
        ]
        written = W.catalog_write(rows, cache=self._catalog)
        self.sku_ids.update(written.ids)
        file.created += written.created
        file.updated += written.updated
        self._add("items_created", written.created)
        self._add("items_updated", written.updated)

    def _uncategorised(self) -> int:
        if self._category is None:
            category, _ = Category.objects.get_or_create(
                slug=UNCATEGORISED, defaults={"name": "Uncategorised"}
            )
            self._category = category.pk
        return self._category

    def _create_missing_items(self, lines: list[Line]) -> None:
        wanted: dict[str, Line] = {}
        for line in lines:
            if line.sku not in self.sku_ids and line.sku not in wanted:
                wanted[line.sku] = line
        if not wanted:
            return
        category = self._uncategorised()
        existing = set(Item.objects.filter(sku__in=list(wanted)).values_list("sku", flat=True))
        # Never updates an item the catalog has: an order line knows less than the catalog.
        Item.objects.bulk_create(
            [
                Item(
                    sku=sku,
                    name=line.item_name,
                    category_id=category,
                    price=line.unit_price.quantize(Decimal("0.01")),
                )
                for sku, line in sorted(wanted.items())
                if sku not in existing
            ],
            ignore_conflicts=True,
        )
        self._add("items_created", len(wanted) - len(existing))
        self.sku_ids.update(Item.objects.filter(sku__in=list(wanted)).values_list("sku", "id"))

    def _create_missing_customers(self, named: list[CustomerRecord]) -> None:
        wanted: dict[str, CustomerRecord] = {}
        for record in named:
            key = record.external_id
            if key not in self.customer_ids and key not in wanted:
                wanted[key] = record
        if not wanted:
            return
        found = dict(
            CustomerProfile.objects.filter(external_id__in=list(wanted)).values_list(
                "external_id", "id"
            )
        )
        self.customer_ids.update({k: v for k, v in found.items() if k is not None})
        fresh = {k: line for k, line in wanted.items() if k not in found}
        # An order's email that belongs to a customer already: that customer's order.
        emails = {line.email: k for k, line in fresh.items() if line.email}
        taken = dict(
            CustomerProfile.objects.annotate(email_lower=Lower("email"))
            .filter(email_lower__in=list(emails))
            .values_list("email_lower", "id")
        )
        for email, pk in taken.items():
            self.customer_ids[emails[email]] = pk
            del fresh[emails[email]]
        self._add("customers_matched_by_email", len(taken))
        used: set[str] = set()
        new = []
        for key, line in sorted(fresh.items()):
            email = line.email if line.email and line.email not in used else ""
            used.add(email)
            new.append(CustomerProfile(external_id=key, email=email, name=line.name))
        CustomerProfile.objects.bulk_create(new, ignore_conflicts=True)
        created = dict(
            CustomerProfile.objects.filter(external_id__in=list(fresh)).values_list(
                "external_id", "id"
            )
        )
        self.customer_ids.update({k: v for k, v in created.items() if k is not None})
        self._add("customers_created", len(created))

    def _stored(self, lookup: Callable[[list[str]], set[str]], keys: list[str]) -> set[str]:
        """The keys stored already, or (in the background COPY's path) none when neither the
        chunk's first nor its last is: a fresh chunk then goes without the look-up, and
        should one of its lines be stored after all, the COPY meets the unique key and
        the chunk is written the careful way (`BackgroundCopy`)."""
        if self._background is not None and not lookup([keys[0], keys[-1]]):
            return set()
        return lookup(keys)

    def _write_events(self, file: FileReport, lines: list[Line]) -> None:
        if not lines:
            return
        stored = self._stored(W.stored_event_ids, [line.event_id for line in lines])
        customers, skus, now = self.customer_ids, self.sku_ids, self.run.now
        category = INTERACTION_KIND_CATEGORY
        new = [
            (
                line.event_id,
                customers[line.customer],
                skus[line.sku],
                line.kind,
                category[line.kind],
                line.quantity,
                line.value,
                line.occurred_at,
                now,
            )
            for line in lines
            if line.event_id not in stored and line.customer is not None
        ]
        if self._background is not None:
            self._background.start("events", new)
            self._waiting.append((file, len(lines)))
            return
        created = W.event_values_write(new, direct=True)
        file.created += created
        file.already_imported += len(lines) - created
        self._add("events_created", created)
        self._add("events_already_imported", len(lines) - created)

    def _write_guest_sales(self, file: FileReport, lines: list[Line]) -> None:
        if not lines:
            return
        if self._background is not None:
            stored = self._stored(W.stored_guest_line_ids, [line.event_id for line in lines])
            now = self.run.now
            self._background.start(
                "guests",
                [
                    (
                        line.event_id,
                        self.sku_ids[line.sku],
                        line.kind,
                        line.quantity,
                        line.occurred_at,
                        now,
                    )
                    for line in lines
                    if line.event_id not in stored
                ],
            )
            self._waiting.append((file, len(lines)))
            return
        created = W.guest_sales_write(
            [
                (line.event_id, self.sku_ids[line.sku], line.kind, line.quantity, line.occurred_at)
                for line in lines
            ],
            now=self.run.now,
        )
        file.created += created
        file.already_imported += len(lines) - created
        self._add("guest_lines_created", created)
        self._add("guest_lines_already_imported", len(lines) - created)


# --- the Fairshare contract -------------------------------------------------------------

_KINDS_BY_COLUMNS = (
    ("events", set(R.EVENT_COLUMNS)),
    ("catalog", set(R.CATALOG_COLUMNS)),
    ("customers", set(R.CUSTOMER_COLUMNS)),
)


def _fairshare_kind(path: str) -> str | None:
    """Which file of the contract this is, by its header (None: none of them)."""
    try:
        with CsvStream(path) as stream:
            first = next(stream.rows(), None)
    except (OSError, MalformedCsv):
        return None
    if first is None:
        return None
    header = {column.strip().lower() for column in first.values}
    for kind, columns in _KINDS_BY_COLUMNS:
        if columns <= header:
            return kind
    return None


def _import_fairshare(
    paths: list[str],
    dry_run: bool,
    on_progress: ProgressCallback | None,
    on_error: ErrorCallback | None,
) -> ImportReport:
    by_kind: dict[str, str] = {}
    problems: list[str] = []
    for path in paths:
        kind = _fairshare_kind(path)
        if kind is None:
            problems.append(
                f"{path}:1: not a Fairshare catalog, customers or events file "
                "(see docs/data-formats.md for their columns)"
            )
        elif kind in by_kind:
            problems.append(f"{path}: a second {kind} file ({by_kind[kind]} is one); give one")
        else:
            by_kind[kind] = path
    if problems:
        report = ImportReport(dry_run=dry_run, profile=FAIRSHARE)
        for text in problems:
            report.errors.append(text)
            report.error_count += 1
            if on_error:
                on_error(text)
        return report
    report = import_files(
        catalog=by_kind.get("catalog"),
        customers=by_kind.get("customers"),
        events=by_kind.get("events"),
        dry_run=dry_run,
        on_error=on_error,
        on_progress=on_progress,
    )
    report.profile = FAIRSHARE
    counts: dict[str, Any] = {}
    for file in report.files:
        if file.kind == "catalog":
            counts["items_created"], counts["items_updated"] = file.created, file.updated
        elif file.kind == "customers":
            counts["customers_created"] = file.created
        elif file.kind == "events":
            counts["events_created"] = file.created
            counts["events_already_imported"] = file.already_imported
    report.counts = {k: v for k, v in counts.items() if v}
    return report
