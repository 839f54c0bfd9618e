"""Erasure follows every relation to the customer, keeps only the proof, and is safe to
run again; a relation nobody classified stops it before anything changes."""

import io
import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import models
from django.db.models import Max
from django.db.models.functions import Cast
from django.utils import timezone

from accounts.models import AuditAttribute, CustomerProfile, User
from accounts.roles import Role
from personalization.consent.services import ConsentChange, consent_set
from personalization.datarights import erasure, export, services, tasks
from personalization.datarights.erasure import (
    ERASURE_POLICY,
    Action,
    ErasurePolicyError,
    erasure_plan,
)
from personalization.datarights.relations import CUSTOMER, USER, Relation, customer_relations
from personalization.models import (
    ConsentEvent,
    DataRequest,
    DataRequestEvent,
    Interaction,
    Item,
    PrivacyNotice,
)
from tests.factories import InteractionFactory

pytestmark = pytest.mark.django_db

EMAIL = "erase-me-7f3a@example.com"
EXTERNAL_ID = "ERASE-ME-7F3A"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def person(make_user):
    user = make_user(Role.CUSTOMER, email=EMAIL)
    profile = CustomerProfile.objects.get(user=user)
    profile.external_id = EXTERNAL_ID
    profile.save()
    return user, profile


def grant(customer, purpose, category, granted=True):
    consent_set(
        customer=customer,
        changes=[ConsentChange(purpose, category, granted)],
        method="ui",
        actor="customer",
        notice_version=1,
    )


def due_erasure(profile) -> DataRequest:
    request = services.data_request_create(customer=profile, kind="erasure")
    DataRequest.objects.filter(pk=request.pk).update(not_before=timezone.now())
    return request


def run_due_erasures(capture):
    with capture(execute=True):
        services.erasures_start_due()


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after it runs, not even `except Exception`."""


def verify_ledger() -> int:
    try:
        call_command("verify_consent_ledger", stdout=io.StringIO(), stderr=io.StringIO())
    except SystemExit as exc:
        assert isinstance(exc.code, int), exc.code
        return exc.code
    return 0


# --- one row in every table that points at the customer ------------------------------

# Rows that need more than required fields filled in. Any other relation gets a row
# built from its model's fields (see `generic_row`); if that is not possible the test
# fails and asks for a builder here.
BUILDERS = {
    "accounts.AuditAttribute.customer": lambda c, u: AuditAttribute.objects.create(
        customer=c, name="age_band", value="30-39", source="customer", declared_at=timezone.now()
    ),
    "personalization.Interaction.customer": lambda c, u: InteractionFactory(customer=c),
    "personalization.Consent.customer": lambda c, u: grant(c, "marketing", "purchase_history"),
    "personalization.ConsentEvent.customer": lambda c, u: grant(
        c, "personalization", "browsing_history"
    ),
    # the erasure request itself refers to the customer; an earlier export too
    "personalization.DataRequest.customer": lambda c, u: _finished_export(c),
    "accounts.CustomerProfile.user": lambda c, u: None,
    "account.EmailAddress.user": lambda c, u: EmailAddress.objects.create(
        user=u, email=u.email, verified=True, primary=True
    ),
    "admin.LogEntry.user": lambda c, u: LogEntry.objects.create(
        user=u,
        content_type=ContentType.objects.get_for_model(Item),
        object_id="1",
        object_repr="an item",
        action_flag=ADDITION,
    ),
    "personalization.DataRequestEvent.actor": lambda c, u: DataRequestEvent.objects.create(
        request=_finished_export(c), at=timezone.now(), actor=u, action="note", note="hi"
    ),
    # Notices are numbered: a draft takes the next number (version 1 is published by
    # the first consent recorded with it).
    "personalization.PrivacyNotice.created_by": lambda c, u: PrivacyNotice.objects.create(
        version=(PrivacyNotice.objects.aggregate(n=Max("version"))["n"] or 0) + 1,
        status=PrivacyNotice.Status.DRAFT,
        title="x",
        body="x",
        ai_statement="x",
        created_by=u,
    ),
    # Assessments are numbered per feature: each gets a feature of its own.
    "governance.RiskAssessment.created_by": lambda c, u: _assessment(created_by=u),
    "governance.RiskAssessment.approved_by": lambda c, u: _assessment(approved_by=u),
}


def _assessment(**people):
    from governance.models import PersonalizationFeature, RiskAssessment

    feature = PersonalizationFeature.objects.create(code=f"erasure_{next(_serial)}", name="x")
    texts = {name: "x" for name in ("people_affected", "harm_bias", "harm_manipulation")}
    texts |= {name: "x" for name in ("harm_filter_bubble", "harm_privacy", "mitigations")}
    return RiskAssessment.objects.create(feature=feature, version=1, **texts, **people)


def _finished_export(customer) -> DataRequest:
    request = services.data_request_create(customer=customer, kind="export")
    services.export_run(request_id=request.pk)
    request.refresh_from_db()
    assert request.export_file
    return request


_serial = itertools.count(1)


def _required_value(field: models.Field, depth: int):
    if field.choices:
        return field.choices[0][0]
    if field.is_relation:
        related = field.related_model
        assert isinstance(related, type), f"{field} has no model to point at"
        existing = related._default_manager.first()
        return existing or build_row(related, depth=depth + 1)
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, models.DateTimeField):
        return timezone.now()
    if isinstance(field, models.DateField):
        return timezone.localdate()
    if isinstance(field, models.DecimalField):
        return Decimal("1")
    if isinstance(field, models.IntegerField | models.FloatField):
        return 1
    if isinstance(field, models.JSONField):
        return {}
    if isinstance(field, models.CharField | models.TextField):
        value = f"{field.name}-{next(_serial)}"
        return value[-field.max_length :] if field.max_length else value
    pytest.fail(f"cannot fill {field.model._meta.label}.{field.name}: add a builder in BUILDERS")


def build_row(model, *, link: tuple[str, object] | None = None, depth: int = 0):
    """A row of `model` with only its required fields filled; `link` = (field, subject)."""
    if depth > 3:
        pytest.fail(f"cannot build a {model._meta.label} row: add a builder in BUILDERS")
    values = {}
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        if link is not None and field.name == link[0]:
            values[field.name] = link[1]
        elif not (
            field.null
            or field.has_default()
            or getattr(field, "auto_now", False)
            or getattr(field, "auto_now_add", False)
        ):
            values[field.name] = _required_value(field, depth)
    return model._default_manager.create(**values)


def generic_row(relation: Relation, customer, user):
    """A row for a relation the test has no builder for (e.g. a model added later)."""
    subject = customer if relation.subject == CUSTOMER else user
    if relation.many_to_many:
        owner = build_row(relation.model)
        getattr(owner, relation.field_name).add(subject)
        return owner
    return build_row(relation.model, link=(relation.field_name, subject))


def fill_every_relation(customer, user):
    for relation in customer_relations():
        builder = BUILDERS.get(relation.key)
        if builder is not None:
            builder(customer, user)
        else:
            generic_row(relation, customer, user)


def referring_rows(relation: Relation, subject_pk) -> int:
    field = relation.model._meta.get_field(relation.field_name)
    if relation.many_to_many:
        assert isinstance(field, models.ManyToManyField), field
        through = field.remote_field.through
        assert through is not None, field
        return through._default_manager.filter(
            **{f"{field.m2m_reverse_field_name()}_id": subject_pk}
        ).count()
    assert isinstance(field, models.Field), field
    return relation.model._default_manager.filter(**{field.attname: subject_pk}).count()


def rows_mentioning(text: str) -> list[str]:
    """Every table and text column anywhere that still contains `text`."""
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.CharField | models.TextField):
                hits = model._default_manager.filter(**{f"{field.name}__icontains": text})
            elif isinstance(field, models.JSONField):
                hits = model._default_manager.annotate(
                    _as_text=Cast(field.name, models.TextField())
                ).filter(_as_text__icontains=text)
            else:
                continue
            if hits.exists():
                found.append(f"{model._meta.label}.{field.name}")
    return found


def test_erasure_leaves_nothing_that_refers_to_the_customer_but_the_proof(
    person, django_capture_on_commit_callbacks
):
    user, profile = person
    # given a row in every table that points at the customer or her login
    fill_every_relation(profile, user)
    request = due_erasure(profile)
    relations = customer_relations()
    for relation in relations:
        subject_pk = profile.pk if relation.subject == CUSTOMER else user.pk
        assert referring_rows(relation, subject_pk) >= 1 or relation.key in {
            "accounts.CustomerProfile.user"
        }, f"the test made no row for {relation.key}"
    proof_events = set(ConsentEvent.objects.filter(customer=profile).values_list("pk", flat=True))
    proof_requests = set(DataRequest.objects.filter(customer=profile).values_list("pk", flat=True))
    export_files = [
        export.export_path(r.export_file)
        for r in DataRequest.objects.filter(customer=profile).exclude(export_file="")
    ]
    assert export_files and all(path.exists() for path in export_files)

    # when the erasure runs
    run_due_erasures(django_capture_on_commit_callbacks)

    # then no row anywhere points at her profile or her login
    request.refresh_from_db()
    assert request.status == "completed", request.failure
    for relation in relations:
        subject_pk = profile.pk if relation.subject == CUSTOMER else user.pk
        assert referring_rows(relation, subject_pk) == 0, relation.key
    assert not CustomerProfile.objects.filter(pk=profile.pk).exists()
    assert not User.objects.filter(pk=user.pk).exists()
    assert not EmailAddress.objects.filter(email=EMAIL).exists()
    # and no text anywhere still names her
    assert rows_mentioning(EMAIL) == []
    assert rows_mentioning(EXTERNAL_ID) == []
    assert not any(path.exists() for path in export_files)

    # only the proof is kept: her requests and the ledger's entries, by number
    kept_requests = DataRequest.objects.filter(pk__in=proof_requests)
    assert kept_requests.count() == len(proof_requests)
    assert set(kept_requests.values_list("customer_ref", flat=True)) == {profile.pk}
    assert set(kept_requests.values_list("export_file", flat=True)) == {""}
    assert request.events.filter(action="completed").exists()
    ledger = ConsentEvent.objects.filter(customer_ref=profile.pk)
    assert proof_events <= set(ledger.values_list("pk", flat=True))
    assert not ledger.filter(customer__isnull=False).exists()
    # every consent she had granted is withdrawn on the ledger, by erasure
    withdrawn = ledger.filter(method="erasure")
    assert {(e.purpose, e.data_category, e.granted) for e in withdrawn} == {
        ("marketing", "purchase_history", False),
        ("personalization", "browsing_history", False),
    }
    assert verify_ledger() == 0
    # what was done is recorded, in counts only
    assert request.outcome["rows"]["personalization.Interaction"] >= 1
    assert request.outcome["rows"]["consent withdrawals recorded"] == 2


def test_every_relation_to_the_customer_is_classified_and_every_rule_is_used():
    keys = {relation.key for relation in customer_relations()}
    unclassified = sorted(keys - ERASURE_POLICY.keys())
    assert unclassified == [], (
        "erasure does not know what to do with these; add each to ERASURE_POLICY"
    )
    assert erasure_plan()  # no error


def test_an_unclassified_relation_stops_erasure_before_anything_changes():
    fake = [
        *customer_relations(),
        Relation(
            model=Item, field_name="bought_by", subject=CUSTOMER, many_to_many=False, nullable=False
        ),
        Relation(model=Item, field_name="fans", subject=USER, many_to_many=True, nullable=False),
    ]
    with pytest.raises(ErasurePolicyError) as error:
        erasure_plan(fake)
    message = str(error.value)
    assert "personalization.Item.bought_by has no erasure rule" in message
    assert "personalization.Item.fans has no erasure rule" in message
    assert "ERASURE_POLICY" in message


def test_keeping_a_row_whose_link_cannot_be_emptied_is_refused():
    relation = Relation(
        model=Item, field_name="bought_by", subject=CUSTOMER, many_to_many=False, nullable=False
    )
    with pytest.raises(ErasurePolicyError, match="cannot be emptied"):
        erasure_plan([relation], {relation.key: Action.KEEP_AS_PROOF})
    assert erasure_plan([relation], {relation.key: Action.DELETE})[0].action is Action.DELETE


def test_an_unclassified_model_fails_the_request_where_staff_see_it_and_changes_nothing(
    person, monkeypatch, django_capture_on_commit_callbacks
):
    user, profile = person
    InteractionFactory.create_batch(3, customer=profile)
    grant(profile, "marketing", "purchase_history")
    request = due_erasure(profile)
    ledger_before = ConsentEvent.objects.count()
    # a model added later that nobody classified
    monkeypatch.delitem(ERASURE_POLICY, "personalization.Interaction.customer")

    run_due_erasures(django_capture_on_commit_callbacks)

    request.refresh_from_db()
    assert request.status == "failed"
    assert "personalization.Interaction.customer has no erasure rule" in request.failure
    assert request.events.filter(action="failed").exists()
    assert Interaction.objects.filter(customer=profile).count() == 3
    assert ConsentEvent.objects.count() == ledger_before
    assert CustomerProfile.objects.filter(pk=profile.pk).exists()


def test_running_erasure_again_does_no_harm(person, django_capture_on_commit_callbacks):
    user, profile = person
    InteractionFactory.create_batch(2, customer=profile)
    request = due_erasure(profile)
    run_due_erasures(django_capture_on_commit_callbacks)
    request.refresh_from_db()
    outcome, events = request.outcome, request.events.count()

    # a redelivered message, or a worker re-running it
    tasks.erasure_run.delay(request.pk)
    services.erasure_run(request_id=request.pk)

    request.refresh_from_db()
    assert request.status == "completed"
    assert request.outcome == outcome
    assert request.events.count() == events


def test_a_half_done_erasure_whose_worker_died_is_requeued_and_completed(
    person, django_capture_on_commit_callbacks
):
    user, profile = person
    InteractionFactory.create_batch(7, customer=profile)
    grant(profile, "marketing", "purchase_history")
    request = due_erasure(profile)
    services.erasures_start_due()  # queued; the worker takes it...
    # ...erases its first chunk of 3 and is killed while on the second
    plan = erasure_plan()
    services._begin(request.pk, services.Kind.ERASURE, ("pending",))
    chunks = []

    def killed_during_second_chunk(counts):
        chunks.append(counts)
        if len(chunks) == 2:
            raise WorkerKilled

    with pytest.raises(WorkerKilled):
        erasure.erase_related_rows(
            plan=plan,
            customer=profile,
            user=user,
            on_chunk=killed_during_second_chunk,
            chunk_size=3,
        )
    request.refresh_from_db()
    assert request.status == "in_progress"
    # the first chunk stayed erased, the second was rolled back
    assert Interaction.objects.filter(customer=profile).count() == 4

    # beat finds it stuck (no event for a while) and queues it again
    DataRequestEvent.objects.filter(request=request).update(
        at=timezone.now() - services.STUCK_AFTER - timedelta(minutes=1)
    )
    assert services.data_requests_stuck() == [request.pk]
    with django_capture_on_commit_callbacks(execute=True):
        tasks.requests_dispatch.delay()

    request.refresh_from_db()
    assert request.status == "completed"
    assert [e.action for e in request.events.all()][-3:] == ["requeued", "resumed", "completed"]
    assert not Interaction.objects.filter(customer_id=profile.pk).exists()
    assert not CustomerProfile.objects.filter(pk=profile.pk).exists()


def test_erasure_closes_the_customers_other_open_requests(
    person, django_capture_on_commit_callbacks
):
    user, profile = person
    pending_export = services.data_request_create(customer=profile, kind="export")
    request = due_erasure(profile)

    run_due_erasures(django_capture_on_commit_callbacks)

    pending_export.refresh_from_db()
    assert pending_export.status == "cancelled"
    assert pending_export.events.filter(action="superseded").exists()
    # its queued task then finds nothing to do
    services.export_run(request_id=pending_export.pk)
    pending_export.refresh_from_db()
    assert pending_export.status == "cancelled"
    request.refresh_from_db()
    assert request.status == "completed"


def test_a_customer_without_login_is_erased_too(django_capture_on_commit_callbacks):
    profile = CustomerProfile.objects.create(external_id="SHOP-ONLY", email="shop@example.com")
    InteractionFactory(customer=profile)
    request = due_erasure(profile)

    run_due_erasures(django_capture_on_commit_callbacks)

    request.refresh_from_db()
    assert request.status == "completed"
    assert not CustomerProfile.objects.filter(pk=profile.pk).exists()
    assert rows_mentioning("shop@example.com") == []
