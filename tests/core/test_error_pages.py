"""Error pages in the site's layout with a way back; the run command's settings serve them."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.http import Http404
from django.test import Client, RequestFactory
from django.urls import path, reverse

import config.urls
from accounts.roles import Role
from core import views as core_views

ROOT = Path(__file__).resolve().parents[2]


def _boom(request):
    raise RuntimeError("a bug")


# The site's own URLs and error handlers, plus views that fail on purpose.
urlpatterns = [
    path("test-boom/", _boom),
    path("api/v1/test-boom/", _boom),
    *config.urls.urlpatterns,
]
handler400 = config.urls.handler400
handler403 = config.urls.handler403
handler404 = config.urls.handler404
handler500 = config.urls.handler500


class _Anonymous:
    """request.user of a visitor, for views called without the middleware."""

    is_authenticated = False
    is_anonymous = True

    def has_perm(self, perm):
        return False


def main_links(html: str) -> dict[str, str]:
    """Text -> href of the links inside <main> (the way back), not the header's."""
    main = html.split('<main id="main"', 1)[1].split("</main>", 1)[0]
    return {
        re.sub(r"\s+", " ", text).strip(): href
        for href, text in re.findall(r'<a [^>]*href="([^"]*)"[^>]*>(.*?)</a>', main, re.S)
    }


def assert_in_site_layout(html: str) -> None:
    assert '<a class="brand" href="/">Crumb &amp; Co.</a>' in html
    assert 'href="/static/css/site.css"' in html
    assert "How we use AI" in html  # the footer


def assert_no_debug_details(html: str) -> None:
    for leak in ("URLconf", "Traceback", "api/v1/", "healthz", "a bug", "settings.py"):
        assert leak not in html


# --- 404 ---------------------------------------------------------------------------


def test_a_missing_page_is_the_sites_own_with_a_way_home_and_to_sign_in(client, db):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    html = response.content.decode()
    assert_in_site_layout(html)
    assert "We can't find that page" in html
    assert "The address may be mistyped" in html
    assert main_links(html) == {"Go to the home page": "/", "Sign in": "/accounts/login/"}
    assert_no_debug_details(html)


def test_a_missing_record_says_so_in_the_apps_words(client, make_user):
    customer = make_user(Role.CUSTOMER)
    client.force_login(customer)

    response = client.post(reverse("me:history_remove", args=[987654]))

    assert response.status_code == 404
    html = response.content.decode()
    assert "There is no such record in your history." in html
    assert main_links(html) == {"Go to your start page": "/"}
    assert "Sign out" in html


def test_djangos_model_wording_is_not_shown_to_people():
    request = RequestFactory().get("/x/")
    request.user = _Anonymous()

    response = core_views.page_not_found(request, Http404("No Campaign matches the given query."))

    assert response.status_code == 404
    assert "Campaign" not in response.content.decode()


# --- 403 ---------------------------------------------------------------------------


def test_staff_on_a_customers_page_read_why_and_go_back_to_their_console(client, make_user):
    client.force_login(make_user(Role.STAFF))

    response = client.get(reverse("me:consent"))

    assert response.status_code == 403
    html = response.content.decode()
    assert_in_site_layout(html)
    assert "You can't open this page" in html
    assert "These pages are for the shop&#x27;s customers." in html
    assert main_links(html) == {"Go to your start page": "/"}
    assert "403 Forbidden" not in html


def test_a_customer_on_the_staff_console_gets_the_page_not_a_bare_403(client, make_user):
    client.force_login(make_user(Role.CUSTOMER))

    response = client.get(reverse("staff:dashboard"))

    assert response.status_code == 403
    html = response.content.decode()
    assert_in_site_layout(html)
    assert "Your account does not have access to it." in html
    assert main_links(html) == {"Go to your start page": "/"}


def test_a_visitor_turned_away_is_offered_to_sign_in_and_come_back():
    request = RequestFactory().get("/staff/review/?page=2")
    request.user = _Anonymous()

    response = core_views.permission_denied(request, None)

    assert response.status_code == 403
    links = main_links(response.content.decode())
    assert links == {
        "Go to the home page": "/",
        "Sign in": "/accounts/login/?next=%2Fstaff%2Freview%2F%3Fpage%3D2",
    }
    assert "sign in first" in response.content.decode()


# --- CSRF --------------------------------------------------------------------------


def test_a_form_sent_without_the_cookie_asks_to_allow_cookies_and_reload(db):
    client = Client(enforce_csrf_checks=True)

    response = client.post("/accounts/login/", {"login": "a@example.com", "password": "x"})

    assert response.status_code == 403
    html = response.content.decode()
    assert_in_site_layout(html)
    assert "Please reload the page and try again" in html
    assert "Allow cookies for this site" in html
    assert main_links(html) == {"Go to the home page": "/", "Sign in": "/accounts/login/"}
    assert "CSRF" not in html  # plain words, no jargon


def test_a_stale_form_asks_to_reload_and_send_it_again(db):
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")  # the page sets the cookie
    assert "csrftoken" in client.cookies

    response = client.post(
        "/accounts/login/",
        {"login": "a@example.com", "password": "x", "csrfmiddlewaretoken": "x" * 32},
    )

    assert response.status_code == 403
    html = response.content.decode()
    assert "The form you sent was out of date" in html
    assert "reload the page and send the form again" in html


# --- 400 and 500 -------------------------------------------------------------------


def test_a_request_for_another_host_gets_the_sites_400_page(client, db):
    response = client.get("/", HTTP_HOST="not-this-shop.example")

    assert response.status_code == 400
    html = response.content.decode()
    assert_in_site_layout(html)
    assert "We couldn't understand that request" in html
    assert main_links(html) == {"Go to the home page": "/", "Sign in": "/accounts/login/"}
    assert "not-this-shop" not in html


@pytest.mark.urls(__name__)
def test_a_crash_shows_the_sites_500_page(db):
    client = Client(raise_request_exception=False)

    response = client.get("/test-boom/")

    assert response.status_code == 500
    html = response.content.decode()
    assert_in_site_layout(html)
    assert "Sorry, something went wrong on our side" in html
    assert main_links(html) == {"Go to the home page": "/", "Sign in": "/accounts/login/"}
    assert_no_debug_details(html)


def test_the_500_page_needs_neither_the_request_nor_the_database():
    # given a request that went wrong before the middleware could add anything to it
    # (no user, no session: any context processor would fail on it), and no database
    # (pytest-django refuses database access in a test without the db fixture)
    request = RequestFactory().get("/owner/")

    response = core_views.server_error(request)

    assert response.status_code == 500
    html = response.content.decode()
    assert_in_site_layout(html)
    assert "Sorry, something went wrong on our side" in html


# --- API paths answer in the API's envelope ----------------------------------------


def test_an_unknown_api_address_answers_in_the_api_envelope(client, db):
    response = client.get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}


@pytest.mark.urls(__name__)
def test_a_crash_in_the_api_answers_in_the_api_envelope(db):
    client = Client(raise_request_exception=False)

    response = client.get("/api/v1/test-boom/")

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert "a bug" not in response.content.decode()


# --- favicon -----------------------------------------------------------------------


def test_favicon_ico_is_served_and_pages_link_the_icons(client, db):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert b"".join(response.streaming_content).startswith(b"\x00\x00\x01\x00")  # an ICO

    page = client.get("/transparency/").content.decode()
    assert '<link rel="icon" href="/favicon.ico"' in page
    svg = re.search(r'<link rel="icon" href="([^"]+\.svg)"', page).group(1)
    svg_response = client.get(svg)
    assert svg_response.status_code == 200
    assert b"<svg" in b"".join(svg_response.streaming_content)


# --- the run command's settings ----------------------------------------------------


def test_the_run_commands_settings_serve_the_app_as_a_shop_would(tmp_path):
    # given the settings scripts/run selects, on a machine with nothing configured
    selected = re.search(
        r'DJANGO_SETTINGS_MODULE="\$\{DJANGO_SETTINGS_MODULE:-([\w.]+)\}"',
        (ROOT / "scripts" / "run").read_text(),
    )
    assert selected, "scripts/run no longer names its settings module"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_"))
    }
    env.update({"DJANGO_SETTINGS_MODULE": selected.group(1), "VAR_DIR": str(tmp_path / "var")})
    probe = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'debug': s.DEBUG, 'ssl_redirect': s.SECURE_SSL_REDIRECT, "
        "'secure_cookies': [s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE], "
        "'hsts': s.SECURE_HSTS_SECONDS, 'hosts': s.ALLOWED_HOSTS, "
        "'static': s.STORAGES['staticfiles']['BACKEND'], 'middleware': s.MIDDLEWARE}))"
    )

    # when Django loads them
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )

    # then debug is off, static files come from WhiteNoise, and plain http works locally
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["debug"] is False
    assert found["ssl_redirect"] is False
    assert found["secure_cookies"] == [False, False]
    assert not found["hsts"]
    assert {"127.0.0.1", "localhost"} <= set(found["hosts"])
    assert found["static"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in found["middleware"]
