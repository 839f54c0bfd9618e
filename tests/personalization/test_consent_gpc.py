"""Global Privacy Control: honoured for marketing, never over a choice the customer saved."""

import importlib
import io
import threading

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import CustomerProfile
from accounts.roles import Role
from personalization.consent import notices
from personalization.consent.selectors import consent_grid
from personalization.consent.services import ConsentChange, consent_apply_gpc, consent_set
from personalization.models import ConsentEvent, Purpose
from tests.factories import CustomerProfileFactory

pytestmark = pytest.mark.django_db

GPC = {"HTTP_SEC_GPC": "1"}
CONSENT = "/me/consent/"
MARKETING_CELLS = {
    ("marketing", "purchase_history"),
    ("marketing", "browsing_history"),
    ("marketing", "stated_preferences"),
    ("marketing", "email_engagement"),
}
TEXTS = {"title": "Privacy notice", "body": "Words.", "ai_statement": "AI words."}


def profile_of(user) -> CustomerProfile:
    return CustomerProfile.objects.get(user=user)


def verify_ledger() -> int:
    try:
        call_command("verify_consent_ledger", stdout=io.StringIO(), stderr=io.StringIO())
    except SystemExit as exit_:
        assert isinstance(exit_.code, int), exit_.code
        return exit_.code
    return 0


def granted_cells(profile) -> set[tuple[str, str]]:
    return {cell for cell, granted in consent_grid(customer=profile).items() if granted}


@pytest.fixture
def customer(make_user):
    user = make_user(Role.CUSTOMER)
    notices.notice_ensure_initial()
    notices.notice_acknowledge(profile=profile_of(user), version=1)
    return user


@pytest.fixture
def client(customer):
    client = Client()
    client.force_login(customer)
    return client


def grant_via_api(profile, *cells):
    consent_set(
        customer=profile,
        changes=[ConsentChange(purpose, category, True) for purpose, category in cells],
        method="api",
        actor="api:till",
        notice_version=1,
    )


def test_the_signal_opts_out_of_marketing_for_every_category_and_says_so(customer, client):
    profile = profile_of(customer)
    grant_via_api(
        profile, ("marketing", "purchase_history"), ("personalization", "purchase_history")
    )

    html = client.get(CONSENT, **GPC).content.decode()

    gpc_events = ConsentEvent.objects.filter(customer=profile, method="gpc")
    assert {(e.purpose, e.data_category) for e in gpc_events} == MARKETING_CELLS
    assert all(
        not e.granted and e.notice_version == 1 and e.actor == "customer" for e in gpc_events
    )
    assert len(gpc_events[0].ip_hash) == 64
    # other purposes are not touched
    assert granted_cells(profile) == {("personalization", "purchase_history")}
    assert "privacy signal</h2>" in html
    assert "Your browser sends a Global Privacy Control signal" in html
    assert "We honoured the signal:" in html
    assert (
        "Offer emails may not use your Purchase history, Browsing history, Stated preferences, "
        "Email engagement (since" in html
    )
    assert verify_ledger() == 0


def test_repeated_signals_add_nothing(customer, client):
    client.get("/", **GPC)
    count = ConsentEvent.objects.count()

    for url in ("/", "/transparency/", CONSENT, "/me/"):
        client.get(url, **GPC)

    assert count == len(MARKETING_CELLS)
    assert ConsentEvent.objects.count() == count
    assert consent_apply_gpc(customer=profile_of(customer)) == []


def test_a_choice_saved_on_the_page_after_reading_the_notice_overrides_the_signal(customer, client):
    # the browser sends the signal with every request, including the one that saves
    client.get(CONSENT, **GPC)
    client.post(
        CONSENT, {"notice_version": 1, "marketing__purchase_history": "on"}, follow=True, **GPC
    )
    events_after_choice = ConsentEvent.objects.count()

    html = client.get(CONSENT, **GPC).content.decode()

    profile = profile_of(customer)
    assert ("marketing", "purchase_history") in granted_cells(profile)
    assert ConsentEvent.objects.count() == events_after_choice
    assert "We did not follow the signal where you chose otherwise yourself:" in html
    assert "Offer emails may still use your Purchase history: you ticked it yourself" in html
    assert "after reading version 1 of our privacy notice" in html
    assert "Offer emails may not use your Browsing history" in html
    assert verify_ledger() == 0


def test_an_old_choice_is_overridden_only_until_a_version_that_asks_again(customer, client):
    profile = profile_of(customer)
    client.post(CONSENT, {"notice_version": 1, "marketing__purchase_history": "on"})

    # a version that changes only words keeps the choice standing
    notices.notice_publish(notice=notices.notice_draft_create(author=None, **TEXTS))
    client.get("/transparency/", **GPC)
    assert ("marketing", "purchase_history") in granted_cells(profile)

    # a version that changes the purposes asks again: the old "yes" no longer stands
    Purpose.objects.create(code="sms_offers", name="Offer texts", description="SMS offers.")
    notices.notice_publish(notice=notices.notice_draft_create(author=None, **TEXTS))
    client.get("/transparency/", **GPC)

    assert ("marketing", "purchase_history") not in granted_cells(profile)
    withdrawn = ConsentEvent.objects.get(
        customer=profile, purpose="marketing", data_category="purchase_history", method="gpc"
    )
    assert (withdrawn.granted, withdrawn.notice_version) == (False, 3)


def test_purposes_flagged_for_gpc_are_opted_out_too(customer, client):
    Purpose.objects.filter(code="personalization").update(honours_gpc=True)
    profile = profile_of(customer)
    grant_via_api(profile, ("personalization", "browsing_history"))

    client.get("/", **GPC)

    assert granted_cells(profile) == set()
    assert ConsentEvent.objects.filter(
        customer=profile, purpose="personalization", method="gpc"
    ).count() == len(MARKETING_CELLS)


def test_without_the_signal_nothing_happens_and_no_consent_table_is_read(customer, client):
    grant_via_api(profile_of(customer), ("marketing", "purchase_history"))

    with CaptureQueriesContext(connection) as queries:
        client.get("/transparency/", HTTP_SEC_GPC="0")

    assert not any("personalization_consent" in q["sql"] for q in queries.captured_queries)
    assert ConsentEvent.objects.filter(method="gpc").count() == 0
    html = client.get(CONSENT).content.decode()
    assert "privacy signal</h2>" not in html and "We honoured the signal" not in html


def test_signals_from_visitors_and_staff_record_nothing(make_user):
    notices.notice_ensure_initial()
    Client().get("/", **GPC)
    staff = Client()
    staff.force_login(make_user(Role.STAFF))
    staff.get("/staff/", **GPC)
    assert not ConsentEvent.objects.exists()


def test_the_page_remembers_an_earlier_signal(customer, client):
    client.get("/", **GPC)
    html = client.get(CONSENT).content.decode()
    assert "Your browser sent a Global Privacy Control signal on an earlier visit." in html
    assert "We honoured the signal:" in html


@pytest.mark.django_db(transaction=True)
def test_simultaneous_signals_record_each_opt_out_once():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite's test database is one in-memory file")
    importlib.import_module("personalization.migrations.0002_registry").load_registry(apps, None)
    notices.notice_ensure_initial()
    profile = CustomerProfileFactory()
    start = threading.Barrier(4)
    recorded: list[int] = []

    def browser_tab():
        try:
            start.wait()
            customer = CustomerProfile.objects.get(pk=profile.pk)
            recorded.append(len(consent_apply_gpc(customer=customer)))
        finally:
            connections.close_all()

    tabs = [threading.Thread(target=browser_tab) for _ in range(4)]
    for tab in tabs:
        tab.start()
    for tab in tabs:
        tab.join()

    assert sorted(recorded) == [0, 0, 0, len(MARKETING_CELLS)]
    assert ConsentEvent.objects.filter(customer=profile, method="gpc").count() == 4
    assert verify_ledger() == 0
