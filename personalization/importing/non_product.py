"""The owner's list of non-product codes (postage, fees, adjustments): read, add, remove.

Imports keep lines with these codes out of the catalog and the event log, and the
recommender reads an item whose SKU is on the list as not on sale (`catalog_load`), so a
code added here keeps its items out of every list generated from then on.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.db.models.functions import Upper
from django.utils.translation import gettext as _

from core import inputs
from core.errors import ApplicationError
from personalization.models import Item, NonProductCode

NOTE_MAX_LENGTH = NonProductCode._meta.get_field("note").max_length or 200


def non_product_codes_list() -> list[NonProductCode]:
    """Every code on the list, in code order."""
    return list(NonProductCode.objects.order_by("code"))


def non_product_items_count() -> dict[str, int]:
    """Per code on the list: how many catalog items carry it (and are so kept out)."""
    codes = NonProductCode.objects.values("code")
    return dict(
        Item.objects.annotate(code=Upper("sku"))
        .filter(code__in=codes)
        .values("code")
        .annotate(n=Count("id"))
        .values_list("code", "n")
    )


def _clean_code(raw: str) -> str:
    code = " ".join(raw.split()).upper()
    if not code:
        raise ApplicationError(_("Enter a stock code, e.g. POST."), field="code")
    if len(code) > inputs.SKU_MAX_LENGTH:
        raise ApplicationError(
            _("A stock code has at most %(max)d characters.") % {"max": inputs.SKU_MAX_LENGTH},
            field="code",
        )
    if not code.isprintable():
        raise ApplicationError(_("A stock code cannot hold control characters."), field="code")
    return code


@transaction.atomic
def non_product_code_add(*, code: str, note: str = "") -> NonProductCode:
    """Put `code` on the list (folded to upper case, as imports fold stock codes).

    A code already on the list is refused with a message, by the unique constraint
    itself (no check-then-act)."""
    cleaned = _clean_code(code)
    note = " ".join(note.split())
    if len(note) > NOTE_MAX_LENGTH:
        raise ApplicationError(
            _("The note has at most %(max)d characters.") % {"max": NOTE_MAX_LENGTH},
            field="note",
        )
    try:
        with transaction.atomic():
            return NonProductCode.objects.create(code=cleaned, note=note)
    except IntegrityError:
        raise ApplicationError(
            _("%(code)s is on the list already.") % {"code": cleaned},
            code="duplicate",
            field="code",
            status=409,
        ) from None


@transaction.atomic
def non_product_code_remove(*, code_id: int) -> str:
    """Take a code off the list; its items may be recommended again from the next
    generation. Returns the code removed."""
    removed = NonProductCode.objects.filter(pk=code_id).select_for_update().first()
    if removed is None:
        raise ApplicationError(
            _("That code is not on the list (any more)."), code="not_found", status=404
        )
    removed.delete()
    return removed.code
