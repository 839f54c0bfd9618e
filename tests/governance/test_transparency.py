"""The public transparency page is generated from the live configuration: each thing it
reports changes on the page when the owner (or the system) changes it."""

from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from governance import services
from governance.features import OFFER_EMAILS, ONSITE_RECOMMENDATIONS
from governance.models import PersonalizationFeature
from personalization.datarights.services import data_category_retention_set
from personalization.models import DataCategory, Purpose
from tests.builders import text_of, waiting_fields
from tests.factories import AuditFindingFactory

pytestmark = pytest.mark.django_db

URL = "/transparency/"


def public_page() -> str:
    response = Client().get(URL)
    assert response.status_code == 200
    return text_of(response)


def test_the_page_says_when_the_owner_pauses_all_personalization_and_why(owner):
    assert "AI personalization is running" in public_page()

    services.kill_switch_set(engaged=True, reason="A supplier mislabelled allergens.", actor=owner)
    page = public_page()
    assert "All AI personalization is paused since" in page
    assert "The shop's reason: A supplier mislabelled allergens." in page
    assert "AI personalization is running" not in page

    services.kill_switch_set(engaged=False, reason="Labels fixed.", actor=owner)
    page = public_page()
    assert "AI personalization is running" in page
    assert "mislabelled" not in page


def test_a_feature_switched_off_moves_from_what_the_ai_does_to_switched_off(owner):
    does = public_page().split("What the AI does")[1].split("What it never does")[0]
    assert "Offer email campaigns:" in does
    assert "Switched off now" not in does

    feature = PersonalizationFeature.objects.get(code=OFFER_EMAILS)
    services.feature_set_enabled(feature=feature, enabled=False, reason="Winter break", actor=owner)

    does = public_page().split("What the AI does")[1].split("What it never does")[0]
    assert "Offer email campaigns:" not in does
    assert "Switched off now: Offer email campaigns." in does
    assert "On-site recommendations:" in does


def test_retention_periods_are_the_current_settings_not_the_published_notice():
    assert "Browsing history" in public_page()
    data_category_retention_set(days_by_code={"browsing_history": 90})

    live = public_page().split("The data it may use")[1].split("People check the AI")[0]
    assert "90 days (about 3 months)" in live
    assert "180 days" not in live


def test_a_new_data_category_and_purpose_appear_with_their_wording():
    DataCategory.objects.create(
        code="loyalty_card",
        name="Loyalty card",
        description="Stamps on your card.",
        retention_days=400,
    )
    Purpose.objects.create(code="sms_offers", name="Offer texts", description="Offers by SMS.")

    page = public_page()
    assert "Loyalty card Stamps on your card." in page
    assert "400 days (about 1 year)" in page
    assert "Offer texts: Offers by SMS." in page


def _decided(hours_taken: float, *, days_ago: float = 1):
    from personalization.models.oversight import ReviewItem, ReviewStatus

    decided = timezone.now() - timedelta(days=days_ago)
    item = ReviewItem.objects.create(source="other", title="check", status=ReviewStatus.DECIDED)
    started = decided - timedelta(hours=hours_taken)
    ReviewItem.objects.filter(pk=item.pk).update(
        decided_at=decided, **dict.fromkeys(waiting_fields(ReviewItem), started)
    )


def test_review_speed_is_the_measured_time_over_the_last_30_days():
    from personalization.models.oversight import OversightSettings

    page = public_page()
    assert "No flagged suggestion needed a decision in the last 30 days." in page

    for hours_taken in (1, 2, 3, 4, 10):
        _decided(hours_taken)
    _decided(100, days_ago=45)  # outside the window

    page = public_page()
    assert "people decided 5 flagged suggestions" in page
    # median of 1, 2, 3, 4, 10 is 3; the 90th percentile interpolates to 7.6
    assert "half of the decisions took 3.0 hours or less" in page
    assert "nine in ten took 7.6 hours or less" in page

    OversightSettings.objects.update_or_create(pk=1, defaults={"sla_hours": 12})
    assert "Our target is 12 hours." in public_page()


def test_the_current_ai_policy_version_is_named(owner):
    assert "has not published an internal AI policy yet" in public_page()
    services.ai_policy_publish(title="Our AI rules", body="Be kind.", actor=owner)
    services.ai_policy_publish(title="Our AI rules", body="Be kinder.", actor=owner)

    assert "Our staff follow version 2 of our internal AI policy" in public_page()


def test_contact_details_follow_the_settings():
    with override_settings(
        SHOP_CONTACT_EMAIL="ai@crumb.example", SHOP_CONTACT_ADDRESS="1 Mill Lane"
    ):
        page = public_page()
    assert "ai@crumb.example" in page and "1 Mill Lane" in page

    with override_settings(SHOP_CONTACT_EMAIL="", DEFAULT_FROM_EMAIL="hello@crumb.example"):
        assert "hello@crumb.example" in public_page()


def test_vendors_in_the_register_are_named_with_what_they_receive():
    services.vendor_save(
        name="MailHive",
        service="Sends our offer emails",
        receives="Email address and the offer text",
        dpa_status="signed",
        next_review=timezone.localdate() + timedelta(days=90),
    )
    assert "MailHive: Sends our offer emails. They receive: Email address and the offer text" in (
        public_page()
    )


def test_how_to_switch_personalization_off_links_to_the_customers_choices():
    html = Client().get(URL).content.decode()
    assert f'href="{reverse("me:preferences")}#mode"' in html
    assert f'href="{reverse("me:consent")}"' in html
    assert "Off (same list as any visitor)" in html


def test_the_feature_names_on_the_page_come_from_the_feature_rows(owner):
    PersonalizationFeature.objects.filter(code=ONSITE_RECOMMENDATIONS).update(
        name="Suggestions in the web shop"
    )
    assert "Suggestions in the web shop" in public_page()


def _completed_audit():
    """A finished audit as the audit task stores it: one measured group with a finding,
    one group under the minimum size (suppressed: no value, no count)."""
    from audits.models import AuditResult, AuditRun

    run = AuditRun.objects.create(
        status=AuditRun.Status.COMPLETED, trigger="command", finished_at=timezone.now()
    )
    common = {"run": run, "metric": "coverage", "attributes": ["gender"], "interval": "wilson"}
    AuditResult.objects.create(
        **common,
        group={"gender": "woman"},
        attributes_key="gender",
        group_key="gender=woman",
        n=120,
        customers=120,
        value=0.41,
    )
    AuditResult.objects.create(
        **common,
        group={"gender": "non-binary"},
        attributes_key="gender",
        group_key="gender=non-binary",
        suppressed=True,
        suppression="min_size",
    )
    AuditFindingFactory(run=run)
    return run


def test_the_latest_audit_is_summarized_and_small_groups_never_appear():
    assert "No fairness audit has finished yet." in public_page()

    _completed_audit()

    page = public_page()
    audit = page.split("Fairness checks")[1].split("How to switch personalization off")[0]
    # the verdict in plain words and what the owner did, not a count of group figures
    assert "1 group is treated differently (gender woman); 1 group is too small to check." in (
        audit
    )
    assert "owner has looked at 0 of 1 finding and resolved 0." in audit
    assert "group figures were measured" not in audit
    # the group under the minimum size is never named, and no group's count is shown
    assert "non-binary" not in page
    assert "120" not in audit


def test_the_page_says_which_features_still_run_on_the_installation_baseline(owner):
    from tests.builders import RISK_TEXTS as TEXTS

    assert "4 of them still run on the assessment recorded when this system was installed" in (
        public_page()
    )
    for feature in PersonalizationFeature.objects.all():
        draft = services.risk_assessment_save(
            feature=feature,
            actor=owner,
            data_categories=feature.data_categories,
            model_type=feature.model_type,
            **TEXTS,
        )
        services.risk_assessment_approve(assessment=draft, actor=owner)

    page = public_page()
    assert "A person at the shop signed off each assessment." in page
    assert "installed" not in page
