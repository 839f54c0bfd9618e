"""A Redis outage (broker and cache are one Redis): work is accepted and sent later,
pages and sign-in keep working, the API answers (issue 13, item 7).

The outage is simulated by pointing the broker or the cache at a port nothing listens
on; the real Redis is never touched.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.cache import caches
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiScope
from accounts.roles import Role
from audits import services as audit_services
from audits.models import AuditRun
from config.celery_app import app as celery_app
from core import cache as cache_module
from core import enqueue as enqueue_module
from core.outage import Outage
from personalization.datarights import services as datarights_services
from personalization.models import DataRequest, Webhook, WebhookDelivery
from personalization.webhooks import services as webhook_services
from personalization.webhooks import tasks as webhook_tasks
from tests.factories import CustomerProfileFactory, UserFactory

CLOSED_PORT_REDIS = "redis://127.0.0.1:6390/0"
EMAIL = "ada@example.com"


def _reset_broker_pools() -> None:
    # The app keeps its connection pools: drop them so the next send uses the new URL.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker(monkeypatch):
    """`broker.down()` points Celery at a closed port; `broker.back()` runs tasks in-process
    again (as the test suite does), standing for a broker and worker that returned."""
    conf = celery_app.conf
    original = conf.broker_url, conf.broker_transport_options, conf.task_always_eager
    monkeypatch.setattr(enqueue_module, "broker", Outage("broker", retry_after=5.0))

    class Broker:
        def down(self) -> None:
            conf.broker_url, conf.broker_transport_options = CLOSED_PORT_REDIS, {}
            conf.task_always_eager = False
            _reset_broker_pools()

        def back(self) -> None:
            conf.broker_url, conf.broker_transport_options, conf.task_always_eager = original
            _reset_broker_pools()
            monkeypatch.setattr(enqueue_module, "broker", Outage("broker", retry_after=5.0))

    yield Broker()
    conf.broker_url, conf.broker_transport_options, conf.task_always_eager = original
    _reset_broker_pools()


def _no_personal_data(caplog) -> None:
    assert EMAIL not in caplog.text
    assert "C1" not in caplog.text


def test_an_export_asked_for_while_the_broker_is_down_is_received_and_built_when_it_returns(
    client, make_user, broker, caplog, django_capture_on_commit_callbacks
):
    customer = make_user(Role.CUSTOMER, email=EMAIL)
    client.force_login(customer)
    broker.down()
    # when she asks for a copy of her data during the outage
    with caplog.at_level(logging.INFO), django_capture_on_commit_callbacks(execute=True):
        response = client.post("/me/requests/export/", follow=True)
    # then she is told it was received and is being prepared, not shown an error
    assert response.status_code == 200
    assert "We are preparing a copy of your data" in response.content.decode()
    request = DataRequest.objects.get(kind="export")
    assert request.status == "pending"
    assert "broker unreachable (OperationalError)" in caplog.text
    assert "datarights.export_build left for its sweeper" in caplog.text
    _no_personal_data(caplog)
    # when the broker is back, beat's dispatch (every minute) finds it within minutes
    broker.back()
    later = timezone.now() + timedelta(minutes=4)
    with django_capture_on_commit_callbacks(execute=True):
        requeued = datarights_services.data_requests_requeue_stuck(now=later)
    assert requeued == [request.pk]
    request.refresh_from_db()
    assert request.status == "completed"
    assert request.export_file


def test_the_recovery_decision_for_data_requests_takes_minutes_not_half_an_hour(db):
    customer = CustomerProfileFactory()
    request = datarights_services.data_request_create(customer=customer, kind="export")
    now = timezone.now()
    assert datarights_services.data_requests_stuck(now=now + timedelta(minutes=2)) == []
    assert datarights_services.data_requests_stuck(now=now + timedelta(minutes=4)) == [request.pk]


def test_a_data_request_filed_through_the_api_during_the_outage_is_accepted(
    api, broker, django_capture_on_commit_callbacks
):
    CustomerProfileFactory(external_id="C1")
    client = api(ApiScope.REQUESTS_WRITE)
    broker.down()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/customers/C1/data-requests/", {"kind": "export"}, format="json"
        )
    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    assert DataRequest.objects.get().status == "pending"


def test_a_consent_webhook_created_during_the_outage_is_sent_once_the_broker_returns(
    api, broker, monkeypatch, django_capture_on_commit_callbacks
):
    CustomerProfileFactory(external_id="C1")
    Webhook.objects.create(
        name="till", url="https://shop.example.com/hook", secret="s", events=["consent.changed"]
    )
    client = api(ApiScope.CONSENTS_WRITE)
    broker.down()
    # when the shop's till records a consent during the outage
    body = {
        "consents": [{"purpose": "marketing", "data_category": "purchase_history", "granted": True}]
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.put("/api/v1/customers/C1/consents/", body, format="json")
    # then the change is recorded and its delivery waits, never attempted
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    later = timezone.now() + timedelta(minutes=2)
    # the sweeper leaves it while the broker is still down ...
    assert webhook_services.webhook_deliveries_send_unsent(now=later) == []
    # ... and sends it when the broker is back (the broker's side: the message it gets)
    broker.back()
    sent: list[int] = []
    monkeypatch.setattr(webhook_tasks.deliver_webhook, "delay", lambda pk: sent.append(pk))
    assert webhook_services.webhook_deliveries_send_unsent(now=later) == [delivery.pk]
    assert sent == [delivery.pk]


def test_a_delivery_younger_than_a_minute_or_already_attempted_is_left_alone(db):
    hook = Webhook.objects.create(name="h", url="https://x.example/", secret="s", events=[])
    fresh = WebhookDelivery.objects.create(webhook=hook, event="consent.changed", payload={})
    tried = WebhookDelivery.objects.create(
        webhook=hook, event="consent.changed", payload={}, attempts=1
    )
    now = timezone.now()
    assert webhook_services.webhook_deliveries_send_unsent(now=now) == []
    sent = webhook_services.webhook_deliveries_send_unsent(now=now + timedelta(minutes=2))
    assert sent == [fresh.pk]
    assert tried.pk not in sent


def test_an_audit_started_during_the_outage_runs_when_the_broker_returns(
    db, broker, django_capture_on_commit_callbacks
):
    broker.down()
    with django_capture_on_commit_callbacks(execute=True):
        run = audit_services.audit_run_start(trigger="console")
    run.refresh_from_db()
    assert run.status == AuditRun.Status.QUEUED
    broker.back()
    later = timezone.now() + timedelta(minutes=4)
    with django_capture_on_commit_callbacks(execute=True):
        assert audit_services.audit_runs_requeue_stuck(now=later) == [run.pk]
    run.refresh_from_db()
    assert run.status == AuditRun.Status.COMPLETED


# --- the cache (rate limits, API throttle) ---------------------------------------------

FAIL_SAFE = "core.cache.FailSafeRedisCache"
PLAIN_REDIS = "django.core.cache.backends.redis.RedisCache"


@pytest.fixture
def cache_down(monkeypatch):
    """The default cache points at a closed port; `cache_down(PLAIN_REDIS)` uses Django's
    own RedisCache, as an installation without the fail-safe would."""
    monkeypatch.setattr(cache_module, "_outages", {})
    overrides = []

    def point(backend: str = FAIL_SAFE) -> None:
        options = {"socket_connect_timeout": 1, "socket_timeout": 1}
        override = override_settings(
            CACHES={
                "default": {"BACKEND": backend, "LOCATION": CLOSED_PORT_REDIS, "OPTIONS": options}
            }
        )
        override.enable()
        overrides.append(override)
        # The memory fallback lives as long as the process: start it empty, and the
        # outage unnoticed.
        if backend == FAIL_SAFE:
            caches["default"].clear()
            cache_module._outages.clear()

    yield point
    for override in reversed(overrides):
        override.disable()


def test_sign_in_sign_up_and_password_reset_work_while_redis_is_down(
    client, db, cache_down, caplog
):
    user = UserFactory(email=EMAIL)
    EmailAddress.objects.create(user=user, email=EMAIL, verified=True, primary=True)
    cache_down()
    with caplog.at_level(logging.INFO):
        # a wrong password is refused on the form, as usual
        wrong = client.post(reverse("account_login"), {"login": EMAIL, "password": "wrong-1x"})
        assert wrong.status_code == 200
        assert "The email address and/or password you specified are not correct." in (
            wrong.content.decode()
        )
        # the right one signs her in
        signed_in = client.post(
            reverse("account_login"), {"login": EMAIL, "password": "correct-horse-battery"}
        )
        assert signed_in.status_code == 302
        assert client.session["_auth_user_id"] == str(user.pk)
        client.logout()
        # a newcomer signs up and is sent a confirmation; a reset link goes out
        new = "new@example.com"
        pw = "a-long-new-password-7"
        signed_up = client.post(
            reverse("account_signup"), {"email": new, "password1": pw, "password2": pw}
        )
        assert signed_up.status_code == 302
        reset = client.post(reverse("account_reset_password"), {"email": EMAIL})
        assert reset.status_code == 302
    assert sorted(m.to[0] for m in mail.outbox) == [EMAIL, new]
    # and the log says once that limits are counted in this process meanwhile
    assert caplog.text.count("cache unreachable") == 1
    assert "counting rate limits and API throttles in this process" in caplog.text
    assert EMAIL not in caplog.text and new not in caplog.text


def test_rate_limits_still_hold_while_redis_is_down(client, db, cache_down):
    UserFactory(email=EMAIL)
    cache_down()
    # allauth allows 5 failed sign-ins per address in 5 minutes (ACCOUNT_RATE_LIMITS)
    texts = [
        client.post(
            reverse("account_login"), {"login": EMAIL, "password": f"wrong-{n}x"}
        ).content.decode()
        for n in range(6)
    ]
    refused = "The email address and/or password you specified are not correct."
    assert all(refused in text for text in texts[:5])
    assert "Too many failed login attempts. Try again later." in texts[5]


def test_the_api_answers_while_redis_is_down(api, cache_down):
    CustomerProfileFactory(external_id="C1")
    client = api(ApiScope.CONSENTS_READ)
    cache_down()
    response = client.get("/api/v1/customers/C1/consents/")
    assert response.status_code == 200
    assert response.json()["customer"] == "C1"


def test_an_api_call_that_still_needs_redis_answers_503_in_the_envelope(api, cache_down):
    CustomerProfileFactory(external_id="C1")
    client = api(ApiScope.CONSENTS_READ)
    cache_down(PLAIN_REDIS)  # the throttle's counter cannot be read at all
    response = client.get("/api/v1/customers/C1/consents/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json() == {
        "error": {
            "code": "service_unavailable",
            "message": "The service is briefly unavailable. Try again in a minute.",
        }
    }


def test_running_retention_now_during_the_outage_says_it_did_not_start(client, make_user, broker):
    client.force_login(make_user(Role.OWNER))
    broker.down()
    response = client.post(reverse("owner:retention_run"), follow=True)
    text = response.content.decode()
    assert response.status_code == 200
    assert "The task queue cannot be reached just now: retention was not started." in text
    assert "Retention is running." not in text


def test_a_retry_lost_while_the_broker_was_down_is_sent_again_when_it_returns(db, monkeypatch):
    hook = Webhook.objects.create(name="h", url="https://x.example/", secret="s", events=[])
    now = timezone.now()
    # the second attempt failed ten minutes ago; its retry (due within a minute) never came
    lost = WebhookDelivery.objects.create(
        webhook=hook,
        event="consent.changed",
        payload={},
        attempts=2,
        last_attempt_at=now - timedelta(minutes=10),
    )
    # the third attempt failed a minute ago: its retry may still be waiting in the broker
    waiting = WebhookDelivery.objects.create(
        webhook=hook,
        event="consent.changed",
        payload={},
        attempts=3,
        last_attempt_at=now - timedelta(minutes=1),
    )
    sent: list[int] = []
    monkeypatch.setattr(webhook_tasks.deliver_webhook, "delay", lambda pk: sent.append(pk))

    assert webhook_services.webhook_deliveries_send_unsent(now=now) == [lost.pk]
    assert sent == [lost.pk]
    assert waiting.pk not in sent


def test_a_delivery_past_its_last_attempt_is_given_up_not_sent_again(db, monkeypatch):
    hook = Webhook.objects.create(name="h", url="https://x.example/", secret="s", events=[])
    now = timezone.now()
    last = WebhookDelivery.objects.create(
        webhook=hook,
        event="consent.changed",
        payload={},
        attempts=webhook_services.MAX_ATTEMPTS,
        last_attempt_at=now - timedelta(hours=3),
    )
    sent: list[int] = []
    monkeypatch.setattr(webhook_tasks.deliver_webhook, "delay", lambda pk: sent.append(pk))

    assert webhook_services.webhook_deliveries_send_unsent(now=now) == []
    last.refresh_from_db()
    assert last.status == "failed"


def test_a_resent_message_still_stops_after_the_last_attempt(db, monkeypatch):
    # A message the sweeper sent again starts Celery's retry count at zero; the delivery's
    # own count decides when to give up.
    hook = Webhook.objects.create(name="h", url="https://x.example/", secret="s", events=[])
    delivery = WebhookDelivery.objects.create(
        webhook=hook,
        event="consent.changed",
        payload={},
        attempts=webhook_services.MAX_ATTEMPTS - 1,
    )

    def refused(request, timeout):
        raise OSError("connection refused")

    monkeypatch.setattr(webhook_services.targets, "urlopen", refused)

    webhook_tasks.deliver_webhook.apply(args=[delivery.pk])

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", webhook_services.MAX_ATTEMPTS)
    assert delivery.last_attempt_at is not None
