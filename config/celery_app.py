"""The Celery application: workers and beat load settings from Django (CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("fairshare")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Every package with a tasks.py, so workers register them all at start-up (Celery only
# looks for <app>.tasks by itself, and sub-packages keep their own).
app.autodiscover_tasks(
    [
        "core",
        "accounts",
        "personalization",
        "personalization.campaigns",
        "personalization.datarights",
        "personalization.recommending",
        "personalization.webhooks",
        "audits",
    ]
)


@app.on_after_configure.connect
def _create_filesystem_queue(sender: Celery, **kwargs: object) -> None:
    """The filesystem transport does not create its folders itself."""
    if not str(sender.conf.broker_url).startswith("filesystem"):
        return
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder"):
        if options.get(key):
            os.makedirs(options[key], exist_ok=True)
