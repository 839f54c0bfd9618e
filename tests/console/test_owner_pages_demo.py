"""The demo shop as its owner sees it: half a year of mode history behind the charts,
and no raw key (`age_band`, `item_knn`, `consent.changed`) on any owner page."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.models import User
from governance.models import ModeSnapshot, PersonalizationFeature
from personalization.models import Webhook
from tests.builders import text_of
from tests.mfa import totp_enrol

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# Keys found by walking every owner page of the demo; each must reach the owner as words.
RAW_KEYS = ("age_band", "item_knn", "consent.changed", "erasure.completed")
OWNER_PAGES = (
    "/owner/",
    "/owner/notice/",
    "/owner/notice/1/",
    "/owner/campaigns/",
    "/owner/trust/",
    "/owner/kill-switch/",
    "/owner/retention/",
    "/owner/review-trail/",
    "/owner/audits/",
    "/owner/audits/policy/",
    "/owner/oversight/",
    "/owner/escalations/",
    "/owner/policy/",
    "/owner/features/",
    "/owner/vendors/",
    "/owner/api-keys/",
    "/owner/webhooks/",
)


def test_the_demo_seeds_daily_mode_history_and_owner_pages_show_no_raw_keys():
    # given the demo, with a webhook as the owner would add one
    # (as of today, so the home page's six months hold the seeded history)
    as_of = timezone.localdate()
    out = StringIO()
    call_command("seed_demo", f"--as-of={as_of}", stdout=out, stderr=StringIO())
    Webhook.objects.create(
        name="crm",
        url="https://crm.example/hook",
        secret="s" * 32,
        events=["consent.changed", "erasure.completed"],
    )
    owner = User.objects.get(email="owner@example.com")
    totp_enrol(owner)
    client = Client()
    client.force_login(owner)

    # then: 180 daily snapshots before the as-of date, one a day
    days = list(ModeSnapshot.objects.order_by("day").values_list("day", flat=True))
    assert len(days) == 180
    assert days[0] == as_of - timedelta(days=180)
    assert days[-1] == as_of - timedelta(days=1)
    assert "Recorded 180 days of personalization-mode history" in out.getvalue()

    # and the pause/off chart on the owner's home page has a line of several points
    home = client.get("/owner/").content.decode()
    modes = home[home.index('id="kpi-modes"') : home.index('id="kpi-complaints"')]
    wide = modes[modes.index('class="chart-wide"') : modes.index('class="chart-small"')]
    assert "<polyline" in wide
    assert len(re.findall(r'<circle class="chart-point series-1"', wide)) >= 5

    # and no raw key anywhere an owner reads
    features = [
        f"/owner/features/{code}/"
        for code in PersonalizationFeature.objects.values_list("code", flat=True)
    ]
    for url in (*OWNER_PAGES, *features, f"/owner/webhooks/{Webhook.objects.get().pk}/"):
        response = client.get(url)
        assert response.status_code == 200, url
        words = text_of(response)
        for key in RAW_KEYS:
            assert key not in words, (url, key)
    assert "Age band" in text_of(client.get("/owner/"))
    assert "A customer's consent changed" in text_of(client.get("/owner/webhooks/"))

    # and a second seed adds no second history
    call_command("seed_demo", f"--as-of={as_of}", stdout=StringIO(), stderr=StringIO())
    assert ModeSnapshot.objects.count() == 180
