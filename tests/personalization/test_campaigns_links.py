"""The signed links in offer emails: work without signing in, change nothing on a GET,
refuse tampered, expired or swapped tokens with a clear page, never a 500."""

from __future__ import annotations

import re
import time
from unittest import mock

import pytest
from django.test import Client

from accounts.models import CustomerProfile, PersonalizationMode
from accounts.roles import Role
from personalization.campaigns.links import LinkAction, link_token
from personalization.campaigns.models import Campaign
from personalization.models import Consent, ConsentEvent
from personalization.registry import MARKETING, PURCHASE_HISTORY
from tests.builders import MARKETING_EVERYTHING as EVERYTHING
from tests.builders import allow_marketing
from tests.factories import CustomerProfileFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    profile = CustomerProfileFactory(email="reader@example.com")
    allow_marketing(profile)
    return profile


@pytest.fixture
def campaign(make_user):
    owner = make_user(Role.OWNER)
    return Campaign.objects.create(name="Week", subject="S", message="M", created_by=owner)


def url(action: LinkAction, token: str) -> str:
    path = "unsubscribe" if action is LinkAction.UNSUBSCRIBE else "stop-personalizing"
    return f"/offers/{path}/{token}/"


def token_for(action, customer, campaign) -> str:
    return link_token(action=action, customer_id=customer.pk, campaign_id=campaign.pk)


def marketing_granted(customer) -> set[str]:
    return set(
        Consent.objects.filter(customer=customer, purpose=MARKETING, granted=True).values_list(
            "data_category", flat=True
        )
    )


def test_a_get_shows_one_button_and_changes_nothing(client, customer, campaign):
    token = token_for(LinkAction.UNSUBSCRIBE, customer, campaign)
    events = ConsentEvent.objects.count()

    page = client.get(url(LinkAction.UNSUBSCRIBE, token))

    assert page.status_code == 200
    body = page.content.decode()
    assert "Unsubscribe from offer emails" in body
    # One form acts on the link; the footer's language switch is the page's only other one.
    forms = re.findall(r"<form[^>]*>", body)
    acting = [form for form in forms if "/i18n/setlang/" not in form]
    assert len(acting) == 1 and 'method="post"' in acting[0]
    assert '<button type="submit">Unsubscribe</button>' in body
    assert ConsentEvent.objects.count() == events
    assert marketing_granted(customer) == set(EVERYTHING)


def test_unsubscribe_without_login_withdraws_marketing_through_the_ledger(
    client, customer, campaign
):
    token = token_for(LinkAction.UNSUBSCRIBE, customer, campaign)

    page = client.post(url(LinkAction.UNSUBSCRIBE, token))

    assert page.status_code == 200
    assert "You are unsubscribed" in page.content.decode()
    assert marketing_granted(customer) == set()
    withdrawn = ConsentEvent.objects.filter(customer=customer, purpose=MARKETING, granted=False)
    assert set(withdrawn.values_list("data_category", flat=True)) == set(EVERYTHING)
    assert set(withdrawn.values_list("method", "actor")) == {("email_link", "customer")}
    # personalization itself is untouched
    customer.refresh_from_db()
    assert customer.personalization_mode == PersonalizationMode.ON
    # a second click adds nothing to the ledger
    before = ConsentEvent.objects.count()
    assert client.post(url(LinkAction.UNSUBSCRIBE, token)).status_code == 200
    assert ConsentEvent.objects.count() == before


def test_the_rfc_8058_one_click_post_works_without_cookies_or_csrf_token(customer, campaign):
    mail_client = Client(enforce_csrf_checks=True)
    token = token_for(LinkAction.UNSUBSCRIBE, customer, campaign)

    answer = mail_client.post(
        url(LinkAction.UNSUBSCRIBE, token),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert answer.status_code == 200
    assert marketing_granted(customer) == set()


def test_stop_personalizing_switches_the_mode_off_without_login(client, customer, campaign):
    token = token_for(LinkAction.STOP_PERSONALIZING, customer, campaign)
    assert client.get(url(LinkAction.STOP_PERSONALIZING, token)).status_code == 200
    customer.refresh_from_db()
    assert customer.personalization_mode == PersonalizationMode.ON

    page = client.post(url(LinkAction.STOP_PERSONALIZING, token))

    assert "Personalization is off" in page.content.decode()
    customer.refresh_from_db()
    assert customer.personalization_mode == PersonalizationMode.OFF
    # consent stays as the customer set it
    assert marketing_granted(customer) == set(EVERYTHING)


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_token_gets_a_clear_page_and_changes_nothing(client, customer, campaign, method):
    token = token_for(LinkAction.UNSUBSCRIBE, customer, campaign)
    other = CustomerProfileFactory()
    allow_marketing(other)
    # someone edits the customer number in the link
    forged = link_token(
        action=LinkAction.UNSUBSCRIBE, customer_id=other.pk, campaign_id=campaign.pk
    )
    tampered = forged[:-3] + ("AAA" if not forged.endswith("AAA") else "BBB")

    for bad in (tampered, token[:-1], "not-a-token", token + "x"):
        page = getattr(client, method)(url(LinkAction.UNSUBSCRIBE, bad))
        assert page.status_code == 400
        assert "This link is not valid" in page.content.decode()
    assert marketing_granted(customer) == set(EVERYTHING)
    assert marketing_granted(other) == set(EVERYTHING)


def test_a_token_for_one_action_does_not_work_for_the_other(client, customer, campaign):
    unsubscribe = token_for(LinkAction.UNSUBSCRIBE, customer, campaign)
    page = client.post(url(LinkAction.STOP_PERSONALIZING, unsubscribe))
    assert page.status_code == 400
    customer.refresh_from_db()
    assert customer.personalization_mode == PersonalizationMode.ON


def test_an_expired_link_says_so_and_changes_nothing(client, customer, campaign, settings):
    settings.CAMPAIGN_LINK_MAX_AGE_DAYS = 30
    long_ago = time.time() - 31 * 24 * 3600
    with mock.patch("time.time", return_value=long_ago):
        token = token_for(LinkAction.UNSUBSCRIBE, customer, campaign)

    page = client.post(url(LinkAction.UNSUBSCRIBE, token))

    assert page.status_code == 400
    assert "This link has expired" in page.content.decode()
    assert marketing_granted(customer) == set(EVERYTHING)
    # a link well within its time still works
    with mock.patch("time.time", return_value=time.time() - 29 * 24 * 3600):
        fresh = token_for(LinkAction.UNSUBSCRIBE, customer, campaign)
    assert client.post(url(LinkAction.UNSUBSCRIBE, fresh)).status_code == 200
    assert marketing_granted(customer) == set()


def test_a_preview_link_does_nothing(client, customer):
    page = client.post("/offers/unsubscribe/preview/")
    assert page.status_code == 400
    assert "This is a preview" in page.content.decode()
    assert marketing_granted(customer) == set(EVERYTHING)


def test_a_link_of_an_erased_customer_says_there_is_nothing_left(client, customer, campaign):
    token = token_for(LinkAction.UNSUBSCRIBE, customer, campaign)
    CustomerProfile.objects.filter(pk=customer.pk).delete()

    page = client.post(url(LinkAction.UNSUBSCRIBE, token))

    assert page.status_code == 200
    assert "We no longer hold any data about you" in page.content.decode()


def test_a_link_keeps_working_for_a_customer_who_allows_only_some_categories(client, campaign):
    profile = CustomerProfileFactory()
    allow_marketing(profile, PURCHASE_HISTORY)
    token = token_for(LinkAction.UNSUBSCRIBE, profile, campaign)
    assert client.post(url(LinkAction.UNSUBSCRIBE, token)).status_code == 200
    assert marketing_granted(profile) == set()
