import pytest
from django.db import OperationalError

from config.celery_app import app as celery_app


@pytest.fixture
def broker_url():
    """Point the Celery app at another broker for one test, then restore it."""
    original = celery_app.conf.broker_url, dict(celery_app.conf.broker_transport_options or {})

    def set_url(url: str, **options: object) -> None:
        celery_app.conf.broker_url = url
        celery_app.conf.broker_transport_options = options

    yield set_url
    celery_app.conf.broker_url, celery_app.conf.broker_transport_options = original


def test_healthz_reports_database_and_broker_up(client, db):
    response = client.get("/healthz/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_is_503_when_the_broker_is_unreachable(client, db, broker_url):
    broker_url("redis://127.0.0.1:1/0")  # nothing listens on port 1
    response = client.get("/healthz/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["broker"] == {"ok": False, "detail": "unreachable"}
    assert body["database"]["ok"] is True


def test_healthz_is_503_when_the_file_queue_is_gone(client, db, broker_url, tmp_path):
    missing = str(tmp_path / "gone")
    broker_url("filesystem://localhost//", data_folder_in=missing, data_folder_out=missing)
    response = client.get("/healthz/")
    assert response.status_code == 503
    assert response.json()["broker"] == {"ok": False, "detail": "queue folder missing"}


def test_healthz_is_503_when_the_database_is_down(client, db, monkeypatch):
    class RefusingConnection:
        vendor = "postgresql"

        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr("core.health.connections", {"default": RefusingConnection()})
    response = client.get("/healthz/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["database"] == {"ok": False, "detail": "unreachable"}


def test_healthz_does_not_accept_posts(client, db):
    assert client.post("/healthz/").status_code == 405
