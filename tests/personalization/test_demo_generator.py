"""The demo bakery generator: deterministic, realistic, and true to Mrs. Gable's story."""

import hashlib
import re
import statistics
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from personalization import demo

AS_OF = date(2026, 11, 20)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shop() -> demo.DemoShop:
    return demo.build_demo(as_of=AS_OF)


@pytest.fixture(scope="module")
def items(shop) -> dict[str, demo.DemoItem]:
    return {item.sku: item for item in shop.items}


def events_of(shop: demo.DemoShop, email: str) -> list[demo.DemoEvent]:
    external_id = next(c.external_id for c in shop.customers if c.email == email)
    return [e for e in shop.events if e.customer_external_id == external_id]


def test_same_seed_and_date_give_identical_rows(shop):
    # when
    again = demo.build_demo(as_of=AS_OF)
    # then
    assert again.catalog_rows() == shop.catalog_rows()
    assert again.customer_rows() == shop.customer_rows()
    assert again.event_rows() == shop.event_rows()


def test_rows_do_not_depend_on_the_process_hash_seed():
    """Set iteration order changes with PYTHONHASHSEED; the demo must not depend on it."""
    script = (
        "import hashlib; from personalization import demo; s = demo.build_demo(); "
        "print(hashlib.sha256(repr((s.catalog_rows(), s.customer_rows(), s.event_rows()))"
        ".encode()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env={"PYTHONHASHSEED": hash_seed, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for hash_seed in ("1", "2")
    }
    here = demo.build_demo()
    rows = (here.catalog_rows(), here.customer_rows(), here.event_rows())
    expected = hashlib.sha256(repr(rows).encode()).hexdigest()
    assert digests == {expected}


def test_another_seed_gives_other_customers_and_histories(shop):
    other = demo.build_demo(as_of=AS_OF, seed=demo.DEFAULT_SEED + 1)
    assert other.catalog_rows() == shop.catalog_rows()
    assert other.customer_rows() != shop.customer_rows()
    assert other.event_rows() != shop.event_rows()


def test_another_as_of_date_shifts_every_event_by_the_difference(shop):
    # when
    later = demo.build_demo(as_of=AS_OF + timedelta(days=45))
    # then
    assert len(later.events) == len(shop.events)
    for before, after in zip(shop.events, later.events, strict=True):
        assert after.event_id == before.event_id
        assert (after.customer_external_id, after.sku, after.kind) == (
            before.customer_external_id,
            before.sku,
            before.kind,
        )
        assert after.occurred_at - before.occurred_at == timedelta(days=45)


def test_history_ends_before_the_as_of_date_and_regulars_cover_one_year(shop):
    start = datetime(2026, 11, 20, tzinfo=UTC)
    gable_id = demo.GABLE.external_id
    regular = [e for e in shop.events if e.customer_external_id != gable_id]
    assert max(e.occurred_at for e in shop.events) < start
    assert min(e.occurred_at for e in regular) >= start - timedelta(days=365)
    assert all(e.occurred_at.utcoffset() == timedelta(0) for e in shop.events)


def test_sizes_are_those_of_a_small_bakery(shop):
    kinds = Counter(e.kind for e in shop.events)

    assert 55 <= len(shop.items) <= 70
    assert 280 <= len(shop.customers) <= 320
    assert 25_000 <= len(shop.events) <= 35_000
    assert set(kinds) == {"purchase", "view", "cart", "rating"}
    assert kinds["purchase"] > len(shop.events) / 2
    assert {item.category for item in shop.items} >= {"breads", "pastries", "cakes", "drinks"}


def test_every_customer_has_a_history_and_every_item_sold_at_least_once(shop):
    customers_with_events = {e.customer_external_id for e in shop.events}
    sold = {e.sku for e in shop.events if e.kind == "purchase"}

    assert customers_with_events == {c.external_id for c in shop.customers}
    assert sold == {item.sku for item in shop.items}


def test_exactly_one_alcoholic_item_and_it_is_a_drink(shop):
    alcoholic = [item for item in shop.items if "alcohol" in item.attributes]

    assert [(item.name, item.category) for item in alcoholic] == [("Somerset Dry Cider", "drinks")]


def test_a_handful_of_items_have_no_allergen_data(shop):
    undeclared = [item for item in shop.items if not item.allergens_declared]

    assert 3 <= len(undeclared) <= 5
    for item in undeclared:
        assert not any(code.startswith("contains:") for code in item.attributes)
        assert demo.ITEMS_BY_SKU[item.sku].as_row()["attributes"].count("contains:") == 0


def test_declared_no_allergens_is_never_mixed_with_an_allergen(shop):
    for item in shop.items:
        if "contains:none" in item.attributes:
            assert [c for c in item.attributes if c.startswith("contains:")] == ["contains:none"]


def test_the_catalog_has_wheat_rye_and_gluten_free_loaves(items):
    breads = {item.name: item for item in items.values() if item.category == "breads"}

    assert "contains:gluten" in breads["Wheat Sourdough Loaf"].attributes
    assert "contains:gluten" in breads["Rye Sourdough"].attributes
    gluten_free = [b for b in breads.values() if "gluten-free" in b.attributes]
    assert len(gluten_free) >= 2
    assert all("contains:gluten" not in b.attributes and b.allergens_declared for b in gluten_free)


def test_mrs_gable_bought_wheat_sourdough_weekly_for_years_and_nothing_else(shop):
    history = events_of(shop, "gable@example.com")
    days = sorted(e.occurred_at.date() for e in history)
    gaps = [(b - a).days for a, b in zip(days, days[1:], strict=False)]

    assert {(e.sku, e.kind) for e in history} == {(demo.GABLE_LOAF_SKU, "purchase")}
    assert demo.ITEMS_BY_SKU[demo.GABLE_LOAF_SKU].name == "Wheat Sourdough Loaf"
    assert days[-1] - days[0] >= timedelta(days=3 * 365)
    assert statistics.median(gaps) == 7
    assert len(history) >= 150


def test_the_coeliac_never_touched_anything_with_gluten(shop, items):
    history = events_of(shop, "coeliac@example.com")
    coeliac = next(c for c in shop.customers if c.email == "coeliac@example.com")
    food = {e.sku for e in history if items[e.sku].category != "drinks"}

    assert coeliac.restrictions == ("contains:gluten",)
    assert len(history) >= 50
    assert all("contains:gluten" not in items[e.sku].attributes for e in history)
    assert all(items[e.sku].allergens_declared for e in history)
    assert food, "expected gluten-free bread and cakes in her history"
    assert all("gluten-free" in items[sku].attributes for sku in food)


def test_taste_segments_give_collaborative_filtering_something_to_learn(shop, items):
    segment_of = {c.external_id: c.segment for c in shop.customers}
    purchases = [e for e in shop.events if e.kind == "purchase"]

    def share(segment: str, predicate) -> float:
        mine = [e for e in purchases if segment_of[e.customer_external_id] == segment]
        return sum(1 for e in mine if predicate(items[e.sku])) / len(mine)

    assert share("vegans", lambda item: "vegan" in item.attributes) == 1
    assert share("gluten_avoiders", lambda i: "contains:gluten" not in i.attributes) == 1
    assert share("coffee_and_croissant", lambda i: i.category in {"drinks", "pastries"}) > 0.9
    assert share("bread_lovers", lambda item: item.category == "breads") > 0.6
    assert share("cake_buyers", lambda item: item.category == "cakes") > 0.6
    assert len({c.segment for c in shop.customers}) >= 8


def test_about_sixty_percent_declared_audit_attributes(shop):
    declaring = [c for c in shop.customers if c.age_band or c.gender]

    assert 0.5 <= len(declaring) / len(shop.customers) <= 0.7
    assert {c.age_band for c in shop.customers} == {None, "18-34", "35-54", "55+"}
    assert {c.gender for c in shop.customers} == {None, "woman", "man", "non-binary"}


def test_only_the_demo_logins_have_named_addresses(shop):
    login_emails = {login.email for login in shop.logins if login.role == "customer"}
    others = [c for c in shop.customers if c.email not in login_emails]

    assert {login.email for login in shop.logins} == {
        "gable@example.com",
        "coeliac@example.com",
        "staff@example.com",
        "owner@example.com",
    }
    assert all(re.fullmatch(r"customer\d{3}@example\.com", c.email) for c in others)
    assert len({c.email for c in shop.customers}) == len(shop.customers)
    assert len({c.external_id for c in shop.customers}) == len(shop.customers)
    assert "staff@example.com" not in {c.email for c in shop.customers}
    assert "owner@example.com" not in {c.email for c in shop.customers}


def test_rows_match_the_import_formats(shop):
    catalog, customers, events = shop.catalog_rows(), shop.customer_rows(), shop.event_rows()

    assert all(tuple(row) == demo.CATALOG_HEADER for row in catalog)
    assert all(tuple(row) == demo.CUSTOMER_HEADER for row in customers)
    assert all(tuple(row) == demo.EVENT_HEADER for row in events)
    assert all(re.fullmatch(r"\d+\.\d\d", row["price"]) for row in catalog)
    assert {row["active"] for row in catalog} == {"true", "false"}
    assert len({row["event_id"] for row in events}) == len(events)
    assert all(re.fullmatch(r"demo-\d{8}", row["event_id"]) for row in events)
    for row in events:
        value = Decimal(row["value"])
        assert int(row["quantity"]) >= 1
        assert value == value.quantize(Decimal("0.01"))
        if row["kind"] == "rating":
            assert 1 <= value <= 5
        elif row["kind"] in {"view", "cart"}:
            assert value == 0
        else:
            sku = demo.ITEMS_BY_SKU[row["sku"]]
            assert value > 0
            assert value <= sku.price * int(row["quantity"])
