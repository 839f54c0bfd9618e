import sys

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from personalization.consent.ledger import HASHED_FIELDS, verify_chain
from personalization.models import ConsentEvent


class Command(BaseCommand):
    help = _("Check the consent ledger's hash chain: exit 0 when intact, 1 at the first break.")

    def handle(self, *args: object, **options: object) -> None:
        rows = ConsentEvent.objects.order_by("pk").values("id", "prev_hash", "hash", *HASHED_FIELDS)
        count = 0

        def counted():
            nonlocal count
            for row in rows.iterator(chunk_size=5000):
                count += 1
                yield row

        broken = verify_chain(counted())
        if broken is not None:
            self.stderr.write(
                _("Consent ledger broken at entry #%(id)d: %(reason)s.")
                % {"id": broken.event_id, "reason": broken.reason}
            )
            sys.exit(1)
        self.stdout.write(_("Consent ledger intact: %(n)d entries.") % {"n": count})
