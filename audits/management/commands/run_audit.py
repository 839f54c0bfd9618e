"""`run_audit [--sync] [--json]`: a bias audit with the owner's policy.

Without --sync the audit is queued for a Celery worker (the same code beat's weekly
schedule runs) and the command prints the run's id and where to follow it. With
--sync it runs here, with a progress line; --json prints the run's results as one
JSON object on stdout (progress goes to stderr).
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse
from django.utils.translation import gettext as _

from audits import services
from audits.models import AuditRun
from audits.reports.selectors import audit_run_export, summary_sentences
from core.errors import ApplicationError


class Command(BaseCommand):
    help = _("Run the bias audit with the owner's policy (queued for a worker unless --sync).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--sync", action="store_true", help=_("run here and wait, instead of queueing")
        )
        parser.add_argument(
            "--json", action="store_true", help=_("print the run's results as one JSON object")
        )
        parser.add_argument(
            "--if-none",
            action="store_true",
            help=_("only when no audit has completed yet (e.g. when a demo starts)"),
        )

    def handle(
        self, *args: object, sync: bool, json: bool, if_none: bool = False, **options: object
    ) -> None:
        as_json = json
        if if_none:
            done = AuditRun.objects.filter(status=AuditRun.Status.COMPLETED).order_by("-pk").first()
            if done is not None:
                self.stdout.write(
                    _("Audit #%(id)d has already completed: nothing to do.") % {"id": done.pk}
                )
                return
        try:
            if not sync:
                run = services.audit_run_start(trigger=AuditRun.Trigger.COMMAND)
            else:
                run = services.audit_run_create(trigger=AuditRun.Trigger.COMMAND)
        except ApplicationError as error:
            raise CommandError(error.message) from None
        path = reverse("owner:audit_detail", args=[run.pk])
        if not sync:
            if as_json:
                self._json(audit_run_export(run))
                return
            self.stdout.write(
                _(
                    "Audit #%(id)d queued for a worker. Follow it at %(path)s (progress "
                    "updates in the page), or run `manage.py run_audit --sync` to run one here."
                )
                % {"id": run.pk, "path": path}
            )
            return
        progress_out = self.stderr if as_json else self.stdout
        try:
            run = services.audit_run_execute(run=run, progress=self._progress(progress_out))
        except Exception as exc:
            services.audit_run_fail(run_id=run.pk, message=f"{type(exc).__name__}: {exc}")
            raise
        progress_out.write("")
        if as_json:
            self._json(audit_run_export(run))
            return
        self.stdout.write(_("Audit #%(id)d %(status)s.") % {"id": run.pk, "status": run.status})
        for sentence in summary_sentences(run):
            self.stdout.write(f"- {sentence}")
        self.stdout.write(_("Report: %(path)s") % {"path": path})

    def _progress(self, out):
        def show(run: AuditRun) -> None:
            bar = "#" * (run.percent // 5)
            out.write(f"\r[{bar:<20}] {run.percent:>3}% {run.step:<30}", ending="")
            out.flush()

        return show

    def _json(self, data: dict) -> None:
        self.stdout.write(json.dumps(data, sort_keys=True, default=str))
