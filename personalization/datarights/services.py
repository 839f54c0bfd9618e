"""Writes for data requests (export, erasure, objection) and retention.

Every step of a request is logged as a DataRequestEvent and mailed to the customer.
Tasks call the `*_run` services with a request id; each takes the request's row lock
and checks its status first, so running one twice (a retry, a redelivered message,
the beat re-queueing a stuck request) does no harm.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import AuditAttribute, CustomerProfile, PersonalizationMode, User
from accounts.services import customer_profile_lock, customer_profile_set_mode
from core.enqueue import enqueue_on_commit
from core.errors import ApplicationError
from personalization import registry
from personalization.consent.locking import atomic_retrying, consent_lock
from personalization.consent.services import ConsentChange, RequestFingerprint, consent_set
from personalization.datarights import emails, erasure, export
from personalization.datarights.selectors import OPEN_STATUSES, one_month_after
from personalization.models import (
    Consent,
    ConsentMethod,
    DataCategory,
    DataRequest,
    DataRequestEvent,
    DataRequestKind,
    DataRequestStatus,
    Interaction,
    RetentionRun,
    WebhookEvent,
)
from personalization.unlearning.services import model_forget_customer
from personalization.webhooks.services import webhooks_emit

logger = logging.getLogger(__name__)

Status = DataRequestStatus
Kind = DataRequestKind

# A request queued or in progress with no event for this long is re-queued by beat,
# every minute (its worker was killed, its message lost or never sent because the broker
# was down). Running it twice is harmless, so a few minutes is enough.
STUCK_AFTER = timedelta(minutes=3)
RETENTION_DAYS_MIN, RETENTION_DAYS_MAX = 1, 3650
RETENTION_CHUNK = 5000

# Event actions (DataRequestEvent.action); the pages show them in words.
RECEIVED = "received"
QUEUED = "queued"
STARTED = "started"
RESUMED = "resumed"
REQUEUED = "requeued"
COMPLETED = "completed"
CANCELLED = "cancelled"
FAILED = "failed"
RETRIED = "retried"
NOTE = "note"
HANDLED = "handled"
EXPORT_DELETED = "export_deleted"
SUPERSEDED = "superseded"


def _log(
    request: DataRequest, action: str, *, actor: User | None = None, note: str = ""
) -> DataRequestEvent:
    return DataRequestEvent.objects.create(
        request=request,
        at=timezone.now(),
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        note=note,
    )


def _enqueue_on_commit(request: DataRequest) -> None:
    from personalization.datarights import tasks

    task = tasks.export_build if request.kind == Kind.EXPORT else tasks.erasure_run
    # Broker down: the request stays pending and beat's dispatch queues it again.
    enqueue_on_commit(task, request.pk)


def _locked_or_none(request_id: int) -> DataRequest | None:
    return DataRequest.objects.select_for_update().filter(pk=request_id).first()


def _locked(request_id: int) -> DataRequest:
    return DataRequest.objects.select_for_update().get(pk=request_id)


def _erasure_window() -> timedelta:
    return timedelta(minutes=settings.ERASURE_CANCEL_WINDOW_MINUTES)


# --- Customers' requests -------------------------------------------------------------


def _objection_in_force(customer: CustomerProfile) -> bool:
    """An earlier objection still holds: personalization off, no offer emails allowed."""
    return (
        customer.personalization_mode == PersonalizationMode.OFF
        and not Consent.objects.filter(
            customer=customer, purpose=registry.MARKETING, granted=True
        ).exists()
        and DataRequest.objects.filter(
            customer=customer, kind=Kind.OBJECTION, status=Status.COMPLETED
        ).exists()
    )


@atomic_retrying
def data_request_create(
    *,
    customer: CustomerProfile,
    kind: str,
    actor: User | None = None,
    method: str = "ui",
    ledger_actor: str = "customer",
    fingerprint: RequestFingerprint | None = None,
) -> DataRequest:
    """Receive a customer's request: log it, mail the customer, start what starts now.

    Export: queued for a worker. Erasure: waits out the cancel window
    (ERASURE_CANCEL_WINDOW_MINUTES), then beat queues it. Objection to profiling:
    done at once (personalization off, offer emails withdrawn for every category).
    `ledger_actor` and `fingerprint` go on the consent ledger's entries. A request
    like one still open (or an objection that still holds) is refused. Its own
    transaction is tried again after a deadlock.
    """
    kind = Kind(kind)
    # One request at a time per customer: a double click must not make two. The
    # customer's row is the first lock of the one order (consent/locking.py), so the
    # second click waits here and then sees the first click's request.
    try:
        customer = customer_profile_lock(profile_id=customer.pk)
    except CustomerProfile.DoesNotExist:
        raise ApplicationError(
            _("This customer's data was erased."), code="customer_erased"
        ) from None
    if kind == Kind.OBJECTION and _objection_in_force(customer):
        raise ApplicationError(
            _(
                "You already objected to profiling: personalization is off and no offer "
                "emails are sent."
            ),
            code="already_requested",
            field="kind",
        )
    if kind in (Kind.EXPORT, Kind.ERASURE):
        open_same = DataRequest.objects.filter(
            customer=customer, kind=kind, status__in=OPEN_STATUSES
        ).exists()
        if open_same:
            message = {
                Kind.EXPORT: _("You already asked for a copy of your data; it is on its way."),
                Kind.ERASURE: _("You already asked for your data to be erased."),
            }[kind]
            raise ApplicationError(message, code="already_requested", field="kind")
    now = timezone.now()
    request = DataRequest.objects.create(
        customer=customer,
        customer_ref=customer.pk,
        kind=kind,
        status=Status.SCHEDULED if kind == Kind.ERASURE else Status.PENDING,
        method=method,
        requested_at=now,
        due_at=one_month_after(now),
        not_before=now + _erasure_window() if kind == Kind.ERASURE else None,
    )
    _log(request, RECEIVED, actor=actor)
    address = emails.customer_address(customer)
    if kind == Kind.OBJECTION:
        _objection_apply(
            request, customer=customer, ledger_actor=ledger_actor, fingerprint=fingerprint
        )
        emails.notify_on_commit(request, emails.COMPLETED, to=address)
        return request
    emails.notify_on_commit(request, emails.RECEIVED, to=address)
    if kind == Kind.EXPORT:
        _enqueue_on_commit(request)
    return request


def _objection_apply(
    request: DataRequest,
    *,
    customer: CustomerProfile,
    ledger_actor: str,
    fingerprint: RequestFingerprint | None,
) -> None:
    customer_profile_set_mode(profile=customer, mode=PersonalizationMode.OFF)
    withdrawn = consent_set(
        customer=customer,
        changes=[
            ConsentChange(registry.MARKETING, spec.code, False) for spec in registry.DATA_CATEGORIES
        ],
        method=ConsentMethod.OBJECTION,
        actor=ledger_actor,
        notice_version=customer.notice_version_seen,
        fingerprint=fingerprint,
    )
    now = timezone.now()
    request.status = Status.COMPLETED
    request.started_at = request.completed_at = now
    request.outcome = {"personalization": "off", "consent_events_recorded": len(withdrawn)}
    request.save(update_fields=["status", "started_at", "completed_at", "outcome"])
    _log(request, COMPLETED)


@transaction.atomic
def data_request_cancel(
    *, data_request: DataRequest, actor: User | None = None, now: datetime | None = None
) -> DataRequest:
    """Cancel an erasure inside its cancel window; refused once the window has passed."""
    now = now or timezone.now()
    request = _locked_or_none(data_request.pk)
    if request is None:
        raise ApplicationError(_("This request does not exist."), code="not_found")
    cancellable = (
        request.kind == Kind.ERASURE
        and request.status == Status.SCHEDULED
        and request.not_before is not None
        and now < request.not_before
    )
    if not cancellable:
        raise ApplicationError(
            _("This request can no longer be cancelled: it has already started or ended."),
            code="not_cancellable",
        )
    request.status = Status.CANCELLED
    request.completed_at = now
    request.save(update_fields=["status", "completed_at"])
    _log(request, CANCELLED, actor=actor)
    emails.notify_on_commit(request, emails.CANCELLED, to=emails.customer_address(request.customer))
    return request


# --- Beat: start erasures whose window passed, re-queue stuck requests ----------------


def erasures_start_due(*, now: datetime | None = None) -> list[int]:
    """Queue every erasure whose cancel window has ended. Returns their ids."""
    now = now or timezone.now()
    due = DataRequest.objects.filter(
        kind=Kind.ERASURE, status=Status.SCHEDULED, not_before__lte=now
    ).values_list("pk", flat=True)
    started = []
    for request_id in list(due):
        with transaction.atomic():
            request = _locked_or_none(request_id)
            # Cancelled since the list was read: leave it.
            if request is None or request.status != Status.SCHEDULED:
                continue
            request.status = Status.PENDING
            request.save(update_fields=["status"])
            _log(request, QUEUED)
            _enqueue_on_commit(request)
            started.append(request_id)
    return started


def data_requests_stuck(
    *, now: datetime | None = None, stuck_after: timedelta = STUCK_AFTER
) -> list[int]:
    """Exports and erasures queued or in progress with no event for `stuck_after`."""
    now = now or timezone.now()
    return list(
        DataRequest.objects.filter(
            kind__in=[Kind.EXPORT, Kind.ERASURE],
            status__in=[Status.PENDING, Status.IN_PROGRESS],
        )
        .annotate(last_event_at=Max("events__at"))
        .filter(last_event_at__lt=now - stuck_after)
        .values_list("pk", flat=True)
    )


def data_requests_requeue_stuck(
    *, now: datetime | None = None, stuck_after: timedelta = STUCK_AFTER
) -> list[int]:
    """Queue stuck requests again (logged); their work resumes where it stopped."""
    requeued = []
    for request_id in data_requests_stuck(now=now, stuck_after=stuck_after):
        with transaction.atomic():
            request = _locked_or_none(request_id)
            if request is None or request.status not in (Status.PENDING, Status.IN_PROGRESS):
                continue
            _log(request, REQUEUED, note=_("No progress for a while; queued again."))
            _enqueue_on_commit(request)
            requeued.append(request_id)
    return requeued


# --- Tasks' work -----------------------------------------------------------------------


def _begin(request_id: int, kind: Kind, runnable: tuple[str, ...]) -> DataRequest | None:
    """Take the request for this run: None when it is not (or no longer) to be run.

    A failed request runs again only after staff retry it (which queues it again).
    """
    with transaction.atomic():
        request = _locked_or_none(request_id)
        if request is None or request.kind != kind:
            logger.warning("data request %s: not a %s request", request_id, kind)
            return None
        if request.status not in runnable:
            logger.info("data request %s is %s; nothing to do", request_id, request.status)
            return None
        first = request.started_at is None
        request.status = Status.IN_PROGRESS
        request.started_at = request.started_at or timezone.now()
        request.failure = ""
        request.save(update_fields=["status", "started_at", "failure"])
        _log(request, STARTED if first else RESUMED)
        if first:
            emails.notify_on_commit(
                request, emails.STARTED, to=emails.customer_address(request.customer)
            )
        return request


def export_run(*, request_id: int) -> None:
    """Build the customer's ZIP and make it downloadable (the export task's work)."""
    request = _begin(request_id, Kind.EXPORT, (Status.PENDING, Status.IN_PROGRESS))
    if request is None:
        return
    customer = request.customer
    if customer is None:
        with transaction.atomic():
            request = _locked(request_id)
            request.status, request.completed_at = Status.CANCELLED, timezone.now()
            request.save(update_fields=["status", "completed_at"])
            _log(request, CANCELLED, note=_("The customer's data was erased meanwhile."))
        return
    relative = export.export_write(customer=customer)
    with transaction.atomic():
        request = _locked_or_none(request_id)
        if request is None or request.status != Status.IN_PROGRESS:
            # Finished by another run, or the customer was erased meanwhile.
            export.export_delete(relative)
            return
        old = request.export_file
        request.export_file = relative
        request.status = Status.COMPLETED
        request.completed_at = timezone.now()
        request.save(update_fields=["export_file", "status", "completed_at"])
        _log(request, COMPLETED)
        emails.notify_on_commit(
            request, emails.COMPLETED, to=emails.customer_address(request.customer)
        )
    if old and old != relative:
        export.export_delete(old)


def _record_progress(request_id: int, counts: dict[str, int]) -> None:
    """Add rows changed to the request's outcome, in the caller's transaction."""
    request = _locked(request_id)
    outcome = dict(request.outcome or {})
    removed = dict(outcome.get("rows", {}))
    for label, n in counts.items():
        if n:
            removed[label] = removed.get(label, 0) + n
    outcome["rows"] = removed
    request.outcome = outcome
    request.save(update_fields=["outcome"])


def erasure_run(*, request_id: int) -> None:
    """Erase or anonymize everything that refers to the customer (the erasure task).

    Order: (1) the policy covers every relation, or stop before changing anything;
    (2) every granted consent is withdrawn on the ledger (method "erasure"), so the
    ledger proves the withdrawal; (2b) the served recommendation model stops depending on
    their rows (unlearning, before the rows go); (3) export files go; (4) related rows go chunk by
    chunk, each chunk committed; (5) in one transaction: proof rows are unlinked, the
    profile and login are deleted and the request is completed. A run killed anywhere
    leaves the request in progress; running it again continues where it stopped.
    """
    # A model nobody classified stops erasure here, before anything is changed.
    plan = erasure.erasure_plan()
    request = _begin(request_id, Kind.ERASURE, (Status.PENDING, Status.IN_PROGRESS))
    if request is None:
        return
    customer = request.customer
    if customer is None:
        with transaction.atomic():
            request = _locked(request_id)
            request.status, request.completed_at = Status.COMPLETED, timezone.now()
            request.save(update_fields=["status", "completed_at"])
            _log(request, COMPLETED, note=_("Nothing was left to erase."))
        return
    user = customer.user
    address = emails.customer_address(customer)

    _erasure_withdraw_consent(request_id, customer)
    # Before any row goes: what the model holds is worked out from those rows.
    _erasure_forget_model(request_id, customer)

    exports = DataRequest.objects.filter(customer=customer).exclude(export_file="")
    for export_request in exports:
        with transaction.atomic():
            locked = _locked(export_request.pk)
            deleted = export.export_delete(locked.export_file)
            locked.export_file = ""
            locked.save(update_fields=["export_file"])
            _log(locked, EXPORT_DELETED, note=_("Deleted with the customer's data."))
            _record_progress(request_id, {"export files": int(deleted)})

    erasure.erase_related_rows(
        plan=plan,
        customer=customer,
        user=user,
        on_chunk=lambda counts: _record_progress(request_id, counts),
    )

    _erasure_finish(request_id, plan=plan, customer=customer, user=user, address=address)


@atomic_retrying
def _erasure_withdraw_consent(request_id: int, customer: CustomerProfile) -> None:
    """Step 2 of erasure: withdraw every granted consent on the ledger, in one transaction."""
    # Locks first, then the read: a "yes" saved meanwhile is withdrawn too.
    customer = consent_lock(customer_id=customer.pk)
    granted = Consent.objects.filter(customer=customer, granted=True).values_list(
        "purpose", "data_category"
    )
    withdrawn = consent_set(
        customer=customer,
        changes=[ConsentChange(purpose, category, False) for purpose, category in granted],
        method=ConsentMethod.ERASURE,
        actor="system",
        notice_version=customer.notice_version_seen,
    )
    _record_progress(request_id, {"consent withdrawals recorded": len(withdrawn)})


@atomic_retrying
def _erasure_forget_model(request_id: int, customer: CustomerProfile) -> None:
    """Step 2b of erasure: the served recommendation model stops depending on the
    customer's data (taken out of it exactly, or a retrain without it queued); the
    request records when, for the receipt."""
    forgotten = model_forget_customer(customer_ref=customer.pk, reason="erasure")
    request = _locked(request_id)
    outcome = dict(request.outcome or {})
    outcome["model"] = forgotten.method
    request.outcome = outcome
    if forgotten.at is not None and request.removed_from_model_at is None:
        request.removed_from_model_at = forgotten.at
    request.save(update_fields=["outcome", "removed_from_model_at"])


@atomic_retrying
def _erasure_finish(
    request_id: int,
    *,
    plan: list[erasure.Step],
    customer: CustomerProfile,
    user: User | None,
    address: str,
) -> None:
    """Step 5 of erasure: unlink the proof, delete the profile and login, complete."""
    external_id = customer.external_id
    # The customer's row first (the one lock order), for deleting it: a consent write
    # for this customer waits here, then finds the customer gone.
    try:
        customer_profile_lock(profile_id=customer.pk, for_delete=True)
    except CustomerProfile.DoesNotExist:
        pass
    request = _locked_or_none(request_id)
    if request is None or request.status != Status.IN_PROGRESS:
        return
    others = DataRequest.objects.select_for_update().filter(
        customer=customer, status__in=OPEN_STATUSES
    )
    for other in others.exclude(pk=request.pk):
        other.status, other.completed_at = Status.CANCELLED, timezone.now()
        other.save(update_fields=["status", "completed_at"])
        _log(other, SUPERSEDED, note=_("The customer's data was erased."))
    _record_progress(request_id, erasure.erase_subject(plan=plan, customer=customer, user=user))
    request.refresh_from_db()
    request.status = Status.COMPLETED
    request.completed_at = timezone.now()
    request.save(update_fields=["status", "completed_at"])
    _log(request, COMPLETED)
    emails.notify_on_commit(request, emails.COMPLETED, to=address)
    if external_id:
        # Erasure must reach every copy: the shop's systems hear of it (ids only).
        webhooks_emit(
            event=WebhookEvent.ERASURE_COMPLETED,
            payload={
                "customer_external_id": external_id,
                "data_request_id": request.pk,
                "completed_at": request.completed_at.isoformat(),
            },
        )


@transaction.atomic
def data_request_record_failure(*, request_id: int, message: str) -> None:
    """A task gave up: the request shows as failed, with the reason, to staff."""
    request = _locked_or_none(request_id)
    if request is None or request.status in (Status.COMPLETED, Status.CANCELLED):
        return
    request.status = Status.FAILED
    request.failure = message[:2000]
    request.save(update_fields=["status", "failure"])
    _log(request, FAILED, note=message[:500])


# --- Staff ---------------------------------------------------------------------------


@transaction.atomic
def data_request_retry(*, data_request: DataRequest, actor: User) -> DataRequest:
    """Queue a failed export or erasure again (logged with the staff member)."""
    request = _locked(data_request.pk)
    if request.status != Status.FAILED or request.kind == Kind.OBJECTION:
        raise ApplicationError(_("Only a failed request can be retried."), code="not_failed")
    request.status = Status.PENDING
    request.save(update_fields=["status"])
    _log(request, RETRIED, actor=actor)
    _enqueue_on_commit(request)
    return request


def _clean_note(note: str) -> str:
    note = (note or "").strip()
    if not note:
        raise ApplicationError(_("Write a note."), code="required", field="note")
    return note


@transaction.atomic
def data_request_note_add(*, data_request: DataRequest, actor: User, note: str) -> DataRequestEvent:
    """Add a staff note to the request's log."""
    request = _locked(data_request.pk)
    return _log(request, NOTE, actor=actor, note=_clean_note(note))


@transaction.atomic
def data_request_mark_handled(*, data_request: DataRequest, actor: User, note: str) -> DataRequest:
    """Complete an open request that staff handled by hand, saying what was done.

    An erasure whose customer still exists cannot be marked handled: only running it
    erases the data (use retry).
    """
    note = _clean_note(note)
    request = _locked(data_request.pk)
    if request.status not in OPEN_STATUSES:
        raise ApplicationError(_("This request is already closed."), code="closed")
    if request.kind == Kind.ERASURE and request.customer_id is not None:
        raise ApplicationError(
            _("An erasure is done only by running it: retry it instead."),
            code="erasure_needs_run",
        )
    request.status = Status.COMPLETED
    request.completed_at = timezone.now()
    request.save(update_fields=["status", "completed_at"])
    _log(request, HANDLED, actor=actor, note=note)
    emails.notify_on_commit(request, emails.COMPLETED, to=emails.customer_address(request.customer))
    return request


# --- Export files --------------------------------------------------------------------


def exports_purge(*, now: datetime | None = None) -> int:
    """Delete export files older than EXPORT_KEPT_DAYS; returns how many went."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=export.EXPORT_KEPT_DAYS)
    expired = (
        DataRequest.objects.filter(kind=Kind.EXPORT, completed_at__lt=cutoff)
        .exclude(export_file="")
        .values_list("pk", flat=True)
    )
    purged = 0
    for request_id in list(expired):
        with transaction.atomic():
            request = _locked_or_none(request_id)
            if request is None or not request.export_file:
                continue
            export.export_delete(request.export_file)
            request.export_file = ""
            request.save(update_fields=["export_file"])
            _log(request, EXPORT_DELETED)
            purged += 1
    return purged


# --- Retention -----------------------------------------------------------------------


@transaction.atomic
def data_category_retention_set(*, days_by_code: dict[str, int]) -> list[DataCategory]:
    """Set how many days each data category is kept (1 to 3650). Returns those changed."""
    categories = {c.code: c for c in DataCategory.objects.select_for_update()}
    for code, days in days_by_code.items():
        if code not in categories:
            raise ApplicationError(
                _("Unknown data category “%(code)s”.") % {"code": code},
                code="unknown_data_category",
                field=code,
            )
        if not RETENTION_DAYS_MIN <= days <= RETENTION_DAYS_MAX:
            raise ApplicationError(
                _("Keep data between %(min)s and %(max)s days.")
                % {"min": RETENTION_DAYS_MIN, "max": RETENTION_DAYS_MAX},
                code="out_of_range",
                field=code,
            )
    changed = []
    for code, days in days_by_code.items():
        category = categories[code]
        if category.retention_days != days:
            category.retention_days = days
            category.save(update_fields=["retention_days"])
            changed.append(category)
    return changed


def _delete_in_chunks(queryset) -> int:
    removed = 0
    while True:
        with transaction.atomic():
            ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:RETENTION_CHUNK])
            if not ids:
                return removed
            removed += (
                queryset.model._default_manager.filter(pk__in=ids)
                .delete()[1]
                .get(queryset.model._meta.label, 0)
            )


def retention_enforce(*, now: datetime | None = None) -> RetentionRun:
    """Delete what is older than its category's retention; record counts per category.

    Interactions go by when they happened; declared audit attributes by when they were
    declared. The run row is written first, so a run that dies shows as unfinished.
    """
    now = now or timezone.now()
    run = RetentionRun.objects.create(started_at=now)
    removed: dict[str, int] = {}
    for category in DataCategory.objects.order_by("pk"):
        cutoff = now - timedelta(days=category.retention_days)
        count = _delete_in_chunks(
            Interaction.objects.filter(data_category=category.code, occurred_at__lt=cutoff)
        )
        if category.code == registry.AUDIT_ATTRIBUTES:
            count += _delete_in_chunks(AuditAttribute.objects.filter(declared_at__lt=cutoff))
        removed[category.code] = count
    run.removed = removed
    run.finished_at = timezone.now()
    run.save(update_fields=["removed", "finished_at"])
    logger.info("retention run %s removed %s", run.pk, removed)
    return run
