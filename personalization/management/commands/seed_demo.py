"""`seed_demo`: load the demo bakery Crumb & Co. through the CSV importer (idempotent)."""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import CustomerProfile, PersonalizationMode
from accounts.roles import Role
from accounts.services import (
    customer_profile_set_mode,
    customer_profile_set_preferences,
    user_upsert_verified,
)
from core.services import tables_analyze
from governance.demo import governance_seed_demo
from governance.selectors import mode_counts
from governance.services import mode_snapshots_backfill
from personalization import demo
from personalization.consent.notices import notice_ensure_initial
from personalization.models import Consent, Interaction


def _as_of(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("'%(value)s' is not a date like 2026-11-20") % {"value": value}
        ) from None


class Command(BaseCommand):
    help = _(
        "Load the demo bakery Crumb & Co.: about 60 items, 300 customers with a year of "
        "history, and the demo logins. Running it again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--as-of",
            type=_as_of,
            default=demo.DEFAULT_AS_OF,
            metavar="YYYY-MM-DD",
            help=_("the day the history ends (default %(default)s); not in the future"),
        )

    def handle(self, *args: object, as_of: date, **options: object) -> None:
        if as_of > timezone.localdate():
            raise CommandError(
                _("--as-of %(date)s is in the future; the importer refuses future events.")
                % {"date": as_of.isoformat()}
            )
        started = time.monotonic()
        self.stdout.write(
            _("Generating %(shop)s as of %(date)s...")
            % {"shop": demo.SHOP_NAME, "date": as_of.isoformat()}
        )
        shop = demo.build_demo(as_of=as_of)
        self._warn_if_seeded_with_other_dates(shop)
        self.stdout.write(
            _("Importing %(items)d items, %(customers)d customers and %(events)s events...")
            % {
                "items": len(shop.items),
                "customers": len(shop.customers),
                "events": f"{len(shop.events):,}",
            }
        )
        with TemporaryDirectory(prefix="seed_demo-") as folder:
            paths = _write_csv_files(Path(folder), shop)
            # One transaction: a failure in the logins leaves no half-seeded shop.
            with transaction.atomic():
                self._import(paths)
                self.stdout.write(_("Setting up the demo logins..."))
                _seed_logins(shop)
        notice = notice_ensure_initial()
        granted = _seed_consents(
            notice_version=notice.version, switched_off=set(demo.switched_off(shop.customers))
        )
        if granted:
            # Hundreds of new consent rows: the planner needs to know before generation.
            tables_analyze(Consent)
            self.stdout.write(
                _("Recorded the demo customers' consent choices (%(n)d customers).")
                % {"n": granted}
            )
        for line in governance_seed_demo(as_of=as_of):
            self.stdout.write(_("Governance: added %(what)s.") % {"what": line})
        days = _seed_mode_history(as_of=as_of)
        if days:
            self.stdout.write(
                _("Recorded %(n)d days of personalization-mode history for the charts.")
                % {"n": days}
            )
        self._train_and_generate()
        self._print_logins(shop)
        self.stdout.write(
            self.style.SUCCESS(
                _("Demo shop ready in %(seconds).1f s.") % {"seconds": time.monotonic() - started}
            )
        )

    def _train_and_generate(self) -> None:
        """A first model and lists, so the demo shows recommendations at once."""
        from personalization.recommending import services as recommending
        from personalization.recommending.models_cache import active_version_id

        if active_version_id() is not None:
            return
        self.stdout.write(_("Training the recommender and generating lists..."))
        recommending.model_version_train(
            model_version=recommending.model_version_create(), with_metrics=False
        )
        recommending.recommendations_generate_all()

    def _import(self, paths: dict[str, Path]) -> None:
        try:
            call_command(
                "import_data",
                "--catalog",
                str(paths["catalog"]),
                "--customers",
                str(paths["customers"]),
                "--events",
                str(paths["events"]),
                stdout=self.stdout,
                stderr=self.stderr,
            )
        except SystemExit as exit_:
            # import_data exits with status 1 after printing FILE:LINE errors.
            if exit_.code:
                raise CommandError(
                    _("The demo data did not import (errors above); nothing was changed.")
                ) from None

    def _warn_if_seeded_with_other_dates(self, shop: demo.DemoShop) -> None:
        """Events are skipped by id, so a second as-of date cannot move stored history."""
        first = shop.events[0]
        stored = (
            Interaction.objects.filter(event_id=first.event_id)
            .values_list("occurred_at", flat=True)
            .first()
        )
        if stored is not None and stored != first.occurred_at:
            self.stderr.write(
                self.style.WARNING(
                    _(
                        "The demo history is already stored with another as-of date; it stays "
                        "as it is. Use an empty database to seed with a new --as-of date."
                    )
                )
            )

    def _print_logins(self, shop: demo.DemoShop) -> None:
        notes = {
            demo.GABLE.email: _("years of wheat sourdough, nothing else"),
            demo.COELIAC.email: _("declared: never anything with gluten"),
            demo.STAFF.email: _("works the review queue"),
            demo.OWNER.email: _("audits, policy and the kill switch"),
        }
        rows = [(_("Role"), _("Email"), _("Name"), _("Who"))]
        rows += [
            (_role_label(Role(login.role)), login.email, login.name, notes.get(login.email, ""))
            for login in shop.logins
        ]
        widths = [max(len(row[column]) for row in rows) for column in range(3)]
        self.stdout.write("")
        self.stdout.write(
            _("Demo logins (password for all: %(password)s)") % {"password": demo.DEMO_PASSWORD}
        )
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            self.stdout.write("  " + "  ".join([*cells, row[3]]).rstrip())


def _seed_mode_history(*, as_of: date) -> int:
    """Daily mode counts for the half year before `as_of` (demo.mode_history), so the
    owner's charts show a line; days already recorded stay as they are."""
    now = mode_counts(today=as_of)
    rows = demo.mode_history(
        as_of=as_of,
        customers=now["customers"],
        paused=now["paused"],
        off=now["off"],
        none=now["none"],
        seed=demo.DEFAULT_SEED,
    )
    return mode_snapshots_backfill(rows=[vars(row) for row in rows])


def _role_label(role: Role) -> str:
    labels = {Role.CUSTOMER: _("customer"), Role.STAFF: _("staff"), Role.OWNER: _("owner")}
    return labels[role]


def _write_csv_files(folder: Path, shop: demo.DemoShop) -> dict[str, Path]:
    files = {
        "catalog": (demo.CATALOG_HEADER, shop.catalog_rows()),
        "customers": (demo.CUSTOMER_HEADER, shop.customer_rows()),
        "events": (demo.EVENT_HEADER, shop.event_rows()),
    }
    paths = {}
    for name, (header, rows) in files.items():
        paths[name] = folder / f"{name}.csv"
        _write_csv(paths[name], header, rows)
    return paths


def _write_csv(path: Path, header: Sequence[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def _seed_logins(shop: demo.DemoShop) -> None:
    """Create the demo logins and set what the imported customers said about themselves."""
    for login in shop.logins:
        user_upsert_verified(
            email=login.email,
            name=login.name,
            password=demo.DEMO_PASSWORD,
            role=Role(login.role),
        )
    stated = [c for c in shop.customers if c.restrictions or c.liked_categories]
    profiles = CustomerProfile.objects.in_bulk(
        [c.external_id for c in stated], field_name="external_id"
    )
    for customer in stated:
        customer_profile_set_preferences(
            profile=profiles[customer.external_id],
            restrictions=list(customer.restrictions),
            liked_categories=list(customer.liked_categories),
        )


def _seed_consents(*, notice_version: int, switched_off: set[str] | None = None) -> int:
    """Deterministic demo choices for customers who have made none yet (idempotent).

    Most customers allow on-site recommendations from their history, fewer allow offer
    emails, and those who declared audit attributes allow fairness audits (the import
    contract: declared attributes count as consented for that purpose). Customers in
    `switched_off` (people.switched_off: the audit's one real finding) switched
    personalization off, once, with their first choices.
    """
    import zlib

    from accounts.models import CustomerProfile
    from personalization.consent.services import ConsentChange, consent_set

    engine_categories = ("purchase_history", "browsing_history", "stated_preferences")
    # The import already recorded fairness_audit for declared attributes (its contract).
    decided = set(
        Consent.objects.exclude(purpose="fairness_audit")
        .values_list("customer_id", flat=True)
        .distinct()
    )
    customers = (
        CustomerProfile.objects.exclude(pk__in=decided)
        .exclude(external_id=None)
        .prefetch_related("audit_attributes")
        .order_by("external_id")
    )
    count = 0
    for customer in customers:
        if customer.external_id is None:  # excluded above; the column itself is nullable
            continue
        # A stable number from the id (hash() varies between processes).
        dice = zlib.crc32(customer.external_id.encode()) % 10
        story = customer.email in ("gable@example.com", "coeliac@example.com")
        changes = []
        if story or dice < 8:
            changes += [ConsentChange("personalization", c, True) for c in engine_categories]
        if dice < 4:
            changes += [ConsentChange("marketing", "purchase_history", True)]
        if customer.audit_attributes.all():
            changes += [ConsentChange("fairness_audit", "audit_attributes", True)]
        if changes:
            consent_set(
                customer=customer,
                changes=changes,
                method="import",
                actor="system:seed_demo",
                notice_version=notice_version,
            )
            count += 1
        if customer.external_id in (switched_off or ()):
            customer_profile_set_mode(profile=customer, mode=PersonalizationMode.OFF)
    return count
