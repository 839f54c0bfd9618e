"""What erasure does to every table that refers to a customer, and the steps doing it.

Every relation found by `relations.customer_relations()` must be classified in
`ERASURE_POLICY`; an unclassified one stops erasure before anything is changed (and
fails the completeness test), so a model added later cannot silently keep a customer's
data after they asked for it to be erased.

Rows are removed in chunks of `CHUNK_SIZE`, each chunk in its own transaction, so a
worker killed in the middle leaves the customer partially erased but consistent, and
the request re-runnable: every step only removes what is still there. The customer's
profile, login and the request's completion are written together in one last
transaction, so a request is never "completed" while any data is left.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import cast

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction

from accounts.models import CustomerProfile
from core.pause import pause_point
from personalization.datarights.relations import CUSTOMER, Relation, customer_relations

logger = logging.getLogger(__name__)

# Rows removed per transaction.
CHUNK_SIZE = 500

# Test-only hook (tests/personalization/test_erasure_worker.py): when this environment
# variable names a folder, the erasure task stops after its first committed chunk,
# writes `<folder>/paused` and waits for `<folder>/resume`, so a test can kill the
# worker at a known point. Read at run time; never set outside that test.
PAUSE_DIR_ENV = "FAIRSHARE_ERASURE_TEST_PAUSE_DIR"


class Action(StrEnum):
    # The rows go (for a many-to-many relation: the links to the customer go).
    DELETE = "delete"
    # The rows stay for the shop; their link to the person is removed.
    ANONYMIZE = "anonymize"
    # The rows stay as proof of what was asked and done (they keep `customer_ref`, a
    # bare number); their link to the person is removed.
    KEEP_AS_PROOF = "keep as proof"


# `app_label.Model.field` -> what erasure does to the rows that field links to the
# customer (or to the customer's login). Keep it in step with the models: the
# completeness test fails on any relation missing here.
ERASURE_POLICY: dict[str, Action] = {
    # Pointing at the customer profile.
    "accounts.AuditAttribute.customer": Action.DELETE,
    "personalization.Interaction.customer": Action.DELETE,
    "personalization.Consent.customer": Action.DELETE,
    "personalization.ConsentEvent.customer": Action.KEEP_AS_PROOF,
    "personalization.DataRequest.customer": Action.KEEP_AS_PROOF,
    "personalization.Recommendation.customer": Action.DELETE,
    "personalization.Feedback.customer": Action.DELETE,
    # Queue items about the customer's recommendations go with them; the review trail
    # (ReviewAction) keeps only the customer's bare number, as proof of the decisions.
    "personalization.ReviewItem.customer": Action.DELETE,
    # Pointing at the login.
    "accounts.CustomerProfile.user": Action.DELETE,
    "account.EmailAddress.user": Action.DELETE,
    # A login's second factors (TOTP secret, recovery codes) go with the login.
    "mfa.Authenticator.user": Action.DELETE,
    "admin.LogEntry.user": Action.DELETE,
    "personalization.DataRequestEvent.actor": Action.KEEP_AS_PROOF,
    "personalization.PrivacyNotice.created_by": Action.ANONYMIZE,
    "accounts.ApiKey.created_by": Action.ANONYMIZE,
    # Owners' uploads of shop data: the run and its report stay, who did it is unlinked.
    "personalization.ImportRun.created_by": Action.ANONYMIZE,
    "personalization.ImportRun.confirmed_by": Action.ANONYMIZE,
    # Reviewers (staff logins): the queue and its trail stay, the link to the person goes.
    # The trail is proof of who decided what; a customer login has no entries in it.
    "personalization.ReviewItem.claimed_by": Action.ANONYMIZE,
    "personalization.ReviewItem.decided_by": Action.ANONYMIZE,
    "personalization.ReviewItem.confirmed_by": Action.ANONYMIZE,
    "personalization.ReviewAction.actor": Action.KEEP_AS_PROOF,
    "governance.KillSwitchEvent.actor": Action.ANONYMIZE,
    "governance.AIPolicy.created_by": Action.ANONYMIZE,
    # Staff acknowledgements; a customer login has none, so nothing is lost.
    "governance.PolicyAcknowledgement.user": Action.DELETE,
    # Offer campaigns: who got which offer goes with the customer; the campaign stays.
    "campaigns.CampaignRecipient.customer": Action.DELETE,
    "campaigns.Campaign.created_by": Action.ANONYMIZE,
    "campaigns.Campaign.send_started_by": Action.ANONYMIZE,
    "campaigns.Campaign.stopped_by": Action.ANONYMIZE,
    # Risk gate records keep what was decided; the link to the person goes.
    "governance.RiskAssessment.created_by": Action.ANONYMIZE,
    "governance.RiskAssessment.approved_by": Action.ANONYMIZE,
    "governance.FeatureEvent.actor": Action.ANONYMIZE,
    # The customer's trust-survey answers (score and comment) are theirs: they go.
    "governance.TrustSurveyAnswer.customer": Action.DELETE,
    # Bias audits hold aggregates only; who ran an audit or handled a finding (owner
    # logins) is unlinked, the runs, findings and their history stay.
    "audits.AuditRun.requested_by": Action.ANONYMIZE,
    "audits.AuditFinding.acknowledged_by": Action.ANONYMIZE,
    "audits.AuditFinding.resolved_by": Action.ANONYMIZE,
    "audits.AuditFindingEvent.actor": Action.ANONYMIZE,
}


class ErasurePolicyError(Exception):
    """A relation to the customer that the erasure policy does not cover."""


@dataclass(frozen=True)
class Step:
    relation: Relation
    action: Action


def erasure_plan(
    relations: Iterable[Relation] | None = None,
    policy: dict[str, Action] | None = None,
) -> list[Step]:
    """Each relation with its action; raises ErasurePolicyError naming every gap.

    Checked before erasure changes anything.
    """
    relations = customer_relations() if relations is None else list(relations)
    policy = ERASURE_POLICY if policy is None else policy
    steps, problems = [], []
    for relation in relations:
        action = policy.get(relation.key)
        if action is None:
            problems.append(f"{relation.key} has no erasure rule")
        elif action is not Action.DELETE and not (relation.many_to_many or relation.nullable):
            problems.append(f"{relation.key} is '{action}' but the field cannot be emptied")
        else:
            steps.append(Step(relation, action))
    if problems:
        raise ErasurePolicyError(
            "Erasure stopped before changing anything: "
            + "; ".join(problems)
            + ". Classify each in ERASURE_POLICY (personalization/datarights/erasure.py)."
        )
    return steps


def _subject_of(relation: Relation, customer: CustomerProfile, user) -> models.Model | None:
    return customer if relation.subject == CUSTOMER else user


def _is_the_customer_record(step: Step) -> bool:
    # The profile's own link to its login: the profile goes in the last step.
    return step.relation.model is CustomerProfile


def _unlink_many_to_many(relation: Relation, subject: models.Model) -> dict[str, int]:
    field = cast(models.ManyToManyField, relation.model._meta.get_field(relation.field_name))
    through = cast(type[models.Model], field.remote_field.through)
    _, counts = through._default_manager.filter(
        **{field.m2m_reverse_field_name(): subject}
    ).delete()
    return counts


def erase_related_rows(
    *,
    plan: list[Step],
    customer: CustomerProfile,
    user,
    on_chunk: Callable[[dict[str, int]], None],
    chunk_size: int = CHUNK_SIZE,
) -> None:
    """Delete and anonymize what refers to the customer, one committed chunk at a time.

    `on_chunk(counts)` runs inside each chunk's transaction with the rows changed per
    model, so progress recorded there is exactly what was committed. Rows kept as
    proof are left linked: the request needs its customer until the last step.
    """
    paused = False
    for step in plan:
        subject = _subject_of(step.relation, customer, user)
        if subject is None or _is_the_customer_record(step):
            continue
        if step.action is Action.KEEP_AS_PROOF:
            continue
        if step.relation.many_to_many:
            with transaction.atomic():
                on_chunk(_unlink_many_to_many(step.relation, subject))
            continue
        if step.action is Action.ANONYMIZE:
            with transaction.atomic():
                changed = step.relation.rows_of(subject).update(**{step.relation.field_name: None})
                on_chunk({f"{step.relation.model._meta.label} (anonymized)": changed})
            continue
        manager = step.relation.model._default_manager
        while True:
            with transaction.atomic():
                ids = list(
                    step.relation.rows_of(subject)
                    .order_by("pk")
                    .values_list("pk", flat=True)[:chunk_size]
                )
                if not ids:
                    break
                _, counts = manager.filter(pk__in=ids).delete()
                on_chunk(counts)
            if not paused:
                paused = True
                pause_point(PAUSE_DIR_ENV)


def erase_subject(*, plan: list[Step], customer: CustomerProfile, user) -> dict[str, int]:
    """The last step, inside the caller's transaction: unlink the proof, remove the rest.

    Anything that arrived since the chunks ran (an event imported meanwhile) is removed
    here too. Returns the rows changed per model.
    """
    counts: dict[str, int] = {}

    def add(found: dict[str, int]) -> None:
        for label, n in found.items():
            if n:
                counts[label] = counts.get(label, 0) + n

    for step in plan:
        subject = _subject_of(step.relation, customer, user)
        if subject is None or _is_the_customer_record(step):
            continue
        if step.relation.many_to_many:
            add(_unlink_many_to_many(step.relation, subject))
        elif step.action is Action.DELETE:
            add(step.relation.rows_of(subject).delete()[1])
        else:
            suffix = " (kept as proof)" if step.action is Action.KEEP_AS_PROOF else " (anonymized)"
            changed = step.relation.rows_of(subject).update(**{step.relation.field_name: None})
            add({f"{step.relation.model._meta.label}{suffix}": changed})
    # The admin's change log names records by their text; entries about this
    # customer's records go with them.
    for record in (customer, user):
        if record is not None:
            add(
                LogEntry.objects.filter(
                    content_type=ContentType.objects.get_for_model(type(record)),
                    object_id=str(record.pk),
                ).delete()[1]
            )
    add(CustomerProfile.objects.filter(pk=customer.pk).delete()[1])
    if user is not None:
        add(type(user)._default_manager.filter(pk=user.pk).delete()[1])
    return counts
