"""The demo bakery's catalog: its items, their attribute codes and the seasonal bun."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

CATALOG_HEADER = ("sku", "name", "category", "price", "attributes", "active", "consumable")

GLUTEN = "contains:gluten"
NUTS = "contains:nuts"
MILK = "contains:milk"
EGG = "contains:egg"
SESAME = "contains:sesame"
SULPHITES = "contains:sulphites"
NO_ALLERGENS = "contains:none"
VEGAN = "vegan"
GLUTEN_FREE = "gluten-free"
ALCOHOL = "alcohol"


@dataclass(frozen=True)
class DemoItem:
    sku: str
    name: str
    category: str
    price: Decimal
    attributes: tuple[str, ...]
    # Relative appeal when a customer picks something new; not exported.
    popularity: float
    active: bool = True
    consumable: bool = True

    @property
    def allergens_declared(self) -> bool:
        return any(code.startswith("contains:") for code in self.attributes)

    def as_row(self) -> dict[str, str]:
        return {
            "sku": self.sku,
            "name": self.name,
            "category": self.category,
            "price": f"{self.price:.2f}",
            "attributes": ";".join(self.attributes),
            "active": _flag(self.active),
            "consumable": _flag(self.consumable),
        }


def _item(
    sku: str,
    name: str,
    category: str,
    price: str,
    attributes: str,
    popularity: float,
    *,
    active: bool = True,
    consumable: bool = True,
) -> DemoItem:
    return DemoItem(
        sku=sku,
        name=name,
        category=category,
        price=Decimal(price),
        attributes=tuple(attributes.split()) if attributes else (),
        popularity=popularity,
        active=active,
        consumable=consumable,
    )


G, N, M, E, S = GLUTEN, NUTS, MILK, EGG, SESAME

# Items from guest bakers and the soup of the day come without allergen data: the
# importer marks them `allergens_declared=False`, so they are never recommended to a
# customer with an allergen restriction.
CATALOG: tuple[DemoItem, ...] = (
    # Breads
    _item("BR-001", "Wheat Sourdough Loaf", "breads", "4.20", f"{G} {VEGAN}", 10),
    _item("BR-002", "Seeded Wheat Sourdough", "breads", "4.60", f"{G} {S} {VEGAN}", 6),
    _item("BR-003", "Rye Sourdough", "breads", "4.80", f"{G} {VEGAN}", 6),
    _item("BR-004", "Spelt & Honey Loaf", "breads", "4.50", G, 4),
    _item(
        "BR-005",
        "Gluten-Free Buckwheat Loaf",
        "breads",
        "5.20",
        f"{NO_ALLERGENS} {GLUTEN_FREE} {VEGAN}",
        4,
    ),
    _item("BR-006", "Gluten-Free Seeded Loaf", "breads", "5.50", f"{S} {E} {GLUTEN_FREE}", 3),
    _item("BR-007", "White Bloomer", "breads", "3.20", f"{G} {VEGAN}", 7),
    _item("BR-008", "Wholemeal Tin Loaf", "breads", "3.40", f"{G} {VEGAN}", 5),
    _item("BR-009", "Baguette", "breads", "2.20", f"{G} {VEGAN}", 8),
    _item("BR-010", "Brioche Loaf", "breads", "4.40", f"{G} {M} {E}", 4),
    _item("BR-011", "Walnut & Raisin Sourdough", "breads", "5.20", f"{G} {N} {VEGAN}", 3),
    _item("BR-012", "Rosemary & Olive Focaccia", "breads", "4.20", f"{G} {VEGAN}", 5),
    _item("BR-013", "Challah", "breads", "4.80", f"{G} {E}", 2),
    _item("BR-014", "Danish Rye (Rugbrød)", "breads", "5.00", f"{G} {S} {VEGAN}", 2),
    _item("BR-015", "Guest Baker's Country Cob", "breads", "3.80", "", 2),
    # Pastries
    _item("PA-001", "Butter Croissant", "pastries", "2.10", f"{G} {M} {E}", 10),
    _item("PA-002", "Pain au Chocolat", "pastries", "2.40", f"{G} {M} {E}", 8),
    _item("PA-003", "Almond Croissant", "pastries", "3.20", f"{G} {N} {M} {E}", 6),
    _item("PA-004", "Cinnamon Bun", "pastries", "3.00", f"{G} {M} {E}", 7),
    _item("PA-005", "Cardamom Bun", "pastries", "3.10", f"{G} {M} {E}", 5),
    _item("PA-006", "Vegan Cinnamon Swirl", "pastries", "3.00", f"{G} {VEGAN}", 3),
    _item("PA-007", "Pain aux Raisins", "pastries", "2.60", f"{G} {M} {E}", 4),
    _item("PA-008", "Custard Danish", "pastries", "2.90", f"{G} {M} {E}", 4),
    _item("PA-009", "Apricot Danish", "pastries", "2.80", f"{G} {M} {E}", 3),
    _item("PA-010", "Kouign-Amann", "pastries", "3.40", f"{G} {M}", 3),
    _item("PA-011", "Morning Bun", "pastries", "3.20", f"{G} {M} {E}", 3),
    _item(
        "PA-012", "Gluten-Free Blueberry Muffin", "pastries", "3.20", f"{M} {E} {GLUTEN_FREE}", 3
    ),
    _item("PA-013", "Mince Pie", "pastries", "1.90", f"{G} {M}", 2),
    _item("PA-014", "Hot Cross Bun", "pastries", "1.60", f"{G} {M} {E}", 0, active=False),
    _item("PA-015", "Guest Baker's Pistachio Snail", "pastries", "3.60", "", 2),
    # Cakes
    _item("CA-001", "Victoria Sponge (slice)", "cakes", "3.80", f"{G} {M} {E}", 6),
    _item("CA-002", "Carrot Cake (slice)", "cakes", "4.00", f"{G} {N} {M} {E}", 6),
    _item("CA-003", "Lemon Drizzle (slice)", "cakes", "3.50", f"{G} {M} {E}", 6),
    _item("CA-004", "Gluten-Free Chocolate Brownie", "cakes", "3.20", f"{M} {E} {GLUTEN_FREE}", 6),
    _item("CA-005", "Vegan Banana Bread (slice)", "cakes", "3.20", f"{G} {N} {VEGAN}", 4),
    _item("CA-006", "Almond & Orange Cake (slice)", "cakes", "3.80", f"{N} {E} {GLUTEN_FREE}", 3),
    _item("CA-007", "Raspberry Macarons (box of 6)", "cakes", "9.00", f"{N} {E} {GLUTEN_FREE}", 2),
    _item("CA-008", "Lemon Meringue Tart", "cakes", "4.20", f"{G} {M} {E}", 4),
    _item("CA-009", "Whole Victoria Sponge", "cakes", "22.00", f"{G} {M} {E}", 1),
    _item("CA-010", "Chocolate Celebration Cake", "cakes", "32.00", f"{G} {M} {E}", 1),
    _item("CA-011", "Whole Carrot Cake", "cakes", "26.00", f"{G} {N} {M} {E}", 1),
    _item("CA-012", "Vegan Chocolate Cake (slice)", "cakes", "4.00", f"{G} {VEGAN}", 3),
    _item("CA-013", "Guest Baker's Apple Strudel", "cakes", "4.20", "", 2),
    # Savouries
    _item("SV-001", "Cheese & Onion Pasty", "savouries", "4.20", f"{G} {M} {E}", 6),
    _item("SV-002", "Sausage Roll", "savouries", "3.60", f"{G} {E}", 8),
    _item("SV-003", "Vegan Lentil Roll", "savouries", "3.60", f"{G} {VEGAN}", 4),
    _item("SV-004", "Ham & Gruyère Croissant", "savouries", "4.50", f"{G} {M} {E}", 5),
    _item("SV-005", "Spinach & Feta Quiche (slice)", "savouries", "4.40", f"{G} {M} {E}", 4),
    _item("SV-006", "Gluten-Free Cheese Scone", "savouries", "3.20", f"{M} {E} {GLUTEN_FREE}", 3),
    _item("SV-007", "Mozzarella & Tomato Focaccia", "savouries", "5.50", f"{G} {M}", 5),
    _item("SV-008", "Pesto & Pine Nut Twist", "savouries", "3.40", f"{G} {N} {M}", 3),
    _item("SV-009", "Soup of the Day", "savouries", "4.80", "", 3),
    # Drinks
    _item("DR-001", "Espresso", "drinks", "2.20", f"{NO_ALLERGENS} {VEGAN}", 5),
    _item("DR-002", "Flat White", "drinks", "3.20", M, 9),
    _item("DR-003", "Cappuccino", "drinks", "3.30", M, 8),
    # Oat drinks carry a may-contain-gluten warning unless certified.
    _item("DR-004", "Oat Milk Latte", "drinks", "3.60", f"{G} {VEGAN}", 6),
    _item("DR-005", "Americano", "drinks", "2.60", f"{NO_ALLERGENS} {VEGAN}", 6),
    _item("DR-006", "English Breakfast Tea", "drinks", "2.30", f"{NO_ALLERGENS} {VEGAN}", 5),
    _item("DR-007", "Hot Chocolate", "drinks", "3.40", M, 4),
    _item("DR-008", "Fresh Orange Juice", "drinks", "3.00", f"{NO_ALLERGENS} {VEGAN}", 3),
    _item("DR-009", "Sparkling Elderflower", "drinks", "2.80", f"{NO_ALLERGENS} {VEGAN}", 2),
    _item("DR-010", "Somerset Dry Cider", "drinks", "4.80", f"{ALCOHOL} {SULPHITES} {VEGAN}", 1),
    # Gifts: durables, rarely bought twice.
    _item("GF-001", "Linen Bread Bag", "gifts", "12.00", NO_ALLERGENS, 8, consumable=False),
    _item("GF-002", "Cane Proofing Basket", "gifts", "16.00", NO_ALLERGENS, 6, consumable=False),
)

ITEMS_BY_SKU: dict[str, DemoItem] = {item.sku: item for item in CATALOG}
GABLE_LOAF_SKU = "BR-001"
# The hot cross bun is off sale now; it sold around Easter, this many days before the
# as-of date (Easter 2026 for the default as-of date).
HOT_CROSS_BUN_SKU = "PA-014"
HOT_CROSS_BUN_DAYS_BEFORE = (240, 220)


def _flag(value: bool) -> str:
    return "true" if value else "false"
