"""Customers' data requests at /me/requests/: export, erasure (with re-authentication and
a cancel window), objection to profiling; emails at each step; nobody else's requests."""

import csv
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.models import AuditAttribute, CustomerProfile, User
from accounts.roles import Role
from accounts.services import customer_profile_set_preferences
from personalization.consent.notices import notice_acknowledge
from personalization.consent.services import ConsentChange, consent_set
from personalization.datarights import export, services
from personalization.datarights.selectors import days_left, one_month_after
from personalization.models import (
    Consent,
    ConsentEvent,
    DataRequest,
    DataRequestEvent,
    Interaction,
)
from tests.factories import InteractionFactory, ItemFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # UserFactory's
REQUESTS = "/me/requests/"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def customer_user(make_user):
    user = make_user(Role.CUSTOMER, email="gable@example.com")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


@pytest.fixture
def customer_client(client, customer_user):
    client.login(email=customer_user.email, password=PASSWORD)
    return client


def profile_of(user) -> CustomerProfile:
    return CustomerProfile.objects.get(user=user)


def mails_to(address: str) -> list:
    return [m for m in mail.outbox if address in m.to]


def page_text(response) -> str:
    return " ".join(response.content.decode().split())


def grant(customer, purpose, category, granted=True):
    consent_set(
        customer=customer,
        changes=[ConsentChange(purpose, category, granted)],
        method="ui",
        actor="customer",
        notice_version=1,
    )


def reauthenticate(client, next_url: str):
    return client.post(
        f"/accounts/reauthenticate/?next={next_url}", {"password": PASSWORD}, follow=False
    )


# --- deadlines ------------------------------------------------------------------------


def test_due_date_is_one_calendar_month_later_clamped_to_the_month_end():
    assert one_month_after(datetime(2026, 1, 31, 12, tzinfo=UTC)).date().isoformat() == (
        "2026-02-28"
    )
    assert one_month_after(datetime(2026, 12, 15, 12, tzinfo=UTC)).date().isoformat() == (
        "2027-01-15"
    )
    due = datetime(2026, 12, 15, 12, tzinfo=UTC)
    assert days_left(due_at=due, today=due.date() - timedelta(days=3)) == 3
    assert days_left(due_at=due, today=due.date() + timedelta(days=2)) == -2


# --- the page -------------------------------------------------------------------------


def test_page_lists_the_customers_requests_with_status_due_date_and_days_left(
    customer_client, customer_user
):
    # before any request, the page offers all three
    text = page_text(customer_client.get(REQUESTS))
    assert "You have not made any requests." in text
    assert "Request a copy of my data" in text
    assert "Object to profiling" in text
    assert "Erase my data" in text

    profile = profile_of(customer_user)
    request = services.data_request_create(customer=profile, kind="export")
    DataRequest.objects.filter(pk=request.pk).update(
        due_at=timezone.now() + timedelta(days=12, hours=1)
    )

    text = page_text(customer_client.get(REQUESTS))

    assert "Export of my data" in text
    assert "Pending" in text
    assert "12 days left" in text
    # while her export is open, no second one is offered: a sentence says which is on its way
    assert f"Your copy is being prepared (request #{request.pk})." in text
    assert "Request a copy of my data" not in text
    assert "Object to profiling" in text
    assert "Erase my data" in text


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(REQUESTS)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_login_without_customer_record_gets_no_request_buttons(client, make_user):
    staff = make_user(Role.STAFF)
    client.force_login(staff)
    text = page_text(client.get(REQUESTS))
    assert "There is no customer record linked to this login." in text
    assert client.post("/me/requests/export/").status_code == 404


# --- export ---------------------------------------------------------------------------


@pytest.fixture
def rich_customer(customer_user):
    """A customer with something in every table the export covers."""
    profile = profile_of(customer_user)
    customer_profile_set_preferences(
        profile=profile, restrictions=["contains:nuts"], liked_categories=["breads"]
    )
    sourdough = ItemFactory(name="Wheat sourdough", sku="BRD-001")
    InteractionFactory(customer=profile, item=sourdough, event_id="evt-kept")
    InteractionFactory(
        customer=profile,
        item=ItemFactory(name="Rye loaf"),
        event_id="evt-removed",
        excluded_at=datetime(2026, 11, 21, tzinfo=UTC),
    )
    AuditAttribute.objects.create(
        customer=profile,
        name="age_band",
        value="60-69",
        source="customer",
        declared_at=timezone.now(),
    )
    grant(profile, "personalization", "purchase_history")
    grant(profile, "marketing", "purchase_history")
    grant(profile, "marketing", "purchase_history", granted=False)
    # She read the notice her choices refer to (version 1), so no page asks her to.
    notice_acknowledge(profile=profile, version=1)
    return profile


def read_zip(content: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(content))


def test_export_builds_a_zip_the_customer_downloads(
    customer_client, customer_user, rich_customer, django_capture_on_commit_callbacks
):
    # when she asks for a copy (the task runs in-process in tests)
    with django_capture_on_commit_callbacks(execute=True):
        response = customer_client.post("/me/requests/export/")

    # then the page says it is ready to download
    text = page_text(customer_client.get(response["Location"]))
    assert "We are preparing a copy of your data" in text
    assert "Completed" in text
    assert "Download (ZIP)" in text
    request = DataRequest.objects.get(customer=rich_customer, kind="export")
    assert request.status == "completed"
    assert request.export_file.startswith("exports/")

    download = customer_client.get(f"/me/requests/{request.pk}/download/")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    today = timezone.localdate(request.completed_at).isoformat()
    assert download["Content-Disposition"] == (
        f'attachment; filename="crumb-co-my-data-{today}.zip"'
    )
    archive = read_zip(b"".join(download.streaming_content))
    names = set(archive.namelist())
    assert {"README.txt", "data.json", "csv/interactions.csv", "csv/consent_history.csv"} <= names

    data = json.loads(archive.read("data.json"))
    sections = data["sections"]
    assert data["format"] == "fairshare-export/1"
    assert sections["profile"][0]["email"] == rich_customer.email
    assert sections["login"][0]["email"] == "gable@example.com"
    assert {(r["kind"], r["value"]) for r in sections["likes_and_restrictions"]} == {
        ("liked_category", "breads"),
        ("never_recommend", "contains:nuts"),
    }
    assert sections["audit_attributes"] == [
        {
            "name": "age_band",
            "value": "60-69",
            "source": "customer",
            "declared_at": sections["audit_attributes"][0]["declared_at"],
        }
    ]
    interactions = {r["event_id"]: r for r in sections["interactions"]}
    assert interactions["evt-kept"]["item_name"] == "Wheat sourdough"
    assert interactions["evt-kept"]["removed_from_use_at"] is None
    # records removed from use are still held, so they are exported, marked as removed
    assert interactions["evt-removed"]["removed_from_use_at"].startswith("2026-11-21")
    assert {(r["purpose"], r["granted"]) for r in sections["consents"]} == {
        ("personalization", True),
        ("marketing", False),
    }
    # the full history from the ledger: granted, then withdrawn
    history = [(r["purpose"], r["granted"]) for r in sections["consent_history"]]
    assert history == [("personalization", True), ("marketing", True), ("marketing", False)]
    assert all(len(r["hash"]) == 64 for r in sections["consent_history"])
    assert [r["kind"] for r in sections["data_requests"]] == ["export"]

    # the CSV tables hold the same rows
    rows = list(csv.DictReader(io.StringIO(archive.read("csv/consent_history.csv").decode())))
    assert [(r["purpose"], r["granted"]) for r in rows] == [
        ("personalization", "true"),
        ("marketing", "true"),
        ("marketing", "false"),
    ]
    interactions_csv = list(
        csv.DictReader(io.StringIO(archive.read("csv/interactions.csv").decode()))
    )
    assert {r["event_id"] for r in interactions_csv} == {"evt-kept", "evt-removed"}


def test_export_emails_at_each_step(customer_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        customer_client.post("/me/requests/export/")

    subjects = [m.subject for m in mails_to("gable@example.com")]
    assert subjects == [
        "Crumb & Co.: We received your request: copy of your data",
        "Crumb & Co.: We are working on your request: copy of your data",
        "Crumb & Co.: Your request is complete: copy of your data",
    ]
    assert "stays available for 7 days" in mails_to("gable@example.com")[-1].body


def test_a_second_export_while_one_is_on_its_way_is_refused(customer_client, customer_user):
    customer_client.post("/me/requests/export/")  # the task is queued, not run yet

    text = page_text(customer_client.post("/me/requests/export/", follow=True))

    assert "You already asked for a copy of your data" in text
    assert DataRequest.objects.filter(kind="export").count() == 1


def test_a_model_the_exporter_does_not_know_is_exported_field_by_field(rich_customer, monkeypatch):
    # the exporter treats audit attributes as a relation it has never seen
    monkeypatch.setattr(export, "_COVERED", export._COVERED - {"accounts.AuditAttribute.customer"})

    sections = export.customer_data(customer=rich_customer)

    # named for people from the model's own name, without ids or the customer column
    generic = sections["declared-audit-attributes"]
    assert len(generic) == 1
    assert "id" not in generic[0] and "customer_id" not in generic[0]
    assert (generic[0]["name"], generic[0]["value"]) == ("age_band", "60-69")


def test_export_files_are_deleted_after_their_download_period(
    customer_client, customer_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        customer_client.post("/me/requests/export/")
    request = DataRequest.objects.get(kind="export")
    path = export.export_path(request.export_file)
    assert path is not None and path.exists()

    # a day before the end nothing happens; after it, the file goes
    assert services.exports_purge(now=request.completed_at + timedelta(days=6)) == 0
    assert services.exports_purge(now=request.completed_at + timedelta(days=7, minutes=1)) == 1

    request.refresh_from_db()
    assert request.export_file == ""
    assert not path.exists()
    assert customer_client.get(f"/me/requests/{request.pk}/download/").status_code == 404
    assert "Download (ZIP)" not in page_text(customer_client.get(REQUESTS))
    assert request.events.filter(action="export_deleted").exists()


# --- nobody else's requests (ids edited in URLs) -------------------------------------


def test_another_customer_cannot_download_cancel_or_see_a_request(
    customer_client, customer_user, make_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        customer_client.post("/me/requests/export/")
    export_request = DataRequest.objects.get(kind="export")
    erasure = services.data_request_create(customer=profile_of(customer_user), kind="erasure")

    other = make_user(Role.CUSTOMER, email="mallory@example.com")
    intruder = Client()
    intruder.force_login(other)

    assert intruder.get(f"/me/requests/{export_request.pk}/download/").status_code == 404
    assert intruder.post(f"/me/requests/{erasure.pk}/cancel/").status_code == 404
    text = page_text(intruder.get(REQUESTS))
    assert "You have not made any requests." in text
    assert f"#{erasure.pk}" not in text
    erasure.refresh_from_db()
    assert erasure.status == "scheduled"
    # staff and owners have no customer record: no downloads for them either
    staff = make_user(Role.OWNER)
    intruder.force_login(staff)
    assert intruder.get(f"/me/requests/{export_request.pk}/download/").status_code == 404


def test_download_of_a_request_that_is_not_a_finished_export_is_404(customer_client, customer_user):
    request = services.data_request_create(customer=profile_of(customer_user), kind="export")
    assert customer_client.get(f"/me/requests/{request.pk}/download/").status_code == 404
    assert customer_client.get("/me/requests/999999/download/").status_code == 404


# --- erasure: re-authentication and the cancel window -------------------------------


def test_erasure_asks_for_the_password_again_then_schedules_with_a_cancel_window(
    customer_client, customer_user, settings, django_capture_on_commit_callbacks
):
    settings.ERASURE_CANCEL_WINDOW_MINUTES = 10

    # when she asks for erasure, she is sent to confirm her password first
    response = customer_client.post("/me/requests/erasure/", {"confirm": "on"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert not DataRequest.objects.exists()

    # and after confirming it, her request is replayed and scheduled
    with django_capture_on_commit_callbacks(execute=True):
        response = customer_client.post(response["Location"], {"password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == REQUESTS
    request = DataRequest.objects.get(kind="erasure")
    assert request.status == "scheduled"
    assert request.not_before - request.requested_at == timedelta(minutes=10)
    assert request.due_at == one_month_after(request.requested_at)
    text = page_text(customer_client.get(REQUESTS))
    assert "Waiting (can still be cancelled)" in text
    assert "Cancel erasure" in text
    received = mails_to("gable@example.com")
    assert [m.subject for m in received] == [
        "Crumb & Co.: We received your request: erasure of your data"
    ]
    assert "Until then you can cancel it" in received[0].body


def test_a_wrong_password_schedules_nothing(customer_client):
    response = customer_client.post("/me/requests/erasure/", {"confirm": "on"})
    customer_client.post(response["Location"], {"password": "not-it"})
    assert not DataRequest.objects.exists()


def test_erasure_must_be_confirmed_with_the_checkbox(customer_client):
    # without the box she is not even asked for her password
    response = customer_client.post("/me/requests/erasure/", {})
    assert response.status_code == 400
    assert "Tick the box to confirm that you want your data erased." in page_text(response)

    # and with her password just confirmed (no second prompt), the box is still required
    reauthenticate(customer_client, REQUESTS)
    response = customer_client.post("/me/requests/erasure/", {})
    assert response.status_code == 400
    assert "Tick the box to confirm that you want your data erased." in page_text(response)
    assert not DataRequest.objects.exists()


def test_erasure_cannot_be_requested_by_get(customer_client):
    assert customer_client.get("/me/requests/erasure/").status_code == 405


def test_cancel_inside_the_window_keeps_everything(
    customer_client, customer_user, django_capture_on_commit_callbacks
):
    profile = profile_of(customer_user)
    InteractionFactory(customer=profile)
    request = services.data_request_create(customer=profile, kind="erasure", actor=customer_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = customer_client.post(f"/me/requests/{request.pk}/cancel/", follow=True)

    assert "Your erasure request is cancelled. Nothing was erased." in page_text(response)
    request.refresh_from_db()
    assert request.status == "cancelled"
    assert Interaction.objects.filter(customer=profile).count() == 1
    assert [e.action for e in request.events.all()] == ["received", "cancelled"]
    assert request.events.get(action="cancelled").actor == customer_user
    assert mails_to("gable@example.com")[-1].subject == (
        "Crumb & Co.: Your request was cancelled: erasure of your data"
    )
    # a cancelled erasure never starts
    DataRequest.objects.filter(pk=request.pk).update(not_before=timezone.now())
    assert services.erasures_start_due() == []


def test_cancel_is_refused_once_the_window_has_passed_and_erasure_started(
    customer_client, customer_user, django_capture_on_commit_callbacks
):
    profile = profile_of(customer_user)
    request = services.data_request_create(customer=profile, kind="erasure")
    # the window has passed: the page no longer offers to cancel, and the service refuses
    DataRequest.objects.filter(pk=request.pk).update(
        not_before=timezone.now() - timedelta(seconds=1)
    )
    assert "Cancel erasure" not in page_text(customer_client.get(REQUESTS))
    response = customer_client.post(f"/me/requests/{request.pk}/cancel/", follow=True)
    assert "can no longer be cancelled" in page_text(response)
    request.refresh_from_db()
    assert request.status == "scheduled"

    # beat starts it, it runs, and it can still not be cancelled
    with django_capture_on_commit_callbacks(execute=True):
        assert services.erasures_start_due() == [request.pk]
    request.refresh_from_db()
    assert request.status == "completed"
    with pytest.raises(Exception, match="can no longer be cancelled"):
        services.data_request_cancel(data_request=request)


def test_erasure_emails_at_each_step_and_signs_the_customer_out(
    customer_client, customer_user, django_capture_on_commit_callbacks
):
    profile = profile_of(customer_user)
    with django_capture_on_commit_callbacks(execute=True):
        request = services.data_request_create(customer=profile, kind="erasure")
    DataRequest.objects.filter(pk=request.pk).update(not_before=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        services.erasures_start_due()

    assert [m.subject for m in mails_to("gable@example.com")] == [
        "Crumb & Co.: We received your request: erasure of your data",
        "Crumb & Co.: We are working on your request: erasure of your data",
        "Crumb & Co.: Your request is complete: erasure of your data",
    ]
    assert "This is the last email you get from us." in mail.outbox[-1].body
    assert not User.objects.filter(email="gable@example.com").exists()
    # her session no longer opens anything
    response = customer_client.get(REQUESTS)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- objection to profiling ----------------------------------------------------------


def test_objection_switches_personalization_off_and_withdraws_marketing_at_once(
    customer_client, customer_user, django_capture_on_commit_callbacks
):
    profile = profile_of(customer_user)
    grant(profile, "marketing", "purchase_history")
    grant(profile, "personalization", "purchase_history")

    with django_capture_on_commit_callbacks(execute=True):
        response = customer_client.post("/me/requests/objection/", follow=True)

    assert "personalization is off and we will not send you offer emails" in page_text(response)
    profile.refresh_from_db()
    assert profile.personalization_mode == "off"
    marketing = Consent.objects.filter(customer=profile, purpose="marketing")
    assert marketing.count() == 5
    assert not marketing.filter(granted=True).exists()
    # other purposes are the customer's own choice and stay as they were
    assert Consent.objects.get(customer=profile, purpose="personalization").granted
    events = ConsentEvent.objects.filter(customer=profile, method="objection")
    assert events.count() == 5
    assert set(events.values_list("actor", flat=True)) == {"customer"}
    assert all(e.ip_hash for e in events)  # where it came from, hashed
    request = DataRequest.objects.get(kind="objection")
    assert request.status == "completed"
    assert [e.action for e in request.events.all()] == ["received", "completed"]
    assert [m.subject for m in mails_to("gable@example.com")] == [
        "Crumb & Co.: Your request is complete: objection to profiling"
    ]


# --- CSRF on every form ---------------------------------------------------------------


def test_every_customer_form_needs_the_csrf_token(customer_user):
    client = Client(enforce_csrf_checks=True)
    client.login(email=customer_user.email, password=PASSWORD)
    request = services.data_request_create(customer=profile_of(customer_user), kind="erasure")

    for url in [
        "/me/requests/export/",
        "/me/requests/objection/",
        "/me/requests/erasure/",
        f"/me/requests/{request.pk}/cancel/",
    ]:
        assert client.post(url, {"confirm": "on"}).status_code == 403, url

    request.refresh_from_db()
    assert request.status == "scheduled"
    assert DataRequest.objects.count() == 1

    # with the page's token the same form works
    client.get(REQUESTS)
    token = client.cookies["csrftoken"].value
    response = client.post(f"/me/requests/{request.pk}/cancel/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == "cancelled"


def test_request_events_record_who_asked(customer_client, customer_user):
    customer_client.post("/me/requests/export/")
    event = DataRequestEvent.objects.get(action="received")
    assert event.actor == customer_user
