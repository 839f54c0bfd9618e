"""The consent rule for the engine's data, stated once: an interaction may be read while
its customer allows its data category for personalization, and never once removed.

`consented_interactions` is the ORM form; `consented_sql` renders the same rule for the
engine's plain-SQL reads, with table and column names from the models' metadata. An
agreement test compares the rows both select (tests/personalization/test_consent_rule.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet

from personalization.models import Consent, Interaction
from personalization.registry import PERSONALIZATION


def consented_interactions(customer_ids: Sequence[int] | None = None) -> QuerySet[Interaction]:
    """Interactions the engine may read: consented for personalization, not removed."""
    allowed = Consent.objects.filter(
        customer_id=OuterRef("customer_id"),
        purpose=PERSONALIZATION,
        data_category=OuterRef("data_category"),
        granted=True,
    )
    rows = Interaction.objects.filter(Exists(allowed), excluded_at__isnull=True)
    if customer_ids is not None:
        rows = rows.filter(customer_id__in=list(customer_ids))
    return rows


def consented_sql(alias: str) -> str:
    """The same rule as a WHERE condition over `alias` (an interaction table alias).

    Its one parameter is the purpose, `%(purpose)s`; pass `PERSONALIZATION` for it."""
    quote = connection.ops.quote_name
    x, c = Interaction._meta, Consent._meta

    def col(meta, name: str) -> str:
        return quote(meta.get_field(name).column)

    return (  # Names from the models' metadata, quoted; the value is a parameter.
        f"{alias}.{col(x, 'excluded_at')} IS NULL AND EXISTS ("  # noqa: S608
        f"SELECT 1 FROM {quote(c.db_table)} g "
        f"WHERE g.{col(c, 'customer')} = {alias}.{col(x, 'customer')} "
        f"AND g.{col(c, 'purpose')} = %(purpose)s "
        f"AND g.{col(c, 'data_category')} = {alias}.{col(x, 'data_category')} "
        f"AND g.{col(c, 'granted')})"
    )


PURPOSE_PARAM = {"purpose": PERSONALIZATION}
