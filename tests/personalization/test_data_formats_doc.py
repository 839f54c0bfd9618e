"""The samples in docs/data-formats.md import as documented."""

import re
from pathlib import Path

from personalization.importing import import_files
from personalization.models import Interaction, Item

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-formats.md"


def test_documented_samples_import_cleanly(db, tmp_path):
    blocks = re.findall(r"```csv\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 3
    paths = {}
    for name, text in zip(("catalog", "customers", "events"), blocks, strict=True):
        paths[name] = tmp_path / f"{name}.csv"
        paths[name].write_text(text)
    report = import_files(**{name: str(path) for name, path in paths.items()})
    assert report.ok, report.errors
    assert Item.objects.get(sku="SAV-PIE").allergens_declared is False
    assert Item.objects.get(sku="GFT-TIN").consumable is False
    assert Interaction.objects.filter(customer__external_id="C0042").count() == 3
