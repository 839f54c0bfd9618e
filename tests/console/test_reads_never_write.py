"""Reads never write: opening a page changes nothing in the database (decision 53).

Each GET runs under a capture of every statement sent; only the session row (Django's
own sign-in bookkeeping) may be written."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.roles import Role
from personalization.consent import notices
from personalization.models import PrivacyNotice

pytestmark = pytest.mark.django_db

_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def writes_of(client: Client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    # A prepared statement (the hot reads, decision 38) is logged without its text.
    statements = [q["sql"] or "" for q in captured.captured_queries]
    return [sql for sql in statements if _WRITE.match(sql) and "session" not in sql]


def test_the_transparency_page_before_any_notice_shows_the_default_text_and_writes_nothing():
    client = Client()
    assert writes_of(client, "/transparency/") == []
    assert PrivacyNotice.objects.count() == 0
    html = client.get("/transparency/").content.decode()
    assert "Privacy notice" in html and "Version 1" in html


def test_the_owners_pages_write_nothing_even_before_any_notice(make_user):
    client = Client()
    client.force_login(make_user(Role.OWNER))
    for url in ("/owner/notice/", "/owner/notice/new/", "/owner/", "/owner/features/"):
        assert writes_of(client, url) == [], url
    assert PrivacyNotice.objects.count() == 0


def test_the_customers_consent_and_notice_pages_write_nothing(make_user):
    notices.notice_ensure_initial()
    client = Client()
    customer = make_user(Role.CUSTOMER)
    notices.notice_acknowledge(profile=customer.customer_profile, version=1)
    client.force_login(customer)
    for url in ("/me/", "/me/consent/", "/me/notice/", "/me/history/", "/me/preferences/"):
        assert writes_of(client, url) == [], url


def test_the_seed_publishes_the_first_notice_not_a_page():
    from io import StringIO

    from django.core.management import call_command

    Client().get("/transparency/")
    assert notices.notice_current() is None
    call_command("seed_demo", stdout=StringIO(), stderr=StringIO())
    current = notices.notice_current()
    assert current is not None and current.version == 1
