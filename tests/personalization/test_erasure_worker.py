"""A real Celery worker killed (SIGKILL) in the middle of an erasure leaves the request
not completed and re-runnable; a fresh worker then completes it.

How the kill lands mid-way: erasure deletes in chunks, each committed on its own
(personalization/datarights/erasure.py), and a test-only hook makes the worker stop
after its first committed chunk when FAIRSHARE_ERASURE_TEST_PAUSE_DIR is set in its
environment (read at run time). The test waits for that point, checks what is
committed, then kills the process: no timing guesses.
"""

import os
import signal
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import CustomerProfile, User
from accounts.roles import Role
from personalization.consent.services import ConsentChange, consent_set
from personalization.datarights import services, tasks
from personalization.datarights.erasure import CHUNK_SIZE, PAUSE_DIR_ENV
from personalization.models import ConsentEvent, DataRequest, Interaction
from tests.factories import ItemFactory
from tests.workers import require_worker_services, wait_for, worker_pool

INTERACTIONS = CHUNK_SIZE * 2 + 200

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def workers(tmp_path, monkeypatch):
    """Starts worker processes on a queue of this test's own; stops them afterwards."""
    require_worker_services("the erasure worker test")
    with worker_pool(
        tmp_path=tmp_path,
        monkeypatch=monkeypatch,
        prefix="test-erasure",
        tasks=[tasks.erasure_run, tasks.export_build],
    ) as pool:
        yield pool.queue, pool.start


@pytest.fixture
def customer(make_user):
    user = make_user(Role.CUSTOMER, email="killed-mid-erasure@example.com")
    profile = CustomerProfile.objects.get(user=user)
    item = ItemFactory()
    Interaction.objects.bulk_create(
        Interaction(
            event_id=f"evt-kill-{n}",
            customer=profile,
            item=item,
            kind="purchase",
            data_category="purchase_history",
            occurred_at=timezone.now() - timedelta(days=n % 300),
        )
        for n in range(INTERACTIONS)
    )
    for purpose in ("personalization", "marketing"):
        consent_set(
            customer=profile,
            changes=[ConsentChange(purpose, "purchase_history", True)],
            method="ui",
            actor="customer",
            notice_version=1,
        )
    return user, profile


def test_a_worker_killed_mid_erasure_leaves_it_rerunnable_and_a_fresh_worker_completes_it(
    workers, customer, tmp_path
):
    queue, start = workers
    user, profile = customer
    pause_dir = tmp_path / "pause"
    pause_dir.mkdir()

    # given an erasure whose cancel window has passed, queued for a worker
    request = services.data_request_create(customer=profile, kind="erasure")
    DataRequest.objects.filter(pk=request.pk).update(not_before=timezone.now())
    assert services.erasures_start_due() == [request.pk]

    # when a worker takes it and has committed its first chunk...
    first, first_log = start("first", **{PAUSE_DIR_ENV: str(pause_dir)})
    wait_for(
        (pause_dir / "paused").exists,
        processes=[first],
        logs=[first_log],
        what="reach the middle of the erasure",
    )
    request.refresh_from_db()
    assert request.status == "in_progress"
    assert Interaction.objects.filter(customer=profile).count() == INTERACTIONS - CHUNK_SIZE
    assert ConsentEvent.objects.filter(customer=profile, method="erasure").count() == 2

    # ...and is killed there
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)

    # then the request is not completed and the customer is only partly erased
    request.refresh_from_db()
    assert request.status == "in_progress"
    assert request.completed_at is None
    assert CustomerProfile.objects.filter(pk=profile.pk).exists()
    assert User.objects.filter(pk=user.pk).exists()
    assert Interaction.objects.filter(customer=profile).count() == INTERACTIONS - CHUNK_SIZE
    assert request.outcome["rows"]["personalization.Interaction"] == CHUNK_SIZE

    # and beat's check finds it stuck and queues it again, for a fresh worker
    assert services.data_requests_stuck(stuck_after=timedelta(0)) == [request.pk]
    second, second_log = start("second")
    assert services.data_requests_requeue_stuck(stuck_after=timedelta(0)) == [request.pk]

    def completed() -> bool:
        request.refresh_from_db()
        return request.status == "completed"

    wait_for(completed, processes=[second], logs=[second_log], what="complete the erasure")

    # which finishes the job exactly once
    assert not CustomerProfile.objects.filter(pk=profile.pk).exists()
    assert not User.objects.filter(pk=user.pk).exists()
    assert not Interaction.objects.filter(customer_id=profile.pk).exists()
    assert request.outcome["rows"]["personalization.Interaction"] == INTERACTIONS
    ledger = ConsentEvent.objects.filter(customer_ref=profile.pk)
    assert ledger.filter(method="erasure").count() == 2  # not withdrawn twice
    assert not ledger.filter(customer__isnull=False).exists()
    actions = list(request.events.values_list("action", flat=True))
    assert actions == ["received", "queued", "started", "requeued", "resumed", "completed"]
