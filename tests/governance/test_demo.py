"""seed_demo's governance rows: added once, and what the demo tour relies on."""

from datetime import date

import pytest

from accounts.roles import Role
from governance import selectors
from governance.demo import governance_seed_demo
from governance.features import ONSITE_RECOMMENDATIONS
from governance.models import AIPolicy, PersonalizationFeature, TrustSurveyAnswer, Vendor
from tests.factories import CustomerProfileFactory

pytestmark = pytest.mark.django_db


def test_seeding_adds_policy_assessment_vendors_and_answers_once(make_user):
    make_user(Role.OWNER, email="owner@example.com")
    for n in range(20):
        CustomerProfileFactory(external_id=f"DEMO{n:03d}")

    first = governance_seed_demo(as_of=date(2026, 11, 20))
    answers = TrustSurveyAnswer.objects.count()
    second = governance_seed_demo(as_of=date(2026, 11, 20))

    assert second == []
    assert "AI policy version 1" in first
    assert AIPolicy.objects.count() == 1 and Vendor.objects.count() == 2
    assert 0 < answers == TrustSurveyAnswer.objects.count()
    feature = PersonalizationFeature.objects.get(code=ONSITE_RECOMMENDATIONS)
    approved = selectors.assessment_approved(feature=feature)
    assert approved.version == 2 and approved.approved_by.email == "owner@example.com"
    assert selectors.feature_enabled(ONSITE_RECOMMENDATIONS)
    overdue = selectors.vendors_review_overdue(today=date(2026, 11, 20))
    assert [v.name for v in overdue] == ["PostcodePal"]
