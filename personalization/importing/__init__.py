"""CSV import of catalog, customers and events (the `import_data` contract), and of a
shop's own exports through a profile (`import_profile`)."""

from personalization.importing.loader import FileReport, ImportReport, import_files
from personalization.importing.profiles import PROFILE_NAMES, PROFILES
from personalization.importing.shop import import_profile

__all__ = [
    "PROFILES",
    "PROFILE_NAMES",
    "FileReport",
    "ImportReport",
    "import_files",
    "import_profile",
]
