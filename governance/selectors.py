"""Reads other apps obey (is personalization paused, is a feature on, has this person read
the policy) and the reads of the owner's governance pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Avg, Count, Prefetch, Q
from django.utils import timezone

from accounts.models import CustomerProfile, PersonalizationMode, User
from accounts.roles import Role
from core import sql
from governance.features import BUILTIN_CODES
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


@dataclass(frozen=True)
class KillSwitchState:
    engaged: bool
    reason: str = ""
    since: datetime | None = None
    actor_id: int | None = None


# The switch stands as its newest event says; before any event it is off. Plain SQL reads
# (serving a list, decision 27) embed `kill_switch_sql()`, built from the same ordering.
KILL_SWITCH_NEWEST = ("-at", "-pk")


def kill_switch_sql() -> str:
    """Is personalization paused? As one SQL expression (true or false, never NULL)."""
    engaged = sql.column(KillSwitchEvent, "engaged")
    newest = sql.order_by(KillSwitchEvent, KILL_SWITCH_NEWEST)
    return (  # names from the models' metadata; no value is interpolated
        f"COALESCE((SELECT {engaged} FROM {sql.table(KillSwitchEvent)} "  # noqa: S608
        f"ORDER BY {newest} LIMIT 1), FALSE)"
    )


def kill_switch_state() -> KillSwitchState:
    """The switch as it stands now (one query): engaged means every channel serves the
    non-personalized list and campaigns stop."""
    last = KillSwitchEvent.objects.order_by(*KILL_SWITCH_NEWEST).first()
    if last is None:
        return KillSwitchState(engaged=False)
    return KillSwitchState(
        engaged=last.engaged, reason=last.reason, since=last.at, actor_id=last.actor_id
    )


def kill_switch_engaged() -> bool:
    return kill_switch_state().engaged


def ai_policy_current() -> AIPolicy | None:
    """The newest published version, or None before the owner published one."""
    return AIPolicy.objects.filter(published_at__isnull=False).order_by("-version").first()


def ai_policy_unacknowledged(*, user) -> AIPolicy | None:
    """The current policy if this person has not acknowledged it yet, else None.

    Review decisions wait for it; with no published policy nothing is required.
    """
    policy = ai_policy_current()
    if policy is None:
        return None
    if PolicyAcknowledgement.objects.filter(policy=policy, user=user).exists():
        return None
    return policy


def kill_switch_log(*, limit: int = 50) -> list[KillSwitchEvent]:
    return list(KillSwitchEvent.objects.select_related("actor").order_by("-at", "-pk")[:limit])


# --- AI policy ----------------------------------------------------------------------


def ai_policy_versions() -> list[AIPolicy]:
    """Published versions, newest first, each with its acknowledgements (by whom, when)."""
    return list(
        AIPolicy.objects.filter(published_at__isnull=False)
        .select_related("created_by")
        .prefetch_related(
            Prefetch(
                "acknowledgements",
                queryset=PolicyAcknowledgement.objects.select_related("user").order_by("at"),
            )
        )
        .order_by("-version")
    )


def staff_members() -> list[User]:
    """Everyone who can decide review items: staff and owners."""
    return list(
        User.objects.filter(is_active=True, groups__name__in=[Role.STAFF.value, Role.OWNER.value])
        .distinct()
        .order_by("email")
    )


def ai_policy_not_acknowledged_by() -> list[User]:
    """Staff and owners who have not acknowledged the current version yet."""
    policy = ai_policy_current()
    if policy is None:
        return []
    done = set(policy.acknowledgements.values_list("user_id", flat=True))
    return [user for user in staff_members() if user.pk not in done]


# --- Risk gate ----------------------------------------------------------------------


def feature_enabled_sql(name: str) -> str:
    """May the feature whose code is the parameter `%(name)s` run now? As one SQL
    expression (true or false, never NULL); pass `feature_params(name, code)` with it.

    Built-in features without a row count as on (see governance/features.py); any
    other unknown code is off. The kill switch is a separate check."""
    enabled = sql.column(PersonalizationFeature, "enabled")
    code = sql.column(PersonalizationFeature, "code")
    return (  # names from the models' metadata; the code is a parameter
        f"COALESCE((SELECT {enabled} FROM {sql.table(PersonalizationFeature)} "  # noqa: S608
        f"WHERE {code} = %({name})s), %({name}_builtin)s)"
    )


def feature_params(name: str, code: str) -> dict[str, Any]:
    return {name: code, f"{name}_builtin": code in BUILTIN_CODES}


def feature_enabled(code: str) -> bool:
    """May this personalization feature run now? One query (`feature_enabled_sql`)."""
    with sql.cursor() as cursor:
        cursor.execute(f"SELECT {feature_enabled_sql('f')}", feature_params("f", code))
        return bool(cursor.fetchone()[0])


def assessment_approved(*, feature: PersonalizationFeature) -> RiskAssessment | None:
    return feature.assessments.filter(status=RiskAssessment.Status.APPROVED).first()


def assessment_covers(
    *, assessment: RiskAssessment | None, feature: PersonalizationFeature
) -> bool:
    """Does this assessment cover what the feature uses now (categories, model type)?"""
    if assessment is None:
        return False
    return (
        set(feature.data_categories) <= set(assessment.data_categories)
        and feature.model_type == assessment.model_type
    )


@dataclass(frozen=True)
class FeatureRow:
    feature: PersonalizationFeature
    approved: RiskAssessment | None
    draft: RiskAssessment | None
    # May it be switched on: an approved assessment covering what it uses.
    can_enable: bool


def features_overview() -> list[FeatureRow]:
    features = PersonalizationFeature.objects.prefetch_related(
        Prefetch(
            "assessments",
            queryset=RiskAssessment.objects.exclude(status=RiskAssessment.Status.SUPERSEDED)
            .select_related("approved_by", "created_by")
            .order_by("-version"),
        )
    ).order_by("pk")
    rows = []
    for feature in features:
        live = list(feature.assessments.all())
        approved = next((a for a in live if a.status == RiskAssessment.Status.APPROVED), None)
        draft = next((a for a in live if a.status == RiskAssessment.Status.DRAFT), None)
        rows.append(
            FeatureRow(
                feature=feature,
                approved=approved,
                draft=draft,
                can_enable=assessment_covers(assessment=approved, feature=feature),
            )
        )
    return rows


def feature_by_code(code: str) -> PersonalizationFeature | None:
    return PersonalizationFeature.objects.filter(code=code).first()


def feature_assessments(*, feature: PersonalizationFeature) -> list[RiskAssessment]:
    return list(
        feature.assessments.select_related("created_by", "approved_by").order_by("-version")
    )


def feature_log(*, feature: PersonalizationFeature | None = None, limit: int = 100):
    events = FeatureEvent.objects.select_related("feature", "assessment", "actor")
    if feature is not None:
        events = events.filter(feature=feature)
    return list(events.order_by("-at", "-pk")[:limit])


# --- Vendors ------------------------------------------------------------------------


def vendors() -> list[Vendor]:
    return list(Vendor.objects.order_by("next_review", "name"))


def vendors_review_overdue(*, today: date | None = None) -> list[Vendor]:
    today = today or timezone.localdate()
    return list(Vendor.objects.filter(next_review__lt=today).order_by("next_review", "name"))


# --- Trust survey -------------------------------------------------------------------


def survey_period(day: date) -> date:
    """The calendar quarter `day` falls in, as its first day."""
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def trust_answer_current(*, customer, today: date | None = None) -> TrustSurveyAnswer | None:
    period = survey_period(today or timezone.localdate())
    return TrustSurveyAnswer.objects.filter(customer=customer, period=period).first()


@dataclass(frozen=True)
class SurveyPeriod:
    period: date
    answers: int
    average: float | None
    # Answers per score 1..5.
    distribution: tuple[int, ...]


def trust_survey_results() -> list[SurveyPeriod]:
    """Per quarter, oldest first: how many answered, the average, the spread 1-5."""
    rows = (
        TrustSurveyAnswer.objects.values("period")
        .annotate(
            answers=Count("pk"),
            average=Avg("score"),
            **{f"s{n}": Count("pk", filter=Q(score=n)) for n in range(1, 6)},
        )
        .order_by("period")
    )
    rows_: list[dict[str, Any]] = list(rows)  # type: ignore[arg-type]
    return [
        SurveyPeriod(
            period=row["period"],
            answers=row["answers"],
            average=float(row["average"]) if row["average"] is not None else None,
            distribution=tuple(row[f"s{n}"] for n in range(1, 6)),
        )
        for row in rows_
    ]


def trust_survey_comments() -> list[str]:
    return list(TrustSurveyAnswer.objects.exclude(comment="").values_list("comment", flat=True))


# --- Mode history -------------------------------------------------------------------


def mode_counts(*, today: date | None = None) -> dict[str, int]:
    """Customers per personalization mode in force today (a pause past its date is on)."""
    today = today or timezone.localdate()
    on = Q(personalization_mode=PersonalizationMode.ON) | Q(
        personalization_mode=PersonalizationMode.PAUSED, paused_until__lt=today
    )
    return CustomerProfile.objects.aggregate(
        customers=Count("pk"),
        on=Count("pk", filter=on),
        paused=Count(
            "pk",
            filter=Q(personalization_mode=PersonalizationMode.PAUSED, paused_until__gte=today),
        ),
        off=Count("pk", filter=Q(personalization_mode=PersonalizationMode.OFF)),
        none=Count("pk", filter=Q(personalization_mode=PersonalizationMode.NONE)),
    )


def mode_snapshots_by_month(*, months: list[date]) -> list[ModeSnapshot | None]:
    """For each month (its first day), the last snapshot taken in it, or None."""
    if not months:
        return []
    rows = ModeSnapshot.objects.filter(day__gte=months[0]).order_by("day")
    last: dict[tuple[int, int], ModeSnapshot] = {}
    for row in rows:
        last[(row.day.year, row.day.month)] = row
    return [last.get((month.year, month.month)) for month in months]


def features_on_install_baseline() -> list[PersonalizationFeature]:
    """Features whose approved risk assessment is still the one the installation wrote
    (signed off by nobody): the owner has not reviewed the risks for this shop yet."""
    return list(
        PersonalizationFeature.objects.filter(
            assessments__status=RiskAssessment.Status.APPROVED,
            assessments__approved_by__isnull=True,
        )
        .distinct()
        .order_by("pk")
    )
