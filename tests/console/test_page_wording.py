"""Every main page of each role, on the demo shop, in English and German: one date format
per language, no double full stop after a time ("6:13 p.m.."), no "Sign In" beside
"Sign in", no American dates ("12/01/2026", "Dec. 1, 2026", "5:55 p.m.")."""

from __future__ import annotations

import html as html_lib
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.context_processors import section_pages
from accounts.models import User
from audits import services as audit_services
from personalization.consent import notices
from tests.mfa import totp_enrol

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
FAULTS = {
    # "6:13 p.m.." or "17:55.." : a sentence's full stop after a time that ends in one
    "double full stop": re.compile(r"(?<!\.)\.\.(?!\.)"),
    "title-case sign-in": re.compile(r"\bSign (In|Up|Out)\b"),
    "US date 12/01/2026": re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b"),
    "US date Dec. 1, 2026": re.compile(rf"\b({_MONTHS})\.? \d{{1,2}}, \d{{4}}\b"),
    # "5:55 p.m.", "5:55pm", "6 a.m." (not German "1 am 2. Dezember")
    "12-hour clock": re.compile(r"\b\d{1,2}(:\d{2} ?[ap]\.?m\b|(:\d{2})? ?[ap]\.m\.)", re.I),
}
# One label, heading or button saying a word twice in a row ("Status Status").
_LABELLED = re.compile(r"(?is)<(label|th|dt|button|summary|legend|h[1-4]|a)\b[^>]*>(.*?)</\1>")
# (Capitalised, so German "Mitarbeitende, die die Richtlinie ..." is not one.)
_DOUBLED = re.compile(r"\b([A-ZÄÖÜ]\w{2,}):? \1\b")


def visible_text(html: str) -> str:
    """The page's text as a reader gets it: no scripts, styles or tags; titles kept."""
    html = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    html = re.sub(r"(?s)<[^>]+>", " ", html)
    return " ".join(html_lib.unescape(html).split())


def doubled_labels(html: str) -> list[str]:
    found = []
    for match in _LABELLED.finditer(html):
        text = visible_text(match.group(2))
        if _DOUBLED.search(text):
            found.append(f"doubled label: {text}")
    return found


def faults_in(text: str) -> list[str]:
    found = []
    for name, pattern in FAULTS.items():
        for match in pattern.finditer(text):
            start = max(0, match.start() - 40)
            found.append(f"{name}: …{text[start : match.end() + 20]}…")
    return found


def demo_pages() -> dict[str | None, list[str]]:
    """The demo shop with its first audit; each role's main pages (None: signed out)."""
    call_command("seed_demo", stdout=StringIO(), stderr=StringIO())
    run = audit_services.audit_run_execute(run=audit_services.audit_run_create(trigger="command"))
    gable = User.objects.get(email="gable@example.com")
    current = notices.notice_current()
    assert current is not None
    notices.notice_acknowledge(profile=gable.customer_profile, version=current.version)
    # The owner console asks for an authenticator app first (decision on MFA).
    totp_enrol(User.objects.get(email="owner@example.com"))
    common = [reverse("home"), reverse("transparency")]
    return {
        "gable@example.com": common + [reverse(n) for _l, n in section_pages("/me/")],
        "staff@example.com": common + [reverse(n) for _l, n in section_pages("/staff/")],
        "owner@example.com": common
        + [reverse(n) for _l, n in section_pages("/owner/")]
        + [reverse("owner:audit_detail", args=[run.pk])],
        None: common + [reverse("account_login"), reverse("account_signup")],
    }


def test_no_page_mixes_date_formats_doubles_a_full_stop_or_says_sign_in_two_ways():
    # given the demo shop, as each role and a visitor see it
    pages = demo_pages()
    faults = []
    checked = 0
    for language in ("en-GB", "de"):
        for email, paths in pages.items():
            client = Client(HTTP_ACCEPT_LANGUAGE=language)
            if email is not None:
                client.force_login(User.objects.get(email=email))
            for path in paths:
                # when the page is opened in that language
                response = client.get(path, follow=True)
                assert response.status_code == 200, (email, path, response.status_code)
                # then it has none of the faults
                html = response.content.decode()
                found = faults_in(visible_text(html)) + doubled_labels(html)
                faults += [f"{language} {email} {path} {f}" for f in found]
                checked += 1
    assert checked > 60
    assert faults == [], "\n".join(faults)


def test_the_check_finds_what_the_issue_found():
    page = (
        "<p>Requested 12/01/2026 5:55 p.m. beside Dec. 1, 2026; it starts at 6:13 p.m..</p>"
        "<a>Sign In</a><th>Status Status</th>"
    )
    names = {fault.split(":")[0] for fault in faults_in(visible_text(page))}
    assert names == set(FAULTS)
    assert doubled_labels(page) == ["doubled label: Status Status"]
