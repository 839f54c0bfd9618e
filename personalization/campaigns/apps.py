from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    """Offer email campaigns: their own app (label `campaigns`) so their migrations never
    collide with the personalization app's; it depends on personalization, never back."""

    name = "personalization.campaigns"
    label = "campaigns"
    verbose_name = _("Offer campaigns")
    default_auto_field = "django.db.models.BigAutoField"
