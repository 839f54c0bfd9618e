from django.apps import AppConfig


class AuditsConfig(AppConfig):
    name = "audits"
    verbose_name = "Bias audits"
    default_auto_field = "django.db.models.BigAutoField"
