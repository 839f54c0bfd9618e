from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


def _publish_initial_notice(sender, using: str = "default", **kwargs) -> None:
    """After `migrate` (and a test flush), the shop has its first privacy notice, so no
    page has to publish one while it is being read."""
    from personalization.consent.notices import notice_ensure_initial
    from personalization.models import PrivacyNotice

    if PrivacyNotice._meta.db_table in connections[using].introspection.table_names():
        notice_ensure_initial()


class PersonalizationConfig(AppConfig):
    name = "personalization"
    verbose_name = "Personalization"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_publish_initial_notice, sender=self)
