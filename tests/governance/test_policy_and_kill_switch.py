"""The AI policy (owner writes, previews, publishes; staff acknowledge; the owner sees
who read which version) and the owner's kill-switch page."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.roles import Role
from core.errors import ApplicationError
from governance import selectors, services
from governance.models import AIPolicy, KillSwitchEvent, PolicyAcknowledgement
from tests.builders import text_of

pytestmark = pytest.mark.django_db

POLICY = reverse("owner:ai_policy")
STAFF_POLICY = reverse("staff:ai_policy")
SWITCH = reverse("owner:kill_switch")


def test_preview_shows_the_text_and_publishes_nothing(owner_client):
    body = "## Reviewing\n- Read the explanation first\n- Never approve an allergen conflict"
    response = owner_client.post(
        POLICY, {"title": "Our AI rules", "body": body, "action": "preview"}
    )

    page = text_of(response)
    assert "Preview: not published yet" in page
    assert "Reviewing" in page and "Read the explanation first" in page
    assert "Publish this version" in page
    assert not AIPolicy.objects.exists()


def test_publishing_keeps_earlier_versions_unchanged(owner_client):
    owner_client.post(POLICY, {"title": "Rules", "body": "Version one.", "action": "publish"})
    response = owner_client.post(
        POLICY, {"title": "Rules", "body": "Version two.", "action": "publish"}, follow=True
    )

    assert "Version 2 is published." in text_of(response)
    first, second = AIPolicy.objects.order_by("version")
    assert (first.version, first.body, second.version, second.body) == (
        1,
        "Version one.",
        2,
        "Version two.",
    )
    assert selectors.ai_policy_current() == second


def test_an_empty_policy_is_refused_with_a_message_and_the_title_is_kept(owner_client):
    response = owner_client.post(POLICY, {"title": "Rules", "body": "  ", "action": "publish"})
    assert response.status_code == 400
    assert "Write the policy." in text_of(response)
    assert 'value="Rules"' in response.content.decode()
    assert not AIPolicy.objects.exists()


def test_staff_acknowledge_the_current_version_and_the_owner_sees_who(
    owner, owner_client, staff, staff_client, make_user
):
    services.ai_policy_publish(title="Rules", body="Be kind.", actor=owner)
    colleague = make_user(Role.STAFF, email="colleague@example.com")
    assert selectors.ai_policy_unacknowledged(user=staff) is not None

    page = text_of(staff_client.get(STAFF_POLICY))
    assert "You need to acknowledge this version before you can decide review items." in page

    response = staff_client.post(STAFF_POLICY, {"version": "1"}, follow=True)
    assert "You acknowledged version 1" in text_of(response)
    assert selectors.ai_policy_unacknowledged(user=staff) is None
    assert PolicyAcknowledgement.objects.filter(user=staff, policy__version=1).count() == 1

    owner_page = text_of(owner_client.get(POLICY))
    not_yet = owner_page.split("Not yet acknowledged (version 1)")[1].split("Version 1: Rules")[0]
    assert "colleague@example.com" in not_yet and "staff@example.com" not in not_yet
    versions = owner_page.split("Version 1: Rules")[1]
    assert "acknowledged by 1 person" in versions and "staff@example.com" in versions
    assert colleague.email not in versions

    # a new version must be acknowledged again
    services.ai_policy_publish(title="Rules", body="Be kinder.", actor=owner)
    assert selectors.ai_policy_unacknowledged(user=staff).version == 2


def test_acknowledging_a_version_that_was_replaced_meanwhile_is_refused(owner, staff, staff_client):
    services.ai_policy_publish(title="Rules", body="One.", actor=owner)
    services.ai_policy_publish(title="Rules", body="Two.", actor=owner)

    response = staff_client.post(STAFF_POLICY, {"version": "1"}, follow=True)

    assert "The policy changed while you were reading it." in text_of(response)
    assert not PolicyAcknowledgement.objects.exists()


def test_customers_cannot_open_the_staff_policy_page(make_user):
    client = Client()
    client.force_login(make_user(Role.CUSTOMER))
    assert client.get(STAFF_POLICY).status_code == 403


# --- Kill switch ----------------------------------------------------------------------


def test_pause_and_resume_with_reasons_are_logged(owner_client):
    response = owner_client.post(
        SWITCH, {"action": "pause", "reason": "Wrong prices in the feed"}, follow=True
    )
    page = text_of(response)
    assert "All AI personalization is paused. Every channel now shows the same list" in page
    assert selectors.kill_switch_engaged()

    response = owner_client.post(SWITCH, {"action": "resume", "reason": "Feed fixed"}, follow=True)
    page = text_of(response)
    assert "AI personalization is running again." in page
    assert not selectors.kill_switch_engaged()
    log = page.split("Log")[-1]
    assert "Resumed owner@example.com Feed fixed" in log
    assert "Paused owner@example.com Wrong prices in the feed" in log
    assert log.index("Feed fixed") < log.index("Wrong prices")  # newest first


def test_pausing_without_a_reason_is_refused_and_changes_nothing(owner_client):
    response = owner_client.post(SWITCH, {"action": "pause", "reason": " "})
    assert response.status_code == 400
    assert "Say why, for the log." in text_of(response)
    assert not KillSwitchEvent.objects.exists()


def test_pausing_twice_says_it_is_already_paused(owner_client):
    owner_client.post(SWITCH, {"action": "pause", "reason": "First"})
    response = owner_client.post(SWITCH, {"action": "pause", "reason": "Second"})
    assert response.status_code == 400
    assert "Personalization is already paused." in text_of(response)
    assert KillSwitchEvent.objects.count() == 1


def test_staff_cannot_flip_the_switch(staff_client):
    assert staff_client.post(SWITCH, {"action": "pause", "reason": "x"}).status_code == 403
    assert not KillSwitchEvent.objects.exists()


def test_review_decisions_wait_until_the_staff_member_acknowledged_the_policy(
    owner, staff, staff_client
):
    from personalization.oversight.services import review_decide, review_task_open

    item = review_task_open(title="Check a finding", detail="", link="/owner/")
    services.ai_policy_publish(title="Rules", body="Read before deciding.", actor=owner)

    with pytest.raises(ApplicationError, match="acknowledge the shop's AI policy \\(version 1\\)"):
        review_decide(user=staff, item_id=item.pk, decision="close", reason_code="not_an_issue")

    staff_client.post(STAFF_POLICY, {"version": "1"})
    decided = review_decide(
        user=staff, item_id=item.pk, decision="close", reason_code="not_an_issue"
    )
    assert decided.status == "decided"
