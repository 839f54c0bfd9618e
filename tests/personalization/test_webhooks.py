"""Outbound webhooks: signed POSTs to the shop's systems, retried, logged.

The receiver is a real HTTPS server on localhost with a certificate of its own. The
outside world is mocked in two places only (personalization.webhooks.targets): the
resolver (names answer what the test says, never real DNS) and the route (a public
address the check accepted is dialled on 127.0.0.1, where the receiver listens).
"""

import datetime
import json
import logging
import ssl
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.urls import reverse

from accounts.roles import Role
from personalization.consent.services import ConsentChange, consent_set
from personalization.models import Webhook, WebhookDelivery
from personalization.webhooks import targets
from personalization.webhooks.signing import HEADER, sign, verify
from tests.factories import CustomerProfileFactory, WebhookFactory

pytestmark = pytest.mark.django_db

HOST = "hooks.example.com"
PUBLIC = "93.184.215.14"  # what the mocked resolver answers for HOST


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for HOST: (cert file, key file, PEM to trust)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    start = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=365 * 50))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (folder / "cert.pem").write_bytes(pem)
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return folder / "cert.pem", folder / "key.pem", pem.decode()


class Internet:
    """The mocked outside world: what names resolve to, and who got dialled."""

    def __init__(self):
        self.names: dict[str, list[str]] = {HOST: [PUBLIC]}
        self.dialled: list[tuple[str, int]] = []

    def resolve(self, host, port):
        if host not in self.names:
            raise OSError("name not known")
        return list(self.names[host])

    def dial(self, address, port, timeout):
        import socket

        self.dialled.append((address, port))
        return socket.create_connection(("127.0.0.1", port), timeout)


@pytest.fixture(autouse=True)
def internet(monkeypatch, certificate):
    world = Internet()
    monkeypatch.setattr(targets, "resolve", world.resolve)
    monkeypatch.setattr(targets, "dial", world.dial)
    trusted = certificate[2]
    monkeypatch.setattr(targets, "ssl_context", lambda: ssl.create_default_context(cadata=trusted))
    return world


class Receiver:
    """A real HTTPS server on localhost standing in for the shop's system at HOST."""

    def __init__(self, certificate, answers: list[int], headers: dict | None = None):
        self.answers = list(answers)
        self.received: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(certificate[0]), str(certificate[1]))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://{HOST}:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(certificate):
    def make(answers=(), headers=None):
        return Receiver(certificate, list(answers), headers)

    return make


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


@pytest.fixture
def owner(client, make_user):
    client.force_login(make_user(Role.OWNER))
    return client


# --- Delivery -----------------------------------------------------------------------


def test_consent_change_is_posted_signed_with_ids_only(run_on_commit, receiver, internet):
    customer = CustomerProfileFactory(
        external_id="C1", name="Edith Gable", email="gable@example.com"
    )
    with receiver([200]) as server:
        hook = Webhook.objects.create(
            name="crm", url=server.url, secret="s3cret", events=["consent.changed"]
        )
        with run_on_commit(execute=True):
            change_consent(customer)
    ((headers, body),) = server.received
    assert headers["Host"] == f"{HOST}:{server.server.server_port}"
    assert internet.dialled == [(PUBLIC, server.server.server_port)]
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


def test_failed_delivery_is_retried_until_it_is_accepted(run_on_commit, receiver):
    customer = CustomerProfileFactory(external_id="C1")
    with receiver([500, 503, 200]) as server:
        hook = WebhookFactory(name="crm", url=server.url)
        with run_on_commit(execute=True):
            change_consent(customer)
    assert len(server.received) == 3
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert (delivery.status, delivery.attempts) == ("delivered", 3)


def test_unreachable_receiver_is_given_up_after_the_retries_and_logged(run_on_commit):
    customer = CustomerProfileFactory(external_id="C1")
    WebhookFactory(name="gone", url=f"https://{HOST}:1/")
    with run_on_commit(execute=True):
        change_consent(customer)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    assert delivery.attempts == 8
    assert "URLError" in delivery.last_error


def test_inactive_or_unsubscribed_webhooks_get_nothing(run_on_commit):
    customer = CustomerProfileFactory(external_id="C1")
    Webhook.objects.create(
        name="off", url=f"https://{HOST}/", secret="s", events=["consent.changed"], active=False
    )
    Webhook.objects.create(
        name="other", url=f"https://{HOST}/", secret="s", events=["erasure.completed"]
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


def test_completed_erasure_is_sent_to_the_shops_systems(run_on_commit, receiver):
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
    with receiver([200]) as server:
        Webhook.objects.create(name="crm", url=server.url, secret="s", events=["erasure.completed"])
        with run_on_commit(execute=True):
            erasure_run(request_id=request.pk)
    ((headers, body),) = server.received
    message = json.loads(body)
    assert message["event"] == "erasure.completed"
    assert message["data"]["customer_external_id"] == "C7"
    assert message["data"]["data_request_id"] == request.pk
    request.refresh_from_db()
    assert request.status == "completed"


# --- Targets: https and public addresses only, at save time and at send time -------


REFUSED_URLS = [
    (f"http://{HOST}/hooks", "Use an https:// address"),
    ("https://127.0.0.1/hooks", "this server itself"),
    ("https://[::1]/hooks", "this server itself"),
    ("https://[::ffff:127.0.0.1]/hooks", "this server itself"),
    ("https://10.1.2.3/hooks", "private network"),
    ("https://192.168.0.10/hooks", "private network"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://[fe80::1]/hooks", "link-local"),
    ("https://224.0.0.251/hooks", "multicast"),
    ("https://0.0.0.0/hooks", "unspecified"),
    ("https://240.0.0.1/hooks", "reserved"),
    ("https://100.64.0.1/hooks", "reserved"),
    ("https://2130706433/hooks", "Enter a valid URL."),  # Django's own check
    ("https://0x7f.1/hooks", "Enter a valid URL."),  # Django's own check
    (f"https://user:pass@{HOST}/hooks", "no user name or password"),
    ("https://localhost/hooks", "this server itself"),
    ("https://intranet.example.com/hooks", "private network"),
    ("https://split.example.com/hooks", "private network"),
    ("https://nowhere.example.com/hooks", "cannot be found"),
]


@pytest.mark.parametrize(("url", "why"), REFUSED_URLS)
def test_the_owner_cannot_aim_a_webhook_at_a_refused_target(owner, internet, url, why):
    internet.names |= {
        "localhost": ["127.0.0.1"],
        "intranet.example.com": ["10.0.0.7"],
        # Every address a name has is checked, not just the first.
        "split.example.com": [PUBLIC, "192.168.1.1"],
    }
    response = owner.post(
        reverse("owner:webhooks"), {"name": "crm", "url": url, "events": ["consent.changed"]}
    )
    assert response.status_code == 200
    assert why in response.content.decode()
    assert not Webhook.objects.exists()


@pytest.mark.parametrize("url", ["https://2130706433/", "https://0x7f.1/", "https://017700000001/"])
def test_addresses_in_disguise_are_refused_at_send_time_too(url):
    # A URL stored before these checks existed, never seen by the form.
    with pytest.raises(targets.TargetRefused) as refused:
        targets.webhook_target_check(url)
    assert "host name or a plain IP address" in str(refused.value.reason)


def test_a_name_that_turns_private_after_saving_is_not_sent_to(run_on_commit, internet, receiver):
    # given a webhook saved while its name answered a public address
    customer = CustomerProfileFactory(external_id="C1")
    with receiver([200]) as server:
        targets.webhook_target_check(server.url)
        hook = WebhookFactory(name="crm", url=server.url)
        # when the name is rebound to the machine itself before the send
        internet.names[HOST] = ["127.0.0.1"]
        with run_on_commit(execute=True):
            change_consent(customer)
    # then nothing is sent, and the log says why
    assert server.received == []
    assert internet.dialled == []
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert delivery.status == "failed"
    assert "TargetRefused" in delivery.last_error
    assert "this server itself" in delivery.last_error


def test_a_stored_http_url_is_never_sent_to_in_clear(run_on_commit, internet):
    customer = CustomerProfileFactory(external_id="C1")
    WebhookFactory(name="old", url=f"http://{HOST}/hooks")
    with run_on_commit(execute=True):
        change_consent(customer)
    delivery = WebhookDelivery.objects.get()
    assert internet.dialled == []
    assert "Use an https:// address" in delivery.last_error


def test_redirects_are_not_followed(run_on_commit, receiver, internet):
    customer = CustomerProfileFactory(external_id="C1")
    with receiver([302] * 8, headers={"Location": "https://10.0.0.7/steal"}) as server:
        WebhookFactory(name="crm", url=server.url)
        with run_on_commit(execute=True):
            change_consent(customer)
    assert len(server.received) == 8  # each attempt asked the receiver itself, once
    assert {address for address, _port in internet.dialled} == {PUBLIC}
    assert WebhookDelivery.objects.get().last_status_code == 302


def test_a_certificate_for_another_name_is_refused(run_on_commit, receiver, internet):
    customer = CustomerProfileFactory(external_id="C1")
    internet.names["other.example.com"] = [PUBLIC]
    with receiver([200]) as server:
        url = server.url.replace(HOST, "other.example.com")
        WebhookFactory(name="crm", url=url)
        with run_on_commit(execute=True):
            change_consent(customer)
    assert server.received == []
    assert "CERTIFICATE_VERIFY_FAILED" in WebhookDelivery.objects.get().last_error


# --- The owner's pages --------------------------------------------------------------


def test_the_secret_is_shown_once_when_the_webhook_is_added(owner):
    response = owner.post(
        reverse("owner:webhooks"),
        {
            "name": "crm",
            "url": f"https://{HOST}/hooks",
            "events": ["consent.changed", "erasure.completed"],
        },
    )
    hook = Webhook.objects.get(name="crm")
    assert len(hook.secret) >= 40
    assert hook.secret in response.content.decode()
    assert "shown only this once" in response.content.decode()
    assert response["Cache-Control"].startswith("max-age=0")

    detail = owner.get(reverse("owner:webhook-detail", args=[hook.pk]))
    assert "Delivery log" in detail.content.decode()
    assert hook.secret not in detail.content.decode()


def test_rotating_shows_the_new_secret_once_and_signs_with_it(owner, receiver, run_on_commit):
    with receiver([200]) as server:
        hook = Webhook.objects.create(
            name="crm", url=server.url, secret="old-secret", events=["consent.changed"]
        )
        response = owner.post(reverse("owner:webhook-rotate", args=[hook.pk]))
        hook.refresh_from_db()
        assert hook.secret != "old-secret"
        assert hook.secret in response.content.decode()
        assert (
            hook.secret
            not in owner.get(reverse("owner:webhook-detail", args=[hook.pk])).content.decode()
        )
        with run_on_commit(execute=True):
            change_consent(CustomerProfileFactory(external_id="C1"))
    ((headers, body),) = server.received
    assert verify(hook.secret, headers[HEADER], body)
    assert not verify("old-secret", headers[HEADER], body)


def test_rotating_needs_a_post(owner):
    hook = Webhook.objects.create(name="crm", url=f"https://{HOST}/", secret="s", events=[])
    assert owner.get(reverse("owner:webhook-rotate", args=[hook.pk])).status_code == 405
    hook.refresh_from_db()
    assert hook.secret == "s"


def test_a_test_event_is_signed_shown_and_logged(owner, receiver, caplog):
    with receiver([200]) as server:
        hook = Webhook.objects.create(name="crm", url=server.url, secret="k", events=[])
        with caplog.at_level(logging.INFO, logger="personalization.webhooks.configuring"):
            response = owner.post(reverse("owner:webhook-test", args=[hook.pk]), follow=True)
    ((headers, body),) = server.received
    assert verify("k", headers[HEADER], body)
    assert json.loads(body)["event"] == "webhook.test"
    assert json.loads(body)["data"] == {}
    assert "The receiver accepted the test event (HTTP 200)." in response.content.decode()
    assert f"webhook {hook.pk} test event: accepted (HTTP 200)" in caplog.text
    assert not WebhookDelivery.objects.exists(), "a test is not a delivery of customer data"


@pytest.mark.parametrize(
    ("answers", "names", "shown"),
    [
        ([500], None, "Test event not accepted: The receiver answered HTTP 500."),
        ([200], ["10.0.0.7"], "Test event not accepted: Only public internet addresses"),
    ],
)
def test_a_failed_test_event_says_why(owner, receiver, internet, caplog, answers, names, shown):
    with receiver(answers) as server:
        hook = Webhook.objects.create(name="crm", url=server.url, secret="k", events=[])
        if names:
            internet.names[HOST] = names
        with caplog.at_level(logging.INFO, logger="personalization.webhooks.configuring"):
            response = owner.post(reverse("owner:webhook-test", args=[hook.pk]), follow=True)
    assert shown in response.content.decode()
    assert f"webhook {hook.pk} test event: failed" in caplog.text


def test_deleting_asks_first_then_removes_the_webhook_and_its_log(owner):
    hook = Webhook.objects.create(name="crm", url=f"https://{HOST}/", secret="s", events=[])
    WebhookDelivery.objects.create(webhook=hook, event="consent.changed", payload={})

    confirm = owner.get(reverse("owner:webhook-delete", args=[hook.pk]))
    assert "Delete the webhook “crm”?" in confirm.content.decode()
    assert "One message still waiting to be delivered will not be sent." in confirm.content.decode()
    assert Webhook.objects.filter(pk=hook.pk).exists()

    done = owner.post(reverse("owner:webhook-delete", args=[hook.pk]), follow=True)
    assert "Webhook &#x27;crm&#x27; deleted." in done.content.decode()
    assert not Webhook.objects.exists()
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    "name", ["webhooks", "webhook-detail", "webhook-rotate", "webhook-test", "webhook-delete"]
)
def test_staff_cannot_manage_webhooks(client, make_user, name):
    hook = Webhook.objects.create(name="crm", url=f"https://{HOST}/", secret="s", events=[])
    client.force_login(make_user(Role.STAFF))
    args = [] if name == "webhooks" else [hook.pk]
    assert client.post(reverse(f"owner:{name}", args=args)).status_code == 403
    hook.refresh_from_db()
    assert hook.secret == "s"
