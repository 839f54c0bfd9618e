from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import CustomerProfile
from personalization import registry


class DataCategory(models.Model):
    """A kind of personal data the shop holds (see `registry.DATA_CATEGORIES`)."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"))
    retention_days = models.PositiveIntegerField(_("kept for (days)"))

    class Meta:
        verbose_name = _("data category")
        verbose_name_plural = _("data categories")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class Purpose(models.Model):
    """Something the shop may use data for, with the customer's consent."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"))
    requires_opt_in = models.BooleanField(_("needs opt-in"), default=True)
    honours_gpc = models.BooleanField(_("Global Privacy Control opts out"), default=False)

    class Meta:
        verbose_name = _("purpose")
        verbose_name_plural = _("purposes")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """A catalog section: breads, pastries, cakes, drinks..."""

    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Attribute(models.Model):
    """A fact about items: `contains:gluten`, `vegan`, `alcohol`..."""

    code = models.CharField(_("code"), max_length=60, unique=True)

    class Meta:
        verbose_name = _("attribute")
        verbose_name_plural = _("attributes")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(code=""), name="attribute_code_set"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def is_allergen(self) -> bool:
        return self.code.startswith("contains:")


class Item(models.Model):
    """Something the shop sells."""

    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="items"
    )
    price = models.DecimalField(
        _("price"), max_digits=10, decimal_places=2, validators=[MinValueValidator(0)]
    )
    attributes = models.ManyToManyField(
        Attribute, verbose_name=_("attributes"), related_name="items", blank=True
    )
    # False when the shop has not said which allergens the item contains: such an item
    # is never recommended to a customer with an allergen restriction.
    allergens_declared = models.BooleanField(_("allergen data complete"), default=False)
    active = models.BooleanField(_("on sale"), default=True)
    # Consumables (bread) are bought again; durables (a cake tin) rarely are.
    consumable = models.BooleanField(_("consumable"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("item")
        verbose_name_plural = _("items")
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price__gte=0), name="item_price_not_negative"
            ),
            models.CheckConstraint(condition=~models.Q(sku=""), name="item_sku_set"),
        ]
        permissions = [("import_data", _("Can import catalog, customers and events"))]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"


class InteractionKind(models.TextChoices):
    PURCHASE = "purchase", _("purchase")
    VIEW = "view", _("view")
    CART = "cart", _("added to basket")
    RATING = "rating", _("rating")
    # A cancelled or returned purchase: never evidence of liking the item.
    RETURN = "return", _("return")


class Interaction(models.Model):
    """One event from the shop's systems: a customer did something with an item."""

    event_id = models.CharField(_("event id"), max_length=100, unique=True)
    customer = models.ForeignKey(
        CustomerProfile,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="interactions",
    )
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.CASCADE, related_name="interactions"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=InteractionKind.choices)
    # Derived from `kind` by registry.INTERACTION_KIND_CATEGORY; stored so consent can
    # filter by category in the database.
    data_category = models.CharField(
        _("data category"),
        max_length=50,
        choices=[(spec.code, spec.name) for spec in registry.DATA_CATEGORIES],
    )
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    # Money for purchases, stars for ratings; zero when the kind has no value.
    value = models.DecimalField(_("value"), max_digits=12, decimal_places=2, default=0)
    occurred_at = models.DateTimeField(_("when"))
    imported_at = models.DateTimeField(_("received"), auto_now_add=True)
    # Set when the customer removed this record from use: the engine never reads it,
    # and it is shown to the customer as removed until retention deletes it.
    excluded_at = models.DateTimeField(_("removed from use"), null=True, blank=True)

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        indexes = [
            models.Index(fields=["customer", "occurred_at"], name="interaction_customer_time"),
            models.Index(fields=["item", "occurred_at"], name="interaction_item_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(event_id=""), name="interaction_event_id_set"
            ),
            models.CheckConstraint(
                condition=models.Q(value__gte=0), name="interaction_value_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="interaction_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=InteractionKind.values), name="interaction_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return self.event_id
