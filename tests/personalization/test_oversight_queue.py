"""/staff/review/: the queue, claims, decisions with reasons, replacements, four-eyes,
escalation, bulk decisions, the AI-policy gate, the automation-bias aids, the owner's
thresholds and trail."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditAttribute
from accounts.roles import Role
from core.errors import ApplicationError
from governance.services import ai_policy_acknowledge, ai_policy_publish
from personalization.models import (
    Feedback,
    FeedbackKind,
    OversightSettings,
    Recommendation,
    RecommendationStatus,
    ReviewAction,
    ReviewItem,
    ReviewStatus,
)
from personalization.oversight import services as oversight
from personalization.recommending import services
from tests.builders import Held
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db
QUEUE = "/staff/review/"


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


def signed_in(client, user):
    client.force_login(user)
    return client


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_only_staff_and_owners_see_the_queue(client, held, make_user):
    assert client.get(QUEUE).status_code == 302
    client.force_login(make_user(Role.CUSTOMER))
    assert client.get(QUEUE).status_code == 403
    assert reverse("staff:review_queue") == QUEUE


def test_queue_lists_oldest_first_with_counts_per_rule_and_overdue_marked(client, held, staff):
    body = text(signed_in(client, staff).get(QUEUE))
    rows = re.findall(r'data-item="(\d+)"', body)
    assert [int(r) for r in rows][:2] == [held.cake.pk, held.risky.pk]
    assert re.search(r'data-rule="premium_nudge">\s*1<', body)
    assert re.search(r'data-rule="missing_attribute_data">\s*1<', body)
    # The cake is past the 24-hour deadline; the other is not.
    cake_row = re.search(rf'<tr class="review-row overdue" data-item="{held.cake.pk}"', body)
    assert cake_row
    assert f'<tr class="review-row" data-item="{held.risky.pk}"' in body


def test_filters_by_rule_customer_channel_and_age(client, held, staff):
    c = signed_in(client, staff)

    def listed(**params):
        return [int(x) for x in re.findall(r'data-item="(\d+)"', text(c.get(QUEUE, params)))]

    assert listed(rule="missing_attribute_data") == [held.risky.pk]
    assert listed(customer="FAN") == [held.cake.pk]
    assert listed(customer=str(held.coeliac.pk)) == [held.risky.pk]
    assert listed(age="overdue") == [held.cake.pk]
    assert listed(channel="email") == []
    # Nonsense in a filter is ignored, never a 500.
    assert c.get(QUEUE, {"rule": "nope", "age": "x" * 500}).status_code == 200


def test_two_reviewers_never_get_the_same_item_and_a_claim_expires(held, staff, staff2):
    mine = oversight.review_claim(user=staff, count=1)
    theirs = oversight.review_claim(user=staff2, count=5)
    assert [i.pk for i in mine] == [held.cake.pk]  # oldest first
    assert [i.pk for i in theirs] == [held.risky.pk]
    with pytest.raises(ApplicationError) as error:
        oversight.review_claim_item(user=staff2, item_id=held.cake.pk)
    assert error.value.code == "claimed"
    with pytest.raises(ApplicationError):
        oversight.review_decide(
            user=staff2, item_id=held.cake.pk, decision="reject", reason_code="too_expensive"
        )
    # The claim runs out after the owner's claim minutes.
    ReviewItem.objects.filter(pk=held.cake.pk).update(
        claim_expires_at=timezone.now() - timedelta(seconds=1)
    )
    # (Claiming again also renews the reviewer's own claims.)
    assert [i.pk for i in oversight.review_claim(user=staff2, count=5)] == [
        held.cake.pk,
        held.risky.pk,
    ]


def test_claiming_from_the_queue_takes_the_oldest_of_the_filtered_list(client, held, staff):
    c = signed_in(client, staff)
    response = c.post(
        reverse("staff:review_claim"), {"count": "1", "rule": "missing_attribute_data"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:review_item", args=[held.risky.pk])
    held.risky.refresh_from_db()
    assert held.risky.claimed_by == staff
    bad = c.post(reverse("staff:review_claim"), {"count": "0"}, follow=True)
    assert "Claim at least one item." in text(bad)


def test_the_item_page_shows_what_the_customer_would_see_and_never_audit_attributes(
    client, held, staff
):
    AuditAttribute.objects.create(
        customer=held.coeliac,
        name="age_band",
        value="SECRET-BAND-77",
        source=AuditAttribute.Source.CUSTOMER,
        declared_at=timezone.now(),
    )
    Feedback.objects.create(customer=held.coeliac, item=held.shop.tea, kind=FeedbackKind.NOT_FOR_ME)
    body = text(signed_in(client, staff).get(reverse("staff:review_item", args=[held.risky.pk])))
    assert "Guest Cob" in body and "3.80" in body
    assert held.risky.recommendation.sentence in body
    assert "has not recorded this item&#x27;s allergens" in body or "allergens" in body
    assert "contains:gluten" in body  # the restriction
    assert "Tea" in body and "Not for me" in body  # recent feedback
    assert "SECRET-BAND-77" not in body and "age_band" not in body
    assert "Secretname" not in body and held.coeliac.email not in body
    # High-risk: the approve button starts disabled until the explanation is opened.
    assert re.search(r'<input type="radio" name="decision" value="approve"[^>]*disabled', body)
    assert "js/review.js" in body


def test_a_high_risk_approval_needs_the_explanation_seen(client, held, staff):
    c = signed_in(client, staff)
    url = reverse("staff:review_decide", args=[held.risky.pk])
    refused = c.post(url, {"decision": "approve", "reason_code": "data_checked"})
    assert refused.status_code == 400
    assert "open and read the explanation" in text(refused)
    held.risky.refresh_from_db()
    assert held.risky.status == ReviewStatus.OPEN
    done = c.post(
        url, {"decision": "approve", "reason_code": "data_checked", "explanation_seen": "on"}
    )
    assert done.status_code == 302
    held.risky.refresh_from_db()
    assert held.risky.status == ReviewStatus.DECIDED and held.risky.decided_by == staff
    assert held.risky.recommendation.status == RecommendationStatus.APPROVED
    action = ReviewAction.objects.get(item=held.risky, action="approved")
    assert (action.actor, action.reason_code, action.customer_ref) == (
        staff,
        "data_checked",
        held.coeliac.pk,
    )
    assert action.snapshot["rules"] == ["missing_attribute_data"]


def test_every_decision_needs_a_reason_and_other_needs_a_note(client, held, staff):
    c = signed_in(client, staff)
    url = reverse("staff:review_decide", args=[held.cake.pk])
    missing = c.post(url, {"decision": "reject"})
    assert missing.status_code == 400 and "Choose a reason for the decision." in text(missing)
    other = c.post(url, {"decision": "reject", "reason_code": "other"})
    assert other.status_code == 400 and "Say why in the note" in text(other)
    junk = c.post(url, {"decision": "explode", "reason_code": "zzz", "note": "x" * 5000})
    assert junk.status_code == 400
    held.cake.refresh_from_db()
    assert held.cake.status == ReviewStatus.OPEN
    ok = c.post(url, {"decision": "reject", "reason_code": "other", "note": "Birthday only"})
    assert ok.status_code == 302
    held.cake.refresh_from_db()
    assert held.cake.recommendation.status == RecommendationStatus.REJECTED
    assert held.cake.note == "Birthday only"


def test_a_replacement_goes_through_the_same_rules(client, held, staff):
    c = signed_in(client, staff)
    url = reverse("staff:review_decide", args=[held.risky.pk])
    # Wheat bread for a coeliac customer: refused, with the reason.
    refused = c.post(
        url,
        {
            "decision": "replace",
            "reason_code": "data_missing",
            "replacement_item": held.shop.wheat.pk,
        },
    )
    assert refused.status_code == 400
    assert "This replacement is refused" in text(refused) and "contains:gluten" in text(refused)
    # Something already on her list would be offered twice: refused.
    listed = Recommendation.objects.filter(customer=held.coeliac, superseded_at__isnull=True)
    twice = c.post(
        url,
        {
            "decision": "replace",
            "reason_code": "better_item",
            "replacement_item": listed.exclude(pk=held.risky.recommendation_id).first().item_id,
        },
    )
    assert twice.status_code == 400 and "already on the customer&#x27;s list" in text(twice)
    # A gluten-free item that is not on her list is fine: the held row is rejected, the
    # new one approved.
    macaroon = ItemFactory(
        name="Macaroon", category=held.shop.gluten_free.category, attribute_codes=["contains:egg"]
    )
    ok = c.post(
        url,
        {
            "decision": "replace",
            "reason_code": "better_item",
            "replacement_item": macaroon.pk,
        },
    )
    assert ok.status_code == 302
    held.risky.refresh_from_db()
    assert held.risky.recommendation.status == RecommendationStatus.REJECTED
    new = held.risky.replacement
    assert new.item == macaroon and new.status == RecommendationStatus.APPROVED
    assert new.rank == held.risky.recommendation.rank and new.customer == held.coeliac


def test_policy_level_decisions_need_a_second_different_person(held, staff, staff2, owner):
    oversight.review_mark_policy_level(user=owner, item_id=held.cake.pk)
    with pytest.raises(ApplicationError) as error:
        oversight.review_mark_policy_level(user=staff, item_id=held.risky.pk)
    assert error.value.code == "forbidden"
    item = oversight.review_decide(
        user=staff, item_id=held.cake.pk, decision="reject", reason_code="too_expensive"
    )
    assert item.status == ReviewStatus.AWAITING_SECOND
    assert item.recommendation.status == RecommendationStatus.HELD  # not yet in effect
    with pytest.raises(ApplicationError) as error:
        oversight.review_confirm(user=staff, item_id=item.pk, confirm=True)
    assert error.value.code == "same_person"
    item = oversight.review_confirm(user=staff2, item_id=item.pk, confirm=True)
    assert item.status == ReviewStatus.DECIDED and item.confirmed_by == staff2
    item.recommendation.refresh_from_db()
    assert item.recommendation.status == RecommendationStatus.REJECTED
    actions = list(
        ReviewAction.objects.filter(item=item).order_by("at", "pk").values_list("action", flat=True)
    )
    assert actions[-3:] == ["marked_policy_level", "proposed", "confirmed"]


def test_the_owner_can_mark_a_decision_policy_level_while_deciding(held, owner, staff):
    item = oversight.review_decide(
        user=owner,
        item_id=held.cake.pk,
        decision="approve",
        reason_code="fits_customer",
        policy_level=True,
    )
    assert item.status == ReviewStatus.AWAITING_SECOND
    with pytest.raises(ApplicationError):
        oversight.review_confirm(user=owner, item_id=item.pk, confirm=True)
    declined = oversight.review_confirm(user=staff, item_id=item.pk, confirm=False, note="No")
    assert declined.status == ReviewStatus.OPEN and declined.decision == ""
    declined.recommendation.refresh_from_db()
    assert declined.recommendation.status == RecommendationStatus.HELD


def test_escalated_items_are_the_owners_to_decide(client, held, staff, owner):
    c = signed_in(client, staff)
    empty = c.post(reverse("staff:review_escalate", args=[held.cake.pk]), {"escalate-note": ""})
    assert empty.status_code == 400 and "Say what the owner should look at." in text(empty)
    c.post(
        reverse("staff:review_escalate", args=[held.cake.pk]),
        {"escalate-note": "Is a cake ever fine?"},
    )
    held.cake.refresh_from_db()
    assert held.cake.status == ReviewStatus.ESCALATED
    with pytest.raises(ApplicationError) as error:
        oversight.review_decide(
            user=staff, item_id=held.cake.pk, decision="approve", reason_code="fits_customer"
        )
    assert error.value.code == "escalated"
    oversight.review_decide(
        user=owner, item_id=held.cake.pk, decision="approve", reason_code="fits_customer"
    )
    held.cake.refresh_from_db()
    assert held.cake.status == ReviewStatus.DECIDED


def test_decisions_wait_for_the_ai_policy_to_be_acknowledged(client, held, staff, owner):
    policy = ai_policy_publish(title="Our AI", body="People decide.", actor=owner)
    with pytest.raises(ApplicationError) as error:
        oversight.review_decide(
            user=staff, item_id=held.cake.pk, decision="reject", reason_code="too_expensive"
        )
    assert error.value.code == "policy_unacknowledged"
    page = text(signed_in(client, staff).get(reverse("staff:review_item", args=[held.cake.pk])))
    assert "Read the AI policy" in page and reverse("staff:ai_policy") in page
    refused = client.post(
        reverse("staff:review_decide", args=[held.cake.pk]),
        {"decision": "reject", "reason_code": "too_expensive"},
    )
    assert refused.status_code == 400 and "acknowledge the shop&#x27;s AI policy" in text(refused)
    ai_policy_acknowledge(policy=policy, user=staff)
    oversight.review_decide(
        user=staff, item_id=held.cake.pk, decision="reject", reason_code="too_expensive"
    )
    held.cake.refresh_from_db()
    assert held.cake.status == ReviewStatus.DECIDED


def test_bulk_decisions_show_how_many_and_leave_high_risk_out_of_approval(client, held, staff):
    c = signed_in(client, staff)
    preview = text(c.get(reverse("staff:review_bulk")))
    assert "2 items match the filters" in preview
    assert "Approving would decide 1 item." in preview
    assert "1 high-risk item is left out of a bulk approval" in preview
    asked = c.post(
        reverse("staff:review_bulk"), {"decision": "approve", "reason_code": "fits_customer"}
    )
    assert "Approve this item now?" in text(asked)
    # The confirmation lists the very item it will decide.
    assert re.findall(r'<tr class="bulk-item" data-item="(\d+)"', text(asked)) == [
        str(held.cake.pk)
    ]
    assert ReviewItem.objects.filter(status=ReviewStatus.DECIDED).count() == 0  # not yet
    done = c.post(
        reverse("staff:review_bulk"),
        {
            "decision": "approve",
            "reason_code": "fits_customer",
            "confirmed": "on",
            "items": [held.cake.pk],
        },
        follow=True,
    )
    assert "1 decided. Left for one-by-one review: 1 high-risk" in text(done)
    held.cake.refresh_from_db()
    held.risky.refresh_from_db()
    assert held.cake.recommendation.status == RecommendationStatus.APPROVED
    assert held.risky.status == ReviewStatus.OPEN
    assert ReviewAction.objects.get(item=held.cake, action="approved").snapshot["bulk"] is True


def test_bulk_reject_of_a_filtered_set_reaches_only_that_set(held, staff):
    from personalization.oversight import selectors

    queryset = selectors.review_queryset(
        filters=selectors.QueueFilters(rule="missing_attribute_data"), user=staff
    )
    result = oversight.review_bulk_decide(
        user=staff, queryset=queryset, decision="reject", reason_code="data_missing"
    )
    assert result.decided == 1
    held.cake.refresh_from_db()
    assert held.cake.status == ReviewStatus.OPEN


def test_the_queue_shows_each_reviewers_approval_rate(client, held, staff, owner):
    oversight.review_decide(
        user=staff, item_id=held.cake.pk, decision="approve", reason_code="fits_customer"
    )
    oversight.review_decide(
        user=staff,
        item_id=held.risky.pk,
        decision="reject",
        reason_code="data_missing",
    )
    body = text(signed_in(client, owner).get(QUEUE))
    assert re.search(r"reviewer@example.com</th><td>2</td><td>1</td><td>50%", body)


def test_a_task_is_closed_with_a_reason(client, held, staff):
    task = oversight.review_task_open(
        title="Gap for 55+", detail="Rate ratio 0.61", link="/owner/audits/1/"
    )
    page = text(signed_in(client, staff).get(reverse("staff:review_item", args=[task.pk])))
    assert "Gap for 55+" in page and "/owner/audits/1/" in page
    with pytest.raises(ApplicationError):
        oversight.review_decide(
            user=staff, item_id=task.pk, decision="approve", reason_code="fits_customer"
        )
    oversight.review_decide(
        user=staff, item_id=task.pk, decision="close", reason_code="finding_addressed"
    )
    task.refresh_from_db()
    assert task.status == ReviewStatus.DECIDED and task.decision == "close"


def test_a_held_item_that_comes_back_in_a_new_list_keeps_its_age_claim_and_escalation(held, staff):
    oversight.review_claim_item(user=staff, item_id=held.cake.pk)
    oversight.review_escalate(user=staff, item_id=held.cake.pk, note="Cake again?")
    old = ReviewItem.objects.get(pk=held.cake.pk)
    # The nightly refresh (or the customer's own change) regenerates the list.
    services.recommendations_generate_for_customer(customer=held.fan)
    new = ReviewItem.objects.get(customer=held.fan, recommendation__item=held.shop.cake)
    assert new.pk != old.pk
    assert new.waiting_since == old.waiting_since  # still 30 hours: past the deadline
    assert new.status == ReviewStatus.ESCALATED and new.escalated_at == old.escalated_at
    opened = ReviewAction.objects.get(item=new, action="opened")
    assert opened.snapshot["carried_from"] == old.pk
    from personalization.oversight import selectors

    assert selectors.queue_counts().overdue == 1


def test_a_regenerated_list_takes_its_held_items_out_of_the_queue_but_the_trail_stays(held):
    pk = held.cake.pk
    services.recommendations_generate_for_customer(customer=held.fan)
    assert not ReviewItem.objects.filter(pk=pk).exists()
    assert ReviewAction.objects.filter(item_ref=pk, action="opened", item__isnull=True).exists()
    # The new list is screened again.
    assert ReviewItem.objects.filter(customer=held.fan, status=ReviewStatus.OPEN).exists()


def test_the_staff_overview_counts_the_queue(client, held, staff):
    body = text(signed_in(client, staff).get("/staff/"))
    assert re.search(r'kpi-value">2</span><span class="kpi-label">waiting for a decision', body)
    assert re.search(r'kpi-value">1</span><span class="kpi-label">past the deadline', body)


# --- owner pages ------------------------------------------------------------------------


def test_owner_sets_thresholds_with_clear_errors(client, held, owner, staff):
    assert signed_in(client, staff).get("/owner/oversight/").status_code == 403
    c = signed_in(client, owner)
    page = c.get("/owner/oversight/")
    assert page.status_code == 200 and 'value="5.0"' in text(page)
    assert 'name="review_budget" value="50"' in text(page)
    bad = c.post(
        "/owner/oversight/",
        {
            "premium_multiple": "0.5",
            "min_evidence": "-1",
            "review_budget": "0",
            "spot_check_percent": "101",
            "sensitive_attributes": "alcohol, Moon Shine!",
            "sensitive_categories": "",
            "new_model_sample": "lots",
            "complaint_window_days": "30",
            "sla_hours": "24",
            "claim_minutes": "15",
        },
    )
    body = text(bad)
    assert bad.status_code == 400
    assert "Not a code: moon shine!." in body
    assert "Enter a whole number." in body
    assert "Ensure this value is greater than or equal to 1." in body
    assert "Ensure this value is less than or equal to 100.0." in body
    assert OversightSettings.objects.filter(premium_multiple=0.5).count() == 0
    good = c.post(
        "/owner/oversight/",
        {
            "premium_multiple": "8",
            "min_evidence": "3",
            "review_budget": "30",
            "spot_check_percent": "1.5",
            "sensitive_attributes": "contains:gluten",
            "sensitive_categories": "cakes",
            "new_model_sample": "10",
            "complaint_window_days": "14",
            "sla_hours": "8",
            "claim_minutes": "20",
        },
    )
    assert good.status_code == 302
    saved = OversightSettings.objects.get(pk=1)
    assert (
        saved.premium_multiple,
        saved.min_evidence,
        saved.review_budget,
        saved.spot_check_percent,
        saved.sensitive_categories,
        saved.sla_hours,
    ) == (8.0, 3, 30, 1.5, ["cakes"], 8.0)
    change = ReviewAction.objects.get(action="settings")
    assert change.actor == owner and change.snapshot["changed"]["premium_multiple"] == [5.0, 8.0]
    assert change.snapshot["changed"]["review_budget"] == [50, 30]


def test_owner_browses_filters_and_exports_the_trail(client, held, staff, owner):
    oversight.review_decide(
        user=staff,
        item_id=held.cake.pk,
        decision="reject",
        reason_code="too_expensive",
        note="=HYPERLINK(1)",
    )
    c = signed_in(client, owner)
    page = text(c.get("/owner/review-trail/", {"action": "rejected"}))
    assert "1 entry" in page and "reviewer@example.com" in page
    response = c.get("/owner/review-trail/", {"action": "rejected", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["at", "action", "by", "item"]
    assert rows[1][1:5] == ["rejected", "reviewer@example.com", str(held.cake.pk), str(held.fan.pk)]
    assert rows[1][6] == "'=HYPERLINK(1)"  # not run as a formula by a spreadsheet
    assert c.get("/owner/review-trail/", {"since": "not a date"}).status_code == 200
    assert Recommendation.objects.filter(pk=held.cake.recommendation_id).exists()


def test_the_queue_page_makes_the_same_few_queries_however_long_it_is(client, held, staff):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    c = signed_in(client, staff)
    with CaptureQueriesContext(connection) as short:
        assert c.get(QUEUE).status_code == 200
    for n in range(30):
        oversight.review_task_open(title=f"task {n}", detail="", link="/owner/")
    oversight.review_decide(
        user=staff, item_id=held.cake.pk, decision="reject", reason_code="too_expensive"
    )
    with CaptureQueriesContext(connection) as long:
        body = text(c.get(QUEUE))
    assert "31 items" in body
    assert len(long.captured_queries) == len(short.captured_queries)
