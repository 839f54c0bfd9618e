from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.models import Heartbeat


@transaction.atomic
def heartbeat_record(*, name: str) -> Heartbeat:
    """Upsert the heartbeat row for process `name` and count one beat."""
    now = timezone.now()
    beat, created = Heartbeat.objects.select_for_update().get_or_create(
        name=name, defaults={"seen_at": now, "beats": 1}
    )
    if not created:
        Heartbeat.objects.filter(pk=beat.pk).update(seen_at=now, beats=F("beats") + 1)
        beat.refresh_from_db()
    return beat
