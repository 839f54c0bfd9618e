"""`generate_recommendations [--customer EXTERNAL_ID]`: refresh lists with the active model."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from accounts.models import CustomerProfile
from core.errors import ApplicationError
from personalization.models import GenerationRun, RecommendationStatus
from personalization.recommending import services


class Command(BaseCommand):
    help = _(
        "Generate every customer's recommendations with the active model (or one "
        "customer's, by the shop's customer id)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--customer", metavar="EXTERNAL_ID", help=_("only this customer (the shop's id)")
        )

    def handle(self, *args: object, customer: str | None, **options: object) -> None:
        try:
            if customer:
                self._one(customer)
            else:
                self._all()
        except ApplicationError as error:
            raise CommandError(
                error.message + " " + _("Run `manage.py train_recommender` first.")
                if error.code == "no_model"
                else error.message
            ) from None

    def _one(self, external_id: str) -> None:
        profile = CustomerProfile.objects.filter(external_id=external_id).first()
        if profile is None:
            raise CommandError(_("No customer with the id '%(id)s'.") % {"id": external_id})
        rows = services.recommendations_generate_for_customer(customer=profile)
        if not rows:
            self.stdout.write(
                _(
                    "No personal list for %(id)s: personalization is off, paused or set to "
                    "none (they are shown the list every visitor sees, or nothing)."
                )
                % {"id": external_id}
            )
            return
        for row in rows:
            held = row.status == RecommendationStatus.HELD
            mark = f"  [{_('held for review')}: {', '.join(row.flags)}]" if held else ""
            self.stdout.write(
                f"{row.rank:>3}. {row.item.name} ({row.score:.3f}) - {row.sentence}{mark}"
            )

    def _all(self) -> None:
        started = time.monotonic()

        def progress(run: GenerationRun) -> None:
            percent = int(100 * run.progress)
            self.stdout.write(
                _("%(done)d / %(total)d customers (%(percent)d%%)")
                % {"done": run.customers_done, "total": run.customers_total, "percent": percent}
            )

        run = services.recommendations_generate_all(on_progress=progress)
        self.stdout.write(
            self.style.SUCCESS(
                _("Lists generated for %(n)d customers in %(seconds).1f s.")
                % {"n": run.customers_done, "seconds": time.monotonic() - started}
            )
        )
