from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from core.services import schedules_sync


class Command(BaseCommand):
    help = _("Create the periodic tasks the apps declare, keeping any schedule an owner edited.")

    def handle(self, *args: object, **options: object) -> None:
        created = schedules_sync()
        if created:
            self.stdout.write(_("Created schedules: %(names)s") % {"names": ", ".join(created)})
        else:
            self.stdout.write(_("Schedules are up to date."))
