"""The campaign pages: who may use them, composing, choosing offers, preview, send, stop."""

from __future__ import annotations

import pytest
from django.core import mail

from accounts.roles import Role
from personalization.campaigns.models import Campaign, CampaignRecipient, CampaignStatus
from personalization.models import RecommendationStatus
from tests.builders import decide, offers, trained_shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return trained_shop()


@pytest.fixture
def signed_in(client, make_user):
    def sign_in(role: Role):
        user = make_user(role)
        client.force_login(user)
        return user

    return sign_in


def compose(client, area="owner", **fields):
    data = {"name": "Bread week", "subject": "Fresh loaves", "message": "Baked at dawn.", **fields}
    return client.post(f"/{area}/campaigns/new/", data)


def test_pages_need_the_right_console(client, signed_in):
    assert client.get("/owner/campaigns/").status_code == 302  # to the login page
    signed_in(Role.CUSTOMER)
    assert client.get("/owner/campaigns/").status_code == 403
    assert client.get("/staff/campaigns/").status_code == 403


def test_staff_compose_and_prepare_but_only_the_owner_sends(
    client,
    signed_in,
    shop,
    django_capture_on_commit_callbacks,
):
    signed_in(Role.STAFF)
    assert client.get("/owner/campaigns/").status_code == 403
    assert client.get("/staff/campaigns/").status_code == 200
    answer = compose(client, area="staff")
    campaign = Campaign.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == f"/staff/campaigns/{campaign.pk}/"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/staff/campaigns/{campaign.pk}/generate/")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.IN_REVIEW
    for r in offers(campaign):
        decide(r.recommendation, RecommendationStatus.APPROVED)

    page = client.get(f"/staff/campaigns/{campaign.pk}/")
    assert "The owner sends campaigns once the offers are reviewed." in page.content.decode()
    assert client.post(f"/staff/campaigns/{campaign.pk}/send/").status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.IN_REVIEW
    assert mail.outbox == []


def test_bad_input_is_shown_next_to_the_field_and_nothing_is_saved(client, signed_in):
    signed_in(Role.OWNER)
    page = compose(client, subject="Fresh\r\nBcc: all@example.com", name="")
    assert page.status_code == 400
    body = page.content.decode()
    assert "This field is required." in body
    assert not Campaign.objects.exists()
    page = compose(client, subject="Fresh\nBcc: all@example.com")
    assert page.status_code == 400
    assert "The subject must be a single line." in page.content.decode()
    assert not Campaign.objects.exists()


def test_an_owner_runs_a_campaign_through_the_pages(
    client,
    signed_in,
    shop,
    django_capture_on_commit_callbacks,
):
    signed_in(Role.OWNER)
    compose(client)
    campaign = Campaign.objects.get()
    detail = f"/owner/campaigns/{campaign.pk}/"

    # the draft shows who can receive it
    page = client.get(detail).content.decode()
    assert "customers have personalization on and allow offer emails." in page
    assert '<p class="kpi-value">7</p>' in page

    # sending before any offer is approved is refused with a message, not a 500
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{detail}generate/")
    answer = client.post(f"{detail}send/", follow=True)
    assert answer.status_code == 200
    assert "No offer has been approved yet, so nothing would be sent." in answer.content.decode()

    page = client.get(detail).content.decode()
    assert "waiting for a reviewer" in page
    assert "/staff/review/?channel=email" in page
    chosen = offers(campaign)
    for r in chosen:
        decide(r.recommendation, RecommendationStatus.APPROVED)

    # the preview shows each segment's real email, with links that do nothing
    preview = client.get(f"{detail}preview/").content.decode()
    segments = {r.segment_name for r in chosen}
    for name in segments:
        assert f">{name}</h2>" in preview
    samples = [r for r in chosen if r.pk == min(x.pk for x in chosen if x.segment == r.segment)]
    for sample in samples:
        assert sample.recommendation.sentence in preview
        assert sample.recommendation.item.name in preview
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in preview
    assert "/offers/unsubscribe/preview/" in preview
    html = client.get(f"{detail}preview/{samples[0].pk}/email.html").content.decode()
    assert samples[0].recommendation.sentence in html

    # sending asks first, with the number of emails; only that number starts it
    confirm = client.get(f"{detail}send/").content.decode()
    assert f"{len(chosen)} emails will go out" in confirm
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{detail}send/", {"count": str(len(chosen))})
    progress = client.get(f"{detail}progress.json").json()
    assert progress["status"] == "sent"
    assert progress["finished"] is True
    assert progress["percent"] == 100
    assert progress["sent"] == len(chosen) == len(mail.outbox)
    page = client.get(detail).content.decode()
    assert "Done: every approved offer was handled." in page


def test_stop_from_the_page_with_a_reason(
    client,
    signed_in,
    shop,
    django_capture_on_commit_callbacks,
):
    signed_in(Role.OWNER)
    compose(client)
    campaign = Campaign.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/owner/campaigns/{campaign.pk}/generate/")
    page = client.post(
        f"/owner/campaigns/{campaign.pk}/stop/", {"reason": "Oven broke"}, follow=True
    ).content.decode()
    assert "Campaign stopped." in page
    assert "Stopped: Oven broke" in page
    assert not CampaignRecipient.objects.filter(campaign=campaign, status="in_review").exists()


def test_the_list_page_does_not_query_per_campaign(
    client, signed_in, django_assert_max_num_queries
):
    owner = signed_in(Role.OWNER)
    for n in range(8):
        Campaign.objects.create(name=f"C{n}", subject="S", message="M", created_by=owner)
    with django_assert_max_num_queries(12):
        page = client.get("/owner/campaigns/")
    assert page.content.decode().count("/owner/campaigns/") >= 9


def test_unknown_campaigns_are_404(client, signed_in):
    signed_in(Role.OWNER)
    assert client.get("/owner/campaigns/999/").status_code == 404
    assert client.post("/owner/campaigns/999/send/").status_code == 404
    assert client.get("/owner/campaigns/999/progress.json").status_code == 404
