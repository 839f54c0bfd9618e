"""Privacy notices, the append-only consent ledger and the current-consent table."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import CustomerProfile


class PrivacyNotice(models.Model):
    """One version of the privacy notice and "How we use AI" statement.

    Drafts are edited by the owner; a published version is never changed again (the
    services refuse to), so every consent can point at exactly what was shown.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    version = models.PositiveIntegerField(_("version"), unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("privacy notice"))
    ai_statement = models.TextField(_("how we use AI"))
    # What the notice covered when published, so a later version can tell whether
    # purposes or data categories changed (then customers are asked again).
    purposes = models.JSONField(_("purposes covered"), default=list)
    data_categories = models.JSONField(_("data categories covered"), default=list)
    retention = models.JSONField(_("retention periods (days) by category"), default=dict)
    # True when this version changed purposes or categories against the previous one.
    asks_again = models.BooleanField(_("customers are asked again"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)

    class Meta:
        verbose_name = _("privacy notice")
        verbose_name_plural = _("privacy notices")
        ordering = ["-version"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(published_at__isnull=False),
                name="privacynotice_published_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.version} {self.title}"


class ConsentMethod(models.TextChoices):
    UI = "ui", _("the customer's dashboard")
    API = "api", _("the shop's systems (API)")
    GPC = "gpc", _("the browser's Global Privacy Control signal")
    IMPORT = "import", _("an import")
    ERASURE = "erasure", _("an erasure request")
    OBJECTION = "objection", _("an objection to profiling")
    EMAIL_LINK = "email_link", _("the unsubscribe link in an offer email")


class ConsentEvent(models.Model):
    """One change of consent, never updated or deleted (a hash-chained ledger).

    `hash` covers every recorded field and the previous event's hash, so altering,
    deleting or reordering any row breaks the chain (`verify_consent_ledger`).
    `customer_ref` keeps the customer's number after erasure nulls `customer`.
    """

    customer = models.ForeignKey(
        CustomerProfile,
        verbose_name=_("customer"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="consent_events",
    )
    customer_ref = models.PositiveBigIntegerField(_("customer number"), db_index=True)
    purpose = models.CharField(_("purpose"), max_length=50)
    data_category = models.CharField(_("data category"), max_length=50)
    granted = models.BooleanField(_("granted"))
    notice_version = models.PositiveIntegerField(_("notice version shown"), null=True, blank=True)
    method = models.CharField(_("method"), max_length=10, choices=ConsentMethod.choices)
    # Who made the change: "customer", "staff:<user id>", "api:<key name>", "system".
    actor = models.CharField(_("actor"), max_length=100)
    created_at = models.DateTimeField(_("when"))
    # Salted SHA-256 of the request's IP address and user agent; never the raw values.
    ip_hash = models.CharField(_("IP address (salted hash)"), max_length=64, blank=True)
    user_agent_hash = models.CharField(_("user agent (salted hash)"), max_length=64, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64, unique=True)

    class Meta:
        verbose_name = _("consent event")
        verbose_name_plural = _("consent events")
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["customer", "purpose"], name="consentevent_customer_purpose")
        ]

    def __str__(self) -> str:
        state = "granted" if self.granted else "withdrawn"
        return f"#{self.pk} {self.purpose}/{self.data_category} {state}"


class Consent(models.Model):
    """The current answer to "may this customer's <category> be used for <purpose>?".

    One row per customer x purpose x category that was ever decided; a missing row means
    no (every purpose is opt-in). Written only together with its ledger event.
    """

    customer = models.ForeignKey(
        CustomerProfile,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="consents",
    )
    purpose = models.CharField(_("purpose"), max_length=50)
    data_category = models.CharField(_("data category"), max_length=50)
    granted = models.BooleanField(_("granted"))
    event = models.ForeignKey(
        ConsentEvent, verbose_name=_("latest change"), on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "purpose", "data_category"], name="consent_one_per_cell"
            ),
        ]
        indexes = [
            models.Index(fields=["purpose", "data_category", "granted"], name="consent_lookup"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.purpose}/{self.data_category}={self.granted}"
