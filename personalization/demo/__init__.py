"""The demo bakery "Crumb & Co.": a catalog, customers and a year of their events.

Plain Python without Django imports, and deterministic: the same seed and as-of date
always give the same rows, because every random choice comes from a `random.Random`
seeded with fixed values (never the global generator, never the clock). Every
timestamp is an offset from the as-of date, so another as-of date shifts the whole
history without changing it.

`seed_demo` writes these rows to CSV files in the formats `import_data` reads and
loads them through the importer; the column names below are those formats' headers.
"""

from personalization.demo.catalog import (
    CATALOG,
    CATALOG_HEADER,
    GABLE_LOAF_SKU,
    GLUTEN,
    GLUTEN_FREE,
    ITEMS_BY_SKU,
    DemoItem,
)
from personalization.demo.histories import EVENT_HEADER, DemoEvent
from personalization.demo.people import (
    COELIAC,
    CUSTOMER_HEADER,
    DEMO_PASSWORD,
    GABLE,
    OWNER,
    STAFF,
    switched_off,
)
from personalization.demo.shop import (
    DEFAULT_AS_OF,
    DEFAULT_SEED,
    SHOP_NAME,
    DemoShop,
    build_demo,
)
from personalization.demo.snapshots import HISTORY_DAYS, DailyModeCounts, mode_history

__all__ = [
    "CATALOG",
    "CATALOG_HEADER",
    "COELIAC",
    "CUSTOMER_HEADER",
    "DEFAULT_AS_OF",
    "DEFAULT_SEED",
    "DEMO_PASSWORD",
    "EVENT_HEADER",
    "GABLE",
    "GABLE_LOAF_SKU",
    "GLUTEN",
    "GLUTEN_FREE",
    "HISTORY_DAYS",
    "ITEMS_BY_SKU",
    "OWNER",
    "SHOP_NAME",
    "STAFF",
    "DailyModeCounts",
    "DemoEvent",
    "DemoItem",
    "DemoShop",
    "build_demo",
    "mode_history",
    "switched_off",
]
