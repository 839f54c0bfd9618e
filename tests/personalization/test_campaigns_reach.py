"""Before an offer campaign is sent: who it reaches and why the others get nothing, a
test email to the person at the shop (counted nowhere), the confirmation with the count,
the greeting as written, and the branded email with its plain-text twin."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import PersonalizationMode
from accounts.services import customer_profile_set_mode
from core.errors import ApplicationError
from personalization.campaigns import selectors, sending, services
from personalization.campaigns.emails import greeting_line
from personalization.campaigns.links import PREVIEW_TOKEN
from personalization.campaigns.models import (
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    RecipientStatus,
)
from personalization.models import Recommendation, RecommendationStatus
from tests.builders import allow_marketing, decide, generated, offers, trained_shop
from tests.factories import CustomerProfileFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(make_user):
    from accounts.roles import Role

    return make_user(Role.OWNER, email="owner@example.com")


@pytest.fixture
def shop():
    return trained_shop()


# --- reach -------------------------------------------------------------------------


def test_a_draft_says_how_many_customers_get_nothing_and_why(shop, owner):
    # given: 7 customers allow offer emails; of them, one switches personalization off
    customer_profile_set_mode(profile=shop.crowd[0], mode=PersonalizationMode.OFF)
    total = CustomerProfileFactory._meta.model.objects.count()
    campaign = services.campaign_create(
        name="Bread week", subject="Fresh", message="Hi", created_by=owner
    )

    reach = selectors.campaign_reach(campaign=campaign)

    # then: 6 can be reached, the others have no marketing consent or personalization off
    assert reach.customers == total
    assert reach.reachable == 6
    assert reach.personalization_off == 1
    assert reach.no_marketing_consent == total - 7
    assert reach.no_fitting_offer is None
    assert reach.sentence == (
        f"{total - 6} of {total} customers get no offer: "
        f"{total - 7} have not allowed offer emails, 1 has personalization off or paused."
    )


def test_after_choosing_offers_the_page_counts_those_no_item_fits(
    shop, owner, django_capture_on_commit_callbacks
):
    # given: offers were chosen (customers the engine found no fitting item for are
    # recorded without one)
    campaign = generated(owner, django_capture_on_commit_callbacks)
    given = len(offers(campaign))
    no_offer = CampaignRecipient.objects.filter(
        campaign=campaign, recommendation__isnull=True
    ).count()
    # someone allows offer emails after the offers were chosen
    late = CustomerProfileFactory()
    allow_marketing(late)

    reach = selectors.campaign_reach(campaign=campaign)

    assert reach.reachable == given
    assert reach.no_fitting_offer == no_offer
    assert reach.joined_later == 1
    assert reach.unreachable == reach.customers - given
    assert "1 allowed offer emails after the offers were chosen" in reach.sentence
    assert reach.sentence.startswith(f"{reach.customers - given} of {reach.customers} customers")


def test_the_reasons_add_up_to_the_customers_who_get_nothing(
    shop, owner, django_capture_on_commit_callbacks
):
    customer_profile_set_mode(profile=shop.crowd[1], mode=PersonalizationMode.NONE)
    campaign = generated(owner, django_capture_on_commit_callbacks)
    reach = selectors.campaign_reach(campaign=campaign)
    counted = sum(int(re.match(r"\d+", part).group()) for part in reach.reasons())
    assert counted == reach.unreachable


# --- the greeting ------------------------------------------------------------------


def test_the_greeting_is_what_the_shop_wrote_and_nothing_is_added():
    assert greeting_line("Dear {name},", "Ada") == "Dear Ada,"
    assert greeting_line("Hello {name},", "") == "Hello,"
    assert greeting_line("", "Ada") == ""
    assert greeting_line("Hi there!", "Ada") == "Hi there!"


def test_an_email_without_a_greeting_starts_with_the_message(
    shop, owner, django_capture_on_commit_callbacks
):
    campaign = generated(owner, django_capture_on_commit_callbacks)
    recipient = offers(campaign)[0]
    decide(recipient.recommendation, RecommendationStatus.APPROVED)
    # the campaign has no greeting (none was written)
    assert campaign.greeting == ""

    sending.campaign_send_test(campaign=campaign, user=owner, base_url="http://x/")

    (message,) = mail.outbox
    assert "Hello" not in message.body
    assert "Hello" not in message.alternatives[0][0]


def test_a_written_greeting_is_filled_in_per_customer(
    shop, owner, django_capture_on_commit_callbacks
):
    campaign = generated(owner, django_capture_on_commit_callbacks)
    services.campaign_update(
        campaign=campaign,
        name=campaign.name,
        subject=campaign.subject,
        message=campaign.message,
        greeting="Good morning {name}!",
    )
    campaign.refresh_from_db()
    sample = selectors.campaign_segments(campaign=campaign)[0].sample

    sending.campaign_send_test(campaign=campaign, user=owner, base_url="http://x/")

    (message,) = mail.outbox
    assert greeting_line("Good morning {name}!", sample.customer.name) in message.body


def test_a_greeting_with_another_placeholder_is_refused(owner):
    with pytest.raises(ApplicationError, match="Only {name} can be filled in") as error:
        services.campaign_create(
            name="X", subject="S", message="M", greeting="Hi {first_name}", created_by=owner
        )
    assert error.value.field == "greeting"
    assert not Campaign.objects.exists()


# --- the test email ----------------------------------------------------------------


def test_a_test_email_goes_only_to_the_person_and_counts_nowhere(
    shop, owner, django_capture_on_commit_callbacks
):
    campaign = generated(owner, django_capture_on_commit_callbacks)
    before = list(
        CampaignRecipient.objects.filter(campaign=campaign).values_list(
            "pk", "status", "claimed_at", "sent_at"
        )
    )
    statuses = list(Recommendation.objects.order_by("pk").values_list("pk", "status"))

    address = sending.campaign_send_test(
        campaign=campaign, user=owner, base_url="https://shop.example.com/"
    )

    (message,) = mail.outbox
    assert address == "owner@example.com"
    assert message.to == ["owner@example.com"]
    assert message.subject == f"[Test] {campaign.subject}"
    assert message.extra_headers == {"X-Fairshare-Test": "yes"}
    assert message.body.startswith("TEST EMAIL: only you got this.")
    html = message.alternatives[0][0]
    assert "Test email" in html
    # links that do nothing: no real token for the sample customer
    assert PREVIEW_TOKEN in message.body
    # counted nowhere: no recipient claimed or sent, no offer delivered, no rate slot
    after = list(
        CampaignRecipient.objects.filter(campaign=campaign).values_list(
            "pk", "status", "claimed_at", "sent_at"
        )
    )
    assert after == before
    assert list(Recommendation.objects.order_by("pk").values_list("pk", "status")) == statuses
    assert not CampaignRecipient.objects.filter(status=RecipientStatus.SENT).exists()


def test_a_test_before_offers_are_chosen_is_refused_with_the_reason(owner):
    campaign = services.campaign_create(name="X", subject="S", message="M", created_by=owner)
    with pytest.raises(ApplicationError, match="Choose offers first"):
        sending.campaign_send_test(campaign=campaign, user=owner, base_url="http://x/")
    assert mail.outbox == []


# --- confirmation ------------------------------------------------------------------


def test_sending_starts_only_with_the_confirmed_number(
    shop, owner, django_capture_on_commit_callbacks
):
    campaign = generated(owner, django_capture_on_commit_callbacks)
    first, second = offers(campaign)[:2]
    decide(first.recommendation, RecommendationStatus.APPROVED)
    assert len(sending.campaign_send_plan(campaign=campaign).queued) == 1
    # a reviewer approves one more after the owner looked
    decide(second.recommendation, RecommendationStatus.APPROVED)

    with pytest.raises(ApplicationError, match="2 would go now") as error:
        sending.campaign_send_start(
            campaign=campaign, user=owner, base_url="http://x/", confirmed_count=1
        )

    assert error.value.code == "count_changed"
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.IN_REVIEW
    assert not CampaignRecipient.objects.filter(status=RecipientStatus.QUEUED).exists()
    with django_capture_on_commit_callbacks(execute=False):
        sending.campaign_send_start(
            campaign=campaign, user=owner, base_url="http://x/", confirmed_count=2
        )
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING
    assert campaign.send_total == 2


def test_the_send_button_asks_first_and_a_bare_post_sends_nothing(
    shop, owner, client, django_capture_on_commit_callbacks
):
    campaign = generated(owner, django_capture_on_commit_callbacks)
    decide(offers(campaign)[0].recommendation, RecommendationStatus.APPROVED)
    client.force_login(owner)
    url = f"/owner/campaigns/{campaign.pk}/send/"

    # a POST with no confirmed number (the old one-click send) starts nothing
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == url
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.IN_REVIEW

    # the confirmation page says how many and who gets nothing
    page = client.get(url).content.decode()
    assert "1 email will go out" in page
    assert selectors.campaign_reach(campaign=campaign).sentence in page
    assert 'name="count" value="1"' in page

    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(url, {"count": "1"})
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING


def test_staff_cannot_open_the_confirmation(shop, owner, client, make_user):
    from accounts.roles import Role

    campaign = services.campaign_create(name="X", subject="S", message="M", created_by=owner)
    client.force_login(make_user(Role.STAFF, email="s@example.com"))
    assert client.get(f"/staff/campaigns/{campaign.pk}/send/").status_code == 403


# --- the email itself --------------------------------------------------------------


def test_the_email_is_branded_responsive_html_with_a_plain_text_twin(
    shop, owner, django_capture_on_commit_callbacks, settings
):
    settings.SHOP_NAME = "Crumb & Co."
    campaign = generated(owner, django_capture_on_commit_callbacks)
    recipient = offers(campaign)[0]
    decide(recipient.recommendation, RecommendationStatus.APPROVED)
    sending.campaign_send_start(
        campaign=campaign, user=owner, base_url="http://x/", confirmed_count=1
    )
    sending.campaign_send_batch(campaign_id=campaign.pk, now=timezone.now())

    (message,) = mail.outbox
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    # the shop's name as its header, in both parts
    assert "Crumb &amp; Co." in html
    assert message.body.startswith("Crumb & Co.")
    # responsive: a viewport and one column of at most 600 px; styled inline (mail
    # clients drop <style>), in a sans-serif face rather than the client's Times
    assert 'name="viewport"' in html
    assert "max-width:600px" in html
    assert "<style" not in html and "<link" not in html
    assert "font-family:Helvetica, Arial, sans-serif" in html
    # the text part carries the same offer, reason and links without any markup
    rec = recipient.recommendation
    assert rec.item.name in message.body and rec.sentence in message.body
    assert "<" not in message.body.replace("<http", "")
