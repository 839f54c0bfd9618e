"""Claims under concurrency: two real PostgreSQL sessions never get the same item.

Each thread has its own database connection (Django opens one per thread), so these are
two sessions of the same server, as two reviewers' requests would be.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from accounts.roles import Role
from personalization.models import ReviewAction, ReviewItem
from personalization.oversight import services as oversight

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("DATABASE_URL does not point at PostgreSQL: row locks need two sessions")


def open_tasks(n: int) -> list[int]:
    return [oversight.review_task_open(title=f"task {i}", detail="", link="").pk for i in range(n)]


def in_own_session(fn):
    """Run `fn` in a thread (its own connection); return its result or raise its error."""
    out: dict = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as error:  # re-raised in the caller
            out["error"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_a_claim_in_progress_is_skipped_not_shared_or_waited_for(make_user):
    ids = open_tasks(6)
    alice, bob = make_user(Role.STAFF), make_user(Role.STAFF)
    locked = threading.Event()
    release = threading.Event()

    def alice_claims_and_holds():
        # Alice's transaction stays open (rows locked) until Bob has claimed.
        with transaction.atomic():
            items = oversight.review_claim(user=alice, count=3)
            locked.set()
            assert release.wait(30)
        return [i.pk for i in items]

    thread, alice_out = in_own_session(alice_claims_and_holds)
    assert locked.wait(30)
    bob_thread, bob_out = in_own_session(
        lambda: [i.pk for i in oversight.review_claim(user=bob, count=3)]
    )
    bob_thread.join(30)
    # Bob finished while Alice still held her rows: skipped, not waited for.
    assert not bob_thread.is_alive()
    release.set()
    thread.join(30)
    assert "error" not in alice_out and "error" not in bob_out, (alice_out, bob_out)
    assert alice_out["value"] == ids[:3]
    assert bob_out["value"] == ids[3:]
    assert set(ReviewItem.objects.filter(claimed_by=alice).values_list("pk", flat=True)) == set(
        ids[:3]
    )
    assert set(ReviewItem.objects.filter(claimed_by=bob).values_list("pk", flat=True)) == set(
        ids[3:]
    )


def test_many_reviewers_claiming_at_once_share_nothing(make_user):
    ids = open_tasks(20)
    reviewers = [make_user(Role.STAFF) for _ in range(4)]
    start = threading.Barrier(len(reviewers))

    def claimer(user):
        def claim():
            start.wait(30)
            return [i.pk for i in oversight.review_claim(user=user, count=5)]

        return claim

    runs = [in_own_session(claimer(user)) for user in reviewers]
    for thread, _out in runs:
        thread.join(60)
    results = [out for _thread, out in runs]
    assert all("error" not in out for out in results), results
    claimed = [pk for out in results for pk in out["value"]]
    assert len(claimed) == len(set(claimed))  # nobody got an item twice
    assert sorted(claimed) == sorted(ids)  # and together they took everything
    # Each item has exactly one claim in the trail.
    assert ReviewAction.objects.filter(action="claimed").count() == 20
