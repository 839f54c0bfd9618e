"""An owner runs an offer campaign in real Chromium: compose (the greeting written out),
see who the campaign reaches and why the others get nothing, choose offers, (a reviewer
approves them), preview each segment's email, send a test to themselves, confirm the
number of emails, watch the progress bar reach done; then a customer uses the email's
unsubscribe link without signing in. axe on each page, at 1366x900 and on a phone.

The sending task is run by the test itself once the page shows the progress bar (the
part a Celery worker plays; tests/personalization/test_campaigns_worker.py covers real
workers), so the page's own polling script has to bring the result on screen.
"""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts.models import CustomerProfile
from accounts.roles import Role
from personalization.campaigns import tasks
from personalization.campaigns.models import Campaign, CampaignRecipient
from personalization.models import Consent, ReviewItem
from personalization.oversight.services import review_decide
from personalization.registry import MARKETING
from tests.browser.support import ROLE_START_PAGE, blocking_violations, sign_in
from tests.builders import trained_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def queued_sends(monkeypatch):
    """Stands in for the broker: the send task is recorded, run when the test says."""
    calls: list[tuple] = []
    monkeypatch.setattr(tasks.campaign_send, "delay", lambda *args: calls.append(args))
    return calls


def test_an_owner_runs_a_campaign_from_compose_to_done(page, person, browser, queued_sends):
    shop = trained_shop()
    owner = person(Role.OWNER, email="owner@example.com")
    reviewer = person(Role.STAFF, email="staff@example.com")
    page.set_viewport_size(DESKTOP)
    sign_in(page, owner.email)
    expect(page).to_have_url(ROLE_START_PAGE[Role.OWNER])

    # the campaigns list, from the owner console's section navigation
    page.get_by_role("navigation", name="This section").get_by_role(
        "link", name="Campaigns"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Offer campaigns")
    assert blocking_violations(page) == []

    # compose: a missing subject is pointed out, nothing is lost
    page.get_by_role("link", name="Write a new campaign").click()
    page.get_by_label("Name").fill("Bread week")
    page.get_by_label("Message").fill("This week we bake twice a day.")
    page.get_by_role("button", name="Save campaign").click()
    expect(page.get_by_role("alert").first).to_contain_text("This field is required.")
    expect(page.get_by_label("Message")).to_have_value("This week we bake twice a day.")
    assert blocking_violations(page) == []
    page.get_by_label("Subject").fill("Fresh from the oven")
    # the greeting is in the editor as it will be written, not added behind the scenes
    expect(page.get_by_label("Greeting")).to_have_value("Hello {name},")
    page.get_by_label("Greeting").fill("Good morning {name},")
    page.get_by_role("button", name="Save campaign").click()

    # the draft shows its audience: customers with personalization on and marketing consent
    expect(page.get_by_role("heading", level=1)).to_have_text("Bread week")
    audience = page.get_by_role("region", name="Audience")
    expect(audience).to_contain_text("7")
    expect(audience).to_contain_text("customers have personalization on and allow offer emails")
    # and, before anything is chosen or sent, how many get nothing and why
    customers = CustomerProfile.objects.count()
    expect(page.locator("#campaign-reach")).to_have_text(
        f"{customers - 7} of {customers} customers get no offer: "
        f"{customers - 7} have not allowed offer emails."
    )
    expect(page.get_by_role("region", name="The email")).to_contain_text("Good morning {name},")
    assert blocking_violations(page) == []

    # choose offers: each waits for a reviewer
    page.get_by_role("button", name="Choose offers").click()
    expect(page.get_by_text("In review", exact=True)).to_be_visible()
    campaign = Campaign.objects.get()
    offers = list(
        CampaignRecipient.objects.filter(campaign=campaign, recommendation__isnull=False)
        .select_related("recommendation__item")
        .order_by("pk")
    )
    assert len(offers) >= 3
    review = page.get_by_role("region", name="Review")
    expect(review).to_contain_text(re.compile(rf"{len(offers)}\s*waiting for a reviewer"))
    expect(
        review.get_by_role("link", name="Open the staff review queue (offer emails)")
    ).to_have_attribute("href", "/staff/review/?channel=email")
    assert blocking_violations(page) == []

    # a reviewer approves every offer but one, which they reject
    items = ReviewItem.objects.filter(recommendation__in=[o.recommendation for o in offers])
    for n, item in enumerate(items.order_by("pk")):
        review_decide(
            user=reviewer,
            item_id=item.pk,
            decision="reject" if n == 0 else "approve",
            reason_code="not_appropriate" if n == 0 else "fits_customer",
            explanation_seen=True,
        )
    page.reload()
    expect(review).to_contain_text(re.compile(rf"{len(offers) - 1}\s*approved"))
    expect(review).to_contain_text(re.compile(r"1\s*rejected"))

    # the preview shows each segment's real email
    page.get_by_role("link", name="Preview what each segment receives").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("What each segment receives")
    for name in {o.segment_name for o in offers}:
        expect(page.get_by_role("heading", level=2, name=name)).to_be_visible()
    first = offers[0]
    segment = page.locator("section.campaign-segment").filter(
        has=page.get_by_role("heading", level=2, name=first.segment_name)
    )
    expect(segment).to_contain_text(first.recommendation.sentence)
    expect(segment).to_contain_text("Fresh from the oven")
    expect(segment).to_contain_text("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    assert blocking_violations(page) == []

    # the HTML email itself on a phone: the shop's name on top, one column that fits
    segment.get_by_role("link", name="Open the HTML version").click()
    page.set_viewport_size(PHONE)
    expect(page.get_by_text("Crumb & Co.").first).to_be_visible()
    expect(page.get_by_text(first.recommendation.sentence)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size(DESKTOP)
    page.go_back()

    # a test to the owner's own address, marked as a test and counted nowhere
    page.get_by_role("link", name="Bread week").click()
    page.get_by_role("button", name="Send a test to me").click()
    expect(page.get_by_text("A test email went to owner@example.com.")).to_be_visible()
    (test,) = mail.outbox
    assert test.to == ["owner@example.com"] and test.subject == "[Test] Fresh from the oven"
    assert "Good morning" in test.body
    mail.outbox.clear()
    assert not CampaignRecipient.objects.filter(campaign=campaign, sent_at__isnull=False).exists()

    # send: one click only opens the confirmation, with the count and who gets nothing
    expect(page.get_by_role("region", name="Send")).to_contain_text(
        f"{len(offers) - 1} approved offers will be sent."
    )
    page.get_by_role("link", name="Review and send…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Send this campaign?")
    expect(page.get_by_role("heading", level=2)).to_have_text(
        f"{len(offers) - 1} emails will go out"
    )
    expect(page.get_by_text(re.compile(r"customers get no offer: "))).to_be_visible()
    assert queued_sends == []
    assert blocking_violations(page) == []
    # on a phone the confirmation fits the screen, nothing scrolls sideways
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    expect(page.get_by_role("button", name=f"Yes, send {len(offers) - 1} emails")).to_be_visible()
    assert blocking_violations(page) == []
    page.set_viewport_size(DESKTOP)
    page.get_by_role("button", name=f"Yes, send {len(offers) - 1} emails").click()
    bar = page.get_by_role("progressbar")
    expect(bar).to_have_attribute("value", "0")
    expect(page.locator("#campaign-progress-text")).to_contain_text("0 of")
    assert blocking_violations(page) == []
    assert queued_sends == [(campaign.pk,)]

    # the worker sends; the page's poll brings the result on screen by itself
    tasks.campaign_send.apply(args=[campaign.pk])
    expect(page.get_by_text("Done: every approved offer was handled.")).to_be_visible()
    results = page.get_by_role("region", name="Results")
    expect(results).to_contain_text(re.compile(rf"Sent\s*{len(offers) - 1}\s*Not sent"))
    expect(results).to_contain_text("A reviewer rejected the offer: 1")
    assert len(mail.outbox) == len(offers) - 1
    assert blocking_violations(page) == []

    # a customer opens the unsubscribe link from their email, not signed in
    message = mail.outbox[0]
    link = re.search(r"<(http[^>]+)>", message.extra_headers["List-Unsubscribe"]).group(1)
    customer = next(o.customer for o in offers if o.customer.email == message.to[0])
    context = browser.new_context(locale="en-GB")
    try:
        reader = context.new_page()
        reader.goto(link)
        expect(reader.get_by_role("heading", level=1)).to_have_text("Unsubscribe from offer emails")
        assert blocking_violations(reader) == []
        reader.get_by_role("button", name="Unsubscribe").click()
        expect(reader.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")
    finally:
        context.close()
    assert not Consent.objects.filter(customer=customer, purpose=MARKETING, granted=True).exists()
    assert shop.alice.pk  # the shop's customers were used above
