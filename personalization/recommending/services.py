"""Writes: train a model version, generate and store lists, record feedback.

Thin: load consented data (loading.py), call the pure engine, store the result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import CustomerProfile
from core.enqueue import enqueue
from core.errors import ApplicationError
from personalization import engine
from personalization import explanations as sentences
from personalization.engine import tuning
from personalization.engine.evaluation import evaluate
from personalization.engine.serialize import model_to_bytes
from personalization.models import (
    Category,
    Channel,
    Feedback,
    FeedbackKind,
    GenerationRun,
    ModelVersion,
    Recommendation,
    RecommendationStatus,
)
from personalization.oversight import screening
from personalization.oversight.selectors import oversight_settings
from personalization.oversight.wording import staff_pick_sentence_stored
from personalization.recommending import filling, loading, storing
from personalization.recommending.models_cache import active_version, model_for

logger = logging.getLogger(__name__)

# Customers per generation task.
CHUNK_SIZE = 1_000


# --- training ---------------------------------------------------------------------------


def model_version_create(*, parameters: dict | None = None) -> ModelVersion:
    """A version waiting to be trained (serving keeps using the active one)."""
    params = engine.Parameters.from_dict(parameters or {})
    return ModelVersion.objects.create(parameters=params.to_dict())


def model_version_train(
    *,
    model_version: ModelVersion,
    with_metrics: bool = True,
    now: datetime | None = None,
    tune: bool = True,
    budget_seconds: float | None = None,
) -> ModelVersion:
    """Train on consented data and make the version active once it is complete.

    Idempotent: a version that is no longer training is returned as it is. Until the
    final swap, the previous active version keeps serving. Offline metrics (temporal
    hold-out) are stored on the version when `with_metrics`. `now` anchors the time
    decay (default: the current time).

    `tune`: first choose the model family and its settings on a temporal validation
    split of the shop's own consented data (`engine.tuning`), within `budget_seconds`
    (default: settings.RECOMMENDER_TUNING_SECONDS); the previous version's settings are
    judged on the same split and kept when nothing does better. The choice, its
    validation figures and "most popular"'s are stored in `metrics["tuning"]`, the
    chosen settings in `parameters`. Without `tune`, the version's own parameters train.
    """
    if model_version.status != ModelVersion.Status.TRAINING:
        return model_version
    now = now or timezone.now()
    params = engine.Parameters.from_dict(model_version.parameters)
    catalog = loading.catalog_load()
    events = loading.events_load(position=catalog.position)
    # Guest sales (no customer) add to the items' popularity only.
    guests = loading.guest_lines_load(position=catalog.position)
    tuning_report = None
    if tune:
        params, tuning_report = _tune(events, catalog, params, budget_seconds=budget_seconds)
    model = engine.train(
        events, catalog, params=params, now=now.timestamp(), consent=None, guests=guests
    )
    metrics: dict = {}
    if with_metrics and len(events):
        shoppers = loading.shoppers_load(CustomerProfile.objects.order_by("pk"))
        metrics = evaluate(events, catalog, shoppers, params=params)
    if tuning_report is not None:
        metrics["tuning"] = tuning_report
    artifact = model_to_bytes(model)
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().get(pk=model_version.pk)
        if version.status != ModelVersion.Status.TRAINING:
            return version
        ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).update(
            status=ModelVersion.Status.RETIRED
        )
        version.status = ModelVersion.Status.ACTIVE
        version.artifact = artifact
        version.training_counts = model.counts
        version.metrics = metrics
        version.trained_at = now
        version.parameters = params.to_dict()
        version.save(
            update_fields=[
                "status",
                "artifact",
                "training_counts",
                "metrics",
                "trained_at",
                "parameters",
            ]
        )
    logger.info("model version %s trained: %s", version.pk, model.counts)
    return version


def _tune(
    events: engine.Events,
    catalog: engine.Catalog,
    params: engine.Parameters,
    *,
    budget_seconds: float | None,
) -> tuple[engine.Parameters, dict]:
    """The shop's best settings on validation, the previous version's judged alongside."""
    if budget_seconds is None:
        budget_seconds = float(getattr(settings, "RECOMMENDER_TUNING_SECONDS", 120))
    previous = (
        ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE)
        .order_by("-trained_at", "-pk")
        .values_list("parameters", flat=True)
        .first()
    )
    result = tuning.tune(
        events,
        catalog,
        base=params,
        previous=engine.Parameters.from_dict(previous) if previous else None,
        budget_seconds=budget_seconds,
        protocol="all",
    )
    return result.params, result.report


def model_version_record_failure(*, model_version_id: int, message: str) -> None:
    ModelVersion.objects.filter(pk=model_version_id, status=ModelVersion.Status.TRAINING).update(
        status=ModelVersion.Status.FAILED, failure=message[:2000]
    )


def recommender_refresh() -> GenerationRun | None:
    """Train a new version and then regenerate every customer's list (the schedule's job)."""
    version = model_version_create()
    try:
        version = model_version_train(model_version=version)
    except Exception as exc:
        model_version_record_failure(
            model_version_id=version.pk, message=f"{type(exc).__name__}: {exc}"
        )
        raise
    if version.status != ModelVersion.Status.ACTIVE:
        return None
    return generation_run_start()


# --- generation -------------------------------------------------------------------------


def _active_model() -> tuple[int, engine.Model]:
    version = active_version()
    if version is None:
        raise ApplicationError(_("No recommender has been trained yet."), code="no_model")
    return version[0], model_for(*version)


def _run_create(chunk_size: int) -> tuple[GenerationRun, list[list[int]]]:
    version_id, _model = _active_model()
    ids = list(CustomerProfile.objects.order_by("pk").values_list("pk", flat=True))
    chunks = [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)]
    run = GenerationRun.objects.create(
        model_version_id=version_id,
        customers_total=len(ids),
        chunks_total=len(chunks),
        status=GenerationRun.Status.RUNNING if chunks else GenerationRun.Status.COMPLETED,
        finished_at=None if chunks else timezone.now(),
    )
    return run, chunks


def generation_run_start(*, chunk_size: int = CHUNK_SIZE) -> GenerationRun:
    """Regenerate every customer's list with the active model: one Celery task per chunk,
    queued once the current transaction commits. Progress is kept on the run."""
    from personalization.recommending import tasks

    run, chunks = _run_create(chunk_size)

    def send() -> None:
        for number, chunk in enumerate(chunks):
            if not enqueue(tasks.generate_chunk, run.pk, number, chunk):
                # Nothing re-sends a run's chunks: say so where the owner looks; the lists
                # keep their current version and the next refresh starts a new run.
                generation_run_record_failure(
                    run_id=run.pk, message="The task queue was unreachable; chunks not sent."
                )
                return

    transaction.on_commit(send)
    return run


def recommendations_generate_all(
    *,
    chunk_size: int = CHUNK_SIZE,
    on_progress: Callable[[GenerationRun], None] | None = None,
) -> GenerationRun:
    """The same as a run through Celery, chunk after chunk in this process (the CLI)."""
    run, chunks = _run_create(chunk_size)
    for number, chunk in enumerate(chunks):
        run = recommendations_generate_chunk(run_id=run.pk, chunk=number, customer_ids=chunk)
        if on_progress is not None:
            on_progress(run)
    return run


def recommendations_generate_chunk(
    *, run_id: int, chunk: int, customer_ids: Sequence[int]
) -> GenerationRun:
    """Generate and store the lists of one chunk of a run, then count it (once)."""
    run = GenerationRun.objects.get(pk=run_id)
    if run.status != GenerationRun.Status.RUNNING or chunk in run.chunks_done:
        return run
    model = model_for(run.model_version_id)
    profiles = list(CustomerProfile.objects.filter(pk__in=list(customer_ids)).order_by("pk"))
    _generate_and_store(model, run.model_version_id, profiles)
    with transaction.atomic():
        run = GenerationRun.objects.select_for_update().get(pk=run_id)
        if chunk not in run.chunks_done:
            run.chunks_done = [*run.chunks_done, chunk]
            run.customers_done += len(profiles)
            if len(run.chunks_done) >= run.chunks_total:
                run.status = GenerationRun.Status.COMPLETED
                run.finished_at = timezone.now()
            run.save(update_fields=["chunks_done", "customers_done", "status", "finished_at"])
    return run


def generation_run_record_failure(*, run_id: int, message: str) -> None:
    GenerationRun.objects.filter(pk=run_id, status=GenerationRun.Status.RUNNING).update(
        status=GenerationRun.Status.FAILED, failure=message[:2000], finished_at=timezone.now()
    )


def recommendations_generate_for_customer(
    *, customer: CustomerProfile, now: datetime | None = None
) -> list[Recommendation]:
    """Regenerate one customer's list now, with the active model; returns the stored rows."""
    version_id, model = _active_model()
    return _generate_and_store(model, version_id, [customer], now=now)[customer.pk]


def recommendations_refresh_stale(
    *, customer: CustomerProfile, seen: Sequence[int], now: datetime | None = None
) -> bool:
    """Regenerate the customer's on-site list, found stale by a reader that saw the
    current rows `seen` (their pks), unless another request replaced those rows
    meanwhile: two first reads at once store one list, and both show it. True when
    this call stored the list."""
    version_id, model = _active_model()
    return bool(_generate_and_store(model, version_id, [customer], now=now, unless_changed=seen))


def recommendations_generate_for_channel(
    *, customers: Sequence[CustomerProfile], channel: str, screen: bool = True
) -> dict[int, list[Recommendation]]:
    """Regenerate the lists of these customers for one channel (e.g. an offer email),
    replacing their undecided rows on that channel only; customer pk -> stored rows.

    Only customers whose personalization is on get rows. `screen=False` leaves every row
    proposed for a caller that keeps only some of them and screens those itself (offer
    campaigns: one offer per email, so the review queue gets one item per customer);
    nothing on such a channel may be delivered before it is screened and approved."""
    version_id, model = _active_model()
    return _generate_and_store(model, version_id, list(customers), channel=channel, screen=screen)


def _generate_and_store(
    model: engine.Model,
    version_id: int,
    profiles: list[CustomerProfile],
    *,
    now: datetime | None = None,
    channel: str = Channel.ONSITE,
    screen: bool = True,
    unless_changed: Sequence[int] | None = None,
) -> dict[int, list[Recommendation]]:
    """Compute and store the lists of `profiles` on `channel` (customer pk -> stored
    rows), in one transaction that first locks the customers' rows. Empty, and nothing
    stored, when `unless_changed` (the pks of the current rows as the caller read them)
    no longer matches."""
    ids = sorted({p.pk for p in profiles})
    with transaction.atomic():
        # One replacement per customer at a time: the customer rows first, in pk order
        # (the order every consent write takes them, before the consent ledger's lock).
        # The engine reads after the lock, so a list never replaces one built from newer
        # data (e.g. the feedback of a request that got the lock first). NO KEY UPDATE:
        # writes that only point at a customer (events, feedback) are not held up.
        locked = _lock_customers(ids)
        if unless_changed is not None:
            current = Recommendation.objects.filter(
                customer_id__in=ids, channel=channel, superseded_at__isnull=True
            ).values_list("pk", flat=True)
            if set(current) != set(unless_changed):
                return {}
        stored = _compute_and_store(
            model, version_id, locked, now=now, channel=channel, screen=screen
        )
    return {pk: stored.get(pk, []) for pk in (p.pk for p in profiles)}


def _lock_customers(ids: Sequence[int]) -> list[CustomerProfile]:
    """Lock these customers' rows (in pk order) and return them as they are now."""
    return list(
        CustomerProfile.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk")
    )


def _compute_and_store(
    model: engine.Model,
    version_id: int,
    profiles: list[CustomerProfile],
    *,
    now: datetime | None,
    channel: str,
    screen: bool,
) -> dict[int, list[Recommendation]]:
    """Within the caller's transaction, with the customers' rows locked.

    Lists for the shop's own channels are screened before they are stored: flagged items
    are held and the next safe candidates take their places (filling.py). Offer emails
    are screened after storing, whole (every offer waits for a person)."""
    catalog = loading.catalog_load().aligned(model.item_keys)
    at = now or timezone.now()
    outcome: filling.Outcome | None = None
    if screen and channel != Channel.EMAIL:
        loaded, histories = _load(model, profiles, now=at)
        ids = [p.pk for p in profiles]
        known = screening.Known(
            catalog=catalog, profiles=profiles, history=loaded.history, feedback=loaded.feedback
        )
        settings_now = oversight_settings()
        lists, outcome = filling.lists_screen_and_fill(
            model=model,
            catalog=catalog,
            histories=histories,
            shoppers=loaded.shoppers,
            version_id=version_id,
            known=known,
            settings=settings_now,
            decided=screening.decided_pairs(customer_ids=ids, channel=channel, now=at),
            budget_left=lambda: filling.budget_left(settings=settings_now, now=at),
            now=at,
        )
    else:
        lists, loaded = _compute(model, profiles, now=now, catalog=catalog)
    names = _names(lists, catalog)
    now = timezone.now()
    rows: list[Recommendation] = []
    by_customer: dict[int, list[Recommendation]] = {p.pk: [] for p in profiles}
    with translation.override(settings.LANGUAGE_CODE):
        for result in lists:
            # Only personalized lists are stored: the anonymous list (modes off and
            # paused) is the same for everyone and served as it is.
            if result.mode != "on":
                continue
            # The engine ranks the items waiting for review on their own (1, 2, ...);
            # stored, they come after the list, so each place holds one current row.
            picks = outcome.lists[result.customer].picks if outcome is not None else []
            shown = len(result.suggestions) + len(picks)
            ranked = [
                *((s, s.rank) for s in result.suggestions),
                *((s, shown + s.rank) for s in result.needs_review),
            ]
            # A list shorter than the model's length says so when it is served.
            short = shown < model.params.top_k
            # Reviewers' replacements kept from earlier decisions (filling.py), after the
            # engine's suggestions, as when they were chosen.
            for place, item in enumerate(picks, start=len(result.suggestions) + 1):
                row = Recommendation(
                    customer_id=result.customer,
                    item_id=item,
                    score=0.0,
                    rank=place,
                    model_version_id=version_id,
                    channel=channel,
                    reasons=[],
                    sentence=staff_pick_sentence_stored(),
                    status=RecommendationStatus.APPROVED,
                    flags=[filling.SHORT_LIST] if short else [],
                )
                rows.append(row)
                by_customer[result.customer].append(row)
            for suggestion, rank in ranked:
                reasons = _reasons_json(suggestion, names)
                flags = list(suggestion.flags)
                if short and rank <= len(result.suggestions):
                    flags.append(filling.SHORT_LIST)
                row = Recommendation(
                    customer_id=result.customer,
                    item_id=suggestion.item,
                    score=suggestion.score,
                    rank=rank,
                    model_version_id=version_id,
                    channel=channel,
                    reasons=reasons,
                    sentence=sentences.sentence(
                        reasons,
                        item_id=suggestion.item,
                        item_name=names["items"].get(suggestion.item, ""),
                    )[:300],
                    # Screened before storing (`outcome`): the needs_review rows are the
                    # held ones. Otherwise the rules decide below which rows wait.
                    status=RecommendationStatus.HELD
                    if outcome is not None and rank > len(result.suggestions)
                    else RecommendationStatus.PROPOSED,
                    flags=flags,
                )
                rows.append(row)
                by_customer[result.customer].append(row)
    ids = [p.pk for p in profiles]
    undecided = storing.undecided_rows(customer_ids=ids, channel=channel)
    # Held items that come back keep their place in the review queue (a waiting
    # item links to its held row: with no linked rows there is nothing to read).
    waiting = (
        screening.waiting_items_of(customer_ids=ids, channel=channel) if undecided.linked else {}
    )
    storing.lists_replace(
        customer_ids=ids, channel=channel, rows=rows, now=now, undecided=undecided
    )
    if outcome is not None:
        held: dict[int, list[dict]] = {}
        spot: dict[int, list[dict]] = {}
        for row in rows:
            entry = outcome.lists[row.customer_id]
            if row.status == RecommendationStatus.HELD:
                found = next(f for s, f in entry.held if s.item == row.item_id)
                held[row.pk] = screening.flags_json(found)
            elif row.item_id in entry.spot_checks:
                spot[row.pk] = screening.flags_json(entry.unreviewed.get(row.item_id, []))
        # In the same transaction: no flagged row is ever visible unheld.
        screening.review_items_open(
            rows=rows, held=held, spot_checks=spot, carried=waiting, now=now
        )
    elif screen:
        # Screened in the same transaction: no flagged row is ever visible unheld.
        screening.recommendations_screen(
            recommendations=rows,
            is_campaign=channel == Channel.EMAIL,
            usual_spend={r.customer: r.usual_unit_price for r in lists if r.mode == "on"},
            known=screening.Known(
                catalog=catalog,
                profiles=profiles,
                history=loaded.history,
                feedback=loaded.feedback,
            ),
            carried=waiting,
            fresh=True,
        )
    for customer_rows in by_customer.values():
        customer_rows.sort(key=lambda r: (r.status == RecommendationStatus.HELD, r.rank))
    return by_customer


def _compute(
    model: engine.Model,
    profiles: list[CustomerProfile],
    *,
    without: str | None = None,
    now: datetime | None = None,
    catalog: engine.Catalog | None = None,
) -> tuple[list[engine.CustomerList], loading.Loaded]:
    if catalog is None:
        catalog = loading.catalog_load().aligned(model.item_keys)
    loaded, histories = _load(model, profiles, without=without, now=now)
    return engine.recommend(model, catalog, histories, loaded.shoppers), loaded


def _load(
    model: engine.Model,
    profiles: list[CustomerProfile],
    *,
    without: str | None = None,
    now: datetime | None = None,
) -> tuple[loading.Loaded, engine.Histories]:
    """The customers' consented data and their histories in the model's item order."""
    position = {int(key): i for i, key in enumerate(model.item_keys)}
    loaded = loading.customers_load(profiles, position=position, without=without)
    histories = engine.build_histories(
        loaded.events,
        n_items=len(model.item_keys),
        params=model.params,
        now=(now or timezone.now()).timestamp(),
        consent={s.key: s.consented for s in loaded.shoppers},
        customers=list(loaded.history),
    )
    return loaded, histories


def _names(lists: list[engine.CustomerList], catalog: engine.Catalog) -> dict[str, dict]:
    """Item and category names the reasons mention (items from the catalog, one query)."""
    categories = {
        reason.category
        for result in lists
        for suggestion in (*result.suggestions, *result.needs_review)
        for reason in suggestion.reasons
        if reason.category is not None
    }
    items = dict(zip(catalog.keys.tolist(), catalog.names, strict=True))
    found = {}
    if categories:
        found = dict(Category.objects.filter(slug__in=categories).values_list("slug", "name"))
    return {"items": items, "categories": found}


def _reasons_json(suggestion: engine.Suggestion, names: dict[str, dict]) -> list[dict]:
    out = []
    for reason in suggestion.reasons:
        data = reason.as_dict()
        if reason.item is not None:
            data["name"] = names["items"].get(reason.item, "")
        if reason.category is not None:
            data["category_name"] = names["categories"].get(reason.category, reason.category)
        out.append(data)
    return out


# --- feedback and previews --------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackResult:
    feedback: Feedback
    recommendations: list[Recommendation]


def feedback_record(
    *, customer: CustomerProfile, recommendation_id: int, kind: str
) -> FeedbackResult:
    """Store the customer's feedback on one of their suggestions and regenerate their list.

    "Not for me" and "I can't have this" keep the item away; "fewer like this" also
    tones down its category. The new list is ready when this returns.
    """
    if kind not in FeedbackKind.values:
        raise ApplicationError(
            _("Choose one of the feedback buttons."), code="invalid", field="kind"
        )
    recommendation = (
        Recommendation.objects.filter(pk=recommendation_id, customer=customer)
        .select_related("item")
        .first()
    )
    if recommendation is None:
        raise ApplicationError(
            _("That suggestion is not on your list."), code="not_found", field="recommendation"
        )
    with transaction.atomic():
        # The customer row first, as list generation takes it: a regeneration in progress
        # finishes before the feedback is written, and two presses are written one
        # after the other.
        _lock_customers([customer.pk])
        feedback = Feedback.objects.filter(
            customer=customer, item_id=recommendation.item_id, kind=kind
        ).first()
        if feedback is not None:
            # Pressed twice (or on an older page): said already, the list reflects it.
            return FeedbackResult(feedback=feedback, recommendations=_current_rows(customer))
        feedback = Feedback.objects.create(
            customer=customer,
            item=recommendation.item,
            # None when a regeneration replaced the row meanwhile: what the customer
            # said about the item still counts.
            recommendation=Recommendation.objects.filter(pk=recommendation.pk).first(),
            kind=kind,
        )
    rows = recommendations_generate_for_customer(customer=customer)
    return FeedbackResult(feedback=feedback, recommendations=rows)


def _current_rows(customer: CustomerProfile) -> list[Recommendation]:
    rows = list(
        Recommendation.objects.filter(
            customer=customer, channel=Channel.ONSITE, superseded_at__isnull=True
        ).order_by("rank", "pk")
    )
    rows.sort(key=lambda r: (r.status == RecommendationStatus.HELD, r.rank))
    return rows


def recommendations_preview(
    *, customer: CustomerProfile, without_data_category: str | None = None
) -> engine.CustomerList:
    """The list the customer would get now, optionally without one data category.

    Nothing is stored: this answers "what changes if I switch this off?" before the
    customer decides.
    """
    _version_id, model = _active_model()
    return _compute(model, [customer], without=without_data_category)[0][0]


def anonymous_recommendations(
    *, customer: CustomerProfile | None = None, honour_feedback: bool = False
) -> engine.CustomerList:
    """What a visitor sees (and a customer whose personalization is off or paused).

    For a customer, the items they must never be offered are left out (restrictions,
    missing allergen data under an allergen restriction, "I can't have this");
    `honour_feedback` also leaves out what they called "not for me" (for a customer whose
    personalization is on but whose own list waits for review).
    """
    _version_id, model = _active_model()
    catalog = loading.catalog_load().aligned(model.item_keys)
    if customer is None:
        return engine.anonymous_list(model, catalog)
    shopper = loading.shoppers_load([customer])[0]
    if honour_feedback:
        shopper = replace(shopper, cant_have=shopper.cant_have | shopper.not_for_me)
    return engine.anonymous_list(model, catalog, shopper=shopper)
