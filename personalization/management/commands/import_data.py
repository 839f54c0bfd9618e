import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from personalization.importing import (
    PROFILE_NAMES,
    FileReport,
    ImportReport,
    import_files,
    import_profile,
)


class Command(BaseCommand):
    help = _(
        "Import catalog, customers and events from CSV files (.csv or .csv.gz), all or "
        "nothing: the Fairshare files (--catalog/--customers/--events) or a shop's own "
        "exports (--profile NAME --file PATH ...). "
        "Errors are printed as FILE:LINE: message; the exit status is 1 on any error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--catalog", metavar="FILE", help=_("items: sku,name,category,price,attributes,active")
        )
        parser.add_argument(
            "--customers",
            metavar="FILE",
            help=_("customers: external_id,email,name[,audit:<attribute>...]"),
        )
        parser.add_argument(
            "--events",
            metavar="FILE",
            help=_("events: event_id,customer_external_id,sku,kind,occurred_at,quantity,value"),
        )
        parser.add_argument(
            "--profile",
            choices=PROFILE_NAMES,
            help=_("the kind of export the --file arguments are (see docs/data-formats.md)"),
        )
        parser.add_argument(
            "--file",
            action="append",
            default=[],
            metavar="PATH",
            help=_("an export file of the --profile; give --file once per file"),
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=_("check every row and report, but write nothing"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        contract = options["catalog"] or options["customers"] or options["events"]
        if options["profile"] and contract:
            self.stderr.write(
                _("Give either --profile with --file, or --catalog/--customers/--events.")
            )
            sys.exit(2)
        if options["profile"] and not options["file"]:
            self.stderr.write(_("Nothing to import: give --file PATH (once per file)."))
            sys.exit(2)
        if options["file"] and not options["profile"]:
            self.stderr.write(_("--file needs --profile: which kind of export is it?"))
            sys.exit(2)
        if not (options["profile"] or contract):
            self.stderr.write(
                _(
                    "Nothing to import: give --catalog, --customers and/or --events, "
                    "or --profile NAME --file PATH."
                )
            )
            sys.exit(2)
        self._started = time.monotonic()
        self._last_progress = 0.0
        self._interactive = self.stderr.isatty()
        if options["profile"]:
            report = import_profile(
                options["profile"],
                options["file"],
                dry_run=bool(options["dry_run"]),
                on_error=self._print_error,
                on_progress=self._print_progress,
            )
        else:
            report = import_files(
                catalog=options["catalog"],
                customers=options["customers"],
                events=options["events"],
                dry_run=bool(options["dry_run"]),
                on_error=self._print_error,
                on_progress=self._print_progress,
            )
        self._summary(report)

    def _summary(self, report: ImportReport) -> None:
        if self._interactive:
            self.stderr.write("")
        for file in report.files:
            self.stdout.write(
                _(
                    "%(path)s: %(rows)d rows, %(created)d new, %(updated)d updated, "
                    "%(already)d already imported, %(errors)d with errors"
                )
                % {
                    "path": file.path,
                    "rows": file.rows,
                    "created": file.created,
                    "updated": file.updated,
                    "already": file.already_imported,
                    "errors": file.errors,
                }
            )
        if report.profile != "fairshare" or report.counts:
            for _key, label, n in report.count_labels():
                self.stdout.write(f"  {n:>9,}  {label}")
        for code, n in report.non_product_codes.items():
            self.stdout.write(
                _("  non-product code %(code)s: %(n)s lines kept out")
                % {"code": code, "n": f"{n:,}"}
            )
        changed = {raw: code for raw, code in report.tag_mapping.items() if raw != code}
        if changed:
            self.stdout.write(_("Tags normalised to codes:"))
            for raw, code in changed.items():
                self.stdout.write(f"  {raw!r} -> {code!r}" if code else f"  {raw!r} -> (dropped)")
        if not report.ok:
            self.stderr.write(
                _("%(n)d error(s); nothing was imported.") % {"n": report.error_count}
            )
            sys.exit(1)
        if report.dry_run:
            self.stdout.write(_("Dry run: every row is valid; nothing was written."))
        else:
            self.stdout.write(self.style.SUCCESS(_("Import complete.")))

    def _print_error(self, message: str) -> None:
        if self._interactive:
            self.stderr.write("\r\033[K", ending="")
        self.stderr.write(message)

    def _print_progress(self, file: FileReport, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last_progress < 1.0:
            return
        self._last_progress = now
        elapsed = max(now - self._started, 1e-6)
        counts = _("%(rows)s rows · %(rate)s rows/s") % {
            "rows": f"{file.rows:,}",
            "rate": f"{file.rows / elapsed:,.0f}",
        }
        # A pipe has no size, so only a file's progress can be shown as a share.
        share = f"{100 * done / total:3.0f}% · " if total else ""
        line = f"{file.path}: {share}{counts}"
        if self._interactive:
            self.stderr.write("\r\033[K" + line, ending="")
        else:
            self.stderr.write(line)
        self.stderr.flush()
