"""The Celery application: workers and beat load settings from Django (CELERY_*)."""

import os
from pathlib import Path

from celery import Celery
from celery.signals import celeryd_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("fairshare")
app.config_from_object("django.conf:settings", namespace="CELERY")

# Folders never searched for task modules.
_NOT_TASK_PACKAGES = {"migrations", "management", "templates", "static", "locale", "tests"}


def task_packages() -> list[str]:
    """Every installed app and every sub-package of one that has a tasks.py.

    Read from the installed apps, not a list kept by hand: a list forgot `governance`,
    and the worker dropped beat's daily snapshot as an unregistered task.
    """
    from django.apps import apps

    packages = []
    for config in apps.get_app_configs():
        packages.append(config.name)
        root = Path(config.path)
        for tasks_file in sorted(root.rglob("tasks.py")):
            folder = tasks_file.parent
            if folder == root:
                continue
            parts = folder.relative_to(root).parts
            if _NOT_TASK_PACKAGES.intersection(parts):
                continue
            # Only real packages: every folder on the way down has an __init__.py.
            chain = [root.joinpath(*parts[: i + 1]) for i in range(len(parts))]
            if all((step / "__init__.py").is_file() for step in chain):
                packages.append(".".join([config.name, *parts]))
    return list(dict.fromkeys(packages))  # an installed sub-package is found twice


# Lazy: the apps are read when the worker (or anything else) first needs its tasks.
app.autodiscover_tasks(task_packages)


def use_statement_timeout(databases: dict, milliseconds: int) -> None:
    """PostgreSQL connections opened from now on may run statements this long (0 = none)."""
    for database in databases.values():
        if database["ENGINE"] == "django.db.backends.postgresql":
            options = database.setdefault("OPTIONS", {})
            options["options"] = f"-c statement_timeout={int(milliseconds)}"


@celeryd_init.connect
def _worker_statement_timeout(**kwargs: object) -> None:
    """Workers' bulk work runs longer statements than a web request may: before the
    worker opens a connection, switch to their own limit."""
    from django.conf import settings

    use_statement_timeout(settings.DATABASES, settings.DATABASE_WORKER_STATEMENT_TIMEOUT)


@app.on_after_configure.connect
def _create_filesystem_queue(sender: Celery, **kwargs: object) -> None:
    """The filesystem transport does not create its folders itself."""
    if not str(sender.conf.broker_url).startswith("filesystem"):
        return
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder"):
        if options.get(key):
            os.makedirs(options[key], exist_ok=True)
