"""Reads other apps obey: is personalization paused, has this person read the policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from governance.models import AIPolicy, KillSwitchEvent, PolicyAcknowledgement


@dataclass(frozen=True)
class KillSwitchState:
    engaged: bool
    reason: str = ""
    since: datetime | None = None
    actor_id: int | None = None


def kill_switch_state() -> KillSwitchState:
    """The switch as it stands now (one query): engaged means every channel serves the
    non-personalized list and campaigns stop."""
    last = KillSwitchEvent.objects.order_by("-at", "-pk").first()
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
