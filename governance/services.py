"""Writes: flip the kill switch, publish the AI policy, acknowledge it."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ApplicationError
from governance.models import AIPolicy, KillSwitchEvent, PolicyAcknowledgement
from governance.selectors import kill_switch_state

logger = logging.getLogger(__name__)


def kill_switch_set(*, engaged: bool, reason: str, actor) -> KillSwitchEvent:
    """Pause (engaged=True) or resume all AI personalization, with the reason logged.

    Takes effect on the next request: every delivery path reads the switch.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Say why, for the log."), code="reason_required", field="reason")
    with transaction.atomic():
        # One flip at a time, so the log alternates and never records a no-op.
        KillSwitchEvent.objects.select_for_update().order_by("-at", "-pk").first()
        if kill_switch_state().engaged == engaged:
            raise ApplicationError(
                _("Personalization is already paused.")
                if engaged
                else _("Personalization is already running."),
                code="kill_switch_unchanged",
            )
        event = KillSwitchEvent.objects.create(engaged=engaged, reason=reason, actor=actor)
    logger.warning(
        "kill switch %s by user %s",
        "engaged" if engaged else "released",
        getattr(actor, "pk", None),
    )
    return event


def ai_policy_publish(*, title: str, body: str, actor) -> AIPolicy:
    """Publish a new version; earlier versions stay as they were."""
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        raise ApplicationError(_("Give the policy a title."), code="invalid", field="title")
    if not body:
        raise ApplicationError(_("Write the policy."), code="invalid", field="body")
    with transaction.atomic():
        last = AIPolicy.objects.select_for_update().order_by("-version").first()
        return AIPolicy.objects.create(
            version=(last.version + 1) if last else 1,
            title=title,
            body=body,
            created_by=actor,
            published_at=timezone.now(),
        )


def ai_policy_acknowledge(*, policy: AIPolicy, user) -> PolicyAcknowledgement:
    if policy.published_at is None:
        raise ApplicationError(_("This policy is not published."), code="not_published")
    acknowledgement, _created = PolicyAcknowledgement.objects.get_or_create(
        policy=policy, user=user
    )
    return acknowledgement
