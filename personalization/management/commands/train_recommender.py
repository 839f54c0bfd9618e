"""`train_recommender`: train a new model version now, on consented data."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from personalization.recommending import services


class Command(BaseCommand):
    help = _(
        "Train a new recommender version on the data customers consented to. The active "
        "version keeps serving until the new one is complete."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-metrics",
            action="store_true",
            help=_("skip the offline evaluation stored with the version"),
        )
        parser.add_argument(
            "--no-tuning",
            action="store_true",
            help=_("train with the default settings instead of choosing them on validation"),
        )
        parser.add_argument(
            "--budget-seconds",
            type=float,
            default=None,
            help=_(
                "seconds for choosing the model on validation "
                "(default: RECOMMENDER_TUNING_SECONDS, 120)"
            ),
        )

    def handle(
        self,
        *args: object,
        no_metrics: bool,
        no_tuning: bool = False,
        budget_seconds: float | None = None,
        **options: object,
    ) -> None:
        started = time.monotonic()
        version = services.model_version_create()
        self.stdout.write(_("Training model version %(id)d...") % {"id": version.pk})
        try:
            version = services.model_version_train(
                model_version=version,
                with_metrics=not no_metrics,
                tune=not no_tuning,
                budget_seconds=budget_seconds,
            )
        except Exception as exc:
            services.model_version_record_failure(
                model_version_id=version.pk, message=f"{type(exc).__name__}: {exc}"
            )
            raise
        counts = version.training_counts
        self.stdout.write(
            _(
                "Trained on %(events)s events of %(customers)s customers and %(items)s items "
                "(purchases %(purchases)s, browsing %(browsing)s, ratings %(ratings)s)."
            )
            % {
                "events": f"{counts.get('events', 0):,}",
                "customers": f"{counts.get('customers', 0):,}",
                "items": f"{counts.get('items', 0):,}",
                "purchases": f"{counts.get('events_purchase_history', 0):,}",
                "browsing": f"{counts.get('events_browsing_history', 0):,}",
                "ratings": f"{counts.get('events_stated_preferences', 0):,}",
            }
        )
        metrics = version.metrics
        tuned = metrics.get("tuning") or {}
        if tuned.get("validation"):
            self.stdout.write(
                _(
                    "Chosen on validation: %(family)s, nDCG@10 %(ndcg).3f against %(pop).3f "
                    "for the most popular items (%(judged)d customers, %(n)d settings tried "
                    "in %(seconds).1f s)."
                )
                % {
                    "family": tuned["family"],
                    "ndcg": tuned["validation"]["ndcg@10"],
                    "pop": tuned["most_popular"]["ndcg@10"],
                    "judged": tuned["judged"],
                    "n": tuned["candidates_judged"],
                    "seconds": tuned["seconds"],
                }
            )
        if metrics.get("customers"):
            knn = metrics["baselines"]["item_knn"]
            self.stdout.write(
                _(
                    "Offline nDCG@10: %(engine).3f (popularity %(pop).3f, item-kNN %(knn).3f) "
                    "over %(n)d customers."
                )
                % {
                    "engine": metrics["ndcg@10"],
                    "pop": metrics["baseline"]["ndcg@10"],
                    "knn": knn["ndcg@10"],
                    "n": metrics["customers"],
                }
            )
        self.stdout.write(
            self.style.SUCCESS(
                _("Model version %(id)d is active (%(seconds).1f s).")
                % {"id": version.pk, "seconds": time.monotonic() - started}
            )
        )
