from typing import Any

from django.db import connection, transaction
from django.db.models import F, Model
from django.utils import timezone

from core.models import Heartbeat


@transaction.atomic
def heartbeat_record(*, name: str) -> Heartbeat:
    """Upsert the heartbeat row for process `name` and count one beat."""
    now = timezone.now()
    beat, created = Heartbeat.objects.select_for_update().get_or_create(
        name=name, defaults={"seen_at": now, "beats": 1}
    )
    if not created:
        Heartbeat.objects.filter(pk=beat.pk).update(seen_at=now, beats=F("beats") + 1)
        beat.refresh_from_db()
    return beat


def schedules_sync() -> list[str]:
    """Create the periodic tasks the installed apps declare; never overwrite edits.

    A schedule is matched by name. An existing one keeps the interval, crontab and
    enabled flag the owner set; only its task path is refreshed, and an interval still
    at an earlier release's default (`earlier_every_seconds`) moves to today's. Returns
    the names created.
    """
    from importlib import import_module

    from django.apps import apps
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    created = []
    for config in apps.get_app_configs():
        try:
            module = import_module(f"{config.name}.schedules")
        except ModuleNotFoundError:
            continue
        for name, task, when, description in module.SCHEDULES:
            existing = PeriodicTask.objects.filter(name=name).first()
            if existing is not None:
                if existing.task != task:
                    existing.task = task
                    existing.save(update_fields=["task"])
                _interval_default_refresh(existing, when)
                continue
            fields: dict[str, object] = {"name": name, "task": task, "description": description}
            if "every_seconds" in when:
                fields["interval"], _ = IntervalSchedule.objects.get_or_create(
                    every=when["every_seconds"], period=IntervalSchedule.SECONDS
                )
            else:
                fields["crontab"], _ = CrontabSchedule.objects.get_or_create(**when)
            PeriodicTask.objects.create(**fields)
            created.append(name)
    return created


def _interval_default_refresh(task: Any, when: dict[str, Any]) -> None:
    from django_celery_beat.models import IntervalSchedule

    earlier = when.get("earlier_every_seconds", ())
    interval = task.interval
    if (
        interval is None
        or interval.period != IntervalSchedule.SECONDS
        or interval.every not in earlier
    ):
        return
    task.interval, _ = IntervalSchedule.objects.get_or_create(
        every=when["every_seconds"], period=IntervalSchedule.SECONDS
    )
    task.save(update_fields=["interval"])


def tables_analyze(*models: type[Model]) -> None:
    """Refresh the query planner's statistics of these models' tables.

    After a bulk load the planner still believes the tables are as small as before, and
    can pick a plan that is fine for ten rows and slow for a hundred thousand (seen here:
    loading one customer's consented history took 11 ms instead of 0.4 ms until the
    next automatic analyze). PostgreSQL's manual advises it ("Populating a Database: Run
    ANALYZE Afterwards"); SQLite's ANALYZE refreshes its statistics the same way.
    """
    tables = [model._meta.db_table for model in models]
    if not tables:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {', '.join(connection.ops.quote_name(t) for t in tables)}")
        else:
            for table in tables:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
