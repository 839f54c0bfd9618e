from typing import ClassVar

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields: object) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields: object):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields: object):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person who signs in with an email address (no username)."""

    username = None  # type: ignore[assignment]
    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]
    email = models.EmailField(_("email address"), unique=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    # The language chosen on the site's switch (a code from LANGUAGES); empty until then,
    # and the browser's language applies.
    language = models.CharField(_("language"), max_length=10, blank=True, default="")

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    # The stubs fix AbstractUser.objects to auth's username-based UserManager; this
    # manager is the email-based one the model needs.
    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name.split(" ")[0] if self.name else self.email


class PersonalizationMode(models.TextChoices):
    ON = "on", _("On")
    PAUSED = "paused", _("Paused until a date")
    OFF = "off", _("Off (same list as any visitor)")
    NONE = "none", _("None (no recommendations at all)")


class CustomerProfile(models.Model):
    """A shop customer: known to the shop's systems by `external_id`, maybe with a login.

    Imported customers have no `user` until they claim the record by signing in with
    the same, verified email address.
    """

    user = models.OneToOneField(
        User,
        verbose_name=_("login"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="customer_profile",
    )
    external_id = models.CharField(
        _("shop's customer id"), max_length=100, unique=True, null=True, blank=True
    )
    email = models.EmailField(_("email address"), blank=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    personalization_mode = models.CharField(
        _("personalization"),
        max_length=10,
        choices=PersonalizationMode.choices,
        default=PersonalizationMode.ON,
    )
    paused_until = models.DateField(_("paused until"), null=True, blank=True)
    # Attribute codes the customer never wants recommended, e.g. "contains:gluten".
    restrictions = models.JSONField(_("never recommend"), default=list, blank=True)
    # Category slugs the customer said they like.
    liked_categories = models.JSONField(_("liked categories"), default=list, blank=True)
    notes_for_staff = models.TextField(_("notes for staff"), blank=True)
    # The privacy notice version the customer last saw and confirmed.
    notice_version_seen = models.PositiveIntegerField(
        _("notice version seen"), null=True, blank=True
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("customer profile")
        verbose_name_plural = _("customer profiles")
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                condition=~models.Q(email=""),
                name="customerprofile_email_ci_unique",
            ),
            models.CheckConstraint(
                condition=~models.Q(personalization_mode=PersonalizationMode.PAUSED)
                | models.Q(paused_until__isnull=False),
                name="customerprofile_paused_has_date",
            ),
            models.CheckConstraint(
                condition=~models.Q(external_id=""),
                name="customerprofile_external_id_not_blank",
            ),
        ]
        permissions = [
            ("access_staff_console", _("Can use the staff console")),
            ("access_owner_console", _("Can use the owner console")),
        ]

    def __str__(self) -> str:
        return self.external_id or f"customer #{self.pk}"


class AuditAttribute(models.Model):
    """An attribute a customer declared voluntarily, used only to audit the AI for bias.

    Never a model feature: the recommender never reads this table.
    """

    class Source(models.TextChoices):
        IMPORT = "import", _("Imported from the shop's systems")
        CUSTOMER = "customer", _("Declared by the customer")

    customer = models.ForeignKey(
        CustomerProfile,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="audit_attributes",
    )
    name = models.SlugField(_("attribute"), max_length=50)
    value = models.CharField(_("value"), max_length=100)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    declared_at = models.DateTimeField(_("declared"))

    class Meta:
        verbose_name = _("declared audit attribute")
        verbose_name_plural = _("declared audit attributes")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "name"], name="auditattribute_one_per_name"
            ),
            models.CheckConstraint(condition=~models.Q(value=""), name="auditattribute_value_set"),
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class ApiScope(models.TextChoices):
    EVENTS_WRITE = "events:write", _("send events")
    CATALOG_WRITE = "catalog:write", _("update the catalog")
    CUSTOMERS_WRITE = "customers:write", _("update customers")
    RECOMMENDATIONS_READ = "recommendations:read", _("read recommendations")
    CONSENTS_READ = "consents:read", _("read consent")
    CONSENTS_WRITE = "consents:write", _("record consent")
    REQUESTS_WRITE = "requests:write", _("file data requests")
    AUDITS_READ = "audits:read", _("read bias audits")


class ApiKey(models.Model):
    """A credential for one of the shop's systems; only a hash of the key is stored."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    # The first characters of the key, shown so people can tell keys apart.
    prefix = models.CharField(_("prefix"), max_length=12, unique=True)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True)
    scopes = models.JSONField(_("scopes"), default=list)
    created_by = models.ForeignKey(
        User,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    # DRF treats request.user as authenticated when this is true.
    is_authenticated = True
