"""One row per place on a customer's current list.

Lists generated at the same moment for one customer (two first reads at once) could
leave two current rows at each rank. Before the constraint is added, such duplicates
are removed the way a newer list replaces an older one: of each place's current rows
the lowest pk stays; the others, if undecided, are deleted (Django's collector applies
each relation's on_delete, as `lists_replace` does), and if decided, marked replaced.
"""

from django.db import migrations, models
from django.db.models import Count, Min
from django.utils import timezone

_UNDECIDED = ("proposed", "held")
_REJECTED = "rejected"


def _duplicates(Recommendation) -> list[int]:
    current = Recommendation.objects.filter(superseded_at__isnull=True).exclude(status=_REJECTED)
    places = (
        current.values("customer_id", "channel", "rank")
        .annotate(rows=Count("id"), kept=Min("id"))
        .filter(rows__gt=1)
        .order_by()
    )
    extra: list[int] = []
    for place in places.iterator():
        extra.extend(
            current.filter(
                customer_id=place["customer_id"], channel=place["channel"], rank=place["rank"]
            )
            .exclude(pk=place["kept"])
            .values_list("pk", flat=True)
        )
    return extra


def remove_duplicate_current_rows(apps, schema_editor):
    Recommendation = apps.get_model("personalization", "Recommendation")
    extra = _duplicates(Recommendation)
    if not extra:
        return
    now = timezone.now()
    for start in range(0, len(extra), 5_000):
        part = extra[start : start + 5_000]
        Recommendation.objects.filter(pk__in=part, status__in=_UNDECIDED).delete()
        Recommendation.objects.filter(pk__in=part).update(superseded_at=now)
    if schema_editor.connection.vendor == "postgresql":
        # Foreign keys are checked at commit; the index below cannot be built on a table
        # with checks still pending.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("personalization", "0009_consent_method_email_link"),
    ]

    operations = [
        migrations.RunPython(remove_duplicate_current_rows, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="recommendation",
            constraint=models.UniqueConstraint(
                condition=models.Q(("superseded_at__isnull", True))
                & ~models.Q(("status", "rejected")),
                fields=("customer", "channel", "rank"),
                name="recommendation_current_rank",
            ),
        ),
    ]
