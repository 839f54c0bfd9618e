from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.catalogues import CatalogueError, mo_bytes, parse_po


class Command(BaseCommand):
    # Output stays English: it is for whoever runs the set-up scripts, not for shoppers.
    help = (
        "Compile the project's .po catalogues (LOCALE_PATHS) into the .mo files Django "
        "loads, in plain Python: no GNU gettext needed. Only stale files are rewritten."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Rewrite every .mo file, stale or not."
        )

    def handle(self, *args, force: bool = False, **options):
        compiled = 0
        for root in settings.LOCALE_PATHS:
            for po in sorted(Path(root).glob("*/LC_MESSAGES/*.po")):
                mo = po.with_suffix(".mo")
                if not force and mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
                    continue
                try:
                    entries = parse_po(po.read_text(encoding="utf-8"))
                except (CatalogueError, UnicodeDecodeError) as error:
                    raise CommandError(f"{po}: {error}") from error
                partial = mo.with_suffix(".mo.partial")
                partial.write_bytes(mo_bytes(entries))
                partial.replace(mo)  # never a half-written .mo for a running server
                compiled += 1
                if options["verbosity"] >= 2:
                    self.stdout.write(f"compiled {po}")
        if options["verbosity"] >= 1:
            self.stdout.write(f"{compiled} catalogue(s) compiled.")
