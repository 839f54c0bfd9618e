"""The erasure form in real Chromium, at 1366x900 and on a phone: the confirmation box is
checked before the password is asked for (by the browser, and by the server with the
error next to the box and the focus on it); once scheduled, one sentence says when it
starts, and no second erasure or export is offered. axe on each state."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import CustomerProfile
from accounts.roles import Role
from personalization.consent import notices
from personalization.models import DataRequest
from tests.browser.support import PASSWORD, ROLE_START_PAGE, blocking_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def customer(person, email: str):
    """A customer who has read the privacy notice (else every page leads there first)."""
    notices.notice_ensure_initial()
    user = person(Role.CUSTOMER, email=email)
    notices.notice_acknowledge(profile=CustomerProfile.objects.get(user=user), version=1)
    return user


def focused_id(page) -> str:
    return page.evaluate("() => document.activeElement && document.activeElement.id")


@pytest.mark.parametrize(
    "viewport", [{"width": 1366, "height": 900}, {"width": 390, "height": 844}]
)
def test_the_box_comes_before_the_password_and_one_erasure_at_a_time(page, person, viewport):
    user = customer(person, "erase@example.com")
    page.set_viewport_size(viewport)
    sign_in(page, user.email)
    expect(page).to_have_url(ROLE_START_PAGE[Role.CUSTOMER])
    page.goto("/me/requests/")
    box = page.get_by_label(re.compile("I understand that my login"))
    erase = page.get_by_role("button", name="Erase my data")

    # the browser stops an unticked form where the box is: no password page
    erase.click()
    expect(page).to_have_url(re.compile(r"/me/requests/$"))
    assert focused_id(page) == "id_confirm"
    assert not DataRequest.objects.exists()

    # the server checks it too (a browser that skips the check): the error sits next to
    # the box, in view, with the focus on it, and still no password was asked for
    page.evaluate("() => document.getElementById('id_confirm').removeAttribute('required')")
    erase.click()
    error = page.locator("#erasure-confirm-error")
    expect(error).to_have_text("Tick the box to confirm that you want your data erased.")
    expect(error).to_be_in_viewport()
    assert focused_id(page) == "id_confirm"
    expect(page.get_by_role("heading", level=1)).to_have_text("My data requests")
    assert blocking_violations(page) == []

    # ticked: now the password, then it is scheduled
    box.check()
    erase.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm Access")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_contain_text("Your erasure is scheduled")

    # one sentence on when it starts; no "days left" beside it
    row = page.get_by_role("row", name=re.compile("Erasure of my data"))
    expect(row).to_contain_text(re.compile(r"Erasure starts at .+ on .+; until then you can"))
    expect(row).not_to_contain_text("days left")
    expect(row).not_to_contain_text("day left")
    # no second erasure, and no export while the data is about to go
    expect(page.get_by_role("button", name="Erase my data")).to_have_count(0)
    expect(page.locator("#erasure-pending")).to_contain_text("already on its way")
    expect(page.get_by_role("button", name="Request a copy of my data")).to_have_count(0)
    assert DataRequest.objects.filter(kind="erasure").count() == 1
    assert blocking_violations(page) == []


def test_no_second_export_is_offered_while_one_is_being_prepared(page, person):
    from personalization.datarights import services

    user = customer(person, "copy@example.com")
    profile = CustomerProfile.objects.get(user=user)
    request = services.data_request_create(customer=profile, kind="export")
    # still being prepared (the worker has not finished it)
    DataRequest.objects.filter(pk=request.pk).update(
        status="in_progress", completed_at=None, export_file=""
    )
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, user.email)
    page.goto("/me/requests/")

    expect(page.locator("#export-pending")).to_contain_text(
        f"Your copy is being prepared (request #{request.pk})"
    )
    expect(page.get_by_role("button", name="Request a copy of my data")).to_have_count(0)
    assert blocking_violations(page) == []
