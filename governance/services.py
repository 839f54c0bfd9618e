"""Writes: flip the kill switch, publish and acknowledge the AI policy, the risk gate
(features, assessments, the feature log), the vendor register and the trust survey."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ApplicationError
from governance.features import AUDIT_ATTRIBUTES
from governance.models import (
    AIPolicy,
    FeatureEvent,
    KillSwitchEvent,
    ModeSnapshot,
    PersonalizationFeature,
    PolicyAcknowledgement,
    RiskAssessment,
    TrustSurveyAnswer,
    Vendor,
)
from governance.selectors import (
    assessment_approved,
    assessment_covers,
    kill_switch_state,
    mode_counts,
    survey_period,
)

logger = logging.getLogger(__name__)


# Any constant: PostgreSQL advisory lock serializing flips of the kill switch.
_KILL_SWITCH_LOCK = 727_101


def _lock(key: int) -> None:
    # SQLite's IMMEDIATE transactions already serialize writers.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def kill_switch_set(*, engaged: bool, reason: str, actor) -> KillSwitchEvent:
    """Pause (engaged=True) or resume all AI personalization, with the reason logged.

    Takes effect on the next request: every delivery path reads the switch.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Say why, for the log."), code="reason_required", field="reason")
    with transaction.atomic():
        # One flip at a time, so the log alternates and never records a no-op (a row
        # lock alone would not serialize the very first flip, on an empty table).
        _lock(_KILL_SWITCH_LOCK)
        KillSwitchEvent.objects.select_for_update().order_by("-at", "-pk").first()
        if kill_switch_state().engaged == engaged:
            raise ApplicationError(
                _("Personalization is already paused.")
                if engaged
                else _("Personalization is already running."),
                code="kill_switch_unchanged",
            )
        event = KillSwitchEvent.objects.create(engaged=engaged, reason=reason, actor=actor)
    logger.warning(
        "kill switch %s by user %s",
        "engaged" if engaged else "released",
        getattr(actor, "pk", None),
    )
    return event


def ai_policy_publish(*, title: str, body: str, actor) -> AIPolicy:
    """Publish a new version; earlier versions stay as they were."""
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        raise ApplicationError(_("Give the policy a title."), code="invalid", field="title")
    if not body:
        raise ApplicationError(_("Write the policy."), code="invalid", field="body")
    with transaction.atomic():
        last = AIPolicy.objects.select_for_update().order_by("-version").first()
        return AIPolicy.objects.create(
            version=(last.version + 1) if last else 1,
            title=title,
            body=body,
            created_by=actor,
            published_at=timezone.now(),
        )


def ai_policy_acknowledge(*, policy: AIPolicy, user) -> PolicyAcknowledgement:
    if policy.published_at is None:
        raise ApplicationError(_("This policy is not published."), code="not_published")
    acknowledgement, _created = PolicyAcknowledgement.objects.get_or_create(
        policy=policy, user=user
    )
    return acknowledgement


# --- Risk gate ----------------------------------------------------------------------

ASSESSMENT_TEXT_FIELDS = (
    "people_affected",
    "harm_bias",
    "harm_manipulation",
    "harm_filter_bubble",
    "harm_privacy",
    "mitigations",
)
_CODE = re.compile(r"^[a-z][a-z0-9_]{1,49}$")


def _categories(data_categories: Iterable[str], *, field: str = "data_categories") -> list[str]:
    categories = sorted(set(data_categories))
    if AUDIT_ATTRIBUTES in categories:
        raise ApplicationError(
            _(
                "Audit attributes are used only to check the AI for bias, never by a "
                "personalization feature."
            ),
            code="audit_attributes_forbidden",
            field=field,
        )
    return categories


def _locked(feature: PersonalizationFeature) -> PersonalizationFeature:
    return PersonalizationFeature.objects.select_for_update().get(pk=feature.pk)


def _log(feature, action, *, assessment=None, reason="", actor=None) -> FeatureEvent:
    return FeatureEvent.objects.create(
        feature=feature, action=action, assessment=assessment, reason=reason, actor=actor
    )


@transaction.atomic
def feature_create(
    *,
    code: str,
    name: str,
    description: str,
    data_categories: Iterable[str],
    model_type: str,
) -> PersonalizationFeature:
    """A new feature (a campaign type, a model type): off until an assessment is approved."""
    code, name = (code or "").strip(), (name or "").strip()
    if not _CODE.match(code):
        raise ApplicationError(
            _("Use 2 to 50 lower-case letters, digits or underscores, starting with a letter."),
            code="invalid",
            field="code",
        )
    if PersonalizationFeature.objects.filter(code=code).exists():
        raise ApplicationError(_("A feature with this code exists."), code="exists", field="code")
    if not name:
        raise ApplicationError(_("Give the feature a name."), code="invalid", field="name")
    return PersonalizationFeature.objects.create(
        code=code,
        name=name,
        description=(description or "").strip(),
        data_categories=_categories(data_categories),
        model_type=(model_type or "").strip(),
        enabled=False,
    )


def feature_set_enabled(
    *, feature: PersonalizationFeature, enabled: bool, reason: str, actor
) -> FeatureEvent:
    """Switch a feature on or off; the log links the switch to the approved assessment.

    Switching on needs an approved assessment that covers what the feature uses now.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Say why, for the log."), code="reason_required", field="reason")
    with transaction.atomic():
        feature = _locked(feature)
        if feature.enabled == enabled:
            raise ApplicationError(
                _("This feature is already on.") if enabled else _("This feature is already off."),
                code="feature_unchanged",
            )
        approved = assessment_approved(feature=feature)
        if enabled and not assessment_covers(assessment=approved, feature=feature):
            raise ApplicationError(
                _(
                    "This feature cannot be switched on: its current risk assessment is "
                    "not approved, or does not cover what it uses now."
                ),
                code="assessment_required",
            )
        feature.enabled = enabled
        feature.save(update_fields=["enabled", "updated_at"])
        event = _log(
            feature,
            FeatureEvent.Action.ENABLED if enabled else FeatureEvent.Action.DISABLED,
            assessment=approved,
            reason=reason,
            actor=actor,
        )
    logger.info("feature %s %s by user %s", feature.code, event.action, getattr(actor, "pk", None))
    return event


def _clean_assessment(fields: dict[str, str]) -> dict[str, str]:
    cleaned = {name: (fields.get(name) or "").strip() for name in ASSESSMENT_TEXT_FIELDS}
    for name, value in cleaned.items():
        if not value:
            label = getattr(RiskAssessment._meta.get_field(name), "verbose_name", name)
            raise ApplicationError(
                _("Fill in “%(field)s”.") % {"field": label}, code="required", field=name
            )
    return cleaned


@transaction.atomic
def risk_assessment_save(
    *,
    feature: PersonalizationFeature,
    actor,
    data_categories: Iterable[str],
    model_type: str,
    assessment: RiskAssessment | None = None,
    **fields: str,
) -> RiskAssessment:
    """Create a draft (assessment=None) or edit one; approved versions never change."""
    feature = _locked(feature)
    values = _clean_assessment(fields)
    categories = _categories(data_categories)
    if assessment is None:
        if feature.assessments.filter(status=RiskAssessment.Status.DRAFT).exists():
            raise ApplicationError(
                _("This feature already has a draft assessment: edit that one."),
                code="draft_exists",
            )
        last = feature.assessments.order_by("-version").first()
        return RiskAssessment.objects.create(
            feature=feature,
            version=(last.version + 1) if last else 1,
            data_categories=categories,
            model_type=(model_type or "").strip(),
            created_by=actor,
            **values,
        )
    assessment = RiskAssessment.objects.select_for_update().get(pk=assessment.pk)
    if assessment.status != RiskAssessment.Status.DRAFT or assessment.feature_id != feature.pk:
        raise ApplicationError(
            _("Only a draft can be edited; signed-off assessments stay as they were."),
            code="not_draft",
        )
    for name, value in values.items():
        setattr(assessment, name, value)
    assessment.data_categories = categories
    assessment.model_type = (model_type or "").strip()
    assessment.save()
    return assessment


@transaction.atomic
def risk_assessment_approve(*, assessment: RiskAssessment, actor, note: str = "") -> RiskAssessment:
    """The reviewer signs off a draft; the previously approved version is superseded.

    The draft must cover what the feature uses now, or the approval would not count.
    """
    feature = _locked(assessment.feature)
    assessment = RiskAssessment.objects.select_for_update().get(pk=assessment.pk)
    if assessment.status != RiskAssessment.Status.DRAFT:
        raise ApplicationError(_("Only a draft can be signed off."), code="not_draft")
    if not assessment_covers(assessment=assessment, feature=feature):
        raise ApplicationError(
            _(
                "This assessment does not cover what the feature uses now (its data "
                "categories and model type). Edit the draft first."
            ),
            code="assessment_incomplete",
        )
    now = timezone.now()
    previous = assessment_approved(feature=feature)
    if previous is not None:
        previous.status = RiskAssessment.Status.SUPERSEDED
        previous.superseded_at = now
        previous.superseded_reason = _("Replaced by version %(version)d.") % {
            "version": assessment.version
        }
        previous.save(update_fields=["status", "superseded_at", "superseded_reason"])
    assessment.status = RiskAssessment.Status.APPROVED
    assessment.approved_by = actor
    assessment.approved_at = now
    assessment.sign_off_note = (note or "").strip()
    assessment.save(update_fields=["status", "approved_by", "approved_at", "sign_off_note"])
    _log(
        feature,
        FeatureEvent.Action.ASSESSMENT_APPROVED,
        assessment=assessment,
        reason=assessment.sign_off_note,
        actor=actor,
    )
    return assessment


@transaction.atomic
def feature_change_scope(
    *,
    feature: PersonalizationFeature,
    data_categories: Iterable[str],
    model_type: str,
    reason: str,
    actor,
) -> PersonalizationFeature:
    """Record what the feature uses now.

    A material change (a data category or model type its approved assessment does not
    cover) supersedes that approval, and a feature that was on is switched off, both
    logged: it needs a new approved assessment before it runs again.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Say why, for the log."), code="reason_required", field="reason")
    categories = _categories(data_categories)
    feature = _locked(feature)
    feature.data_categories = categories
    feature.model_type = (model_type or "").strip()
    feature.save(update_fields=["data_categories", "model_type", "updated_at"])
    approved = assessment_approved(feature=feature)
    if approved is None or assessment_covers(assessment=approved, feature=feature):
        return feature
    approved.status = RiskAssessment.Status.SUPERSEDED
    approved.superseded_at = timezone.now()
    approved.superseded_reason = reason
    approved.save(update_fields=["status", "superseded_at", "superseded_reason"])
    _log(
        feature,
        FeatureEvent.Action.MATERIAL_CHANGE,
        assessment=approved,
        reason=reason,
        actor=actor,
    )
    if feature.enabled:
        feature.enabled = False
        feature.save(update_fields=["enabled", "updated_at"])
        _log(
            feature,
            FeatureEvent.Action.DISABLED,
            assessment=approved,
            reason=_("Material change: a new risk assessment must be approved."),
            actor=actor,
        )
    logger.warning("feature %s: material change, approval superseded", feature.code)
    return feature


# --- Vendors ------------------------------------------------------------------------


@transaction.atomic
def vendor_save(
    *,
    vendor: Vendor | None = None,
    name: str,
    service: str,
    receives: str,
    dpa_status: str,
    bias_answers: str = "",
    privacy_answers: str = "",
    last_reviewed: date | None = None,
    next_review: date,
) -> Vendor:
    """Add a vendor to the register or update one."""
    name, service, receives = (
        (name or "").strip(),
        (service or "").strip(),
        (receives or "").strip(),
    )
    for field, value, message in (
        ("name", name, _("Give the vendor's name.")),
        ("service", service, _("Say what they do for the shop.")),
        ("receives", receives, _("Say what they receive, even if it is nothing personal.")),
    ):
        if not value:
            raise ApplicationError(message, code="required", field=field)
    if dpa_status not in Vendor.DpaStatus.values:
        raise ApplicationError(_("Choose a status."), code="invalid", field="dpa_status")
    if next_review is None:
        raise ApplicationError(
            _("Give the next review date."), code="required", field="next_review"
        )
    if last_reviewed is not None and next_review < last_reviewed:
        raise ApplicationError(
            _("The next review cannot be before the last one."),
            code="invalid",
            field="next_review",
        )
    duplicate = Vendor.objects.filter(name__iexact=name)
    if vendor is not None:
        duplicate = duplicate.exclude(pk=vendor.pk)
    if duplicate.exists():
        raise ApplicationError(_("This vendor is in the register."), code="exists", field="name")
    vendor = vendor or Vendor()
    vendor.name, vendor.service, vendor.receives = name, service, receives
    vendor.dpa_status = dpa_status
    vendor.bias_answers = (bias_answers or "").strip()
    vendor.privacy_answers = (privacy_answers or "").strip()
    vendor.last_reviewed, vendor.next_review = last_reviewed, next_review
    vendor.save()
    return vendor


# --- Trust survey -------------------------------------------------------------------

COMMENT_MAX = 1000


@transaction.atomic
def trust_survey_answer(
    *, customer, score: int, comment: str = "", now: datetime | None = None
) -> TrustSurveyAnswer:
    """Record the customer's answer for this quarter; answering again replaces it."""
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise ApplicationError(_("Choose a number from 1 to 5."), code="invalid", field="score")
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise ApplicationError(
            _("Keep the comment under %(n)d characters.") % {"n": COMMENT_MAX},
            code="invalid",
            field="comment",
        )
    now = now or timezone.now()
    answer, _created = TrustSurveyAnswer.objects.update_or_create(
        customer=customer,
        period=survey_period(timezone.localdate(now)),
        defaults={"score": score, "comment": comment, "answered_at": now},
    )
    return answer


# --- Mode history -------------------------------------------------------------------


def mode_snapshot_record(*, today: date | None = None) -> ModeSnapshot:
    """Record (or refresh) today's counts of customers per personalization mode."""
    today = today or timezone.localdate()
    counts = mode_counts(today=today)
    snapshot, _created = ModeSnapshot.objects.update_or_create(day=today, defaults=counts)
    return snapshot


@transaction.atomic
def mode_snapshots_backfill(*, rows: Iterable[Mapping[str, Any]]) -> int:
    """Add past days' counts (the demo's history); a day already recorded keeps its row.

    Each row has `day`, `customers`, `on`, `paused`, `off` and `none`. Returns how many
    days were added.
    """
    snapshots = [ModeSnapshot(**row) for row in rows]
    if not snapshots:
        return 0
    before = ModeSnapshot.objects.filter(day__in=[s.day for s in snapshots]).count()
    # ignore_conflicts on the unique day: a second seed (or a real snapshot) wins.
    ModeSnapshot.objects.bulk_create(snapshots, ignore_conflicts=True, batch_size=500)
    after = ModeSnapshot.objects.filter(day__in=[s.day for s in snapshots]).count()
    return after - before
