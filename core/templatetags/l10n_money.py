"""`{{ price|money }}`: a price in the shop's currency, written the reader's way.

British English "£4.50", German "4,50 £" (the pattern is in the catalogue, so each
language places the symbol as it does; the number uses the language's separators).
"""

from decimal import Decimal, InvalidOperation

from django import template
from django.utils.formats import number_format
from django.utils.translation import pgettext

register = template.Library()


@register.filter
def money(value) -> str:
    """Format an amount with two decimals and the pound sign; empty for no value."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return ""
    formatted = number_format(amount, decimal_pos=2, use_l10n=True, force_grouping=True)
    # Translators: a price; %(amount)s is the number with two decimals ("4.50").
    return pgettext("money", "£%(amount)s") % {"amount": formatted}
