"""Taking a customer's data out of the served recommendation model, without a retrain.

When a customer is erased, or withdraws consent for a data category the model was
trained on, `model_forget_customer` finds the rows the active model holds for them,
takes them out exactly (`engine.unlearning`: a Woodbury update of EASE^R's inverse
Gram matrix) and stores the result as a new active version; the version it came from
is retired and its trained model deleted, so no copy that depended on the data stays.
A model family that cannot drop rows exactly (the item-kNN hybrid, an EASE^R model with
an item-kNN tail) gets a new version trained without them instead, and says so.

What the model holds for a customer is worked out from the data as it was when the
model was trained (`trained_at`, the instant the training read the data): their
interactions received by then and not removed from use before then, in the data
categories their consent allowed then (from the append-only consent ledger), minus what
an earlier unlearning of the same trained model already took out (`ModelUnlearning`,
append-only). Everything happens under a row lock on the active version, so two
erasures at once are applied one after the other, both of them, and a category is never
taken out twice.

This module sits below data rights and consent (it imports neither, nor the recommending
package): erasure calls it directly; consent withdrawals and the training reach its task
by name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import CustomerProfile
from personalization import engine
from personalization.engine import unlearning
from personalization.engine.data import EVIDENCE_CATEGORIES, KINDS
from personalization.engine.serialize import model_from_bytes, model_to_bytes
from personalization.models import (
    Consent,
    ConsentEvent,
    DataRequest,
    DataRequestKind,
    Interaction,
    ModelVersion,
)
from personalization.models.requests import ModelUnlearning
from personalization.registry import PERSONALIZATION

logger = logging.getLogger(__name__)

FORGET_TASK = "unlearning.forget_customer"
TRAIN_TASK = "recommending.train"

_KIND_INDEX = {kind: i for i, kind in enumerate(KINDS)}
# Not evidence: a return takes back the purchases it returns.
_RETURN = "return"
_CATEGORY_INDEX = {code: i for i, code in enumerate(EVIDENCE_CATEGORIES)}
# Looking again for the active version after it changed under the lock.
_LOCK_ATTEMPTS = 20
# The sweep also looks at withdrawals a little before the model read its data (cheap:
# a customer already taken out is skipped).
_SLACK = timedelta(minutes=5)


@dataclass(frozen=True)
class Forgotten:
    """What one call did for one customer."""

    # "downdate": taken out of the model; "retrain": a version without them is training;
    # "done": an earlier unlearning had already taken it out; "none": the served model
    # never held any of their data; "no_model": nothing is trained yet.
    method: str
    # When the served model stopped depending on their data (None while retraining).
    at: datetime | None
    data_categories: tuple[str, ...] = ()
    version_id: int | None = None


def _lock_active() -> ModelVersion | None:
    """The newest active version, row-locked; found again if it changed while waiting."""
    for _attempt in range(_LOCK_ATTEMPTS):
        version = (
            ModelVersion.objects.select_for_update()
            .filter(status=ModelVersion.Status.ACTIVE)
            .order_by("-trained_at", "-pk")
            .first()
        )
        if version is not None:
            return version
        # Waiting for the lock, the row stopped being active (another unlearning or a
        # training replaced it): the next statement sees the version that replaced it.
        if not ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).exists():
            return None
    raise RuntimeError("the active model version kept changing; try again")


def _root_of(version: ModelVersion) -> ModelVersion:
    """The version trained from data that `version` came from by unlearning (or itself)."""
    row = ModelUnlearning.objects.filter(result=version).select_related("root").first()
    return row.root if row is not None else version


def _consented_then(customer_ref: int, at: datetime) -> set[str]:
    """The evidence categories the customer allowed for personalization at `at`."""
    granted = set()
    for category in EVIDENCE_CATEGORIES:
        last = (
            ConsentEvent.objects.filter(
                customer_ref=customer_ref,
                purpose=PERSONALIZATION,
                data_category=category,
                created_at__lte=at,
            )
            .order_by("-created_at", "-pk")
            .values_list("granted", flat=True)
            .first()
        )
        if last:
            granted.add(category)
    return granted


def _allowed_now(customer_ref: int) -> set[str]:
    return set(
        Consent.objects.filter(
            customer_id=customer_ref, purpose=PERSONALIZATION, granted=True
        ).values_list("data_category", flat=True)
    )


def _rows_intact(customer_ref: int) -> bool:
    """The customer's interactions are all still there (no erasure has deleted any)."""
    if not CustomerProfile.objects.filter(pk=customer_ref).exists():
        return False
    for outcome in DataRequest.objects.filter(
        customer_ref=customer_ref, kind=DataRequestKind.ERASURE
    ).values_list("outcome", flat=True):
        if (outcome or {}).get("rows", {}).get(Interaction._meta.label):
            return False
    return True


def _taken_out(root: ModelVersion, customer_ref: int) -> set[str]:
    done: set[str] = set()
    for categories in ModelUnlearning.objects.filter(
        root=root, customer_ref=customer_ref
    ).values_list("data_categories", flat=True):
        done.update(categories)
    return done


def _events_then(
    customer_ref: int, at: datetime, categories: Iterable[str], position: dict[int, int]
) -> engine.Events:
    """The customer's interactions the training read at `at`, in `categories`."""
    rows = (
        Interaction.objects.filter(
            customer_id=customer_ref,
            data_category__in=sorted(categories),
            imported_at__lte=at,
        )
        .filter(Q(excluded_at__isnull=True) | Q(excluded_at__gt=at))
        .order_by("occurred_at", "pk")
        .values_list("item_id", "kind", "data_category", "quantity", "value", "occurred_at")
    )
    read = [r for r in rows if r[0] in position and r[2] in _CATEGORY_INDEX]
    kept = _without_returned(read)
    return engine.Events.build(
        customer=np.full(len(kept), customer_ref, dtype=np.int64),
        item=np.array([position[r[0]] for r in kept], dtype=np.int64),
        kind=np.array([_KIND_INDEX[r[1]] for r in kept], dtype=np.int8),
        category=np.array([_CATEGORY_INDEX[r[2]] for r in kept], dtype=np.int8),
        quantity=np.array([r[3] for r in kept], dtype=np.float64),
        value=np.array([float(r[4] or 0) for r in kept], dtype=np.float64),
        at=np.array([r[5].timestamp() for r in kept], dtype=np.float64),
    )


def _without_returned(rows: list[tuple]) -> list[tuple]:
    """The rows as training reads them: a return is no evidence and takes back the
    purchases of its item, latest first, up to the quantity returned.

    The same rule as `recommending.loading.events_load` (which this package may not
    import); tests/personalization/test_unlearning.py checks the result against a
    training from scratch on a history with a return."""
    returned: dict[int, float] = {}
    for item_id, kind, _category, quantity, _value, _at in rows:
        if kind == _RETURN:
            returned[item_id] = returned.get(item_id, 0) + quantity
    keep = [r[1] in _KIND_INDEX for r in rows]
    for index in range(len(rows) - 1, -1, -1):
        item_id, kind, _category, quantity, _value, _at = rows[index]
        if kind == "purchase" and returned.get(item_id, 0) > 0:
            keep[index] = False
            returned[item_id] -= quantity
    return [r for r, kept in zip(rows, keep, strict=True) if kept]


def _row(model: engine.Model, events: engine.Events, customer_ref: int):
    histories = engine.build_histories(
        events,
        n_items=len(model.item_keys),
        params=model.params,
        now=model.trained_at,
        consent=None,
        customers=[customer_ref],
    )
    return histories.item_evidence


def _counts_change(before: engine.Events, after: engine.Events) -> dict[str, int]:
    change = {
        "customers": int(len(after) > 0) - int(len(before) > 0),
        "events": len(after) - len(before),
    }
    for index, code in enumerate(EVIDENCE_CATEGORIES):
        change[f"events_{code}"] = int(np.count_nonzero(after.category == index)) - int(
            np.count_nonzero(before.category == index)
        )
    return change


def _copy_version(source: ModelVersion, **values) -> ModelVersion:
    """A new version with the source's fields (parameters, figures, the family chosen),
    except those given."""
    skip = {"id", "status", "artifact", "created_at", "failure"}
    fields = {
        f.attname: getattr(source, f.attname)
        for f in ModelVersion._meta.concrete_fields
        if f.attname not in skip and not f.primary_key
    }
    fields.update(values)
    return ModelVersion.objects.create(**fields)


def _enqueue_by_name(name: str, *args: object) -> None:
    from celery import current_app

    from core.enqueue import enqueue

    def send() -> None:
        if name not in current_app.tasks:
            # Tasks are discovered lazily; a web process may not have looked yet.
            current_app.loader.import_default_modules()
        if not enqueue(current_app.tasks[name], *args):
            logger.warning("task %s not queued; the unlearning sweep will look again", name)

    transaction.on_commit(send)


@transaction.atomic
def model_forget_customer(
    *, customer_ref: int, reason: str, now: datetime | None = None
) -> Forgotten:
    """Make the served model stop depending on the customer's data it may no longer use.

    Takes out every data category the model holds for them that their consent no longer
    allows (all of them once they are erased or being erased). Idempotent; safe to run
    at the same time as another call (row lock on the active version).
    """
    version = _lock_active()
    if version is None or version.artifact is None:
        return Forgotten("no_model", now or timezone.now())
    model = model_from_bytes(version.artifact)
    root = _root_of(version)
    trained = datetime.fromtimestamp(model.trained_at, tz=UTC)
    held = _consented_then(customer_ref, trained) - _taken_out(root, customer_ref)
    going = held - _allowed_now(customer_ref)
    if not going:
        done = (
            ModelUnlearning.objects.filter(root=root, customer_ref=customer_ref)
            .order_by("-applied_at")
            .first()
        )
        if done is not None:
            return Forgotten("done", done.applied_at, tuple(done.data_categories), done.result_id)
        return Forgotten("none", now or timezone.now(), (), version.pk)
    categories = tuple(sorted(going))
    if not _rows_intact(customer_ref):
        # Their rows are (partly) deleted already, so what to take out cannot be
        # recomputed: only a model trained without them is sure not to hold them.
        return _retrain(version, root, customer_ref, categories, reason, now)
    position = {int(key): i for i, key in enumerate(model.item_keys)}
    before = _events_then(customer_ref, trained, held, position)
    after = _events_then(customer_ref, trained, held - going, position)
    try:
        forgotten = unlearning.forget_rows(
            model,
            removed=_row(model, before, customer_ref),
            added=_row(model, after, customer_ref) if len(after) else None,
            counts_change=_counts_change(before, after),
        )
    except (unlearning.NotUnlearnable, unlearning.IllConditioned) as exc:
        logger.info("model version %s needs a retrain to forget a customer: %s", version.pk, exc)
        return _retrain(version, root, customer_ref, categories, reason, now)
    applied = now or timezone.now()
    result = _copy_version(
        version,
        status=ModelVersion.Status.ACTIVE,
        artifact=model_to_bytes(forgotten),
        training_counts=forgotten.counts,
    )
    # The version that held the data is retired and its trained model deleted.
    ModelVersion.objects.filter(pk=version.pk).update(
        status=ModelVersion.Status.RETIRED, artifact=None
    )
    ModelUnlearning.objects.create(
        root=root,
        source=version,
        result=result,
        customer_ref=customer_ref,
        data_categories=list(categories),
        method=ModelUnlearning.Method.DOWNDATE,
        reason=reason,
        applied_at=applied,
    )
    logger.info(
        "model version %s: a customer's rows taken out as version %s", version.pk, result.pk
    )
    return Forgotten("downdate", applied, categories, result.pk)


def _retrain(
    version: ModelVersion,
    root: ModelVersion,
    customer_ref: int,
    categories: tuple[str, ...],
    reason: str,
    now: datetime | None,
) -> Forgotten:
    """A model that cannot drop the rows: a new version, trained from data that no longer
    holds them (consent is already withdrawn), replaces it when done."""
    training = ModelVersion.objects.create(parameters=dict(version.parameters))
    ModelUnlearning.objects.create(
        root=root,
        source=version,
        result=training,
        customer_ref=customer_ref,
        data_categories=list(categories),
        method=ModelUnlearning.Method.RETRAIN,
        reason=reason,
        applied_at=now or timezone.now(),
    )
    _enqueue_by_name(TRAIN_TASK, training.pk)
    return Forgotten("retrain", None, categories, training.pk)


def forget_on_commit(*, customer_ref: int) -> None:
    """Queue `model_forget_customer` for a consent withdrawal, after the commit."""
    _enqueue_by_name(FORGET_TASK, customer_ref)


def unlearning_sweep(*, now: datetime | None = None) -> list[int]:
    """Forget every customer whose personalization consent was withdrawn after the
    served model read its data and who is not taken out yet (a lost message, a training
    that read the data just before the withdrawal). Returns their numbers."""
    _retrained_models_delete()
    version = (
        ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE)
        .order_by("-trained_at", "-pk")
        .first()
    )
    if version is None or version.artifact is None or version.trained_at is None:
        return []
    root = _root_of(version)
    since = root.trained_at or version.trained_at
    refs = sorted(
        set(
            ConsentEvent.objects.filter(
                purpose=PERSONALIZATION,
                data_category__in=EVIDENCE_CATEGORIES,
                granted=False,
                created_at__gt=since - _SLACK,
            ).values_list("customer_ref", flat=True)
        )
    )
    applied = []
    for ref in refs:
        outcome = model_forget_customer(
            customer_ref=ref, reason=ModelUnlearning.Reason.CONSENT, now=now
        )
        if outcome.method in ("downdate", "retrain"):
            applied.append(ref)
    return applied


def _retrained_models_delete() -> int:
    """Delete the trained model of every retired version a retrain replaced because it
    could not drop someone's rows (the retrain itself is the recommending package's
    work, which retires but keeps the old version)."""
    sources = ModelUnlearning.objects.filter(
        method=ModelUnlearning.Method.RETRAIN,
        result__status=ModelVersion.Status.ACTIVE,
    ).values("source_id")
    return ModelVersion.objects.filter(
        pk__in=sources, status=ModelVersion.Status.RETIRED, artifact__isnull=False
    ).update(artifact=None)
