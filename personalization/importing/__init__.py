"""CSV import of catalog, customers and events (the `import_data` contract)."""

from personalization.importing.loader import FileReport, ImportReport, import_files

__all__ = ["FileReport", "ImportReport", "import_files"]
