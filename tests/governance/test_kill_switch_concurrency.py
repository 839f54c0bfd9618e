"""Two owners press "pause" at the same moment (two real PostgreSQL sessions): one pause
is logged, the other is told it is already paused. Also the very first flip, when the
log is empty and there is no row to lock."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from accounts.roles import Role
from core.errors import ApplicationError
from governance import services
from governance.models import KillSwitchEvent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("DATABASE_URL does not point at PostgreSQL: locks need two sessions")


def test_two_simultaneous_pauses_log_one_event(make_user):
    first, second = make_user(Role.OWNER), make_user(Role.OWNER)
    inside = threading.Event()
    release = threading.Event()
    out: dict[str, object] = {}

    def first_pauses_and_holds():
        try:
            with transaction.atomic():
                services.kill_switch_set(engaged=True, reason="first", actor=first)
                inside.set()
                assert release.wait(30)
            out["first"] = "paused"
        except BaseException as error:  # inspected below
            out["first"] = error
        finally:
            connections.close_all()

    def second_pauses():
        try:
            services.kill_switch_set(engaged=True, reason="second", actor=second)
            out["second"] = "paused"
        except ApplicationError as error:
            out["second"] = error.code
        finally:
            connections.close_all()

    one = threading.Thread(target=first_pauses_and_holds)
    one.start()
    assert inside.wait(30)
    two = threading.Thread(target=second_pauses)
    two.start()
    two.join(2)
    # the second owner waits for the first flip to commit instead of reading stale state
    assert two.is_alive()
    release.set()
    one.join(30)
    two.join(30)

    assert out == {"first": "paused", "second": "kill_switch_unchanged"}
    assert list(KillSwitchEvent.objects.values_list("reason", flat=True)) == ["first"]
