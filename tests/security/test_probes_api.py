"""Probes 3-6 of the security review (issue 14), each as a test that failed on the old code.

3. A browser session could file erasures and objections through /api/v1/.
4. Sign-in limits counted the proxy, not the client, and let anyone lock a named account.
5. (tests/personalization/test_webhooks.py) webhook targets and the secret on show.
6. Owner could not edit schedules; messages cookie carried the email; no __Host-
   cookies; no Permissions-Policy; undeclared API methods answered 403, not 405.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts.api_auth import ApiKeyRateThrottle
from accounts.models import ApiScope
from accounts.roles import Role
from core.clientip import client_ip
from personalization.consent.services import RequestFingerprint
from personalization.models import ConsentEvent, DataRequest
from tests.factories import CustomerProfileFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's
PROXY = "10.0.0.5"  # the shop's HTTPS proxy: every request arrives from it


# --- 3. The API is keys only --------------------------------------------------------


def api_operations() -> list[tuple[str, str]]:
    """Every (method, path) the OpenAPI schema lists, with sample path values."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = []
    for path, item in schema["paths"].items():
        concrete = re.sub(
            r"\{[^}]+\}", lambda m: "C1" if m.group(0) == "{external_id}" else "1", path
        )
        for method in item:
            if method in {"get", "post", "put", "patch", "delete"}:
                operations.append((method, concrete))
    return operations


WRITE_BODIES = {
    "/api/v1/customers/C1/data-requests/": {"kind": "erasure"},
    "/api/v1/customers/C1/consents/": {
        "consents": [{"purpose": "marketing", "data_category": "purchase_history", "granted": True}]
    },
    "/api/v1/events/": {"events": []},
    "/api/v1/items/": {"items": []},
    "/api/v1/customers/": {"customers": []},
}


def test_the_schema_lists_the_writes_this_probe_checks():
    writes = {path for method, path in api_operations() if method != "get"}
    assert writes == set(WRITE_BODIES), "a new API write: add a body for it above"


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.STAFF, Role.OWNER])
def test_every_api_operation_refuses_a_browser_session(make_user, role):
    # given a signed-in person, with the CSRF token a page would give them
    CustomerProfileFactory(external_id="C1")
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(make_user(role))
    token = client.get(reverse("account_logout")).cookies["csrftoken"].value
    before = (DataRequest.objects.count(), ConsentEvent.objects.count())

    # when they call every operation of the API with the session alone
    answers = {}
    for method, path in api_operations():
        body = WRITE_BODIES.get(path)
        call = getattr(client, method)
        response = call(path, body, format="json", HTTP_X_CSRFTOKEN=token) if body else call(path)
        answers[(method, path)] = (response.status_code, response.json()["error"]["message"])

    # then each answer asks for a key, and nothing was filed or changed
    assert answers == {op: (401, "Authentication credentials were not provided.") for op in answers}
    assert (DataRequest.objects.count(), ConsentEvent.objects.count()) == before


def test_an_erasure_still_needs_a_key_with_requests_write(api):
    CustomerProfileFactory(external_id="C1")
    url = "/api/v1/customers/C1/data-requests/"
    refused = api(ApiScope.CONSENTS_READ).post(url, {"kind": "erasure"}, format="json")
    assert refused.status_code == 403
    accepted = api(ApiScope.REQUESTS_WRITE, name="crm").post(
        url, {"kind": "erasure"}, format="json"
    )
    assert accepted.status_code == 201
    assert DataRequest.objects.get().kind == "erasure"


# --- 4. Client address behind a trusted proxy ---------------------------------------


def request_from(remote: str, forwarded: str | None = None):
    extra: dict[str, Any] = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("count", "remote", "forwarded", "expected"),
    [
        # No trusted proxy: the header is the client's to invent, so it is ignored.
        (0, "198.51.100.7", "203.0.113.1", "198.51.100.7"),
        # One proxy: it appended what it saw; what the client wrote before is not believed.
        (1, PROXY, "203.0.113.9", "203.0.113.9"),
        (1, PROXY, "1.2.3.4, 203.0.113.9", "203.0.113.9"),
        (2, PROXY, "1.2.3.4, 203.0.113.9, 10.0.0.9", "203.0.113.9"),
        (1, PROXY, " 2001:db8::1 ", "2001:db8::1"),
        # Fewer entries than proxies, or not an address: the connection's address.
        (2, PROXY, "203.0.113.9", PROXY),
        (1, PROXY, "", PROXY),
        (1, PROXY, None, PROXY),
        (1, PROXY, "1.2.3.4, not-an-address", PROXY),
    ],
)
def test_client_ip(settings, count, remote, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count
    assert client_ip(request_from(remote, forwarded)) == expected


def sign_in(client, email: str, password: str, visitor: str):
    return client.post(
        reverse("account_login"),
        {"login": email, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=visitor,
    )


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


TOO_MANY = "Too many failed login attempts. Try again later."


@pytest.fixture
def person(make_user):
    def make(email: str):
        user = make_user(Role.STAFF, email=email)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        return user

    return make


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_one_visitors_failures_behind_the_proxy_do_not_lock_out_the_others(client, person):
    person("staff@example.com")
    attacker = APIClient()
    for n in range(12):
        sign_in(attacker, f"guess{n}@example.com", "wrong-password-1", visitor="203.0.113.66")
    locked = sign_in(attacker, "guess99@example.com", "wrong-password-1", visitor="203.0.113.66")
    assert TOO_MANY in locked.content.decode()

    response = sign_in(client, "staff@example.com", PASSWORD, visitor="198.51.100.20")

    assert TOO_MANY not in response.content.decode()
    assert signed_in(client)


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_a_spoofed_forwarded_for_does_not_buy_more_guesses(person):
    # The client writes its own X-Forwarded-For; the proxy appends the real address.
    attacker = APIClient()
    answers = [
        sign_in(attacker, f"g{n}@example.com", "wrong-1", visitor=f"192.0.2.{n}, 203.0.113.66")
        for n in range(11)
    ]
    assert TOO_MANY not in answers[9].content.decode()
    assert TOO_MANY in answers[10].content.decode()


def test_without_a_trusted_proxy_forwarded_for_is_ignored(person):
    attacker = APIClient()
    answers = [
        attacker.post(
            reverse("account_login"),
            {"login": f"g{n}@example.com", "password": "wrong-1"},
            REMOTE_ADDR="203.0.113.66",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        )
        for n in range(11)
    ]
    assert TOO_MANY in answers[10].content.decode()


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_a_stranger_cannot_lock_a_named_account_out(client, person):
    person("owner@example.com")
    stranger = APIClient()
    for _ in range(6):
        sign_in(stranger, "owner@example.com", "wrong-password-1", visitor="203.0.113.66")
    refused = sign_in(stranger, "owner@example.com", PASSWORD, visitor="203.0.113.66")
    assert TOO_MANY in refused.content.decode(), "the stranger's own guesses are still capped"
    assert not signed_in(stranger)

    response = sign_in(client, "owner@example.com", PASSWORD, visitor="198.51.100.20")

    assert TOO_MANY not in response.content.decode()
    assert signed_in(client)


@override_settings(TRUSTED_PROXY_COUNT=1, ACCOUNT_RATE_LIMITS={"login_failed_account": "3/h/key"})
def test_an_account_has_a_total_cap_over_all_addresses(client, person):
    person("owner@example.com")
    for n in range(3):
        sign_in(APIClient(), "owner@example.com", "wrong-password-1", visitor=f"203.0.113.{n}")

    response = sign_in(client, "owner@example.com", PASSWORD, visitor="198.51.100.20")

    assert TOO_MANY in response.content.decode()
    assert not signed_in(client)


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_successful_sign_ins_are_not_capped_site_wide(person):
    person("staff@example.com")
    for n in range(31):  # allauth allows 30 sign-in posts a minute per address
        visitor = APIClient()
        response = sign_in(visitor, "staff@example.com", PASSWORD, visitor=f"198.51.100.{n}")
        assert response.status_code == 302, (n, response.status_code)


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_api_throttle_and_consent_fingerprint_count_the_client_behind_the_proxy():
    one, two = request_from(PROXY, "203.0.113.1"), request_from(PROXY, "203.0.113.2")
    for request in (one, two):
        request.user, request.auth = type("Anon", (), {"is_authenticated": False})(), None
    throttle = ApiKeyRateThrottle()
    assert throttle.get_cache_key(one, None) != throttle.get_cache_key(two, None)
    assert RequestFingerprint.from_request(one) != RequestFingerprint.from_request(two)


# --- 6. The low items ---------------------------------------------------------------


def test_an_undeclared_method_is_405_with_allow_in_the_envelope(api):
    CustomerProfileFactory(external_id="C1")
    client = api(ApiScope.CONSENTS_READ)

    response = client.delete("/api/v1/customers/C1/consents/")

    assert response.status_code == 405
    assert response.json() == {
        "error": {"code": "method_not_allowed", "message": 'Method "DELETE" not allowed.'}
    }
    assert set(response["Allow"].split(", ")) == {"GET", "PUT", "HEAD", "OPTIONS"}


def test_a_declared_method_without_the_scope_is_still_403(api):
    CustomerProfileFactory(external_id="C1")
    response = api(ApiScope.CONSENTS_READ).put(
        "/api/v1/customers/C1/consents/", {"consents": []}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "This key lacks the scope 'consents:write'."


def test_an_undeclared_method_without_a_key_is_still_401():
    response = APIClient().delete("/api/v1/customers/C1/consents/")
    assert response.status_code == 401


@pytest.mark.parametrize("path", ["/", "/api/v1/events/", "/healthz/"])
def test_every_response_carries_a_permissions_policy(client, path):
    policy = client.get(path)["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb", "interest-cohort"):
        assert f"{feature}=()" in policy


def test_the_messages_cookie_never_carries_the_email(person):
    person("staff@example.com")
    client = APIClient()

    response = sign_in(client, "staff@example.com", PASSWORD, visitor="198.51.100.20")
    page = client.get(response["Location"], follow=True)

    assert "staff@example.com" in page.content.decode()  # "Successfully signed in as ..."
    set_cookies = " ".join(morsel.OutputString() for morsel in response.cookies.values())
    assert "messages" not in response.cookies
    assert "staff@example.com" not in set_cookies


def test_the_owner_can_edit_schedules_in_the_admin(client, make_user):
    task = PeriodicTask.objects.create(
        name="nightly audit",
        task="audits.run_scheduled_audit",
        crontab=CrontabSchedule.objects.create(minute="0", hour="3"),
    )
    client.force_login(make_user(Role.OWNER))

    page = client.get(reverse("admin:django_celery_beat_periodictask_change", args=[task.pk]))
    crontab = client.get(reverse("admin:django_celery_beat_crontabschedule_add"))

    assert page.status_code == 200
    assert 'name="_save"' in page.content.decode(), "a change form, not a read-only view"
    assert crontab.status_code == 200


def test_staff_cannot_edit_schedules(client, make_user):
    client.force_login(make_user(Role.STAFF))
    response = client.get(reverse("admin:django_celery_beat_periodictask_changelist"))
    assert response.status_code == 302  # staff are not admin users: sent to the admin login


def production_settings(*names: str) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "probe-only-" + "x" * 50,
        "DJANGO_ALLOWED_HOSTS": "shop.example.com",
    }
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}))"
    )
    out = subprocess.run(  # our own interpreter and settings
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_production_cookies_have_the_host_prefix():
    values = production_settings(
        "SESSION_COOKIE_NAME",
        "CSRF_COOKIE_NAME",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SESSION_COOKIE_DOMAIN",
        "CSRF_COOKIE_DOMAIN",
        "SESSION_COOKIE_PATH",
        "CSRF_COOKIE_PATH",
    )
    assert values == {
        "SESSION_COOKIE_NAME": "__Host-sessionid",
        "CSRF_COOKIE_NAME": "__Host-csrftoken",
        # What browsers demand of a __Host- cookie, or they drop it.
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_DOMAIN": None,
        "CSRF_COOKIE_DOMAIN": None,
        "SESSION_COOKIE_PATH": "/",
        "CSRF_COOKIE_PATH": "/",
    }


def test_no_script_reads_the_csrf_cookie_by_its_old_name():
    scripts = [p for p in (ROOT / "static").rglob("*.js") if "vendor" not in p.parts]
    templates = list((ROOT / "templates").rglob("*.html"))
    assert [p.name for p in scripts + templates if "csrftoken" in p.read_text()] == []
