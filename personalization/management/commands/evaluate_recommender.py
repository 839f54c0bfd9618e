"""`evaluate_recommender [--json]`: temporal hold-out, the engine against two baselines."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from personalization.recommending import evaluation


class Command(BaseCommand):
    help = _(
        "Evaluate the recommender offline: hold out the last 20%% of each customer's "
        "timeline and compare the engine with a popularity and a cosine item-kNN baseline."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help=_("print one JSON object"))
        parser.add_argument(
            "--generated",
            action="store_true",
            help=_("evaluate on a generated shop with realistic skew instead of the shop's data"),
        )
        parser.add_argument("--customers", type=int, default=3_000)
        parser.add_argument("--items", type=int, default=500)
        parser.add_argument("--events", type=int, default=150_000)
        parser.add_argument("--seed", type=int, default=11)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["generated"]:
            report = evaluation.generated_evaluation(
                customers=int(options["customers"]),
                items=int(options["items"]),
                events=int(options["events"]),
                seed=int(options["seed"]),
            )
        else:
            report = evaluation.shop_evaluation()
        if options["json"]:
            self.stdout.write(json.dumps(report, sort_keys=True))
            return
        self._table(report)

    def _table(self, report: dict) -> None:
        if not report.get("customers"):
            self.stdout.write(
                _(
                    "Nothing to evaluate: no customer has at least 5 events in the data "
                    "categories they consented to."
                )
            )
            return
        self.stdout.write(
            _("%(n)d customers judged on their last 20%% of events (%(data)s).")
            % {"n": report["customers"], "data": report.get("data", "")}
        )
        rows = [
            (_("engine"), report),
            (_("popularity"), report["baselines"]["popularity"]),
            (_("cosine item-kNN"), report["baselines"]["item_knn"]),
        ]
        header = ("", "nDCG@10", "recall@10", _("coverage"), _("avg popularity"), _("diversity"))
        self.stdout.write(f"{header[0]:>16}" + "".join(f"{h:>16}" for h in header[1:]))
        for name, m in rows:
            values = [
                m["ndcg@10"],
                m["recall@10"],
                m["coverage"],
                m["avg_popularity"],
                m["intra_list_diversity"],
            ]
            self.stdout.write(f"{name:>16}" + "".join(f"{v:>16.3f}" for v in values))
