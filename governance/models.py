"""The shop's rules for its AI: the kill switch, the AI policy and who acknowledged it.

This app's models, services and selectors import only `accounts` and `core`, so the
personalization code that must obey them (every delivery channel, the review queue) can
read them without an import cycle. Pages that report across apps live above it.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class KillSwitchEvent(models.Model):
    """One flip of the switch that pauses all AI personalization at once.

    Append-only: the newest row is the switch's state; the rows are its log.
    """

    engaged = models.BooleanField(_("personalization paused"))
    reason = models.TextField(_("reason"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("kill switch event")
        verbose_name_plural = _("kill switch events")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{'paused' if self.engaged else 'resumed'} at {self.at:%Y-%m-%d %H:%M}"


class AIPolicy(models.Model):
    """A version of the shop's internal AI policy; unchanged once published."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("policy"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("written by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)

    class Meta:
        verbose_name = _("AI policy")
        verbose_name_plural = _("AI policies")
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"v{self.version} {self.title}"


class PolicyAcknowledgement(models.Model):
    """A staff member confirmed they read one published version of the AI policy."""

    policy = models.ForeignKey(
        AIPolicy,
        verbose_name=_("policy"),
        on_delete=models.PROTECT,
        related_name="acknowledgements",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff member"),
        on_delete=models.CASCADE,
        related_name="policy_acknowledgements",
    )
    at = models.DateTimeField(_("acknowledged"), auto_now_add=True)

    class Meta:
        verbose_name = _("policy acknowledgement")
        verbose_name_plural = _("policy acknowledgements")
        ordering = ["-at"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "user"], name="acknowledgement_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read v{self.policy_id}"
