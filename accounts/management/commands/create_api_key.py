import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from accounts.models import ApiScope
from accounts.services import api_key_create
from core.errors import ApplicationError


class Command(BaseCommand):
    help = _("Create an API key for one of the shop's systems and print it once.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help=_("what the key is for, e.g. 'till' or 'web shop'"))
        parser.add_argument(
            "--scopes",
            nargs="+",
            required=True,
            metavar="SCOPE",
            help=_("one or more of: %(scopes)s") % {"scopes": ", ".join(ApiScope.values)},
        )

    def handle(self, *args: Any, **options: Any) -> None:
        scopes = [s for value in options["scopes"] for s in str(value).replace(",", " ").split()]
        try:
            api_key, key = api_key_create(name=str(options["name"]), scopes=scopes)
        except ApplicationError as exc:
            self.stderr.write(exc.message)
            sys.exit(1)
        self.stdout.write(
            _("API key '%(name)s' with scopes %(scopes)s. It is shown only now; store it safely:")
            % {"name": api_key.name, "scopes": ", ".join(api_key.scopes)}
        )
        self.stdout.write(key)
