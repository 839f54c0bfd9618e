"""Data requests in real Chromium: export and download, erasure with re-authentication
and cancel, keyboard only, and axe on the customer's and the staff's pages."""

import json
import re
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import CustomerProfile
from accounts.roles import Role
from personalization.datarights import services
from personalization.models import DataRequest
from tests.browser.support import PASSWORD, ROLE_START_PAGE, blocking_violations, sign_in
from tests.factories import (
    AuditAttributeFactory,
    CustomerProfileFactory,
    InteractionFactory,
    ItemFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    # The live server runs in this process: exports land in the test's folder.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def gable(person):
    user = person(Role.CUSTOMER, email="gable@example.com")
    profile = CustomerProfile.objects.get(user=user)
    InteractionFactory(customer=profile, item=ItemFactory(name="Wheat sourdough"))
    return user


def open_requests_page(page, email: str) -> None:
    sign_in(page, email)
    expect(page).to_have_url(ROLE_START_PAGE[Role.CUSTOMER])
    page.goto("/me/requests/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My data requests")


def tab_to(page, name: str, *, limit: int = 80) -> None:
    """Press Tab until the focused control's text or label is `name` (keyboard only)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement;"
            " return (e.innerText || (e.labels && e.labels[0] && e.labels[0].innerText)"
            " || '').trim(); }"
        )
        if focused == name:
            return
    pytest.fail(f"Tab never reached {name!r}")


def test_customer_requests_an_export_and_downloads_the_zip(page, gable, tmp_path):
    open_requests_page(page, "gable@example.com")

    page.get_by_role("button", name="Request a copy of my data").click()

    expect(page.get_by_role("status")).to_contain_text("We are preparing a copy of your data")
    row = page.get_by_role("row", name=re.compile("Export of my data"))
    expect(row).to_contain_text("Completed")
    with page.expect_download() as download_info:
        row.get_by_role("link", name="Download (ZIP)").click()
    download = download_info.value
    assert re.fullmatch(r"crumb-co-my-data-\d{4}-\d{2}-\d{2}\.zip", download.suggested_filename)
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    with zipfile.ZipFile(path) as archive:
        data = json.loads(archive.read("data.json"))
        assert "csv/interactions.csv" in archive.namelist()
    assert data["sections"]["login"][0]["email"] == "gable@example.com"
    assert data["sections"]["interactions"][0]["item_name"] == "Wheat sourdough"


def test_customer_requests_erasure_confirms_her_password_and_cancels_it(page, gable):
    open_requests_page(page, "gable@example.com")

    page.get_by_label(re.compile("I understand that my login")).check()
    page.get_by_role("button", name="Erase my data").click()

    # she is asked for her password again before anything is scheduled
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm Access")
    assert not DataRequest.objects.exists()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()

    expect(page).to_have_url(re.compile(r"/me/requests/$"))
    expect(page.get_by_role("status")).to_contain_text("Your erasure is scheduled")
    row = page.get_by_role("row", name=re.compile("Erasure of my data"))
    expect(row).to_contain_text("Waiting (can still be cancelled)")

    row.get_by_role("button", name="Cancel erasure").click()

    expect(page.get_by_role("status")).to_contain_text("Your erasure request is cancelled")
    expect(page.get_by_role("row", name=re.compile("Erasure of my data"))).to_contain_text(
        "Cancelled"
    )
    assert DataRequest.objects.get().status == "cancelled"
    assert CustomerProfile.objects.filter(user=gable).exists()


def test_requests_work_with_the_keyboard_only(page, gable):
    open_requests_page(page, "gable@example.com")

    tab_to(page, "Request a copy of my data")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("We are preparing a copy of your data")

    tab_to(page, "Download (ZIP)")
    with page.expect_download() as download_info:
        page.keyboard.press("Enter")
    assert download_info.value.suggested_filename.endswith(".zip")

    # erasure: tick the box, submit, confirm the password, then cancel, all by keyboard
    tab_to(
        page,
        "I understand that my login and everything the shop holds about me will be "
        "erased, and that this cannot be undone once it has started.",
    )
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm Access")
    if not page.evaluate("() => document.activeElement.type === 'password'"):
        tab_to(page, "Password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Your erasure is scheduled")
    tab_to(page, "Cancel erasure")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Your erasure request is cancelled")


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}]
)
def test_customer_requests_page_has_no_serious_accessibility_problems(page, gable, viewport):
    profile = CustomerProfile.objects.get(user=gable)
    services.data_request_create(customer=profile, kind="erasure")
    services.data_request_create(customer=profile, kind="objection")
    page.set_viewport_size(viewport)
    open_requests_page(page, "gable@example.com")
    expect(page.get_by_role("button", name="Cancel erasure")).to_be_visible()
    # no second erasure is offered while this one waits (the error state of the form:
    # tests/browser/test_erasure_page.py)
    expect(page.get_by_role("button", name="Erase my data")).to_have_count(0)

    assert blocking_violations(page) == []


def test_staff_requests_pages_have_no_serious_accessibility_problems(page, person):
    staff = person(Role.STAFF)
    late_customer = CustomerProfileFactory(external_id="C-LATE")
    AuditAttributeFactory(customer=late_customer, name="age_band", value="60-69", source="import")
    late = services.data_request_create(customer=late_customer, kind="erasure")
    DataRequest.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(days=3))
    # an export whose worker gave up
    failed = services.data_request_create(
        customer=CustomerProfileFactory(external_id="C-FAILED"), kind="export"
    )
    DataRequest.objects.filter(pk=failed.pk).update(status="in_progress", export_file="")
    services.data_request_record_failure(request_id=failed.pk, message="OSError: disk full")
    sign_in(page, staff.email)
    expect(page).to_have_url(ROLE_START_PAGE[Role.STAFF])

    page.goto("/staff/requests/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Data requests")
    expect(page.get_by_role("row", name=re.compile("C-LATE"))).to_contain_text("3 days overdue")
    expect(page.get_by_text("60-69")).to_have_count(0)
    assert blocking_violations(page) == []

    page.get_by_role("link", name=f"#{failed.pk}").click()
    expect(page.get_by_role("alert")).to_contain_text("OSError: disk full")
    page.get_by_label("Note", exact=True).fill("Asked IT about the disk.")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_role("status")).to_contain_text("Note added.")
    expect(page.get_by_role("cell", name="Asked IT about the disk.")).to_be_visible()
    assert blocking_violations(page) == []


def test_owner_retention_page_has_no_serious_accessibility_problems(page, person):
    owner = person(Role.OWNER)
    services.retention_enforce()
    sign_in(page, owner.email)
    expect(page).to_have_url(ROLE_START_PAGE[Role.OWNER])

    page.goto("/owner/retention/")
    page.get_by_label("Browsing history").fill("0")
    page.get_by_role("button", name="Save retention periods").click()
    expect(page.get_by_text("Keep data at least 1 day.")).to_be_visible()
    assert blocking_violations(page) == []

    page.get_by_label("Browsing history").fill("90")
    page.get_by_role("button", name="Save retention periods").click()
    expect(page.get_by_role("status")).to_contain_text("Retention periods saved.")
