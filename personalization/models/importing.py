"""What shop exports bring besides customers' own interactions: guest sales and
the stock codes that are not products (postage, fees, manual adjustments)."""

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from personalization.models.catalog import Item


class NonProductCode(models.Model):
    """A stock code that is not something to recommend: postage, a fee, an adjustment.

    Import profiles keep lines with these codes out of the catalog and the event log
    (and count them); an item that already has such a SKU is never recommended.
    The owner edits the list; a data migration seeds the common ones.
    """

    code = models.CharField(_("stock code"), max_length=64, unique=True)
    note = models.CharField(_("what it is"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("non-product code")
        verbose_name_plural = _("non-product codes")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(code=""), name="nonproductcode_code_set"),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Codes are compared case-insensitively: stored in upper case, as imports fold them.
        self.code = self.code.strip().upper()
        super().save(*args, **kwargs)


class GuestSale(models.Model):
    """One order line of a sale without a customer (a guest checkout).

    No person is behind it, so it is not personal data and needs no consent: it only
    counts toward an item's popularity. Idempotent on `line_id`, like events.
    """

    class Kind(models.TextChoices):
        PURCHASE = "purchase", _("purchase")
        RETURN = "return", _("return")

    line_id = models.CharField(_("line id"), max_length=100, unique=True)
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.CASCADE, related_name="guest_sales"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    occurred_at = models.DateTimeField(_("when"))
    imported_at = models.DateTimeField(_("received"))

    class Meta:
        verbose_name = _("guest sale")
        verbose_name_plural = _("guest sales")
        indexes = [models.Index(fields=["item", "kind"], name="guestsale_item_kind")]
        constraints = [
            models.CheckConstraint(condition=~models.Q(line_id=""), name="guestsale_line_id_set"),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="guestsale_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.line_id
