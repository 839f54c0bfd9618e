"""Builders for the upload-page tests: a small shop in the Fairshare CSV contract, as
uploaded files, and an owner's import run made from them."""

from __future__ import annotations

import gzip
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

CATALOG = """sku,name,category,price,attributes,active
WS-1,Wheat sourdough,breads,4.20,contains:gluten,true
GF-1,Gluten-free seeded loaf,breads,5.10,gluten-free,true
CR-1,Butter croissant,pastries,1.90,contains:gluten;contains:milk,true
"""
CUSTOMERS = """external_id,email,name
C1,gable@example.com,Mrs. Gable
C2,walkin@example.com,Walk-in
"""
EVENTS = """event_id,customer_external_id,sku,kind,occurred_at,quantity,value
e1,C1,WS-1,purchase,2026-03-04T09:15:00+00:00,2,8.40
e2,C1,WS-1,purchase,2026-03-11T09:15:00+00:00,1,4.20
e3,C2,CR-1,purchase,2026-03-06T10:00:00+01:00,3,5.70
e4,C2,GF-1,view,2026-03-07T10:00:00+01:00,1,
"""
# The same events with a date nobody can read on line 3.
EVENTS_BAD_DATE = EVENTS.replace("2026-03-11T09:15:00+00:00", "11/03/2026 9am")


def shop_uploads(*, events: str = EVENTS, gzip_events: bool = False) -> list[SimpleUploadedFile]:
    """The three files as a browser would upload them (events gzipped when asked)."""
    events_file = (
        SimpleUploadedFile("events.csv.gz", gzip.compress(events.encode()), "application/gzip")
        if gzip_events
        else SimpleUploadedFile("events.csv", events.encode(), "text/csv")
    )
    return [
        SimpleUploadedFile("catalog.csv", CATALOG.encode(), "text/csv"),
        SimpleUploadedFile("customers.csv", CUSTOMERS.encode(), "text/csv"),
        events_file,
    ]


def write_shop(folder: Path, *, events: str = EVENTS) -> list[Path]:
    """The three files on disk (for the browser, which uploads from disk)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in (
        ("catalog.csv", CATALOG),
        ("customers.csv", CUSTOMERS),
        ("events.csv", events),
    ):
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
