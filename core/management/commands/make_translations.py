from django.core.management import call_command
from django.core.management.base import BaseCommand

# Folders that hold no user-facing strings of the site: tests, benchmarks, docs, the
# embedded state, the virtualenv and static files (the JavaScript reads its text from
# the server, so there is no djangojs catalogue).
IGNORED = (".venv/*", "var/*", "tests/*", "benchmarks/*", "docs/*", "*.egg-info/*", "static/*")


class Command(BaseCommand):
    # Output stays English: it is for whoever maintains the catalogue.
    help = (
        "Update locale/de/LC_MESSAGES/django.po from the code (Django's makemessages with "
        "the project's ignore list, dropping strings the code no longer has). Needs GNU "
        "gettext's xgettext and msgmerge. New strings arrive untranslated, changed ones "
        "marked fuzzy: translate them, then run compile_translations."
    )

    def handle(self, *args, **options):
        call_command(
            "makemessages",
            locale=["de"],
            ignore_patterns=list(IGNORED),
            no_obsolete=True,
            verbosity=options["verbosity"],
        )
