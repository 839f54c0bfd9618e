"""The customer's consent and notice pages: asked once, saved to the ledger, only their own."""

import io
import re

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import CustomerProfile
from accounts.roles import Role
from personalization.consent import notices
from personalization.consent.selectors import consent_grid
from personalization.consent.services import ConsentChange, consent_set
from personalization.models import ConsentEvent, PrivacyNotice, Purpose
from tests.factories import CustomerProfileFactory

pytestmark = pytest.mark.django_db

CONSENT, NOTICE, DASHBOARD = "/me/consent/", "/me/notice/", "/me/"
TEXTS = {"title": "Privacy notice", "body": "Words.", "ai_statement": "AI words."}


def signed_in(user, **client_options) -> Client:
    client = Client(**client_options)
    client.force_login(user)
    return client


def profile_of(user) -> CustomerProfile:
    return CustomerProfile.objects.get(user=user)


def messages_in(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def checked_boxes(html: str) -> set[str]:
    return set(re.findall(r'<input type="checkbox" id="id_(\w+)"[^>]* checked>', html))


def boxes(html: str) -> set[str]:
    return set(re.findall(r'<input type="checkbox" id="id_(\w+)"', html))


def verify_ledger() -> int:
    try:
        call_command("verify_consent_ledger", stdout=io.StringIO(), stderr=io.StringIO())
    except SystemExit as exit_:
        assert isinstance(exit_.code, int), exit_.code
        return exit_.code
    return 0


@pytest.fixture
def customer(make_user):
    """A signed-up customer who has already read version 1."""
    user = make_user(Role.CUSTOMER)
    notices.notice_ensure_initial()
    notices.notice_acknowledge(profile=profile_of(user), version=1)
    return user


def publish_new_version(**purpose):
    if purpose:
        Purpose.objects.create(**purpose)
    notice = notices.notice_draft_create(author=None, **TEXTS)
    return notices.notice_publish(notice=notice)


# --- Asked once per asking version ----------------------------------------------------


def test_first_visit_shows_the_notice_once_then_the_consent_page(make_user):
    user = make_user(Role.CUSTOMER)
    notices.notice_ensure_initial()
    client = signed_in(user)

    # the first visit to any /me/ page goes to the notice
    first = client.get(DASHBOARD)
    assert (first.status_code, first["Location"]) == (302, NOTICE)
    assert client.get("/me/consent/")["Location"] == NOTICE
    notice = client.get(NOTICE).content.decode()
    assert "Before you start" in notice and "I have read this" in notice
    assert "Version 1, published" in notice

    # "I have read this" records the version and leads to the choices
    response = client.post(NOTICE, {"version": 1}, follow=True)
    assert response.redirect_chain == [(CONSENT, 302)]
    assert messages_in(response) == [
        "Thank you for reading version 1 of our privacy notice. Please check your choices "
        "below: only what is ticked is allowed."
    ]
    assert profile_of(user).notice_version_seen == 1

    # and never again for this version
    assert client.get(DASHBOARD).status_code == 200
    assert "I have read this" not in client.get(NOTICE).content.decode()


def test_a_version_that_changes_nothing_material_never_nags(customer):
    client = signed_in(customer)
    publish_new_version()  # wording only

    assert client.get(DASHBOARD).status_code == 200
    assert client.get(CONSENT).status_code == 200
    assert profile_of(customer).notice_version_seen == 1


def test_a_version_with_a_new_purpose_asks_once_and_says_what_changed(customer):
    client = signed_in(customer)
    publish_new_version(code="sms_offers", name="Offer texts", description="SMS offers.")

    assert client.get(DASHBOARD)["Location"] == NOTICE
    html = client.get(NOTICE).content.decode()
    assert "Our privacy notice has changed" in html and "New purposes: Offer texts" in html

    client.post(NOTICE, {"version": 2})
    assert client.get(DASHBOARD).status_code == 200
    publish_new_version()  # version 3 changes only words
    assert client.get(DASHBOARD).status_code == 200


def test_a_customer_who_skipped_an_asking_version_is_asked_at_the_current_one(customer):
    client = signed_in(customer)
    publish_new_version(code="sms_offers", name="Offer texts", description="SMS offers.")
    publish_new_version()  # 3: words only, but version 2 was never read

    assert client.get(DASHBOARD)["Location"] == NOTICE
    assert client.post(NOTICE, {"version": 2}).status_code == 302  # stale: not recorded
    assert profile_of(customer).notice_version_seen == 1
    client.post(NOTICE, {"version": 3})
    assert profile_of(customer).notice_version_seen == 3
    assert client.get(DASHBOARD).status_code == 200


def test_without_any_notice_the_pages_show_version_1_unsaved_and_publish_nothing(make_user):
    client = signed_in(make_user(Role.CUSTOMER))
    assert client.get(DASHBOARD).status_code == 200

    html = client.get(CONSENT).content.decode()

    assert "Based on our privacy notice, version 1 of" in html
    assert not PrivacyNotice.objects.exists()  # reading published nothing
    assert client.get(DASHBOARD).status_code == 200
    # The first choice that refers to version 1 publishes it (a write, not a read).
    client.post(CONSENT, {"notice_version": 1, "personalization__purchase_history": "on"})
    assert notices.notice_current() is not None and notices.notice_current().version == 1


def test_transparency_page_shows_the_current_notice_with_version_and_date():
    notices.notice_ensure_initial()
    html = Client().get(reverse("transparency")).content.decode()
    notice = notices.notice_current()
    assert notice is not None
    assert "<h1>How we use AI</h1>" in html
    assert "Our AI in plain words" in html and "What it never does" in html
    assert "Your rights" in html and "1,825 days (about 5 years)" in html
    published = date_format(timezone.localtime(notice.published_at), "DATE_FORMAT")
    assert f"Version 1, published {published}" in html


# --- The consent grid -----------------------------------------------------------------


def test_nothing_is_pre_ticked_and_audit_attributes_only_have_a_fairness_audit_box(customer):
    html = signed_in(customer).get(CONSENT).content.decode()

    assert checked_boxes(html) == set()
    assert "fairness_audit__audit_attributes" in boxes(html)
    assert "personalization__audit_attributes" not in boxes(html)
    assert "marketing__audit_attributes" not in boxes(html)
    assert len(boxes(html)) == 3 * 4 + 1
    assert "Why some boxes are missing" in html
    assert "Kept for 1,825 days (about 5 years)." in html
    assert "Not used for anything now." in html
    assert "Purchase history for Offer emails" in html  # each box has a label


def test_saving_records_ui_events_with_the_notice_version_and_hashed_fingerprint(customer):
    client = signed_in(customer, REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="Firefox/123")
    form = {
        "notice_version": 1,
        "personalization__purchase_history": "on",
        "marketing__email_engagement": "on",
    }

    response = client.post(CONSENT, form, follow=True)

    assert messages_in(response) == [
        "Your choices are saved. Now allowed: Purchase history for On-site recommendations; "
        "Email engagement for Offer emails."
    ]
    events = list(ConsentEvent.objects.filter(customer=profile_of(customer)).order_by("pk"))
    assert [(e.purpose, e.data_category, e.granted) for e in events] == [
        ("personalization", "purchase_history", True),
        ("marketing", "email_engagement", True),
    ]
    for event in events:
        assert (event.method, event.actor, event.notice_version) == ("ui", "customer", 1)
        assert re.fullmatch(r"[0-9a-f]{64}", event.ip_hash)
        assert re.fullmatch(r"[0-9a-f]{64}", event.user_agent_hash)
        assert "203.0.113.7" not in event.ip_hash + event.user_agent_hash
    assert verify_ledger() == 0
    html = response.content.decode()
    assert checked_boxes(html) == {
        "personalization__purchase_history",
        "marketing__email_engagement",
    }
    assert "Used now for: On-site recommendations." in html


def test_unticking_withdraws_and_an_unchanged_form_adds_nothing(customer):
    client = signed_in(customer)
    client.post(
        CONSENT, {"notice_version": 1, "personalization__purchase_history": "on"}, follow=True
    )

    withdrawn = client.post(CONSENT, {"notice_version": 1}, follow=True)
    unchanged = client.post(CONSENT, {"notice_version": 1}, follow=True)

    assert messages_in(withdrawn) == [
        "Your choices are saved. No longer allowed: Purchase history for On-site recommendations."
    ]
    assert messages_in(unchanged) == ["Nothing changed: these were already your choices."]
    assert ConsentEvent.objects.count() == 2
    assert consent_grid(customer=profile_of(customer)) == {
        ("personalization", "purchase_history"): False
    }
    assert "not allowed</strong>, on this page (notice version 1)" in withdrawn.content.decode()


def test_a_form_from_an_older_notice_saves_nothing(customer):
    client = signed_in(customer)
    publish_new_version()

    response = client.post(
        CONSENT, {"notice_version": 1, "marketing__purchase_history": "on"}, follow=True
    )

    assert messages_in(response)[0].startswith(
        "Nothing was saved: our privacy notice changed while this page was open."
    )
    assert not ConsentEvent.objects.exists()


def test_a_form_naming_a_notice_version_that_does_not_exist_saves_nothing(customer):
    client = signed_in(customer)
    client.get(CONSENT)

    response = client.post(
        CONSENT, {"notice_version": 999, "marketing__purchase_history": "on"}, follow=True
    )

    assert messages_in(response)[0].startswith("Nothing was saved:")
    assert "version 1" in messages_in(response)[0]
    assert not ConsentEvent.objects.exists()


def test_a_post_cannot_touch_another_customers_consent(customer):
    other = CustomerProfileFactory(external_id="C-OTHER")
    consent_set(
        customer=other,
        changes=[ConsentChange("marketing", "purchase_history", True)],
        method="api",
        actor="api:till",
        notice_version=1,
    )
    before = consent_grid(customer=other)
    client = signed_in(customer)

    client.post(
        CONSENT,
        {
            "notice_version": 1,
            "personalization__browsing_history": "on",
            # ids someone might try to inject
            "customer": other.pk,
            "customer_id": other.pk,
            "external_id": other.external_id,
            "profile": other.pk,
            # a cell that does not exist on the page
            "marketing__audit_attributes": "on",
        },
    )
    client.post(f"{CONSENT}?customer={other.pk}&external_id=C-OTHER", {"notice_version": 1})

    assert consent_grid(customer=other) == before
    assert ConsentEvent.objects.filter(customer=other).count() == 1
    mine = ConsentEvent.objects.filter(customer=profile_of(customer))
    assert [(e.purpose, e.data_category, e.granted) for e in mine] == [
        ("personalization", "browsing_history", True),
        ("personalization", "browsing_history", False),
    ]


def test_csrf_is_enforced_on_the_consent_and_notice_forms(make_user):
    user = make_user(Role.CUSTOMER)
    notices.notice_ensure_initial()
    client = signed_in(user, enforce_csrf_checks=True)

    forged = client.post(CONSENT, {"notice_version": 1, "marketing__purchase_history": "on"})
    forged_ack = client.post(NOTICE, {"version": 1})

    assert (forged.status_code, forged_ack.status_code) == (403, 403)
    assert not ConsentEvent.objects.exists()
    assert profile_of(user).notice_version_seen is None

    # the real form carries the token
    client.get(NOTICE)
    token = client.cookies["csrftoken"].value
    assert client.post(NOTICE, {"version": 1, "csrfmiddlewaretoken": token}).status_code == 302
    saved = client.post(
        CONSENT,
        {"notice_version": 1, "marketing__purchase_history": "on", "csrfmiddlewaretoken": token},
    )
    assert saved.status_code == 302
    assert ConsentEvent.objects.filter(customer=profile_of(user), granted=True).count() == 1


def test_anonymous_visitors_sign_in_first_and_staff_have_no_consent_page(make_user):
    notices.notice_ensure_initial()
    for url in (CONSENT, NOTICE):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={url}"
    for role in (Role.STAFF, Role.OWNER):
        client = signed_in(make_user(role))
        assert client.get(CONSENT).status_code == 403
        assert client.post(CONSENT, {"notice_version": 1}).status_code == 403
        assert client.get(NOTICE).status_code == 403
    assert not ConsentEvent.objects.exists()


def test_a_form_without_the_notice_version_saves_nothing(customer):
    response = signed_in(customer).post(CONSENT, {"marketing__purchase_history": "on"}, follow=True)
    assert messages_in(response) == [
        "Nothing was saved: the form was incomplete. Please try again."
    ]
    assert not ConsentEvent.objects.exists()


def test_consent_page_takes_a_few_queries_whatever_the_history(
    customer, django_assert_max_num_queries
):
    profile = profile_of(customer)
    for round_ in range(20):
        consent_set(
            customer=profile,
            changes=[ConsentChange("marketing", "purchase_history", round_ % 2 == 0)],
            method="ui",
            actor="customer",
            notice_version=1,
        )
    client = signed_in(customer)
    client.get(CONSENT, HTTP_SEC_GPC="1")  # the signal is honoured once

    # session, user, profile, GPC check (3), notice check, notice, grid (3), GPC state (4),
    # latest changes, the navigation's permissions (2)
    with django_assert_max_num_queries(18):
        response = client.get(CONSENT, HTTP_SEC_GPC="1")

    assert response.status_code == 200
    assert response.content.decode().count("(notice version 1)</li>") == 10
