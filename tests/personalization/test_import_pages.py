"""/owner/import/: the owner uploads files, reads the preview, confirms, reads the summary."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.test import Client

from accounts.roles import Role
from personalization.importing import runs
from personalization.models import ImportRun, ImportRunStatus, Interaction, Item
from tests.personalization.import_samples import CATALOG, EVENTS_BAD_DATE, shop_uploads

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "imports"
    return settings.IMPORT_UPLOAD_DIR


@pytest.fixture
def owner(make_user):
    return make_user(Role.OWNER)


@pytest.fixture
def owner_client(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def post_upload(client, django_capture_on_commit_callbacks, *, files=None, profile="fairshare"):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(
            "/owner/import/", {"profile": profile, "uploads": files or shop_uploads()}
        )


def test_the_owner_uploads_checks_confirms_and_reads_the_summary(
    owner_client, django_capture_on_commit_callbacks
):
    # when the owner uploads the sample shop
    response = post_upload(owner_client, django_capture_on_commit_callbacks)

    # then the preview says what would be imported, and nothing is written yet
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/owner/import/{run.pk}/"
    page = owner_client.get(response["Location"])
    text = text_of(page)
    assert "Preview: what would be imported" in text
    assert "Every row is valid. Nothing has been written yet." in text
    assert "catalog.csv catalog 3 3 0 0 0" in text
    assert "events.csv events 4 4 0 0 0" in text
    assert Item.objects.count() == 0

    # when they confirm (the task runs once the request's transaction commits)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"/owner/import/{run.pk}/confirm/")

    # then the import ran, all of it, and the page shows its summary
    text = text_of(owner_client.get(response["Location"]))
    assert "Import confirmed: it runs now, all or nothing." in text
    assert "Every row was written in one go." in text
    assert "State Imported" in text
    assert (Item.objects.count(), Interaction.objects.count()) == (3, 4)

    # and the history lists it with its counts
    text = text_of(owner_client.get("/owner/import/"))
    assert f"#{run.pk}" in text
    assert "events.csv: 4 rows, 4 new" in text


def test_a_refused_upload_shows_its_errors_with_lines_and_cannot_be_confirmed(
    owner_client, django_capture_on_commit_callbacks
):
    post_upload(
        owner_client, django_capture_on_commit_callbacks, files=shop_uploads(events=EVENTS_BAD_DATE)
    )
    run = ImportRun.objects.get()

    page = owner_client.get(f"/owner/import/{run.pk}/")

    text = text_of(page)
    assert "The files hold 1 error; nothing can be imported until it is fixed." in text
    assert "events.csv:3:" in text
    assert "Import these rows" not in text
    response = owner_client.post(f"/owner/import/{run.pk}/confirm/", follow=True)
    assert "This import is not waiting for confirmation any more." in text_of(response)
    assert Item.objects.count() == 0


def test_uploads_stream_to_disk_even_when_small(
    owner_client, monkeypatch, django_capture_on_commit_callbacks
):
    seen = []
    real = runs._store

    def spy(upload, target):
        seen.append(type(upload))
        real(upload, target)

    monkeypatch.setattr(runs, "_store", spy)

    post_upload(owner_client, django_capture_on_commit_callbacks)

    assert seen == [TemporaryUploadedFile] * 3


def test_an_upload_over_the_limit_is_refused_and_nothing_is_kept(
    owner_client, settings, upload_dir, django_capture_on_commit_callbacks
):
    settings.IMPORT_UPLOAD_MAX_BYTES = len(CATALOG) + 10

    response = post_upload(owner_client, django_capture_on_commit_callbacks)

    assert response.status_code == 400
    assert "The files are larger than" in text_of(response)
    assert "together; nothing was kept." in text_of(response)
    assert ImportRun.objects.count() == 0
    assert not upload_dir.exists() or not any(upload_dir.iterdir())


def test_a_file_of_another_kind_is_refused_next_to_the_field(owner_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = owner_client.post(
        "/owner/import/",
        {"profile": "online-retail", "uploads": [SimpleUploadedFile("orders.xlsx", b"PK\x03\x04")]},
    )

    assert response.status_code == 400
    assert "orders.xlsx is not a .csv or .csv.gz file." in text_of(response)
    assert ImportRun.objects.count() == 0


def test_an_upload_without_the_csrf_token_is_refused(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)

    response = client.post("/owner/import/", {"profile": "fairshare", "uploads": shop_uploads()})

    assert response.status_code == 403
    assert ImportRun.objects.count() == 0


@pytest.mark.parametrize("role", [Role.STAFF, Role.CUSTOMER])
def test_only_the_owner_imports(make_user, role, owner, django_capture_on_commit_callbacks):
    run = runs.import_run_create(profile="fairshare", uploads=shop_uploads(), user=owner)
    client = Client()
    client.force_login(make_user(role))

    assert client.get("/owner/import/").status_code == 403
    assert client.get(f"/owner/import/{run.pk}/progress.json").status_code == 403
    assert (
        client.post(
            "/owner/import/", {"profile": "fairshare", "uploads": shop_uploads()}
        ).status_code
        == 403
    )
    assert ImportRun.objects.count() == 1


def test_the_progress_endpoint_reports_the_workers_progress(owner_client, owner):
    run = runs.import_run_create(profile="fairshare", uploads=shop_uploads(), user=owner)
    ImportRun.objects.filter(pk=run.pk).update(status=ImportRunStatus.CHECKING)
    runs._write_progress(run.pk, {"percent": 40, "file": "events.csv", "rows": 20000})

    data = owner_client.get(f"/owner/import/{run.pk}/progress.json").json()

    assert data == {
        "status": "checking",
        "status_label": "Being checked",
        "percent": 40,
        "text": "Checking events.csv: 40% · 20,000 rows read",
        "done": False,
    }
    page = text_of(owner_client.get(f"/owner/import/{run.pk}/"))
    assert "Checking the files" in page and "Checking events.csv: 40%" in page


def test_the_history_page_queries_do_not_grow_with_imports(
    owner_client, owner, django_assert_max_num_queries
):
    for _ in range(6):
        runs.import_run_create(profile="fairshare", uploads=shop_uploads(), user=owner)
    owner_client.get("/owner/import/")  # warm the session and permission caches

    with django_assert_max_num_queries(12):
        response = owner_client.get("/owner/import/")

    assert response.status_code == 200
    assert text_of(response).count("Waiting to be checked") == 6


def test_a_body_announced_far_over_the_limit_is_refused_before_a_byte_is_stored(
    owner_client, settings, upload_dir, monkeypatch
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.IMPORT_UPLOAD_MAX_BYTES = 1000
    stored = []
    monkeypatch.setattr(runs, "_store", lambda upload, target: stored.append(target))
    big = SimpleUploadedFile("events.csv", b"event_id\n" + b"e1\n" * 400_000, "text/csv")

    response = owner_client.post("/owner/import/", {"profile": "fairshare", "uploads": [big]})

    assert response.status_code == 400
    assert "The files are larger than 1000 bytes together; nothing was kept." in text_of(response)
    assert stored == [] and ImportRun.objects.count() == 0


@pytest.mark.parametrize(
    ("profile", "sample", "shown"),
    [
        (
            "shopify-products",
            "shopify-products.csv",
            ["Tags, as written and as stored", "gluten-free"],
        ),
        ("online-retail", "online-retail.csv", ["Rows of each kind", "purchases by customers"]),
    ],
)
def test_each_profiles_sample_previews_with_its_counts_and_tags(
    owner_client, django_capture_on_commit_callbacks, profile, sample, shown
):
    from pathlib import Path

    from django.core.files.uploadedfile import SimpleUploadedFile

    data = (Path(__file__).resolve().parents[2] / "docs" / "samples" / sample).read_bytes()

    post_upload(
        owner_client,
        django_capture_on_commit_callbacks,
        profile=profile,
        files=[SimpleUploadedFile(sample, data, "text/csv")],
    )

    run = ImportRun.objects.get()
    assert run.status == ImportRunStatus.CHECKED, run.preview["errors"]
    text = text_of(owner_client.get(f"/owner/import/{run.pk}/"))
    for words in shown:
        assert words in text
