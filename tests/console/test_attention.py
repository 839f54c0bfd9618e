"""The owner's attention strip: each item appears when its condition holds, and the
strip says "Nothing needs you now" when none does."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from audits.models import AuditFinding, AuditRun
from console.attention import attention_items
from governance import services as governance
from governance.models import RiskAssessment, Vendor
from personalization.oversight import services as oversight
from tests.builders import Held
from tests.factories import AuditFindingFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 20)
CONFIGURED = {"DEFAULT_FROM_EMAIL": "shop@localhost", "SHOP_CONTACT_EMAIL": "hi@crumb.example"}


@pytest.fixture
def owner(make_user):
    return make_user(Role.OWNER, email="boss@example.com")


@pytest.fixture
def calm(owner):
    """A shop where nothing needs the owner: the baseline assessments signed off."""
    RiskAssessment.objects.filter(status=RiskAssessment.Status.APPROVED, approved_by=None).update(
        approved_by=owner
    )
    return owner


def keys(**kwargs) -> dict[str, int]:
    return {item.key: item.count for item in attention_items(today=TODAY, **kwargs)}


@override_settings(**CONFIGURED)
def test_nothing_needs_the_owner_in_a_calm_shop_and_the_page_says_so(client, calm):
    assert keys() == {}
    client.force_login(calm)
    html = client.get(reverse("owner:dashboard")).content.decode()
    assert "Nothing needs you now." in html


@override_settings(**CONFIGURED)
def test_an_escalated_review_item_is_counted_and_links_to_the_escalations(calm, make_user):
    held = Held()
    assert "escalations" not in keys()
    oversight.review_escalate(
        user=make_user(Role.STAFF, email="s@example.com"), item_id=held.cake.pk, note="Look"
    )
    item = next(i for i in attention_items(today=TODAY) if i.key == "escalations")
    assert (item.count, item.link) == (1, reverse("owner:escalations"))
    assert item.text == "review item is escalated to you and waits for your decision"


def _finding(run: AuditRun, status: str) -> AuditFinding:
    # One finding per segment (a run has one finding per measure, group and segment).
    return AuditFindingFactory.create(
        run=run, segment=f"segment {AuditFinding.objects.count()}", status=status
    )


@override_settings(**CONFIGURED)
def test_only_findings_not_yet_acknowledged_are_counted(calm):
    run = AuditRun.objects.create(
        status=AuditRun.Status.COMPLETED, trigger="command", finished_at=timezone.now()
    )
    _finding(run, AuditFinding.Status.ACKNOWLEDGED)
    _finding(run, AuditFinding.Status.RESOLVED)
    assert "findings" not in keys()
    _finding(run, AuditFinding.Status.OPEN)
    _finding(run, AuditFinding.Status.OPEN)
    assert keys()["findings"] == 2
    item = next(i for i in attention_items(today=TODAY) if i.key == "findings")
    assert item.text == "audit findings are not acknowledged yet"


def _vendor(name: str, next_review: date) -> None:
    governance.vendor_save(
        name=name,
        service="Checks addresses",
        receives="Postcodes",
        dpa_status=Vendor.DpaStatus.SIGNED,
        bias_answers="No model.",
        privacy_answers="EU only.",
        last_reviewed=next_review - timedelta(days=365),
        next_review=next_review,
    )


@override_settings(**CONFIGURED)
def test_a_vendor_review_counts_only_once_its_date_has_passed(calm):
    _vendor("DueToday", TODAY)
    assert "vendors" not in keys()
    _vendor("Late", TODAY - timedelta(days=1))
    item = next(i for i in attention_items(today=TODAY) if i.key == "vendors")
    assert (item.count, item.text, item.link) == (
        1,
        "vendor review is overdue",
        reverse("owner:vendors"),
    )


@override_settings(**CONFIGURED)
def test_people_who_have_not_read_the_current_ai_policy_are_counted(calm, make_user):
    staff = make_user(Role.STAFF, email="s@example.com")
    policy = governance.ai_policy_publish(title="Rules", body="Be kind.", actor=calm)
    assert keys()["policy"] == 2
    governance.ai_policy_acknowledge(policy=policy, user=staff)
    assert keys()["policy"] == 1
    governance.ai_policy_acknowledge(policy=policy, user=calm)
    assert "policy" not in keys()


def test_the_contact_address_left_at_shop_at_localhost_needs_the_owner(calm):
    with override_settings(DEFAULT_FROM_EMAIL="shop@localhost", SHOP_CONTACT_EMAIL=""):
        item = next(i for i in attention_items(today=TODAY) if i.key == "contact")
        assert "shop@localhost" in item.text and item.link == "/transparency/#t-contact"
    with override_settings(DEFAULT_FROM_EMAIL="hello@crumb.example", SHOP_CONTACT_EMAIL=""):
        assert "contact" not in keys()
    with override_settings(**CONFIGURED):
        assert "contact" not in keys()


@override_settings(**CONFIGURED)
def test_assessments_still_on_the_install_baseline_are_counted(owner):
    baseline = RiskAssessment.objects.filter(
        status=RiskAssessment.Status.APPROVED, approved_by=None
    )
    assert baseline.exists(), "the installation writes baseline assessments"
    item = next(i for i in attention_items(today=TODAY) if i.key == "baseline")
    assert item.count == baseline.values("feature").distinct().count()
    assert item.link == reverse("owner:features")
    baseline.update(approved_by=owner)
    assert "baseline" not in keys()


@override_settings(**CONFIGURED)
def test_the_strip_on_the_home_page_shows_each_count_with_its_link(client, calm):
    _vendor("Late", timezone.localdate() - timedelta(days=3))
    client.force_login(calm)
    html = client.get(reverse("owner:dashboard")).content.decode()
    assert "Nothing needs you now." not in html
    assert (
        '<a href="/owner/vendors/"><span class="attention-count">1</span> '
        '<span class="attention-text">vendor review is overdue</span></a>'
    ) in html
