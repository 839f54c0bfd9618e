"""The staff console for data requests: days left, overdue first, filters, the log and
actions recorded with who did them; staff only."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.models import CustomerProfile
from accounts.roles import Role
from personalization.datarights import services
from personalization.models import DataRequest
from tests.factories import AuditAttributeFactory, CustomerProfileFactory

pytestmark = pytest.mark.django_db

LIST = "/staff/requests/"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _midday():
    # Days left are counted in calendar days: a due time "in 3 days and 2 hours" falls on
    # another date after 22:00. The tests run at a fixed midday, whatever the real clock.
    with time_machine.travel(datetime(2026, 11, 18, 12, 0, tzinfo=UTC), tick=True):
        yield


@pytest.fixture
def staff(make_user):
    return make_user(Role.STAFF, email="sam@example.com")


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def text_of(response) -> str:
    return " ".join(response.content.decode().split())


def request_due_in(days: int, *, kind="export", external_id=None) -> DataRequest:
    customer = CustomerProfileFactory.create(
        **({"external_id": external_id} if external_id else {})
    )
    request = services.data_request_create(customer=customer, kind=kind)
    DataRequest.objects.filter(pk=request.pk).update(
        due_at=timezone.now() + timedelta(days=days, hours=2)
    )
    request.refresh_from_db()
    return request


def test_list_shows_open_requests_with_days_left_and_overdue_first(staff_client):
    later = request_due_in(20, external_id="C-LATER")
    overdue = request_due_in(-3, kind="erasure", external_id="C-LATE")
    done = request_due_in(5, external_id="C-DONE")
    DataRequest.objects.filter(pk=done.pk).update(status="completed")

    response = staff_client.get(LIST)
    text = text_of(response)

    assert "2 requests" in text
    assert "C-LATE" in text and "C-LATER" in text
    assert "C-DONE" not in text
    assert "3 days overdue" in text
    assert "20 days left" in text
    # the overdue one comes first and is highlighted
    rows = response.context["rows"]
    assert [r.request.pk for r in rows] == [overdue.pk, later.pk]
    assert rows[0].overdue and not rows[1].overdue
    assert 'class="overdue"' in response.content.decode()


def test_list_never_shows_declared_audit_attributes(staff_client):
    request = request_due_in(10, external_id="C-AUDIT")
    AuditAttributeFactory(
        customer=request.customer, name="ethnicity", value="declared-value-x9", source="customer"
    )
    for url in (LIST, f"{LIST}{request.pk}/"):
        text = text_of(staff_client.get(url))
        assert "C-AUDIT" in text
        assert "declared-value-x9" not in text
        assert "ethnicity" not in text


def test_filters_by_status_and_kind(staff_client):
    export = request_due_in(10, external_id="C-EXP")
    erasure = request_due_in(10, kind="erasure", external_id="C-ERA")
    finished = request_due_in(10, external_id="C-FIN")
    DataRequest.objects.filter(pk=finished.pk).update(status="completed")

    by_kind = staff_client.get(LIST, {"kind": "erasure"}).context["rows"]
    assert [r.request.pk for r in by_kind] == [erasure.pk]
    by_status = staff_client.get(LIST, {"status": "completed"}).context["rows"]
    assert [r.request.pk for r in by_status] == [finished.pk]
    assert by_status[0].days_left is None  # closed: no countdown
    both = staff_client.get(LIST, {"status": "pending", "kind": "export"}).context["rows"]
    assert [r.request.pk for r in both] == [export.pk]
    # a made-up filter value shows the default list rather than an error
    response = staff_client.get(LIST, {"status": "nonsense"})
    assert response.status_code == 200
    assert len(response.context["rows"]) == 2


def test_list_needs_the_same_number_of_queries_for_5_or_25_requests(
    staff_client, django_assert_max_num_queries
):
    for _ in range(5):
        request_due_in(10)
    with django_assert_max_num_queries(10) as few:
        staff_client.get(LIST)
    for _ in range(20):
        request_due_in(10)
    with django_assert_max_num_queries(len(few.captured_queries)):
        staff_client.get(LIST)


def test_detail_shows_the_log_and_a_note_is_recorded_with_its_author(staff_client, staff):
    request = request_due_in(10, external_id="C-NOTE")

    response = staff_client.post(
        f"{LIST}{request.pk}/note/", {"note-note": "Customer phoned to ask."}, follow=True
    )

    text = text_of(response)
    assert "Note added." in text
    assert "Customer phoned to ask." in text
    assert "sam@example.com" in text
    event = request.events.get(action="note")
    assert event.actor == staff


def test_an_empty_note_is_refused_next_to_the_field(staff_client):
    request = request_due_in(10)
    response = staff_client.post(f"{LIST}{request.pk}/note/", {"note-note": "   "})
    assert response.status_code == 400
    assert "Write a note." in text_of(response)
    assert not request.events.filter(action="note").exists()


def test_a_failed_request_is_shown_with_its_reason_and_retried_by_staff(
    staff_client, staff, django_capture_on_commit_callbacks
):
    request = request_due_in(10, external_id="C-FAIL")
    services.data_request_record_failure(request_id=request.pk, message="OSError: disk full")

    text = text_of(staff_client.get(f"{LIST}{request.pk}/"))
    assert "This request failed:" in text and "OSError: disk full" in text
    assert "Failed (staff will retry)" in text_of(staff_client.get(LIST))

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(f"{LIST}{request.pk}/retry/")
    assert response.status_code == 302

    request.refresh_from_db()
    assert request.status == "completed"
    assert request.failure == ""
    retried = request.events.get(action="retried")
    assert retried.actor == staff
    # a request that is not failed cannot be retried
    response = staff_client.post(f"{LIST}{request.pk}/retry/", follow=True)
    assert "Only a failed request can be retried." in text_of(response)


def test_mark_handled_completes_a_manual_case_and_tells_the_customer(
    staff_client, staff, django_capture_on_commit_callbacks
):
    from django.core import mail

    request = request_due_in(10)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            f"{LIST}{request.pk}/handled/",
            {"handled-note": "Sent the copy by post, as asked."},
            follow=True,
        )

    assert "Marked handled; the customer was told." in text_of(response)
    request.refresh_from_db()
    assert request.status == "completed"
    handled = request.events.get(action="handled")
    assert (handled.actor, handled.note) == (staff, "Sent the copy by post, as asked.")
    assert mail.outbox[-1].to == [request.customer.email]
    assert "Your request is complete" in mail.outbox[-1].subject


def test_an_erasure_cannot_be_marked_handled_while_the_data_exists(staff_client):
    request = request_due_in(10, kind="erasure")
    response = staff_client.post(
        f"{LIST}{request.pk}/handled/", {"handled-note": "done"}, follow=True
    )
    assert "An erasure is done only by running it" in text_of(response)
    assert "Mark handled" not in text_of(response)
    request.refresh_from_db()
    assert request.status == "scheduled"


def test_erased_customers_show_by_number_only(staff_client, django_capture_on_commit_callbacks):
    request = request_due_in(10, kind="erasure", external_id="C-GONE")
    DataRequest.objects.filter(pk=request.pk).update(not_before=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        services.erasures_start_due()

    text = text_of(staff_client.get(f"{LIST}{request.pk}/"))
    assert "C-GONE" not in text
    assert f"erased (customer no. {request.customer_ref})" in text
    assert "Completed" in text


def test_staff_pages_are_for_staff_only(client, make_user):
    request = request_due_in(10)
    urls = [LIST, f"{LIST}{request.pk}/"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    customer = make_user(Role.CUSTOMER)
    client.force_login(customer)
    for url in urls:
        assert client.get(url).status_code == 403
    for action in ("retry", "note", "handled"):
        assert client.post(f"{LIST}{request.pk}/{action}/", {"note-note": "x"}).status_code == 403
    assert not request.events.exclude(action="received").exists()
    owner = make_user(Role.OWNER)
    client.force_login(owner)
    assert client.get(LIST).status_code == 200
    assert client.get(f"{LIST}999999/").status_code == 404


def test_every_staff_form_needs_the_csrf_token(staff):
    request = request_due_in(10)
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    for action, data in (
        ("retry", {}),
        ("note", {"note-note": "x"}),
        ("handled", {"handled-note": "x"}),
    ):
        assert client.post(f"{LIST}{request.pk}/{action}/", data).status_code == 403
    assert not request.events.exclude(action="received").exists()
    assert CustomerProfile.objects.filter(pk=request.customer_id).exists()
