"""Outbound webhooks: signed POSTs to the shop's systems, retried, logged."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from personalization.consent.services import ConsentChange, consent_set
from personalization.models import Webhook, WebhookDelivery
from personalization.webhooks.signing import HEADER, sign, verify
from tests.factories import CustomerProfileFactory

pytestmark = pytest.mark.django_db


class Receiver:
    """A real HTTP server on localhost standing in for the shop's system."""

    def __init__(self, answers: list[int]):
        self.answers = list(answers)
        self.received: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()


def change_consent(customer):
    consent_set(
        customer=customer,
        changes=[ConsentChange("marketing", "purchase_history", True)],
        method="ui",
        actor="customer",
        notice_version=1,
    )


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def test_consent_change_is_posted_signed_with_ids_only(run_on_commit):
    customer = CustomerProfileFactory(
        external_id="C1", name="Edith Gable", email="gable@example.com"
    )
    with Receiver([200]) as receiver:
        hook = Webhook.objects.create(
            name="crm", url=receiver.url, secret="s3cret", events=["consent.changed"]
        )
        with run_on_commit(execute=True):
            change_consent(customer)
    ((headers, body),) = receiver.received
    assert verify("s3cret", headers[HEADER], body)
    assert not verify("wrong", headers[HEADER], body)
    message = json.loads(body)
    assert message["event"] == "consent.changed"
    assert message["data"]["customer_external_id"] == "C1"
    assert message["data"]["changes"][0] == message["data"]["changes"][0] | {
        "purpose": "marketing",
        "data_category": "purchase_history",
        "granted": True,
        "method": "ui",
    }
    assert "Gable" not in body.decode() and "gable@" not in body.decode()
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)


def test_failed_delivery_is_retried_until_it_is_accepted(run_on_commit):
    customer = CustomerProfileFactory(external_id="C1")
    with Receiver([500, 503, 200]) as receiver:
        hook = Webhook.objects.create(
            name="crm", url=receiver.url, secret="s", events=["consent.changed"]
        )
        with run_on_commit(execute=True):
            change_consent(customer)
    assert len(receiver.received) == 3
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert (delivery.status, delivery.attempts) == ("delivered", 3)


def test_unreachable_receiver_is_given_up_after_the_retries_and_logged(run_on_commit):
    customer = CustomerProfileFactory(external_id="C1")
    Webhook.objects.create(
        name="gone", url="http://127.0.0.1:1/", secret="s", events=["consent.changed"]
    )
    with run_on_commit(execute=True):
        change_consent(customer)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    assert delivery.attempts == 8
    assert "URLError" in delivery.last_error


def test_inactive_or_unsubscribed_webhooks_get_nothing(run_on_commit):
    customer = CustomerProfileFactory(external_id="C1")
    Webhook.objects.create(
        name="off", url="http://127.0.0.1:1/", secret="s", events=["consent.changed"], active=False
    )
    Webhook.objects.create(
        name="other", url="http://127.0.0.1:1/", secret="s", events=["erasure.completed"]
    )
    with run_on_commit(execute=True):
        change_consent(customer)
    assert not WebhookDelivery.objects.exists()


def test_signature_covers_timestamp_and_body():
    header = sign("k", 1700000000, b'{"a":1}')
    assert verify("k", header, b'{"a":1}')
    assert not verify("k", header, b'{"a":2}')
    assert not verify("k", header.replace("t=1700000000", "t=1700000001"), b'{"a":1}')
    assert not verify("k", "garbage", b"")


def test_owner_adds_a_webhook_and_sees_its_log(client, make_user):
    from accounts.roles import Role

    client.force_login(make_user(Role.OWNER))
    response = client.post(
        "/owner/webhooks/",
        {
            "name": "crm",
            "url": "https://crm.example.com/hooks",
            "events": ["consent.changed", "erasure.completed"],
        },
        follow=True,
    )
    hook = Webhook.objects.get(name="crm")
    assert len(hook.secret) >= 40
    assert hook.secret in response.content.decode()
    assert "Delivery log" in response.content.decode()
    bad = client.post(
        "/owner/webhooks/", {"name": "x", "url": "ftp://nope", "events": ["consent.changed"]}
    )
    assert bad.status_code == 200
    assert not Webhook.objects.filter(name="x").exists()


def test_staff_cannot_manage_webhooks(client, make_user):
    from accounts.roles import Role

    client.force_login(make_user(Role.STAFF))
    assert client.get("/owner/webhooks/").status_code == 403


def test_completed_erasure_is_sent_to_the_shops_systems(run_on_commit):
    from django.utils import timezone

    from personalization.datarights.services import erasure_run
    from personalization.models import DataRequest

    customer = CustomerProfileFactory(external_id="C7")
    now = timezone.now()
    request = DataRequest.objects.create(
        customer=customer,
        customer_ref=customer.pk,
        kind="erasure",
        status="pending",
        requested_at=now,
        due_at=now,
    )
    with Receiver([200]) as receiver:
        Webhook.objects.create(
            name="crm", url=receiver.url, secret="s", events=["erasure.completed"]
        )
        with run_on_commit(execute=True):
            erasure_run(request_id=request.pk)
    ((headers, body),) = receiver.received
    message = json.loads(body)
    assert message["event"] == "erasure.completed"
    assert message["data"]["customer_external_id"] == "C7"
    assert message["data"]["data_request_id"] == request.pk
    request.refresh_from_db()
    assert request.status == "completed"
