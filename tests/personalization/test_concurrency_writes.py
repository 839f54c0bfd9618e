"""Write paths a person or the shop's systems can trigger twice at once (two or three
real PostgreSQL sessions): feedback pressed twice, two reviewers on one item, bulk
decisions that overlap, a decision while the list is regenerated, two "send" presses."""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.db import connection

from accounts.models import CustomerProfile, User
from accounts.roles import Role
from core.errors import ApplicationError
from personalization.campaigns import sending
from personalization.campaigns import services as campaigns
from personalization.campaigns.models import (
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    RecipientStatus,
)
from personalization.consent.services import ConsentChange, consent_set
from personalization.models import (
    Channel,
    Feedback,
    FeedbackKind,
    OversightSettings,
    Recommendation,
    RecommendationStatus,
    ReviewAction,
    ReviewActionKind,
    ReviewItem,
    ReviewStatus,
)
from personalization.oversight import services as oversight
from personalization.recommending import delivery, services
from personalization.registry import EMAIL_ENGAGEMENT, MARKETING, PURCHASE_HISTORY
from tests.personalization.sessions import (
    holding,
    in_own_session,
    release_held_sessions,  # noqa: F401
    small_shop,
    waits_for_a_lock,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("DATABASE_URL does not point at PostgreSQL: row locks need two sessions")


@pytest.fixture
def shop():
    return small_shop()


def fresh(customer: CustomerProfile) -> CustomerProfile:
    return CustomerProfile.objects.get(pk=customer.pk)


# --- feedback ---------------------------------------------------------------------------


def test_not_for_me_pressed_twice_at_once_is_recorded_once(postgresql, shop):
    customer = shop.customer
    top = services.recommendations_generate_for_customer(customer=customer)[0]

    def press():
        return services.feedback_record(
            customer=fresh(customer), recommendation_id=top.pk, kind=FeedbackKind.NOT_FOR_ME
        ).feedback.pk

    first, release = holding(press)
    second = in_own_session(press)
    assert waits_for_a_lock(second)
    release.set()
    assert first.value == second.value
    assert list(Feedback.objects.values_list("item_id", "kind")) == [
        (top.item_id, FeedbackKind.NOT_FOR_ME)
    ]
    shown = delivery.recommendations_deliver(customer=fresh(customer)).items
    assert shown and top.item_id not in [item.item_id for item in shown]


def test_i_cant_have_this_pressed_again_on_an_older_page_changes_nothing(shop):
    customer = shop.customer
    top = delivery.recommendations_deliver(customer=customer).items[0]
    first = services.feedback_record(
        customer=customer, recommendation_id=top.recommendation_id, kind=FeedbackKind.CANT_HAVE
    )
    # the same button on the page as it was before the list changed
    again = services.feedback_record(
        customer=fresh(customer),
        recommendation_id=top.recommendation_id,
        kind=FeedbackKind.CANT_HAVE,
    )
    assert again.feedback.pk == first.feedback.pk
    assert Feedback.objects.filter(customer=customer).count() == 1
    assert [r.pk for r in again.recommendations] == [r.pk for r in first.recommendations]
    assert top.item_id not in [r.item_id for r in again.recommendations]


# --- review decisions -------------------------------------------------------------------


@pytest.fixture
def held(shop):
    """The customer's list with its first three rows held for review (new-model sample)."""
    OversightSettings.objects.update_or_create(pk=1, defaults={"new_model_sample": 3})
    services.recommendations_generate_for_customer(customer=shop.customer)
    items = list(ReviewItem.objects.filter(customer=shop.customer).order_by("pk"))
    assert len(items) == 3 and all(i.status == ReviewStatus.OPEN for i in items)
    return items


def approve(user: User, item_id: int):
    def run():
        return oversight.review_decide(
            user=user, item_id=item_id, decision="approve", reason_code="fits_customer"
        ).status

    return run


def test_two_reviewers_deciding_one_item_at_once_one_decides_the_other_is_told(
    postgresql, held, make_user
):
    alice, bob = make_user(Role.STAFF), make_user(Role.STAFF)
    item = held[0]
    first, release = holding(approve(alice, item.pk))
    second = in_own_session(
        lambda: oversight.review_decide(
            user=bob, item_id=item.pk, decision="reject", reason_code="other", note="no"
        )
    )
    assert waits_for_a_lock(second)
    release.set()
    assert first.value == ReviewStatus.DECIDED
    assert isinstance(second.error, ApplicationError)
    # The second reviewer is told who decided (decision 63), and nothing of theirs is kept.
    assert second.error.message.startswith(f"Already decided by {alice.email} at ")
    assert second.error.message.endswith("Nothing was changed.")
    assert Recommendation.objects.get(pk=item.recommendation_id).status == (
        RecommendationStatus.APPROVED
    )
    decisions = ReviewAction.objects.filter(
        item=item, action__in=[ReviewActionKind.APPROVED, ReviewActionKind.REJECTED]
    )
    assert [(a.action, a.actor_id) for a in decisions] == [(ReviewActionKind.APPROVED, alice.pk)]


def test_overlapping_bulk_decisions_decide_each_item_once(postgresql, held, make_user):
    alice, bob = make_user(Role.STAFF), make_user(Role.STAFF)
    ids = [item.pk for item in held]

    def bulk(user, pks, decision):
        def run():
            return oversight.review_bulk_decide(
                user=user,
                queryset=ReviewItem.objects.filter(pk__in=pks),
                decision=decision,
                reason_code="fits_customer" if decision == "approve" else "not_appropriate",
            ).decided

        return run

    first, release = holding(bulk(alice, ids[:2], "approve"))
    second = in_own_session(bulk(bob, ids[1:], "reject"))
    waits_for_a_lock(second)  # or skips what the first holds: either way, once each
    release.set()
    assert (first.value, second.value) == (2, 1)
    statuses = [
        Recommendation.objects.get(pk=item.recommendation_id).status
        for item in ReviewItem.objects.filter(pk__in=ids).order_by("pk")
    ]
    assert statuses == ["approved", "approved", "rejected"]
    decided = ReviewAction.objects.filter(
        item_id__in=ids, action__in=[ReviewActionKind.APPROVED, ReviewActionKind.REJECTED]
    )
    assert sorted(a.item_id for a in decided) == ids


def test_a_decision_while_the_list_is_regenerated_waits_and_is_not_lost(
    postgresql, shop, held, make_user
):
    reviewer = make_user(Role.STAFF)
    item = held[0]
    # given: the reviewer's approval is written, not committed yet
    first, release = holding(approve(reviewer, item.pk))
    # when: the customer's list is regenerated meanwhile (a consent change, say)
    second = in_own_session(
        lambda: services.recommendations_generate_for_customer(customer=fresh(shop.customer))
    )
    assert waits_for_a_lock(second)
    release.set()
    assert first.value == ReviewStatus.DECIDED
    assert second.error is None, second.out
    # then: the approved row is kept (replaced, not deleted as if undecided) and the
    # decision is on the trail with its item
    row = Recommendation.objects.get(pk=item.recommendation_id)
    assert row.status == RecommendationStatus.APPROVED
    assert ReviewItem.objects.get(pk=item.pk).decision == "approve"


# --- campaign sends ---------------------------------------------------------------------


@pytest.fixture
def owner(make_user):
    return make_user(Role.OWNER, email="owner@example.com")


@pytest.fixture
def audience(shop):
    """The crowd allows offer emails."""
    for customer in shop.crowd:
        consent_set(
            customer=customer,
            changes=[
                ConsentChange(MARKETING, c, True) for c in (PURCHASE_HISTORY, EMAIL_ENGAGEMENT)
            ],
            method="ui",
            actor="customer",
            notice_version=None,
        )
    return shop.crowd


def draft(owner, name: str = "Bread week") -> Campaign:
    return campaigns.campaign_create(
        name=name, subject="Fresh", message="Baked twice a day.", created_by=owner
    )


def test_two_campaigns_started_at_once_one_starts_the_other_is_refused(postgresql, audience, owner):
    bread, cakes = draft(owner), draft(owner, "Cake week")

    def start(campaign):
        return lambda: (
            campaigns.campaign_generate_start(campaign=Campaign.objects.get(pk=campaign.pk)).status
        )

    first, release = holding(start(bread))
    second = in_own_session(start(cakes))
    assert waits_for_a_lock(second)
    release.set()
    assert first.value == CampaignStatus.GENERATING
    assert isinstance(second.error, ApplicationError) and second.error.code == "busy"
    assert Campaign.objects.get(pk=cakes.pk).status == CampaignStatus.DRAFT


def test_a_generation_task_delivered_twice_at_once_gives_each_customer_one_offer(
    postgresql, audience, owner
):
    # given: a started campaign whose task the broker hands to two workers at once
    campaign = draft(owner)
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.GENERATING)

    def run():
        return campaigns.campaign_generate_run(campaign_id=campaign.pk).status

    first, release = holding(run)
    second = in_own_session(run)
    assert waits_for_a_lock(second)
    release.set()
    assert first.value == second.value == CampaignStatus.IN_REVIEW
    recipients = CampaignRecipient.objects.filter(campaign=campaign)
    assert sorted(recipients.values_list("customer_id", flat=True)) == sorted(
        c.pk for c in audience
    )
    offers = [r.recommendation_id for r in recipients if r.recommendation_id is not None]
    assert offers, "nobody got an offer"
    # every offer waits in the queue once, and nothing waits that no email carries
    waiting = ReviewItem.objects.filter(channel=Channel.EMAIL)
    assert sorted(waiting.values_list("recommendation_id", flat=True)) == sorted(offers)


def test_two_send_presses_at_once_email_each_customer_once(postgresql, audience, owner, make_user):
    campaign = draft(owner)
    campaigns.campaign_generate_start(campaign=campaign)
    reviewer = make_user(Role.STAFF)
    recipients = list(
        CampaignRecipient.objects.filter(campaign=campaign, recommendation__isnull=False)
    )
    assert len(recipients) >= 2
    for recipient in recipients:
        review = ReviewItem.objects.get(recommendation_id=recipient.recommendation_id)
        oversight.review_decide(
            user=reviewer,
            item_id=review.pk,
            decision="approve",
            reason_code="fits_customer",
            explanation_seen=True,
        )
    start = threading.Barrier(2)

    def press():
        start.wait(30)
        return sending.campaign_send_start(
            campaign=Campaign.objects.get(pk=campaign.pk),
            user=owner,
            base_url="https://shop.example.com/",
        ).status

    presses = [in_own_session(press) for _ in range(2)]
    assert [p.error for p in presses] == [None, None], [p.out for p in presses]
    addresses = [address for message in mail.outbox for address in message.to]
    assert sorted(addresses) == sorted({r.customer.email for r in recipients})
    assert set(
        CampaignRecipient.objects.filter(pk__in=[r.pk for r in recipients]).values_list(
            "status", flat=True
        )
    ) == {RecipientStatus.SENT}
