from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    """The top floor: the role front doors (/me/, /staff/, /owner/), their home pages and
    the reports that read across apps (trust dashboard, KPIs, /transparency/). Nothing
    below imports it."""

    name = "console"
    verbose_name = _("Console")
