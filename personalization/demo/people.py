"""The demo bakery's people: the demo logins, the customer segments and the customers."""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass

from personalization.demo.catalog import GLUTEN, VEGAN

DEMO_PASSWORD = "demo-pass-1234"  # noqa: S105 - the public password of the demo logins

CUSTOMER_HEADER = ("external_id", "email", "name", "audit:age_band", "audit:gender")

AGE_BANDS = ("18-34", "35-54", "55+")
GENDERS = ("woman", "man", "non-binary")


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


def switched_off(customers: tuple[DemoCustomer, ...]) -> tuple[str, ...]:
    """The demo's one real bias-audit finding: about half the customers who declared age
    band 55+ switched personalization off (the other groups almost never did), so the
    audit's opt-out measure finds a gap an owner can acknowledge and resolve. Mrs. Gable
    and the coeliac keep theirs on. A stable choice by id (crc32; hash() varies)."""
    story = {GABLE.email, COELIAC.email}
    return tuple(
        c.external_id
        for c in customers
        if c.age_band == "55+"
        and c.email not in story
        and zlib.crc32(c.external_id.encode()) % 2 == 0
    )
