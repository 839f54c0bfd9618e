"""What reviewers see and how their decisions hold up (issue 17, item 4): the customer's
note and likes, a replacement picker that honours restrictions and feedback, reasons that
fit the decision, a bulk confirmation that lists what it decides, a stale form that says
who decided, and the owner's escalations."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.urls import reverse

from accounts.roles import Role
from core.errors import ApplicationError
from personalization.models import (
    Feedback,
    RecommendationStatus,
    ReviewAction,
    ReviewItem,
    ReviewStatus,
)
from personalization.oversight import selectors
from personalization.oversight import services as oversight
from tests.builders import Held
from tests.personalization.sessions import holding, in_own_session, release_held_sessions

pytestmark = pytest.mark.django_db

__all__ = ["release_held_sessions"]


@pytest.fixture
def held():
    return Held()


@pytest.fixture
def staff(make_user):
    return make_user(Role.STAFF, email="reviewer@example.com")


@pytest.fixture
def staff2(make_user):
    return make_user(Role.STAFF, email="second@example.com")


@pytest.fixture
def owner(make_user):
    return make_user(Role.OWNER, email="boss@example.com")


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def picker_ids(html: str) -> set[int]:
    block = re.search(r'<select name="replacement_item"[^>]*>(.*?)</select>', html, re.S)
    assert block, "no replacement picker on the page"
    return {int(v) for v in re.findall(r'<option value="(\d+)"', block.group(1))}


def test_the_item_page_shows_the_customers_note_and_likes_in_words(client, held, staff):
    # given a coeliac customer who wrote to staff and likes breads
    held.coeliac.notes_for_staff = "Coeliac since 2019: please double-check every loaf."
    held.coeliac.liked_categories = ["breads"]
    held.coeliac.save(update_fields=["notes_for_staff", "liked_categories"])
    client.force_login(staff)
    # when a reviewer opens her held item
    page = text(client.get(reverse("staff:review_item", args=[held.risky.pk])))
    # then the note is there word for word, the like and the restriction in words
    assert "Note for staff" in page
    assert "Coeliac since 2019: please double-check every loaf." in page
    assert re.search(r'<ul class="customer-likes"><li>Breads</li></ul>', page)
    assert re.search(r'<ul class="customer-restrictions"><li>Gluten</li></ul>', page)


def test_a_customer_without_note_or_likes_says_so(client, held, staff):
    client.force_login(staff)
    page = text(client.get(reverse("staff:review_item", args=[held.cake.pk])))
    assert "No note." in page and "No liked categories." in page


def test_the_replacement_picker_offers_only_items_that_pass_restrictions_and_feedback(
    client, held, staff
):
    shop = held.shop
    # given the coeliac customer turned the tea down
    Feedback.objects.create(customer=held.coeliac, item=shop.tea, kind="not_for_me")
    client.force_login(staff)
    offered = picker_ids(text(client.get(reverse("staff:review_item", args=[held.risky.pk]))))
    # then nothing with gluten, nothing without declared allergens, not the tea
    for item in (shop.wheat, shop.rye, shop.croissant, shop.cake, shop.seeded):
        assert item.pk not in offered, item.name
    assert shop.guest.pk not in offered  # allergens not declared, under a gluten rule
    assert shop.tea.pk not in offered  # turned down
    assert shop.old.pk not in offered  # not on sale
    listed = set(
        held.coeliac.recommendations.filter(superseded_at__isnull=True).values_list(
            "item_id", flat=True
        )
    )
    assert not offered & listed
    # and every offered item is one the service accepts
    for pk in offered:
        flags = oversight.replacement_flags(
            customer_id=held.coeliac.pk, item_id=pk, is_campaign=False
        )
        assert not [f for f in flags if f["rule"] == "restriction_conflict"]


def test_a_turned_down_item_is_refused_as_a_replacement_even_if_posted(client, held, staff):
    # given the fan said she can't have an item that is not on her list
    listed = set(
        held.fan.recommendations.filter(superseded_at__isnull=True).values_list(
            "item_id", flat=True
        )
    )
    spare = next(
        i for i in (held.shop.tea, held.shop.gluten_free, held.shop.bloomer) if i.pk not in listed
    )
    Feedback.objects.create(customer=held.fan, item=spare, kind="cant_have")
    client.force_login(staff)
    response = client.post(
        reverse("staff:review_decide", args=[held.cake.pk]),
        {"decision": "replace", "reason_code": "better_item", "replacement_item": spare.pk},
    )
    assert response.status_code == 400
    assert "The customer turned that item down" in text(response)
    assert ReviewItem.objects.get(pk=held.cake.pk).status == ReviewStatus.OPEN


def test_the_reasons_offered_are_grouped_by_decision(client, held, staff):
    client.force_login(staff)
    page = text(client.get(reverse("staff:review_item", args=[held.cake.pk])))
    groups = dict(re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', page))
    assert set(groups) == {"Reasons to approve", "Reasons to reject", "Reasons to replace"}
    assert 'value="not_an_issue"' in groups["Reasons to approve"]
    assert 'value="not_an_issue"' not in groups["Reasons to reject"]
    assert 'value="too_expensive"' in groups["Reasons to reject"]
    assert 'value="fits_customer"' not in groups["Reasons to reject"]


def test_a_reason_that_does_not_fit_the_decision_is_refused(client, held, staff):
    client.force_login(staff)
    response = client.post(
        reverse("staff:review_decide", args=[held.cake.pk]),
        {"decision": "reject", "reason_code": "not_an_issue"},
    )
    assert response.status_code == 400
    assert "“Checked: not an issue” is not a reason to reject" in text(response)
    assert ReviewItem.objects.get(pk=held.cake.pk).status == ReviewStatus.OPEN
    assert not ReviewAction.objects.filter(action="rejected").exists()
    # bulk too
    with pytest.raises(ApplicationError) as error:
        oversight.review_bulk_decide(
            user=staff,
            queryset=ReviewItem.objects.all(),
            decision="approve",
            reason_code="too_expensive",
        )
    assert error.value.code == "reason_mismatch"


def test_a_stale_form_after_back_says_who_decided_and_changes_nothing(client, held, staff, staff2):
    # given a colleague rejected the cake while this reviewer's page was open
    oversight.review_decide(
        user=staff2, item_id=held.cake.pk, decision="reject", reason_code="too_expensive"
    )
    client.force_login(staff)
    # when the reviewer sends the old form
    response = client.post(
        reverse("staff:review_decide", args=[held.cake.pk]),
        {"decision": "approve", "reason_code": "fits_customer"},
        follow=True,
    )
    # then: the item's page, saying who decided, and the decision stands
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("staff:review_item", args=[held.cake.pk])
    page = text(response)
    assert "Already decided by second@example.com" in page and "Reject" in page
    assert "Nothing was changed." in page
    item = ReviewItem.objects.get(pk=held.cake.pk)
    assert (item.decision, item.decided_by) == ("reject", staff2)
    assert item.recommendation.status == RecommendationStatus.REJECTED
    assert ReviewAction.objects.filter(item=item, action__in=("approved", "rejected")).count() == 1


def test_pressing_decide_twice_says_it_was_you(client, held, staff):
    client.force_login(staff)
    url = reverse("staff:review_decide", args=[held.cake.pk])
    form = {"decision": "reject", "reason_code": "too_expensive"}
    client.post(url, form)
    again = text(client.post(url, form, follow=True))
    assert "Already decided by you" in again
    assert ReviewAction.objects.filter(item=held.cake, action="rejected").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_deciding_at_once_make_one_decision(held, staff, staff2):
    if connection.vendor != "postgresql":
        pytest.skip("DATABASE_URL does not point at PostgreSQL: row locks need two sessions")
    # given the first reviewer's decision is in flight (its transaction holds the locks)
    first, release = holding(
        lambda: oversight.review_decide(
            user=staff, item_id=held.cake.pk, decision="approve", reason_code="fits_customer"
        )
    )
    # when a second reviewer decides the same item in another session
    second = in_own_session(
        lambda: oversight.review_decide(
            user=staff2, item_id=held.cake.pk, decision="reject", reason_code="too_expensive"
        )
    )
    release.set()
    first.join()
    # then the second waited, saw the first decision, and was told who made it
    assert isinstance(second.error, ApplicationError)
    assert second.error.code == "decided"
    assert "Already decided by reviewer@example.com" in second.error.message
    item = ReviewItem.objects.get(pk=held.cake.pk)
    assert (item.decision, item.decided_by_id) == ("approve", staff.pk)
    assert ReviewAction.objects.filter(item=item, action__in=("approved", "rejected")).count() == 1


def test_a_bulk_confirmation_lists_the_items_and_decides_only_those(client, held, staff, staff2):
    client.force_login(staff)
    asked = text(
        client.post(
            reverse("staff:review_bulk"),
            {"decision": "reject", "reason_code": "other", "note": "Tidy up"},
        )
    )
    listed = re.findall(r'<tr class="bulk-item" data-item="(\d+)"', asked)
    assert sorted(int(pk) for pk in listed) == sorted([held.cake.pk, held.risky.pk])
    assert "Reject these 2 items now?" in asked
    assert "Guest Cob" in asked and "Celebration Cake" in asked
    # meanwhile a colleague decides one of them
    oversight.review_decide(
        user=staff2, item_id=held.risky.pk, decision="reject", reason_code="data_missing"
    )
    done = text(
        client.post(
            reverse("staff:review_bulk"),
            {
                "decision": "reject",
                "reason_code": "other",
                "note": "Tidy up",
                "confirmed": "on",
                "items": listed,
            },
            follow=True,
        )
    )
    assert "1 decided." in done
    assert "1 listed item was decided by someone else meanwhile." in done
    assert ReviewItem.objects.get(pk=held.risky.pk).decided_by == staff2
    assert ReviewItem.objects.get(pk=held.cake.pk).decided_by == staff


def test_a_confirmed_bulk_without_the_list_decides_nothing(client, held, staff):
    client.force_login(staff)
    client.post(
        reverse("staff:review_bulk"),
        {"decision": "reject", "reason_code": "too_expensive", "confirmed": "on"},
    )
    assert not ReviewItem.objects.filter(status=ReviewStatus.DECIDED).exists()


def test_the_owner_sees_escalations_with_the_note_and_decides_one(client, held, staff, owner):
    oversight.review_escalate(
        user=staff, item_id=held.cake.pk, note="A £32 cake for someone who buys buns?"
    )
    # staff cannot open the owner's page
    client.force_login(staff)
    assert client.get(reverse("owner:escalations")).status_code == 403
    client.force_login(owner)
    page = text(client.get(reverse("owner:escalations")))
    assert f'data-item="{held.cake.pk}"' in page
    assert f'data-item="{held.risky.pk}"' not in page  # not escalated
    assert "A £32 cake for someone who buys buns?" in page and "reviewer@example.com" in page
    item_url = reverse("staff:review_item", args=[held.cake.pk]) + "?back_to=escalations"
    assert item_url in page
    form = text(client.get(item_url))
    assert 'name="back_to" value="escalations"' in form
    done = client.post(
        reverse("staff:review_decide", args=[held.cake.pk]),
        {"decision": "reject", "reason_code": "too_expensive", "back_to": "escalations"},
        follow=True,
    )
    assert done.redirect_chain[-1][0] == reverse("owner:escalations")
    assert "Nothing is escalated to you." in text(done)
    item = ReviewItem.objects.get(pk=held.cake.pk)
    assert (item.status, item.decided_by) == (ReviewStatus.DECIDED, owner)


def test_escalations_page_reads_a_bounded_number_of_queries(
    client, held, staff, owner, django_assert_max_num_queries
):
    for item in (held.cake, held.risky):
        oversight.review_escalate(user=staff, item_id=item.pk, note="Look")
    assert len(selectors.escalations()) == 2
    with django_assert_max_num_queries(2):
        selectors.escalations()


def test_the_owners_home_counts_escalations_and_links_to_them(client, held, staff, owner):
    client.force_login(owner)
    calm = text(client.get(reverse("owner:dashboard")))
    assert 'data-attention="escalations"' not in calm
    oversight.review_escalate(user=staff, item_id=held.cake.pk, note="Look")
    page = text(client.get(reverse("owner:dashboard")))
    assert re.search(
        r'<a href="/owner/escalations/"><span class="attention-count">1</span> '
        r'<span class="attention-text">review item is escalated to you and waits for your '
        r"decision</span></a>",
        page,
    )
