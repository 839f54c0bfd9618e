"""Offer campaigns through the database: audience, offers held for review, sending,
re-checks at send time, rate limit, kill switch, stop, and the emails' contents."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from accounts.models import PersonalizationMode
from accounts.roles import Role
from accounts.services import customer_profile_set_mode
from core.errors import ApplicationError
from governance.features import OFFER_EMAILS
from governance.models import PersonalizationFeature
from governance.services import feature_set_enabled, kill_switch_set
from personalization.campaigns import selectors, sending, services
from personalization.campaigns.models import (
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    RecipientStatus,
    SkipReason,
)
from personalization.consent.services import ConsentChange, consent_set
from personalization.models import (
    Channel,
    Recommendation,
    RecommendationStatus,
    ReviewAction,
    ReviewActionKind,
    ReviewItem,
)
from personalization.recommending import services as recommending
from personalization.registry import (
    AUDIT_ATTRIBUTES,
    BROWSING_HISTORY,
    EMAIL_ENGAGEMENT,
    MARKETING,
    PURCHASE_HISTORY,
    STATED_PREFERENCES,
)
from tests.builders import MARKETING_EVERYTHING as EVERYTHING
from tests.builders import Shop, allow_marketing, decide, generated, offers, trained_shop
from tests.factories import CustomerProfileFactory, ItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(make_user):
    return make_user(Role.OWNER, email="owner@example.com")


@pytest.fixture
def shop():
    return trained_shop()


def test_a_campaign_whose_choosing_task_was_lost_goes_on_within_minutes(
    shop, owner, django_capture_on_commit_callbacks
):
    # given: offers are to be chosen, but the task never reaches a worker
    campaign = services.campaign_create(
        name="Bread week", subject="Fresh", message="Twice a day.", created_by=owner
    )
    with django_capture_on_commit_callbacks(execute=False):
        services.campaign_generate_start(campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.GENERATING
    now = timezone.now()

    # when the sweeper looks: not yet after two minutes; after four it queues it again
    assert services.campaigns_requeue_stuck(now=now + timedelta(minutes=2)) == []
    with django_capture_on_commit_callbacks(execute=True):
        requeued = services.campaigns_requeue_stuck(now=now + timedelta(minutes=4))

    # then: the offers are chosen and wait for review, as if nothing had happened
    assert requeued == [campaign.pk]
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.IN_REVIEW
    assert len(offers(campaign)) == 7


# --- audience ----------------------------------------------------------------------


def test_the_audience_is_customers_with_marketing_consent_and_personalization_on(shop):
    today = timezone.localdate()
    crowd = shop.crowd
    # given: seven customers allow offer emails (Alice and six of the crowd)...
    assert selectors.audience_count() == 7
    # ...one of them pauses personalization, one switches it off, one chooses none
    customer_profile_set_mode(
        profile=crowd[0], mode=PersonalizationMode.PAUSED, paused_until=today + timedelta(days=3)
    )
    customer_profile_set_mode(profile=crowd[1], mode=PersonalizationMode.OFF)
    customer_profile_set_mode(profile=crowd[2], mode=PersonalizationMode.NONE)
    # a pause whose date has passed has ended by itself
    crowd[3].personalization_mode = PersonalizationMode.PAUSED
    crowd[3].paused_until = today - timedelta(days=1)
    crowd[3].save()
    # one withdraws marketing for every category, one keeps a single category
    allow_marketing(crowd[4], granted=False)
    allow_marketing(crowd[5], *EVERYTHING[1:], granted=False)
    # someone with personalization on but marketing allowed only for audit attributes
    # (a cell that cannot apply to marketing) or never asked is not in it either
    stranger = CustomerProfileFactory()
    consent_set(
        customer=stranger,
        changes=[ConsentChange(MARKETING, AUDIT_ATTRIBUTES, True)],
        method="ui",
        actor="customer",
        notice_version=None,
    )
    CustomerProfileFactory()

    # then
    members = set(selectors.audience_queryset().values_list("pk", flat=True))
    assert members == {shop.alice.pk, crowd[3].pk, crowd[5].pk}


def test_an_offer_may_only_rest_on_data_allowed_for_marketing():
    reasons = [
        {"kind": "history", "data_category": PURCHASE_HISTORY, "contribution": 1.0},
        {"kind": "popularity", "contribution": 0.1},
    ]
    assert selectors.offer_fits_marketing_consent(reasons=reasons, allowed={PURCHASE_HISTORY})
    assert not selectors.offer_fits_marketing_consent(reasons=reasons, allowed={BROWSING_HISTORY})
    # popularity alone reads no customer data, but nobody without marketing consent
    popular = [{"kind": "popularity", "contribution": 0.3}]
    assert selectors.offer_fits_marketing_consent(reasons=popular, allowed={EMAIL_ENGAGEMENT})
    assert not selectors.offer_fits_marketing_consent(reasons=popular, allowed=set())


def test_an_empty_audience_is_refused_with_a_reason(owner, make_user):
    campaign = services.campaign_create(
        name="Nobody", subject="Hello", message="Hi", created_by=owner
    )
    Shop()
    recommending.model_version_train(
        model_version=recommending.model_version_create(), with_metrics=False
    )
    with pytest.raises(ApplicationError, match="Nobody can receive this campaign"):
        services.campaign_generate_start(campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": " "}, "name", "Give the campaign a name."),
        ({"subject": "Hi\nBcc: everyone@example.com"}, "subject", "single line"),
        ({"message": ""}, "message", "Write the message."),
    ],
)
def test_bad_campaign_input_is_refused_and_nothing_is_saved(owner, fields, field, message):
    values = {"name": "Bread week", "subject": "Fresh", "message": "Hello", **fields}
    with pytest.raises(ApplicationError, match=message) as error:
        services.campaign_create(created_by=owner, **values)
    assert error.value.field == field
    assert not Campaign.objects.exists()


# --- choosing offers -----------------------------------------------------------------


def test_each_customer_gets_one_offer_which_waits_for_review(
    shop, owner, django_capture_on_commit_callbacks
):
    campaign = generated(owner, django_capture_on_commit_callbacks)

    assert campaign.status == CampaignStatus.IN_REVIEW
    assert campaign.audience_total == 7
    recipients = CampaignRecipient.objects.filter(campaign=campaign)
    assert recipients.count() == 7
    chosen = offers(campaign)
    assert chosen, "the shop's customers have histories: offers must be found"
    for recipient in chosen:
        rec = recipient.recommendation
        # one offer per email, on the email channel, held for a person
        assert rec.channel == Channel.EMAIL
        assert rec.status == RecommendationStatus.HELD
        assert recipient.status == RecipientStatus.IN_REVIEW
        assert recipient.segment == rec.item.category.slug
        assert (
            Recommendation.objects.filter(
                customer=recipient.customer, channel=Channel.EMAIL, superseded_at__isnull=True
            ).count()
            == 1
        )
    # the campaign rule put each offer in the staff queue
    queued = ReviewItem.objects.filter(recommendation__in=[r.recommendation for r in chosen])
    assert queued.count() == len(chosen)
    assert all("campaign" in item.rule_codes for item in queued)
    counts = selectors.review_counts(campaign=campaign)
    assert (counts.held, counts.approved, counts.rejected) == (len(chosen), 0, 0)
    # the on-site list is untouched
    assert Recommendation.objects.filter(channel=Channel.EMAIL).count() == len(chosen)
    # only the kept offers were ever put to reviewers: the trail holds one "held for
    # review" entry per offer, none for candidates that were dropped
    opened = ReviewAction.objects.filter(action=ReviewActionKind.OPENED)
    assert opened.count() == len(chosen)
    assert not opened.filter(item__isnull=True).exists()


def test_offers_use_only_the_data_categories_allowed_for_marketing(
    shop, owner, django_capture_on_commit_callbacks
):
    # Alice allows offer emails to use only what she told us, not what she bought
    allow_marketing(shop.alice, PURCHASE_HISTORY, BROWSING_HISTORY, granted=False)

    campaign = generated(owner, django_capture_on_commit_callbacks)

    alice = CampaignRecipient.objects.get(campaign=campaign, customer=shop.alice)
    if alice.recommendation is None:
        assert alice.skip_reason == SkipReason.NO_OFFER
    else:
        cited = selectors.cited_categories(alice.recommendation.reasons)
        assert cited <= {STATED_PREFERENCES, EMAIL_ENGAGEMENT}
    # while a crowd customer who allows everything gets an offer built on purchases
    crowd = [r.recommendation for r in offers(campaign) if r.customer != shop.alice]
    assert any(PURCHASE_HISTORY in selectors.cited_categories(r.reasons) for r in crowd)


def test_a_second_campaign_waits_until_the_first_is_finished(
    shop, owner, django_capture_on_commit_callbacks
):
    first = generated(owner, django_capture_on_commit_callbacks, name="First")
    second = services.campaign_create(name="Second", subject="S", message="M", created_by=owner)
    with pytest.raises(ApplicationError, match="First"):
        services.campaign_generate_start(campaign=second)
    # the first campaign's held offers are still there for the reviewers
    assert all(r.recommendation.status == "held" for r in offers(first))


# --- sending -------------------------------------------------------------------------


def send(campaign, owner, django_capture_on_commit_callbacks) -> Campaign:
    with django_capture_on_commit_callbacks(execute=True):
        sending.campaign_send_start(
            campaign=campaign, user=owner, base_url="https://shop.example.com/"
        )
    campaign.refresh_from_db()
    return campaign


def test_held_and_rejected_offers_never_go_out(shop, owner, django_capture_on_commit_callbacks):
    campaign = generated(owner, django_capture_on_commit_callbacks)
    chosen = offers(campaign)
    assert len(chosen) >= 4
    approved, rejected, held = chosen[:2], chosen[2:3], chosen[3:]
    for r in approved:
        decide(r.recommendation, RecommendationStatus.APPROVED)
    for r in rejected:
        decide(r.recommendation, RecommendationStatus.REJECTED)

    campaign = send(campaign, owner, django_capture_on_commit_callbacks)

    assert campaign.status == CampaignStatus.SENT
    addressed = sorted(address for m in mail.outbox for address in m.to)
    assert addressed == sorted(r.customer.email for r in approved)
    by_status = dict(
        CampaignRecipient.objects.filter(campaign=campaign).values_list("customer_id", "status")
    )
    assert {by_status[r.customer_id] for r in approved} == {RecipientStatus.SENT}
    for r in [*rejected, *held]:
        r.refresh_from_db()
        assert r.status == RecipientStatus.SKIPPED
    assert {r.skip_reason for r in rejected} == {SkipReason.REJECTED}
    assert {r.skip_reason for r in held} == {SkipReason.NOT_APPROVED}
    # held offers that will never be sent left the staff queue; sent ones are delivered
    assert not Recommendation.objects.filter(status=RecommendationStatus.HELD).exists()
    for r in approved:
        r.recommendation.refresh_from_db()
        assert r.recommendation.status == RecommendationStatus.DELIVERED


def test_nothing_approved_means_nothing_is_sent(shop, owner, django_capture_on_commit_callbacks):
    campaign = generated(owner, django_capture_on_commit_callbacks)
    with pytest.raises(ApplicationError, match="No offer has been approved"):
        sending.campaign_send_start(campaign=campaign, user=owner, base_url="http://x/")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.IN_REVIEW
    assert mail.outbox == []


def test_each_email_is_rechecked_just_before_it_goes(
    shop, owner, django_capture_on_commit_callbacks
):
    campaign = generated(owner, django_capture_on_commit_callbacks)
    chosen = offers(campaign)
    assert len(chosen) >= 5
    for r in chosen:
        decide(r.recommendation, RecommendationStatus.APPROVED)
    # sending starts, but the task has not run yet...
    with django_capture_on_commit_callbacks(execute=False):
        sending.campaign_send_start(campaign=campaign, user=owner, base_url="http://x/")
    mode_off, unsubscribed, held_again, restricted, fine = chosen[:5]
    # ...when customers change their minds and a reviewer takes an approval back
    customer_profile_set_mode(profile=mode_off.customer, mode=PersonalizationMode.OFF)
    allow_marketing(unsubscribed.customer, granted=False)
    decide(held_again.recommendation, RecommendationStatus.HELD)
    item = restricted.recommendation.item
    restricted.customer.restrictions = list(item.attributes.values_list("code", flat=True))
    restricted.customer.save()
    assert restricted.customer.restrictions

    outcome = sending.campaign_send_batch(campaign_id=campaign.pk)

    assert outcome.done
    reasons = dict(
        CampaignRecipient.objects.filter(campaign=campaign).values_list(
            "customer_id", "skip_reason"
        )
    )
    assert reasons[mode_off.customer_id] == SkipReason.MODE_OFF
    assert reasons[unsubscribed.customer_id] == SkipReason.NO_CONSENT
    assert reasons[held_again.customer_id] == SkipReason.NOT_APPROVED
    assert reasons[restricted.customer_id] == SkipReason.OFFER_UNAVAILABLE
    sent_to = {address for m in mail.outbox for address in m.to}
    assert fine.customer.email in sent_to
    assert sent_to.isdisjoint(
        {r.customer.email for r in (mode_off, unsubscribed, held_again, restricted)}
    )


def test_a_repeated_send_never_emails_anyone_twice(shop, owner, django_capture_on_commit_callbacks):
    campaign = generated(owner, django_capture_on_commit_callbacks)
    for r in offers(campaign):
        decide(r.recommendation, RecommendationStatus.APPROVED)
    campaign = send(campaign, owner, django_capture_on_commit_callbacks)
    first = len(mail.outbox)
    assert first == len(offers(campaign))

    # the task delivered again, and the same batch run again by hand
    from personalization.campaigns.tasks import campaign_send

    campaign_send.apply(args=[campaign.pk])
    sending.campaign_send_batch(campaign_id=campaign.pk)
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENDING)
    sending.campaign_send_batch(campaign_id=campaign.pk)

    assert len(mail.outbox) == first
    addresses = [a for m in mail.outbox for a in m.to]
    assert len(addresses) == len(set(addresses))


def test_sending_keeps_to_the_rate_limit(shop, owner, settings, django_capture_on_commit_callbacks):
    settings.CAMPAIGN_EMAILS_PER_MINUTE = 2
    campaign = generated(owner, django_capture_on_commit_callbacks)
    chosen = offers(campaign)[:3]
    for r in chosen:
        decide(r.recommendation, RecommendationStatus.APPROVED)
    with django_capture_on_commit_callbacks(execute=False):
        sending.campaign_send_start(campaign=campaign, user=owner, base_url="http://x/")
    start = timezone.now()

    first = sending.campaign_send_batch(campaign_id=campaign.pk, now=start)
    assert (first.done, first.sent) == (False, 2)
    assert 0 < first.wait_seconds <= 60
    assert len(mail.outbox) == 2
    # still within the same minute: nothing more
    again = sending.campaign_send_batch(campaign_id=campaign.pk, now=start + timedelta(seconds=30))
    assert (again.done, again.sent) == (False, 0)
    # a minute later the last one goes and the campaign is done
    later = sending.campaign_send_batch(campaign_id=campaign.pk, now=start + timedelta(seconds=61))
    assert (later.done, later.sent) == (True, 1)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert selectors.campaign_progress(campaign=campaign).percent == 100


def test_the_kill_switch_stops_a_campaign_in_flight(
    shop, owner, settings, django_capture_on_commit_callbacks
):
    settings.CAMPAIGN_EMAILS_PER_MINUTE = 1
    campaign = generated(owner, django_capture_on_commit_callbacks)
    chosen = offers(campaign)
    for r in chosen:
        decide(r.recommendation, RecommendationStatus.APPROVED)
    with django_capture_on_commit_callbacks(execute=False):
        sending.campaign_send_start(campaign=campaign, user=owner, base_url="http://x/")
    start = timezone.now()
    assert sending.campaign_send_batch(campaign_id=campaign.pk, now=start).sent == 1

    # the owner pauses all AI personalization while the campaign waits for its next email
    kill_switch_set(engaged=True, reason="Complaint about an offer", actor=owner)
    outcome = sending.campaign_send_batch(campaign_id=campaign.pk, now=start + timedelta(minutes=2))

    assert outcome.done and outcome.sent == 0
    assert len(mail.outbox) == 1
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.STOPPED
    assert campaign.stop_reason == (
        "AI personalization was paused with the kill switch: Complaint about an offer"
    )
    left = CampaignRecipient.objects.filter(campaign=campaign).exclude(status=RecipientStatus.SENT)
    assert left.count() == len(chosen) - 1
    assert set(left.values_list("skip_reason", flat=True)) == {SkipReason.STOPPED}
    # and no new campaign can start while it is engaged
    with pytest.raises(ApplicationError, match="kill switch"):
        sending.campaign_send_start(campaign=campaign, user=owner, base_url="http://x/")


def test_stopping_a_campaign_in_review_takes_its_offers_out_of_the_queue(
    shop, owner, django_capture_on_commit_callbacks
):
    campaign = generated(owner, django_capture_on_commit_callbacks)
    approved = offers(campaign)[0]
    decide(approved.recommendation, RecommendationStatus.APPROVED)

    campaign = services.campaign_stop(campaign=campaign, user=owner, reason="Wrong week")

    assert campaign.status == CampaignStatus.STOPPED
    assert campaign.stop_reason == "Wrong week"
    assert not Recommendation.objects.filter(
        channel=Channel.EMAIL, status=RecommendationStatus.HELD
    ).exists()
    assert set(
        CampaignRecipient.objects.filter(campaign=campaign).values_list("status", flat=True)
    ) == {RecipientStatus.SKIPPED}
    with pytest.raises(ApplicationError):
        sending.campaign_send_start(campaign=campaign, user=owner, base_url="http://x/")
    assert mail.outbox == []


def test_the_email_says_why_and_carries_both_links_and_one_click_headers(
    shop, owner, django_capture_on_commit_callbacks
):
    campaign = generated(owner, django_capture_on_commit_callbacks)
    recipient = offers(campaign)[0]
    decide(recipient.recommendation, RecommendationStatus.APPROVED)
    send(campaign, owner, django_capture_on_commit_callbacks)

    (message,) = mail.outbox
    rec = recipient.recommendation
    assert message.subject == "Fresh from the oven"
    assert message.to == [recipient.customer.email]
    assert "This week we bake twice a day." in message.body
    assert rec.item.name in message.body
    assert rec.sentence and rec.sentence in message.body
    assert "https://shop.example.com/offers/stop-personalizing/" in message.body
    assert "https://shop.example.com/offers/unsubscribe/" in message.body
    unsubscribe = message.extra_headers["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://shop.example.com/offers/unsubscribe/")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert rec.sentence in html and "Stop personalizing my offers" in html
    # no personal data beyond the address: the link carries no email or name
    assert recipient.customer.email not in unsubscribe


def test_an_offer_a_reviewer_replaced_goes_out_as_the_replacement(
    shop, owner, django_capture_on_commit_callbacks
):
    campaign = generated(owner, django_capture_on_commit_callbacks)
    recipient = offers(campaign)[0]
    tea = ItemFactory(name="Breakfast Tea", attribute_codes=["contains:none"])
    decide(recipient.recommendation, "replace", replacement_item_id=tea.pk)

    send(campaign, owner, django_capture_on_commit_callbacks)

    (message,) = mail.outbox
    assert message.to == [recipient.customer.email]
    assert "Breakfast Tea" in message.body
    assert recipient.recommendation.item.name not in message.body
    recipient.refresh_from_db()
    assert recipient.status == RecipientStatus.SENT
    assert recipient.recommendation.item == tea
    assert recipient.segment == tea.category.slug


class UnreachableMailServer(BaseEmailBackend):
    def open(self):
        raise ConnectionRefusedError("connection refused")

    def send_messages(self, messages):  # pragma: no cover - never reached
        raise AssertionError("must not send without a connection")


class RefusingMailServer(BaseEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({"x": (550, b"no such user")})


def test_an_unreachable_mail_server_loses_nobody_and_a_refused_email_is_not_retried(
    shop, owner, settings, django_capture_on_commit_callbacks
):
    campaign = generated(owner, django_capture_on_commit_callbacks)
    chosen = offers(campaign)[:2]
    for r in chosen:
        decide(r.recommendation, RecommendationStatus.APPROVED)
    with django_capture_on_commit_callbacks(execute=False):
        sending.campaign_send_start(campaign=campaign, user=owner, base_url="http://x/")

    # the server cannot be reached: the email certainly did not go, it waits in the queue
    settings.EMAIL_BACKEND = f"{__name__}.UnreachableMailServer"
    outcome = sending.campaign_send_batch(campaign_id=campaign.pk)
    assert (outcome.done, outcome.wait_seconds) == (False, sending.MAIL_SERVER_RETRY_SECONDS)
    statuses = CampaignRecipient.objects.filter(pk__in=[r.pk for r in chosen])
    assert set(statuses.values_list("status", flat=True)) == {RecipientStatus.QUEUED}

    # the server refuses the first message: it is marked failed, the rest still go out
    settings.EMAIL_BACKEND = f"{__name__}.RefusingMailServer"
    first = chosen[0]
    CampaignRecipient.objects.exclude(pk=first.pk).filter(campaign=campaign).update(
        status=RecipientStatus.SKIPPED, skip_reason=SkipReason.STOPPED
    )
    assert sending.campaign_send_batch(campaign_id=campaign.pk).done
    first.refresh_from_db()
    assert (first.status, first.failure) == (RecipientStatus.FAILED, "SMTPRecipientsRefused")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENDING)
    sending.campaign_send_batch(campaign_id=campaign.pk)
    assert mail.outbox == []


def test_the_kill_switch_stops_a_campaign_while_offers_are_chosen(
    shop, owner, django_capture_on_commit_callbacks
):
    campaign = services.campaign_create(name="W", subject="S", message="M", created_by=owner)
    with django_capture_on_commit_callbacks(execute=False):
        services.campaign_generate_start(campaign=campaign)
    kill_switch_set(engaged=True, reason="Checking the model", actor=owner)

    from personalization.campaigns.tasks import campaign_generate

    campaign_generate.apply(args=[campaign.pk])

    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.STOPPED
    assert "Checking the model" in campaign.stop_reason
    assert not Recommendation.objects.filter(channel=Channel.EMAIL).exists()
    with pytest.raises(ApplicationError, match="kill switch"):
        services.campaign_generate_start(
            campaign=services.campaign_create(name="X", subject="S", message="M", created_by=owner)
        )


def test_offer_emails_switched_off_in_the_risk_gate_stop_sending_and_refuse_new_runs(
    shop, owner, settings, django_capture_on_commit_callbacks
):
    settings.CAMPAIGN_EMAILS_PER_MINUTE = 1
    campaign = generated(owner, django_capture_on_commit_callbacks)
    for r in offers(campaign):
        decide(r.recommendation, RecommendationStatus.APPROVED)
    with django_capture_on_commit_callbacks(execute=False):
        sending.campaign_send_start(campaign=campaign, user=owner, base_url="http://x/")
    start = timezone.now()
    assert sending.campaign_send_batch(campaign_id=campaign.pk, now=start).sent == 1

    feature, _created = PersonalizationFeature.objects.get_or_create(
        code=OFFER_EMAILS, defaults={"name": "Offer emails", "enabled": True, "built_in": True}
    )
    feature_set_enabled(feature=feature, enabled=False, reason="New assessment", actor=owner)
    outcome = sending.campaign_send_batch(campaign_id=campaign.pk, now=start + timedelta(minutes=2))

    assert outcome.done and outcome.sent == 0 and len(mail.outbox) == 1
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.STOPPED
    assert campaign.stop_reason == "Offer emails were switched off under Features & risk."
    another = services.campaign_create(
        name="Cake week", subject="Cakes", message="Cakes all week.", created_by=owner
    )
    with pytest.raises(ApplicationError) as refused:
        services.campaign_generate_start(campaign=another)
    assert refused.value.code == "feature_off"


def test_a_customer_who_chose_german_gets_the_offer_email_in_german(
    shop, owner, django_capture_on_commit_callbacks
):
    from tests.factories import UserFactory

    # given a recipient whose login chose German on the site's switch
    campaign = generated(owner, django_capture_on_commit_callbacks)
    recipient = offers(campaign)[0]
    customer = recipient.customer
    customer.user = UserFactory(email="kundin@example.com", language="de")
    customer.save(update_fields=["user"])
    decide(recipient.recommendation, RecommendationStatus.APPROVED)

    send(campaign, owner, django_capture_on_commit_callbacks)

    # then her email's own wording and price are German (the owner's text stays as written)
    (message,) = mail.outbox
    html, _mimetype = message.alternatives[0]
    assert "This week we bake twice a day." in message.body
    assert "Meine Angebote nicht mehr personalisieren" in html
    assert "Stop personalizing my offers" not in html
    price = f"{recipient.recommendation.item.price:.2f}".replace(".", ",")
    assert f"{price} £" in html
