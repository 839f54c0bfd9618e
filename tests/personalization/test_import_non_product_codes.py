"""/owner/import/non-product-codes/: the owner reads, adds and removes the stock codes that
are not products; an added code keeps its items out of the next generation's lists."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.roles import Role
from personalization.models import NonProductCode, Recommendation
from personalization.recommending import services
from tests.builders import Shop

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("seeded_codes")]

PAGE = "/owner/import/non-product-codes/"


@pytest.fixture
def owner_client(make_user) -> Client:
    client = Client()
    client.force_login(make_user(Role.OWNER))
    return client


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def remove_url(code: str) -> str:
    return f"{PAGE}{NonProductCode.objects.get(code=code).pk}/remove/"


def test_the_import_page_links_to_the_list_which_shows_the_seeded_codes(owner_client):
    assert f'href="{PAGE}"' in owner_client.get("/owner/import/").content.decode()

    page = text_of(owner_client.get(PAGE))

    assert "Non-product codes" in page
    for code in ("POST", "DOT", "BANK CHARGES", "AMAZONFEE"):
        assert code in page


def test_the_owner_adds_a_code_in_any_case_and_it_is_stored_in_upper_case(owner_client):
    response = owner_client.post(PAGE, {"code": "  gift  wrap ", "note": "wrapping service"})

    assert response.status_code == 302 and response["Location"] == PAGE
    assert NonProductCode.objects.get(code="GIFT WRAP").note == "wrapping service"
    page = text_of(owner_client.get(PAGE))
    assert "GIFT WRAP added: its lines are kept out of imports" in page


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("", "This field is required."),
        ("   ", "This field is required."),
        ("X" * 65, "Ensure this value has at most 64 characters (it has 65)."),
        ("post", "POST is on the list already."),
        ("BAD\x07CODE", "A stock code cannot hold control characters."),
    ],
)
def test_bad_input_is_refused_next_to_the_field_and_nothing_changes(owner_client, code, message):
    before = NonProductCode.objects.count()

    response = owner_client.post(PAGE, {"code": code})

    assert response.status_code == 400
    assert message in text_of(response)
    assert NonProductCode.objects.count() == before


def test_the_owner_removes_a_code(owner_client):
    response = owner_client.post(remove_url("DOT"))

    assert response.status_code == 302
    assert not NonProductCode.objects.filter(code="DOT").exists()
    assert "DOT removed" in text_of(owner_client.get(PAGE))
    # Removing it again (another tab): a message, not an error page.
    again = owner_client.post(f"{PAGE}999999/remove/", follow=True)
    assert again.status_code == 200
    assert "That code is not on the list (any more)." in text_of(again)


def test_removing_takes_a_post(owner_client):
    assert owner_client.get(remove_url("DOT")).status_code == 405
    assert NonProductCode.objects.filter(code="DOT").exists()


def test_adding_and_removing_need_the_csrf_token(make_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user(Role.OWNER))

    assert client.post(PAGE, {"code": "WRAP"}).status_code == 403
    assert client.post(remove_url("DOT")).status_code == 403
    assert not NonProductCode.objects.filter(code="WRAP").exists()
    assert NonProductCode.objects.filter(code="DOT").exists()


@pytest.mark.parametrize("role", [Role.STAFF, Role.CUSTOMER])
def test_only_the_owner_edits_the_list(make_user, role):
    client = Client()
    client.force_login(make_user(role))

    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"code": "WRAP"}).status_code == 403
    assert client.post(remove_url("DOT")).status_code == 403
    assert not NonProductCode.objects.filter(code="WRAP").exists()
    assert NonProductCode.objects.filter(code="DOT").exists()


def test_signed_out_visitors_are_sent_to_sign_in():
    response = Client().get(PAGE)

    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_code_added_keeps_its_items_out_of_the_next_generation(owner_client):
    # given a trained shop whose lists recommend the croissant to someone
    shop = Shop()
    services.model_version_train(model_version=services.model_version_create(), with_metrics=False)
    services.recommendations_generate_for_customer(customer=shop.alice)
    assert Recommendation.objects.filter(customer=shop.alice, item=shop.bun).exists()

    # when the owner puts the bun's stock code on the list (in lower case)
    owner_client.post(PAGE, {"code": shop.bun.sku.lower(), "note": "sample"})
    services.recommendations_generate_for_customer(customer=shop.alice)

    # then the next list holds everything but the bun
    items = set(
        Recommendation.objects.filter(customer=shop.alice).values_list("item_id", flat=True)
    )
    assert items and shop.bun.pk not in items
    # and the list says how many catalog items the code keeps out
    assert f"{shop.bun.sku.upper()} sample 1 " in text_of(owner_client.get(PAGE))
