"""The risk gate: a feature runs only while an approved assessment covers what it uses;
a material change needs a new one; switches and sign-offs are logged with the assessment."""

import pytest
from django.urls import reverse

from core.errors import ApplicationError
from governance import selectors, services
from governance.features import BUILTIN_FEATURES, ONSITE_RECOMMENDATIONS
from governance.models import FeatureEvent, PersonalizationFeature, RiskAssessment
from tests.builders import RISK_TEXTS as TEXTS
from tests.builders import text_of

pytestmark = pytest.mark.django_db


def new_feature(**overrides) -> PersonalizationFeature:
    values = {
        "code": "campaign_birthday",
        "name": "Birthday offers",
        "description": "An offer on the customer's birthday.",
        "data_categories": ["purchase_history"],
        "model_type": "item_knn",
    } | overrides
    return services.feature_create(**values)


def draft_for(feature, actor, **overrides):
    values = {
        "data_categories": feature.data_categories,
        "model_type": feature.model_type,
        **TEXTS,
    } | overrides
    return services.risk_assessment_save(feature=feature, actor=actor, **values)


def test_built_in_features_are_on_with_an_approved_baseline_so_nothing_changes():
    for spec in BUILTIN_FEATURES:
        assert selectors.feature_enabled(spec.code)
        feature = PersonalizationFeature.objects.get(code=spec.code)
        approved = selectors.assessment_approved(feature=feature)
        assert approved is not None and approved.version == 1
        assert selectors.assessment_covers(assessment=approved, feature=feature)
        assert "Baseline recorded when the risk gate was installed" in approved.sign_off_note


def test_unknown_codes_are_off_and_built_in_codes_without_a_row_are_on():
    assert selectors.feature_enabled("something_new") is False
    # a database emptied by a transactional test has no rows at all
    FeatureEvent.objects.all().delete()
    RiskAssessment.objects.all().delete()
    PersonalizationFeature.objects.all().delete()
    assert selectors.feature_enabled(ONSITE_RECOMMENDATIONS) is True


def test_a_new_feature_cannot_be_switched_on_without_an_approved_assessment(owner):
    feature = new_feature()
    assert selectors.feature_enabled("campaign_birthday") is False

    with pytest.raises(ApplicationError, match="its current risk assessment is not approved"):
        services.feature_set_enabled(feature=feature, enabled=True, reason="Launch", actor=owner)

    # a draft does not count either
    draft_for(feature, owner)
    with pytest.raises(ApplicationError, match="not approved"):
        services.feature_set_enabled(feature=feature, enabled=True, reason="Launch", actor=owner)
    assert selectors.feature_enabled("campaign_birthday") is False
    assert not FeatureEvent.objects.filter(feature=feature).exists()


def test_after_sign_off_it_can_be_switched_on_and_the_log_links_the_assessment(owner):
    feature = new_feature()
    draft = draft_for(feature, owner)
    services.risk_assessment_approve(assessment=draft, actor=owner, note="Looks honest.")

    event = services.feature_set_enabled(
        feature=feature, enabled=True, reason="Launch", actor=owner
    )

    assert selectors.feature_enabled("campaign_birthday") is True
    assert event.assessment == draft and event.actor == owner
    log = [(e.action, e.assessment_id) for e in selectors.feature_log(feature=feature)]
    assert log == [("enabled", draft.pk), ("approved", draft.pk)]


def test_an_assessment_that_does_not_cover_the_features_data_cannot_be_signed_off(owner):
    feature = new_feature(data_categories=["purchase_history", "email_engagement"])
    draft = draft_for(feature, owner, data_categories=["purchase_history"])

    with pytest.raises(ApplicationError, match="does not cover what the feature uses now"):
        services.risk_assessment_approve(assessment=draft, actor=owner)
    draft.refresh_from_db()
    assert draft.status == RiskAssessment.Status.DRAFT


def test_a_new_data_category_is_a_material_change_that_switches_the_feature_off(owner):
    feature = new_feature()
    first = draft_for(feature, owner)
    services.risk_assessment_approve(assessment=first, actor=owner)
    services.feature_set_enabled(feature=feature, enabled=True, reason="Launch", actor=owner)

    services.feature_change_scope(
        feature=feature,
        data_categories=["purchase_history", "browsing_history"],
        model_type="item_knn",
        reason="Also use what people looked at",
        actor=owner,
    )

    first.refresh_from_db()
    assert first.status == RiskAssessment.Status.SUPERSEDED
    assert first.superseded_reason == "Also use what people looked at"
    assert selectors.feature_enabled("campaign_birthday") is False
    feature.refresh_from_db()
    with pytest.raises(ApplicationError, match="not approved"):
        services.feature_set_enabled(feature=feature, enabled=True, reason="Again", actor=owner)

    # a new assessment covering the new category makes it possible again
    second = draft_for(feature, owner)
    assert second.version == 2
    services.risk_assessment_approve(assessment=second, actor=owner)
    services.feature_set_enabled(feature=feature, enabled=True, reason="Again", actor=owner)
    assert selectors.feature_enabled("campaign_birthday") is True
    actions = [e.action for e in selectors.feature_log(feature=feature)]
    assert actions == ["enabled", "approved", "disabled", "changed", "enabled", "approved"]


def test_a_new_model_type_is_a_material_change_too(owner):
    feature = PersonalizationFeature.objects.get(code=ONSITE_RECOMMENDATIONS)
    services.feature_change_scope(
        feature=feature,
        data_categories=feature.data_categories,
        model_type="matrix_factorization",
        reason="Trying a new model",
        actor=owner,
    )
    assert selectors.feature_enabled(ONSITE_RECOMMENDATIONS) is False


def test_a_change_the_approval_still_covers_keeps_the_feature_on(owner):
    feature = PersonalizationFeature.objects.get(code=ONSITE_RECOMMENDATIONS)
    services.feature_change_scope(
        feature=feature,
        data_categories=["purchase_history"],  # fewer categories than approved
        model_type="item_knn",
        reason="Stop using browsing",
        actor=owner,
    )
    assert selectors.feature_enabled(ONSITE_RECOMMENDATIONS) is True


def test_approved_assessments_never_change(owner):
    feature = new_feature()
    approved = services.risk_assessment_approve(assessment=draft_for(feature, owner), actor=owner)
    with pytest.raises(ApplicationError, match="Only a draft can be edited"):
        services.risk_assessment_save(
            feature=feature,
            actor=owner,
            assessment=approved,
            data_categories=["purchase_history"],
            model_type="item_knn",
            **(TEXTS | {"harm_bias": "None at all"}),
        )
    approved.refresh_from_db()
    assert approved.harm_bias == TEXTS["harm_bias"]


def test_every_harm_must_be_written(owner):
    feature = new_feature()
    with pytest.raises(ApplicationError) as error:
        draft_for(feature, owner, harm_filter_bubble="  ")
    assert error.value.field == "harm_filter_bubble"


# --- The owner's pages ------------------------------------------------------------------


def test_switching_on_without_approval_shows_why_on_the_page(owner_client):
    new_feature()
    response = owner_client.post(
        reverse("owner:feature_switch", args=["campaign_birthday"]),
        {"action": "enable", "reason": "Launch"},
    )
    assert response.status_code == 400
    assert "cannot be switched on: its current risk assessment is not approved" in text_of(response)
    assert selectors.feature_enabled("campaign_birthday") is False


def test_owner_writes_signs_off_and_switches_on_through_the_pages(owner_client, owner):
    new_feature()
    # when the owner writes a draft
    form = {"data_categories": ["purchase_history"], "model_type": "item_knn", **TEXTS}
    response = owner_client.post(
        reverse("owner:assessment_new", args=["campaign_birthday"]), form, follow=True
    )
    assert "Draft assessment saved." in text_of(response)
    # and signs it off
    response = owner_client.post(
        reverse("owner:assessment_approve", args=["campaign_birthday", 1]),
        {"note": "Reviewed with the team"},
        follow=True,
    )
    assert "Version 1 is signed off." in text_of(response)
    # then the feature can be switched on, and the log shows it with the assessment
    response = owner_client.post(
        reverse("owner:feature_switch", args=["campaign_birthday"]),
        {"action": "enable", "reason": "Launch"},
        follow=True,
    )
    page = text_of(response)
    assert "Birthday offers is switched on." in page
    assert "Switched on version 1" in page and "Launch" in page
    assert selectors.feature_enabled("campaign_birthday") is True


def test_a_material_change_on_the_page_warns_and_switches_off(owner_client):
    response = owner_client.post(
        reverse("owner:feature_scope", args=[ONSITE_RECOMMENDATIONS]),
        {
            "data_categories": ["purchase_history", "email_engagement"],
            "model_type": "item_knn",
            "reason": "Use email clicks",
        },
        follow=True,
    )
    page = text_of(response)
    assert "This is a material change: the approved assessment no longer counts." in page
    assert "It cannot be switched on until a risk assessment" in page
    assert selectors.feature_enabled(ONSITE_RECOMMENDATIONS) is False


def test_bad_input_on_the_feature_form_is_explained_and_kept(owner_client):
    response = owner_client.post(
        reverse("owner:feature_create"),
        {"code": "Bad Code!", "name": "Birthday offers", "model_type": "item_knn"},
    )
    assert response.status_code == 400
    page = text_of(response)
    assert "Use 2 to 50 lower-case letters" in page
    assert 'value="Birthday offers"' in response.content.decode()


def test_staff_cannot_open_the_risk_gate(staff_client):
    assert staff_client.get(reverse("owner:features")).status_code == 403


def test_no_feature_may_use_the_audit_attributes(owner, owner_client):
    with pytest.raises(ApplicationError, match="used only to check the AI for bias"):
        new_feature(data_categories=["purchase_history", "audit_attributes"])
    feature = new_feature()
    with pytest.raises(ApplicationError, match="used only to check the AI for bias"):
        services.feature_change_scope(
            feature=feature,
            data_categories=["audit_attributes"],
            model_type="item_knn",
            reason="x",
            actor=owner,
        )
    page = owner_client.get(reverse("owner:feature_detail", args=["campaign_birthday"]))
    assert 'value="audit_attributes"' not in page.content.decode()
    assert PersonalizationFeature.objects.get(code="campaign_birthday").data_categories == [
        "purchase_history"
    ]
