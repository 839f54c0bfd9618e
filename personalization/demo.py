"""The demo bakery "Crumb & Co.": a catalog, customers and a year of their events.

Plain Python without Django imports, and deterministic: the same seed and as-of date
always give the same rows, because every random choice comes from a `random.Random`
seeded with fixed values (never the global generator, never the clock). Every
timestamp is an offset from the as-of date, so another as-of date shifts the whole
history without changing it.

`seed_demo` writes these rows to CSV files in the formats `import_data` reads and
loads them through the importer; the column names below are those formats' headers.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

SHOP_NAME = "Crumb & Co."
DEFAULT_SEED = 1874  # the year the (fictional) bakery opened
DEFAULT_AS_OF = date(2026, 11, 20)
# Regular customers' histories cover this many days before the as-of date.
HISTORY_DAYS = 365
DEMO_PASSWORD = "demo-pass-1234"  # noqa: S105 - the public password of the demo logins

CATALOG_HEADER = ("sku", "name", "category", "price", "attributes", "active", "consumable")
CUSTOMER_HEADER = ("external_id", "email", "name", "audit:age_band", "audit:gender")
EVENT_HEADER = (
    "event_id",
    "customer_external_id",
    "sku",
    "kind",
    "occurred_at",
    "quantity",
    "value",
)

AGE_BANDS = ("18-34", "35-54", "55+")
GENDERS = ("woman", "man", "non-binary")

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


@dataclass(frozen=True)
class DemoLogin:
    """A demo account created by `seed_demo` (the only users it creates)."""

    email: str
    name: str
    role: str  # an `accounts.roles.Role` value
    # The imported customer record this login claims; staff and owners have none.
    external_id: str | None = None


GABLE = DemoLogin("gable@example.com", "Edith Gable", "customer", "C0001")
COELIAC = DemoLogin("coeliac@example.com", "Nadia Okafor", "customer", "C0002")
STAFF = DemoLogin("staff@example.com", "Sam Baker", "staff")
OWNER = DemoLogin("owner@example.com", "Olive Crumb", "owner")
LOGINS: tuple[DemoLogin, ...] = (GABLE, COELIAC, STAFF, OWNER)


@dataclass(frozen=True)
class Segment:
    """A taste shared by a group of customers, so that collaborative filtering has signal."""

    name: str
    share: float
    category_weights: dict[str, float]
    visits_per_week: tuple[float, float]
    basket_size: tuple[int, int]
    # Opening hours the segment visits in, as (first, last) minutes after midnight.
    visit_minutes: tuple[int, int]
    online_share: tuple[float, float]
    # Weights of AGE_BANDS among the segment's customers who declare an age band.
    age_weights: tuple[float, float, float]
    require: tuple[str, ...] = ()
    avoid: tuple[str, ...] = ()
    # Only items with allergen data, for customers who avoid an allergen.
    declared_only: bool = False


SEGMENTS: tuple[Segment, ...] = (
    Segment(
        "bread_lovers",
        0.20,
        {"breads": 0.72, "savouries": 0.08, "pastries": 0.1, "drinks": 0.05, "gifts": 0.05},
        (0.6, 1.5),
        (1, 2),
        (480, 1080),
        (0.0, 0.35),
        (0.2, 0.4, 0.4),
    ),
    Segment(
        "pastry_fans",
        0.14,
        {"pastries": 0.72, "drinks": 0.15, "cakes": 0.13},
        (0.6, 1.5),
        (1, 3),
        (450, 720),
        (0.0, 0.3),
        (0.4, 0.4, 0.2),
    ),
    Segment(
        "cake_buyers",
        0.10,
        {"cakes": 0.75, "drinks": 0.15, "pastries": 0.1},
        (0.4, 1.0),
        (1, 2),
        (600, 1050),
        (0.1, 0.5),
        (0.3, 0.35, 0.35),
    ),
    Segment(
        "coffee_and_croissant",
        0.13,
        {"drinks": 0.5, "pastries": 0.5},
        (1.2, 3.0),
        (2, 2),
        (420, 570),
        (0.0, 0.05),
        (0.55, 0.35, 0.1),
    ),
    Segment(
        "lunch_crowd",
        0.10,
        {"savouries": 0.62, "drinks": 0.28, "cakes": 0.1},
        (0.7, 1.7),
        (1, 3),
        (705, 840),
        (0.0, 0.15),
        (0.45, 0.45, 0.1),
    ),
    Segment(
        "vegans",
        0.07,
        {"breads": 0.3, "pastries": 0.2, "cakes": 0.2, "savouries": 0.15, "drinks": 0.15},
        (0.6, 1.5),
        (1, 3),
        (480, 1050),
        (0.1, 0.5),
        (0.55, 0.35, 0.1),
        require=(VEGAN,),
    ),
    Segment(
        "gluten_avoiders",
        0.05,
        {"breads": 0.35, "cakes": 0.3, "drinks": 0.2, "savouries": 0.1, "pastries": 0.05},
        (0.5, 1.2),
        (1, 3),
        (480, 1050),
        (0.1, 0.5),
        (0.3, 0.45, 0.25),
        avoid=(GLUTEN,),
        declared_only=True,
    ),
    Segment(
        "weekend_families",
        0.09,
        {"breads": 0.35, "pastries": 0.3, "cakes": 0.25, "drinks": 0.1},
        (0.6, 1.1),
        (2, 5),
        (510, 780),
        (0.0, 0.3),
        (0.2, 0.7, 0.1),
    ),
    Segment(
        "occasional",
        0.12,
        {
            "breads": 0.25,
            "pastries": 0.25,
            "cakes": 0.2,
            "savouries": 0.15,
            "drinks": 0.12,
            "gifts": 0.03,
        },
        (0.1, 0.4),
        (1, 3),
        (480, 1080),
        (0.0, 0.5),
        (0.3, 0.35, 0.35),
    ),
)
# The declared coeliac's own taste: gluten-free food and drinks without gluten.
COELIAC_SEGMENT = Segment(
    "declared_coeliac",
    0.0,
    {"breads": 0.35, "cakes": 0.3, "drinks": 0.2, "savouries": 0.1, "pastries": 0.05},
    (1.0, 1.5),
    (1, 3),
    (480, 1050),
    (0.2, 0.4),
    (0.3, 0.45, 0.25),
    avoid=(GLUTEN,),
    declared_only=True,
)
SEGMENTS_BY_NAME: dict[str, Segment] = {
    segment.name: segment for segment in (*SEGMENTS, COELIAC_SEGMENT)
}

FIRST_NAMES = (
    "Olivia Amelia Isla Ava Mia Grace Freya Lily Ella Evie Sophie Poppy Ruby Chloe Emily "
    "Zara Aisha Priya Hannah Rosie Maya Layla Niamh Sian Joanna Helen Susan Margaret "
    "Patricia Janet Oliver George Harry Noah Jack Leo Arthur Oscar Charlie Henry Thomas "
    "James William Samuel Joseph Daniel Mohammed Yusuf Arjun Kwame Liam Callum Owen Rhys "
    "David Peter Michael Richard Alex Robin Jordan Sasha Kai Jamie"
).split()
LAST_NAMES = (
    "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson "
    "Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson "
    "Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan "
    "Allen James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell "
    "Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Khan Begum "
    "Ahmed Nowak Kowalski Okafor Mensah Chen Wong Singh Kaur Murray O'Brien Campbell"
).split()


@dataclass(frozen=True)
class DemoCustomer:
    external_id: str
    email: str
    name: str
    segment: str
    age_band: str | None
    gender: str | None
    # Stated preferences `seed_demo` sets on the profile after the import.
    liked_categories: tuple[str, ...] = ()
    restrictions: tuple[str, ...] = ()

    def as_row(self) -> dict[str, str]:
        return {
            "external_id": self.external_id,
            "email": self.email,
            "name": self.name,
            "audit:age_band": self.age_band or "",
            "audit:gender": self.gender or "",
        }


@dataclass(frozen=True)
class DemoEvent:
    event_id: str
    customer_external_id: str
    sku: str
    kind: str
    occurred_at: datetime
    quantity: int
    value: Decimal

    def as_row(self) -> dict[str, str]:
        return {
            "event_id": self.event_id,
            "customer_external_id": self.customer_external_id,
            "sku": self.sku,
            "kind": self.kind,
            "occurred_at": self.occurred_at.isoformat(),
            "quantity": str(self.quantity),
            "value": str(self.value),
        }


@dataclass(frozen=True)
class DemoShop:
    as_of: date
    seed: int
    items: tuple[DemoItem, ...]
    customers: tuple[DemoCustomer, ...]
    events: tuple[DemoEvent, ...]
    logins: tuple[DemoLogin, ...] = LOGINS

    def catalog_rows(self) -> list[dict[str, str]]:
        return [item.as_row() for item in self.items]

    def customer_rows(self) -> list[dict[str, str]]:
        return [customer.as_row() for customer in self.customers]

    def event_rows(self) -> list[dict[str, str]]:
        return [event.as_row() for event in self.events]


def build_demo(*, as_of: date = DEFAULT_AS_OF, seed: int = DEFAULT_SEED) -> DemoShop:
    """The whole demo shop for `as_of`: the same arguments always give the same shop."""
    customers = _customers(seed=seed)
    raw: list[_RawEvent] = []
    for index, customer in enumerate(customers):
        # One generator per customer, so a change to one history leaves the others alone.
        rng = random.Random(f"{seed}:{customer.external_id}")
        if customer.external_id == GABLE.external_id:
            history = _gable_history(rng)
        else:
            history = _customer_history(rng, SEGMENTS_BY_NAME[customer.segment])
        raw.extend(
            _RawEvent(minute, index, seq, kind, sku, quantity, value)
            for seq, (minute, kind, sku, quantity, value) in enumerate(history)
        )
    # Ids follow time, like a shop's event log; `minute` is relative to as-of, so the
    # order (and every id) is the same for any as-of date.
    raw.sort(key=lambda event: (event.minute, event.customer_index, event.seq))
    start = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
    events = tuple(
        DemoEvent(
            event_id=f"demo-{number:08d}",
            customer_external_id=customers[event.customer_index].external_id,
            sku=event.sku,
            kind=event.kind,
            occurred_at=start + timedelta(minutes=event.minute),
            quantity=event.quantity,
            value=event.value,
        )
        for number, event in enumerate(raw, start=1)
    )
    return DemoShop(as_of=as_of, seed=seed, items=CATALOG, customers=customers, events=events)


# --- Customers ---------------------------------------------------------------------

CUSTOMER_COUNT = 300
# Share of customers who declared at least one audit attribute.
DECLARING_SHARE = 0.6


def _customers(*, seed: int) -> tuple[DemoCustomer, ...]:
    rng = random.Random(f"{seed}:customers")
    customers = [
        DemoCustomer(
            external_id=GABLE.external_id or "",
            email=GABLE.email,
            name=GABLE.name,
            segment="wheat_sourdough_only",
            age_band="55+",
            gender="woman",
        ),
        DemoCustomer(
            external_id=COELIAC.external_id or "",
            email=COELIAC.email,
            name=COELIAC.name,
            segment=COELIAC_SEGMENT.name,
            age_band="35-54",
            gender=None,
            liked_categories=("breads", "cakes"),
            restrictions=(GLUTEN,),
        ),
    ]
    segments = _segment_quota(CUSTOMER_COUNT - len(customers))
    rng.shuffle(segments)
    for number, segment in enumerate(segments, start=len(customers) + 1):
        age_band = gender = None
        if rng.random() < DECLARING_SHARE:
            if rng.random() < 0.9:
                age_band = rng.choices(AGE_BANDS, weights=segment.age_weights)[0]
            if rng.random() < 0.8:
                gender = rng.choices(GENDERS, weights=(0.52, 0.44, 0.04))[0]
            if age_band is None and gender is None:
                age_band = rng.choices(AGE_BANDS, weights=segment.age_weights)[0]
        liked: tuple[str, ...] = ()
        if rng.random() < 0.1:
            favourite = sorted(segment.category_weights.items(), key=lambda kv: -kv[1])
            liked = tuple(slug for slug, _ in favourite[: rng.randint(1, 2)])
        customers.append(
            DemoCustomer(
                external_id=f"C{number:04d}",
                email=f"customer{number:03d}@example.com",
                name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                segment=segment.name,
                age_band=age_band,
                gender=gender,
                liked_categories=liked,
            )
        )
    return tuple(customers)


def _segment_quota(count: int) -> list[Segment]:
    """`count` segments in their exact shares (largest remainder), not left to chance."""
    exact = [segment.share * count for segment in SEGMENTS]
    quota = [int(share) for share in exact]
    by_remainder = sorted(range(len(SEGMENTS)), key=lambda i: (quota[i] - exact[i], i))
    for index in by_remainder[: count - sum(quota)]:
        quota[index] += 1
    return [segment for segment, n in zip(SEGMENTS, quota, strict=True) for _ in range(n)]


# --- Histories -----------------------------------------------------------------------

# (minutes relative to as-of midnight, kind, sku, quantity, value)
_Event = tuple[int, str, str, int, Decimal]

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class _RawEvent:
    minute: int
    customer_index: int
    seq: int
    kind: str
    sku: str
    quantity: int
    value: Decimal


def _gable_history(rng: random.Random) -> list[_Event]:
    """Mrs. Gable: a wheat sourdough loaf most weeks for three and a half years, nothing else."""
    loaf = ITEMS_BY_SKU[GABLE_LOAF_SKU]
    history: list[_Event] = []
    day = -rng.randint(1, 4)
    while day > -int(3.5 * 365):
        years_ago = -day // 365
        # The loaf cost 20p less for each year back.
        price = loaf.price - Decimal("0.20") * years_ago
        quantity = 2 if rng.random() < 0.06 else 1
        minute = day * MINUTES_PER_DAY + rng.randint(8 * 60 + 30, 10 * 60 + 30)
        history.append((minute, "purchase", loaf.sku, quantity, price * quantity))
        # Weekly-ish, with the odd missed week.
        day -= rng.choice((6, 7, 7, 7, 7, 8, 14))
    return history


@dataclass
class _Taste:
    segment: Segment
    pool: list[DemoItem]
    pool_weights: list[float]
    favourites: list[DemoItem]
    habit: float
    online_share: float
    rated: set[str] = field(default_factory=set)


def _eligible(segment: Segment, item: DemoItem) -> bool:
    if not item.active:
        return False
    if segment.declared_only and not item.allergens_declared:
        return False
    if any(code not in item.attributes for code in segment.require):
        return False
    return not any(code in item.attributes for code in segment.avoid)


def _taste(rng: random.Random, segment: Segment) -> _Taste:
    pool = [item for item in CATALOG if _eligible(segment, item)]
    weights = [segment.category_weights.get(item.category, 0.0) * item.popularity for item in pool]
    pool, weights = (
        [item for item, w in zip(pool, weights, strict=True) if w > 0],
        [w for w in weights if w > 0],
    )
    if segment.name == "coffee_and_croissant":
        drinks = [i for i in pool if i.category == "drinks" and i.sku in _COFFEES]
        pastries = [i for i in pool if i.category == "pastries" and i.consumable]
        favourites = _sample(rng, drinks, [i.popularity for i in drinks], rng.randint(1, 2))
        favourites += _sample(rng, pastries, [i.popularity for i in pastries], rng.randint(1, 2))
    else:
        consumables = [(i, w) for i, w in zip(pool, weights, strict=True) if i.consumable]
        favourites = _sample(
            rng, [i for i, _ in consumables], [w for _, w in consumables], rng.randint(2, 5)
        )
    low, high = segment.online_share
    return _Taste(
        segment=segment,
        pool=pool,
        pool_weights=weights,
        favourites=favourites,
        habit=rng.uniform(0.55, 0.85),
        online_share=rng.uniform(low, high),
    )


_COFFEES = ("DR-001", "DR-002", "DR-003", "DR-004", "DR-005")


def _sample(
    rng: random.Random, items: Sequence[DemoItem], weights: Sequence[float], k: int
) -> list[DemoItem]:
    """Up to `k` distinct items, drawn by weight."""
    items, weights = list(items), list(weights)
    chosen: list[DemoItem] = []
    while items and len(chosen) < k:
        index = rng.choices(range(len(items)), weights=weights)[0]
        chosen.append(items.pop(index))
        weights.pop(index)
    return chosen


def _customer_history(rng: random.Random, segment: Segment) -> list[_Event]:
    taste = _taste(rng, segment)
    # Most customers were around all year; some joined later, some stopped coming.
    first_day = -HISTORY_DAYS if rng.random() < 0.7 else -rng.randint(30, HISTORY_DAYS - 30)
    last_day = -1 if rng.random() < 0.88 else rng.randint(first_day + 20, -1)
    last_day = min(max(last_day, first_day + 1), -1)
    mean_gap = 7 / rng.uniform(*segment.visits_per_week)
    history: list[_Event] = []
    day = first_day + int(rng.expovariate(1 / mean_gap))
    while day <= last_day or not history:
        day = min(day, last_day)
        if rng.random() < taste.online_share:
            history.extend(_online_visit(rng, taste, day))
        else:
            history.extend(_shop_visit(rng, taste, day))
        day += max(1, round(rng.expovariate(1 / mean_gap)))
    return history


def _visit_minute(rng: random.Random, taste: _Taste, day: int) -> int:
    first, last = taste.segment.visit_minutes
    return day * MINUTES_PER_DAY + rng.randint(first, last)


def _basket(rng: random.Random, taste: _Taste, day: int) -> list[tuple[DemoItem, int]]:
    low, high = taste.segment.basket_size
    size = rng.randint(low, high)
    basket: dict[str, tuple[DemoItem, int]] = {}
    if taste.segment.name == "coffee_and_croissant":
        drinks = [i for i in taste.favourites if i.category == "drinks"]
        pastries = [i for i in taste.favourites if i.category != "drinks"]
        picks = [rng.choice(drinks)] if drinks else []
        if pastries and rng.random() < 0.85:
            picks.append(rng.choice(pastries))
        elif rng.random() < 0.5:
            picks.append(_from_pool(rng, taste))
    else:
        picks = [
            rng.choice(taste.favourites)
            if taste.favourites and rng.random() < taste.habit
            else _from_pool(rng, taste)
            for _ in range(size)
        ]
    # Around Easter, many shoppers pick up hot cross buns.
    low_day, high_day = HOT_CROSS_BUN_DAYS_BEFORE
    bun = ITEMS_BY_SKU[HOT_CROSS_BUN_SKU]
    if -low_day <= day <= -high_day and _eligible_ignoring_season(taste.segment, bun):
        if rng.random() < 0.3:
            picks.append(bun)
    for item in picks:
        quantity = _quantity(rng, taste.segment, item)
        if item.sku in basket:
            quantity += basket[item.sku][1]
        basket[item.sku] = (item, quantity)
    return list(basket.values())


def _eligible_ignoring_season(segment: Segment, item: DemoItem) -> bool:
    return _eligible(segment, replace(item, active=True))


def _from_pool(rng: random.Random, taste: _Taste) -> DemoItem:
    return rng.choices(taste.pool, weights=taste.pool_weights)[0]


def _quantity(rng: random.Random, segment: Segment, item: DemoItem) -> int:
    if not item.consumable or item.price >= 9:
        return 1
    if item.category == "pastries":
        if segment.name == "weekend_families":
            return rng.choice((2, 3, 4, 4, 6))
        return rng.choice((1, 1, 1, 2, 2, 4)) if segment.name == "pastry_fans" else 1
    if item.category == "breads" and segment.name == "weekend_families":
        return rng.choice((1, 2))
    return 1 if rng.random() < 0.9 else 2


def _purchase(minute: int, item: DemoItem, quantity: int) -> _Event:
    return (minute, "purchase", item.sku, quantity, item.price * quantity)


def _shop_visit(rng: random.Random, taste: _Taste, day: int) -> list[_Event]:
    minute = _visit_minute(rng, taste, day)
    events: list[_Event] = []
    for item, quantity in _basket(rng, taste, day):
        events.append(_purchase(minute, item, quantity))
        events.extend(_maybe_rating(rng, taste, minute, item))
    return events


def _online_visit(rng: random.Random, taste: _Taste, day: int) -> list[_Event]:
    """A web-shop session: browsing, the basket, and usually an order."""
    # Evening sessions end before midnight, so no event falls on the as-of date.
    first, last = 6 * 60, 22 * 60
    minute = day * MINUTES_PER_DAY + rng.randint(first, last)
    zero = Decimal(0)
    events: list[_Event] = []
    for _ in range(rng.randint(1, 4)):
        events.append((minute, "view", _from_pool(rng, taste).sku, 1, zero))
        minute += rng.randint(1, 4)
    if rng.random() < 0.25:
        # Left without buying; sometimes with something still in the basket.
        if rng.random() < 0.4:
            events.append((minute, "cart", _from_pool(rng, taste).sku, 1, zero))
        return events
    basket = _basket(rng, taste, day)
    for item, quantity in basket:
        events.append((minute, "view", item.sku, 1, zero))
        events.append((minute + 1, "cart", item.sku, quantity, zero))
        minute += rng.randint(1, 3)
    minute += rng.randint(1, 5)
    for item, quantity in basket:
        events.append(_purchase(minute, item, quantity))
        events.extend(_maybe_rating(rng, taste, minute, item))
    return events


def _maybe_rating(rng: random.Random, taste: _Taste, minute: int, item: DemoItem) -> list[_Event]:
    if item.sku in taste.rated or rng.random() >= 0.05:
        return []
    taste.rated.add(item.sku)
    stars = rng.choice((4, 5, 5, 5)) if item in taste.favourites else rng.choice((2, 3, 4, 4, 5))
    # Rated a day or two later, from the receipt email.
    later = minute + rng.randint(1, 2) * MINUTES_PER_DAY
    if later >= 0:
        return []
    return [(later, "rating", item.sku, 1, Decimal(stars))]


def _flag(value: bool) -> str:
    return "true" if value else "false"
