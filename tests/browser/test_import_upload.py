"""The owner uploads a shop's files in Chromium, reads the preview, confirms, watches the
progress bar of the real Celery worker's import and sees the summary; the pages pass axe.

The worker stops before its commit (the test-only pause hook of importing/runs.py) so the
bar can be looked at while the import runs, then goes on; the page follows by itself.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from personalization.importing import runs, tasks
from personalization.models import ImportRun, Interaction, Item
from tests.browser.support import blocking_violations, sign_in
from tests.personalization.import_samples import write_shop
from tests.workers import require_worker_services, worker_pool

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(tmp_path, monkeypatch, settings):
    require_worker_services("the upload page's browser test")
    settings.IMPORT_UPLOAD_DIR = tmp_path / "imports"
    pause = tmp_path / "pause"
    pause.mkdir()
    with worker_pool(
        tmp_path=tmp_path,
        monkeypatch=monkeypatch,
        prefix="test-import-page",
        tasks=[tasks.import_run_work],
        env={"IMPORT_UPLOAD_DIR": str(settings.IMPORT_UPLOAD_DIR), runs.PAUSE_DIR_ENV: str(pause)},
    ) as pool:
        pool.start("page")
        yield pause


def test_the_owner_uploads_a_shop_watches_the_import_and_reads_the_summary(
    page, person, worker, tmp_path
):
    pause = worker
    owner = person(Role.OWNER, email="owner@example.com")
    files = write_shop(tmp_path / "export")
    sign_in(page, owner.email)

    # the owner finds the page in the owner console's navigation
    page.goto("/owner/")
    page.get_by_role("navigation", name="This section").get_by_role(
        "link", name="Import data"
    ).click()
    expect(page.get_by_role("heading", name="Import data", level=1)).to_be_visible()
    assert blocking_violations(page) == []

    # uploads the three files
    page.get_by_label("What the files are:", exact=True).select_option(
        label="Fairshare CSV files (catalog, customers, events)"
    )
    page.get_by_label("Files:", exact=True).set_input_files([str(p) for p in files])
    page.get_by_role("button", name="Upload and check").click()

    # and, once the worker has checked them, reads the preview (the page follows by itself)
    expect(page).to_have_url(re.compile(r"/owner/import/\d+/$"))
    preview = page.locator("#import-preview")
    expect(preview).to_contain_text("Every row is valid. Nothing has been written yet.")
    expect(preview.get_by_role("row", name=re.compile(r"^events\.csv"))).to_contain_text("4")
    assert Item.objects.count() == 0
    assert blocking_violations(page) == []

    # confirms: the worker imports and stops before its commit; the bar shows where it is
    page.get_by_role("button", name="Import these rows").click()
    bar = page.get_by_role("progressbar")
    expect(bar).to_be_visible()
    expect(page.locator("#import-progress-text")).to_contain_text("Importing events.csv")
    expect(bar).to_have_attribute("value", "99")
    assert (pause / "paused").exists() and Interaction.objects.count() == 0
    assert blocking_violations(page) == []

    # the worker goes on: the page shows the summary without a click
    (pause / "resume").touch()
    summary = page.locator("#import-summary")
    expect(summary).to_contain_text("Every row was written in one go.")
    expect(page.get_by_role("progressbar")).to_have_count(0)
    expect(page.locator("#import-status")).to_have_text("Imported")
    assert (Item.objects.count(), Interaction.objects.count()) == (3, 4)

    # and the history lists the import with its counts
    page.get_by_role("link", name="All imports").click()
    run = ImportRun.objects.get()
    history = page.locator("#import-history")
    expect(history.get_by_role("row", name=re.compile(f"#{run.pk}"))).to_contain_text(
        "events.csv: 4 rows, 4 new"
    )
