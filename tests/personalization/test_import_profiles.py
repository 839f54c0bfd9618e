"""A shop's own exports through the import profiles: each documented sample imports, its
real-world rows are handled and counted, a re-import adds nothing, and a broken row is
refused with its line and nothing written."""

from __future__ import annotations

import gzip
import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from accounts.models import CustomerProfile
from personalization import engine
from personalization.importing import import_profile
from personalization.importing.profiles import tag_code
from personalization.models import GuestSale, Interaction, Item, NonProductCode
from personalization.recommending import loading
from tests.personalization.sessions import grant

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("seeded_codes")]


def sample(name: str) -> str:
    return str(SAMPLES / name)


def events() -> list[tuple[str | None, str, str, int, Decimal]]:
    return list(
        Interaction.objects.order_by("event_id").values_list(
            "customer__external_id", "item__sku", "kind", "quantity", "value"
        )
    )


def test_online_retail_sample_imports_customers_purchases_returns_and_guest_lines():
    report = import_profile("online-retail", [sample("online-retail.csv")])

    assert report.ok, report.errors
    # 12583 only bought a manual adjustment (M): still one of the shop's customers.
    assert set(CustomerProfile.objects.values_list("external_id", flat=True)) == {
        "17850",
        "12680",
        "12583",
    }
    assert sorted(events()) == sorted(
        [
            ("17850", "85123A", "purchase", 6, Decimal("15.30")),
            ("17850", "71053", "purchase", 6, Decimal("20.34")),
            # The same line twice in one invoice: two sales.
            ("17850", "22633", "purchase", 6, Decimal("11.10")),
            ("17850", "22633", "purchase", 6, Decimal("11.10")),
            # The cancellation, its code in lower case, is the same item returned.
            ("17850", "85123A", "return", 2, Decimal("5.10")),
            ("12680", "22730", "purchase", 4, Decimal("15.00")),
        ]
    )
    # Guests: popularity only, nobody created for them.
    assert sorted(GuestSale.objects.values_list("item__sku", "kind", "quantity")) == [
        ("21773", "purchase", 1),
        ("21773", "return", 1),
        ("71053", "purchase", 2),
    ]
    # Postage and the manual line never become items; the padded name is trimmed.
    assert not Item.objects.filter(sku__in=["POST", "M"]).exists()
    assert Item.objects.get(sku="71053").name == "WHITE METAL LANTERN"
    assert Item.objects.get(sku="85123A").price == Decimal("2.55")
    # Local times in the shop's zone (London, winter: UTC).
    first = Interaction.objects.get(item__sku="71053")
    assert first.occurred_at == datetime(2010, 12, 1, 8, 26, tzinfo=UTC)
    assert report.counts == {
        "purchases": 5,
        "returns": 1,
        "guest_purchases": 2,
        "guest_returns": 1,
        "non_product_lines": 2,
        "zero_price_lines": 1,
        "stock_adjustments": 1,
        "stock_codes_case_folded": 1,
        "padded_descriptions": 1,
        "repeated_lines": 1,
        "local_times": 13,
        "items_created": 5,
        "customers_created": 3,
        "events_created": 6,
        "guest_lines_created": 3,
    }
    assert report.non_product_codes == {"POST": 1, "M": 1}


def test_online_retail_reimport_adds_nothing(tmp_path):
    first = import_profile("online-retail", [sample("online-retail.csv")])
    stored = (Interaction.objects.count(), GuestSale.objects.count(), Item.objects.count())

    again = import_profile("online-retail", [sample("online-retail.csv")])

    assert first.ok and again.ok
    assert (Interaction.objects.count(), GuestSale.objects.count(), Item.objects.count()) == (
        stored
    )
    assert CustomerProfile.objects.count() == 3
    assert again.counts["events_already_imported"] == 6
    assert again.counts["guest_lines_already_imported"] == 3
    assert "events_created" not in again.counts and "customers_created" not in again.counts


def test_a_gzipped_export_imports_the_same(tmp_path):
    packed = tmp_path / "online-retail.csv.gz"
    with open(sample("online-retail.csv"), "rb") as f, gzip.open(packed, "wb") as out:
        shutil.copyfileobj(f, out)

    report = import_profile("online-retail", [str(packed)])

    assert report.ok, report.errors
    assert Interaction.objects.count() == 6 and GuestSale.objects.count() == 3


def test_one_bad_date_refuses_the_whole_file_with_its_line(tmp_path):
    lines = Path(sample("online-retail.csv")).read_text().splitlines(keepends=True)
    lines[4] = lines[4].replace("2010-12-01 08:28:00", "01/12/2010 8.28")
    broken = tmp_path / "broken.csv"
    broken.write_text("".join(lines))

    report = import_profile("online-retail", [str(broken)])

    assert not report.ok
    assert report.errors == [
        f"{broken}:5: InvoiceDate '01/12/2010 8.28' is not a date and time like 2010-12-01 08:26:00"
    ]
    assert Interaction.objects.count() == 0
    assert GuestSale.objects.count() == 0
    assert CustomerProfile.objects.count() == 0
    assert not Item.objects.exists()


def test_a_summer_time_is_read_in_the_shops_time_zone(tmp_path, settings):
    settings.SHOP_TIME_ZONE = "Europe/Berlin"
    export = tmp_path / "summer.csv"
    export.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "560000,22423,REGENCY CAKESTAND 3 TIER,1,2011-07-14 10:00:00,12.75,13047,Germany\n"
    )

    assert import_profile("online-retail", [str(export)]).ok

    assert Interaction.objects.get().occurred_at == datetime(2011, 7, 14, 8, 0, tzinfo=UTC)


def test_another_layout_is_refused_on_the_header_line():
    report = import_profile("online-retail", [sample("shopify-orders.csv")])

    assert not report.ok
    assert report.errors[0].startswith(
        f"{sample('shopify-orders.csv')}:1: not a Online Retail invoice lines (UCI) file: "
        "missing column(s) invoiceno"
    )
    assert not Interaction.objects.exists()


def test_a_line_in_another_encoding_is_refused_with_its_line(tmp_path):
    export = tmp_path / "latin1.csv"
    export.write_bytes(
        Path(sample("online-retail.csv")).read_bytes().replace(b"LANTERN ", b"LANT\xc9RN ")
    )

    report = import_profile("online-retail", [str(export)])

    assert report.errors == [f"{export}:3: not valid UTF-8 text (save the file as UTF-8)"]
    assert not Interaction.objects.exists() and not CustomerProfile.objects.exists()


def test_an_owner_added_code_is_kept_out_and_counted():
    NonProductCode.objects.create(code=" adjust ")  # stored folded and trimmed
    NonProductCode.objects.create(code="22730", note="a display stand, not for sale")

    report = import_profile("online-retail", [sample("online-retail.csv")])

    assert NonProductCode.objects.filter(code="ADJUST").exists()
    assert report.non_product_codes["22730"] == 1
    assert not Interaction.objects.filter(item__sku="22730").exists()
    # The customer of that line is still the shop's customer.
    assert CustomerProfile.objects.filter(external_id="12680").exists()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("Children's", "childrens"),
        ("Gluten Free", "gluten-free"),
        ("Contains: Milk", "contains:milk"),
        ("genre:children's", "genre:childrens"),
        ("Gift_Boxes", "gift-boxes"),
        ("  Sugar  Free ", "sugar-free"),
        ("★", ""),
    ],
)
def test_free_text_tags_become_codes(raw, code):
    assert tag_code(raw) == code


def test_shopify_products_sample_imports_variants_with_normalised_tags():
    report = import_profile("shopify-products", [sample("shopify-products.csv")])

    assert report.ok, report.errors
    items = {item.sku: item for item in Item.objects.prefetch_related("attributes")}
    assert set(items) == {"LOAF-S", "LOAF-L", "BOX-1", "OLD-TIN"}
    assert items["LOAF-S"].name == "Seeded Loaf (Small)"
    assert items["LOAF-L"].price == Decimal("5.10")
    assert {a.code for a in items["LOAF-L"].attributes.all()} == {
        "contains:sesame",
        "gluten-free",
        "vegan",
    }
    assert items["LOAF-L"].allergens_declared
    assert {a.code for a in items["BOX-1"].attributes.all()} == {"childrens", "gift-boxes"}
    assert not items["OLD-TIN"].active  # not published, archived
    assert items["BOX-1"].category.slug == "gifts"
    assert report.tag_mapping == {
        "Children's": "childrens",
        "Contains: Sesame": "contains:sesame",
        "Gift_Boxes": "gift-boxes",
        "Gluten Free": "gluten-free",
        "Vegan": "vegan",
    }
    assert report.counts["image_rows"] == 1
    assert report.counts["variants_without_sku"] == 1


def test_shopify_orders_sample_imports_refunds_as_returns_and_guests_as_popularity():
    import_profile("shopify-products", [sample("shopify-products.csv")])

    report = import_profile("shopify-orders", [sample("shopify-orders.csv")])

    assert report.ok, report.errors
    assert sorted(events()) == [
        ("ann@example.com", "BOX-1", "purchase", 1, Decimal("12.00")),
        ("ann@example.com", "LOAF-S", "purchase", 2, Decimal("7.80")),
        ("ben@example.com", "LOAF-L", "purchase", 1, Decimal("5.10")),
        ("ben@example.com", "LOAF-L", "return", 1, Decimal("5.10")),
    ]
    ann = CustomerProfile.objects.get(external_id="ann@example.com")
    assert (ann.email, ann.name) == ("ann@example.com", "Ann Baker")
    first = Interaction.objects.get(item__sku="BOX-1")
    assert first.occurred_at == datetime(2026, 3, 4, 8, 15, tzinfo=UTC)  # +01:00 in the file
    assert list(GuestSale.objects.values_list("item__sku", "kind")) == [("LOAF-S", "purchase")]
    assert report.counts["not_sales"] == 1  # the voided order
    assert report.counts["zero_price_lines"] == 1
    # An order export never changes what the product export said.
    assert Item.objects.get(sku="LOAF-S").name == "Seeded Loaf (Small)"


def test_shopify_order_of_a_known_email_is_that_customers():
    CustomerProfile.objects.create(external_id="C-77", email="Ann@Example.com")

    import_profile("shopify-orders", [sample("shopify-orders.csv")])

    assert not CustomerProfile.objects.filter(external_id="ann@example.com").exists()
    assert Interaction.objects.filter(customer__external_id="C-77").count() == 2


def test_woocommerce_orders_sample_imports():
    report = import_profile("woocommerce-orders", [sample("woocommerce-orders.csv")])

    assert report.ok, report.errors
    assert sorted(events()) == [
        ("12", "BOX-1", "purchase", 1, Decimal("12.00")),
        ("12", "BOX-1", "return", 1, Decimal("12.00")),
        ("12", "LOAF-S", "purchase", 2, Decimal("7.80")),
        ("14", "LOAF-L", "purchase", 1, Decimal("5.10")),
        ("14", "LOAF-L", "return", 1, Decimal("5.10")),
    ]
    assert CustomerProfile.objects.get(external_id="12").name == "Cara Dunn"
    assert GuestSale.objects.count() == 1  # customer_id 0: a guest checkout
    assert report.counts["not_sales"] == 1  # the failed order
    # Woo's order_date is the site's local time (London, March: UTC).
    first = Interaction.objects.get(item__sku="LOAF-S")
    assert first.occurred_at == datetime(2026, 3, 4, 9, 15, tzinfo=UTC)


def test_fairshare_profile_reads_the_contract_files_by_their_headers():
    report = import_profile(
        "fairshare",
        [
            sample("fairshare-events.csv"),
            sample("fairshare-customers.csv"),
            sample("fairshare-catalog.csv"),
        ],
    )

    assert report.ok, report.errors
    assert report.counts == {"items_created": 3, "customers_created": 2, "events_created": 4}
    # The contract's files carry returns too: one of the two loaves came back.
    assert sorted(Interaction.objects.values_list("event_id", "kind", "quantity")) == [
        ("ev-1", "purchase", 2),
        ("ev-2", "purchase", 1),
        ("ev-3", "view", 1),
        ("ev-4", "return", 1),
    ]


def test_fairshare_profile_refuses_a_file_it_does_not_know():
    report = import_profile("fairshare", [sample("online-retail.csv")])

    assert report.errors == [
        f"{sample('online-retail.csv')}:1: not a Fairshare catalog, customers or events file "
        "(see docs/data-formats.md for their columns)"
    ]


def test_command_takes_a_profile_and_files(capsys):
    call_command(
        "import_data",
        "--profile",
        "online-retail",
        "--file",
        sample("online-retail.csv"),
    )

    out = capsys.readouterr().out
    assert "returns and cancellations by customers" in out
    assert "non-product code POST: 1 lines kept out" in out
    assert "Import complete." in out
    assert Interaction.objects.count() == 6


def test_command_dry_run_writes_nothing_and_counts_what_it_would_add(capsys):
    call_command(
        "import_data",
        "--profile",
        "shopify-products",
        "--file",
        sample("shopify-products.csv"),
        "--dry-run",
    )

    out = capsys.readouterr().out
    assert "items added to the catalog" in out
    assert "'Gluten Free' -> 'gluten-free'" in out
    assert not Item.objects.exists()


# --- what the engine makes of it ---------------------------------------------------------


def test_a_returned_purchase_is_not_evidence_for_the_engine():
    import_profile("online-retail", [sample("online-retail.csv")])
    customer = CustomerProfile.objects.get(external_id="17850")
    grant(customer)
    catalog = loading.catalog_load()

    loaded = loading.events_load(position=catalog.position, customer_ids=[customer.pk])

    skus = [Item.objects.get(pk=catalog.keys[i]).sku for i in loaded.item]
    # 6 bought, 2 returned: the purchase is taken back; the others stay.
    assert sorted(skus) == ["22633", "22633", "71053"]
    assert set(loaded.kind.tolist()) == {engine.data.PURCHASE}


def test_an_item_on_the_non_product_list_is_never_on_sale_for_the_engine():
    import_profile("online-retail", [sample("online-retail.csv")])
    NonProductCode.objects.create(code="71053")

    catalog = loading.catalog_load()

    active = dict(zip(catalog.keys.tolist(), catalog.active.tolist(), strict=True))
    assert active[Item.objects.get(sku="71053").pk] is False
    assert active[Item.objects.get(sku="85123A").pk] is True


def test_guest_sales_make_an_item_popular_and_a_return_takes_its_share_back():
    import_profile("online-retail", [sample("online-retail.csv")])
    catalog = loading.catalog_load()
    guests = loading.guest_lines_load(position=catalog.position)
    params = engine.Parameters()
    now = datetime(2010, 12, 2, tzinfo=UTC).timestamp()

    added = engine.guest_popularity(guests, n_items=len(catalog), params=params, now=now)

    by_sku = {Item.objects.get(pk=k).sku: added[i] for i, k in enumerate(catalog.keys)}
    assert by_sku["71053"] > 0  # one guest bought it
    assert by_sku["21773"] == 0  # bought and cancelled by a guest
    assert by_sku["85123A"] == 0  # no guest line
    assert np.all(added >= 0)


def test_a_customer_sees_returns_named_as_such():
    from personalization.dashboard import wording

    assert wording.kind_count("return", 2) == "2 returns"
    assert wording.kind_label("return") == "Returned"
