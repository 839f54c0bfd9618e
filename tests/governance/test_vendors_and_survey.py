"""The vendor register (overdue reviews on the dashboard) and the customer's one-question
trust survey (one answer per quarter, results for the owner)."""

from datetime import date, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from governance import selectors, services
from governance.models import TrustSurveyAnswer, Vendor
from personalization.consent import notices
from tests.builders import text_of

pytestmark = pytest.mark.django_db


def vendor_form(**overrides) -> dict:
    today = timezone.localdate()
    return {
        "name": "MailHive",
        "service": "Sends our offer emails",
        "receives": "Email address, first name, the offer",
        "dpa_status": "signed",
        "bias_answers": "No model of theirs chooses recipients.",
        "privacy_answers": "EU data centres, deleted after 30 days.",
        "last_reviewed": (today - timedelta(days=300)).isoformat(),
        "next_review": (today + timedelta(days=65)).isoformat(),
    } | overrides


def test_owner_adds_a_vendor_and_an_overdue_review_shows_on_the_dashboard(owner_client):
    response = owner_client.post(reverse("owner:vendor_create"), vendor_form(), follow=True)
    assert "Vendor saved." in text_of(response)
    assert "overdue" not in text_of(owner_client.get(reverse("owner:vendors")))

    vendor = Vendor.objects.get(name="MailHive")
    yesterday = timezone.localdate() - timedelta(days=1)
    owner_client.post(
        reverse("owner:vendor_edit", args=[vendor.pk]),
        vendor_form(next_review=yesterday.isoformat(), last_reviewed=""),
    )

    assert [v.name for v in selectors.vendors_review_overdue()] == ["MailHive"]
    assert "overdue" in text_of(owner_client.get(reverse("owner:vendors")))
    dashboard = text_of(owner_client.get(reverse("owner:dashboard")))
    assert "Vendor reviews overdue 1 MailHive Vendor register" in dashboard


def test_a_next_review_before_the_last_one_is_refused_next_to_the_field(owner_client):
    today = timezone.localdate()
    response = owner_client.post(
        reverse("owner:vendor_create"),
        vendor_form(
            last_reviewed=(today - timedelta(days=5)).isoformat(),
            next_review=(today - timedelta(days=10)).isoformat(),
        ),
    )
    assert response.status_code == 400
    assert "The next review cannot be before the last one." in text_of(response)
    assert 'value="MailHive"' in response.content.decode()
    assert not Vendor.objects.exists()


def test_the_same_vendor_twice_is_refused(owner_client):
    owner_client.post(reverse("owner:vendor_create"), vendor_form())
    response = owner_client.post(reverse("owner:vendor_create"), vendor_form(name="mailhive"))
    assert response.status_code == 400
    assert "This vendor is in the register." in text_of(response)
    assert Vendor.objects.count() == 1


# --- Trust survey -----------------------------------------------------------------------


@pytest.fixture
def customer_client(make_user):
    user = make_user(Role.CUSTOMER)
    notices.notice_acknowledge(
        profile=user.customer_profile, version=notices.notice_ensure_initial().version
    )
    client = Client()
    client.force_login(user)
    return client, user.customer_profile


def test_the_customer_answers_on_their_dashboard_and_can_change_it_this_quarter(
    customer_client,
):
    client, profile = customer_client
    page = text_of(client.get(reverse("me:dashboard")))
    assert "How much do you trust our recommendations?" in page

    response = client.post(
        reverse("me:trust_survey"), {"score": "4", "comment": "Fair enough"}, follow=True
    )
    page = text_of(response)
    assert "Thank you for your answer." in page
    assert "You answered 4 out of 5" in page

    client.post(reverse("me:trust_survey"), {"score": "2", "comment": ""})
    answers = list(TrustSurveyAnswer.objects.filter(customer=profile))
    assert [(a.score, a.comment) for a in answers] == [(2, "")]


def test_a_missing_score_is_explained_and_the_comment_is_kept(customer_client):
    client, profile = customer_client
    response = client.post(reverse("me:trust_survey"), {"score": "9", "comment": "Hmm, unsure"})

    assert response.status_code == 400
    assert "Choose a number from 1 to 5." in text_of(response)
    assert "Hmm, unsure" in response.content.decode()
    assert not TrustSurveyAnswer.objects.exists()


def test_answers_in_another_quarter_are_kept_apart(customer_client):
    _client, profile = customer_client
    spring = datetime(2026, 5, 10, 12, tzinfo=timezone.get_current_timezone())
    autumn = datetime(2026, 11, 3, 12, tzinfo=timezone.get_current_timezone())
    services.trust_survey_answer(customer=profile, score=2, now=spring)
    services.trust_survey_answer(customer=profile, score=5, now=autumn)

    periods = [(r.period, r.answers, r.average) for r in selectors.trust_survey_results()]
    assert periods == [(date(2026, 4, 1), 1, 2.0), (date(2026, 10, 1), 1, 5.0)]


def test_staff_have_no_survey_to_answer(staff_client):
    assert staff_client.post(reverse("me:trust_survey"), {"score": "5"}).status_code == 404
    assert not TrustSurveyAnswer.objects.exists()


def test_the_owner_sees_results_and_comments_without_names(owner_client, make_user):
    for score, comment in ((5, "I trust the explanations"), (3, ""), (1, "Feels unfair to me")):
        user = make_user(Role.CUSTOMER, name=f"Named Person {score}")
        services.trust_survey_answer(customer=user.customer_profile, score=score, comment=comment)

    page = text_of(owner_client.get(reverse("owner:trust_survey")))
    assert "3 answers, average 3.0." in page
    assert "I trust the explanations" in page and "Feels unfair to me" in page
    assert "Comments mentioning trust: 1; fairness: 1; transparency: 1." in page
    assert "Named Person" not in page
