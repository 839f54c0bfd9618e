"""Writes to the consent ledger and the current-consent table."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import CustomerProfile
from core.clientip import client_ip
from core.errors import ApplicationError
from personalization import registry
from personalization.consent.ledger import GENESIS, event_hash
from personalization.consent.locking import atomic_retrying, consent_lock
from personalization.consent.notices import (
    notice_current,
    notice_ensure_initial,
    notice_latest_asking_version,
)
from personalization.consent.selectors import gpc_pending_changes
from personalization.models import (
    Consent,
    ConsentEvent,
    ConsentMethod,
    PrivacyNotice,
    WebhookEvent,
)
from personalization.unlearning.services import forget_on_commit
from personalization.webhooks.services import webhooks_emit

_PURPOSES = {spec.code for spec in registry.PURPOSES}
_CATEGORIES = {spec.code for spec in registry.DATA_CATEGORIES}
# The data categories the recommendation model is trained on.
_MODEL_CATEGORIES = frozenset(registry.INTERACTION_KIND_CATEGORY.values())


@dataclass(frozen=True)
class RequestFingerprint:
    """Salted hashes of where a change came from; never the raw IP or user agent."""

    ip_hash: str = ""
    user_agent_hash: str = ""

    @classmethod
    def from_request(cls, request) -> RequestFingerprint:
        if request is None:
            return cls()
        return cls(
            ip_hash=_salted("ip", client_ip(request)),
            user_agent_hash=_salted("ua", request.META.get("HTTP_USER_AGENT", "")),
        )


def _salted(kind: str, value: str) -> str:
    if not value:
        return ""
    key = f"consent-fingerprint:{settings.SECRET_KEY}".encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ConsentChange:
    purpose: str
    data_category: str
    granted: bool


def _check_notice_version(notice_version: int | None) -> None:
    """A version given must be one customers could have been shown: a published one."""
    if notice_version is None:
        return
    published = PrivacyNotice.objects.filter(status=PrivacyNotice.Status.PUBLISHED)
    if published.filter(version=notice_version).exists():
        return
    # Version 1 (the default text) is published the first time anything needs it.
    if notice_version == 1 and notice_ensure_initial().version == 1:
        return
    raise ApplicationError(
        _("There is no published privacy notice with version %(version)s.")
        % {"version": notice_version},
        code="unknown_notice_version",
        field="notice_version",
    )


def _locked_customer(customer: CustomerProfile) -> CustomerProfile:
    try:
        return consent_lock(customer_id=customer.pk)
    except CustomerProfile.DoesNotExist:
        raise ApplicationError(
            _("This customer's data was erased."), code="customer_erased"
        ) from None


@atomic_retrying
def consent_set(
    *,
    customer: CustomerProfile,
    changes: Iterable[ConsentChange],
    method: str,
    actor: str,
    notice_version: int | None,
    fingerprint: RequestFingerprint | None = None,
) -> list[ConsentEvent]:
    """Record consent changes: one ledger event each, and the current table updated.

    Changes that would not change the current answer are skipped (no event), so
    saving an unchanged form adds nothing to the ledger. Returns the new events.
    An unknown purpose, data category or notice version is refused (ApplicationError)
    before anything is written. Locks in the one order (consent/locking.py) and, as
    its own transaction, is tried again after a deadlock.
    """
    fingerprint = fingerprint or RequestFingerprint()
    changes = list(changes)
    for change in changes:
        if change.purpose not in _PURPOSES:
            raise ApplicationError(
                _("Unknown purpose “%(code)s”.") % {"code": change.purpose},
                code="unknown_purpose",
                field="purpose",
            )
        if change.data_category not in _CATEGORIES:
            raise ApplicationError(
                _("Unknown data category “%(code)s”.") % {"code": change.data_category},
                code="unknown_data_category",
                field="data_category",
            )
    _check_notice_version(notice_version)
    customer = _locked_customer(customer)
    current = {
        (c.purpose, c.data_category): c
        for c in Consent.objects.select_for_update().filter(customer=customer)
    }
    last = ConsentEvent.objects.order_by("-pk").values_list("hash", flat=True).first()
    prev_hash = last or GENESIS
    now = timezone.now()
    events = []
    for change in changes:
        row = current.get((change.purpose, change.data_category))
        # An explicit first "no" is recorded (proof of refusal); a repeat is not.
        if row is not None and row.granted == change.granted:
            continue
        fields = {
            "customer_ref": customer.pk,
            "purpose": change.purpose,
            "data_category": change.data_category,
            "granted": change.granted,
            "notice_version": notice_version,
            "method": method,
            "actor": actor,
            "created_at": now,
            "ip_hash": fingerprint.ip_hash,
            "user_agent_hash": fingerprint.user_agent_hash,
        }
        digest = event_hash(fields, prev_hash)
        event = ConsentEvent.objects.create(
            customer=customer, prev_hash=prev_hash, hash=digest, **fields
        )
        prev_hash = digest
        events.append(event)
        if row is None:
            current[(change.purpose, change.data_category)] = Consent.objects.create(
                customer=customer,
                purpose=change.purpose,
                data_category=change.data_category,
                granted=change.granted,
                event=event,
                updated_at=now,
            )
        else:
            row.granted, row.event, row.updated_at = change.granted, event, now
            row.save(update_fields=["granted", "event", "updated_at"])
    if any(
        e.purpose == registry.PERSONALIZATION
        and not e.granted
        and e.data_category in _MODEL_CATEGORIES
        for e in events
    ):
        # The served model must stop depending on what the withdrawal covers.
        forget_on_commit(customer_ref=customer.pk)
    if events and customer.external_id:
        # The shop's own systems keep a copy of consent: tell them (ids and codes only).
        webhooks_emit(
            event=WebhookEvent.CONSENT_CHANGED,
            payload={
                "customer_external_id": customer.external_id,
                "changes": [
                    {
                        "purpose": e.purpose,
                        "data_category": e.data_category,
                        "granted": e.granted,
                        "method": e.method,
                        "at": e.created_at.isoformat(),
                    }
                    for e in events
                ],
            },
        )
    return events


@atomic_retrying
def consent_apply_gpc(
    *, customer: CustomerProfile, fingerprint: RequestFingerprint | None = None
) -> list[ConsentEvent]:
    """Honour a Global Privacy Control signal (`Sec-GPC: 1`) from the customer's browser.

    Switches off marketing and every purpose flagged `honours_gpc`, for every data
    category, recorded with method "gpc" and the notice version in force. A cell the
    customer switched on on their own page after reading the notice is left on (the
    signal is overridden by their explicit choice). Idempotent: once honoured, a repeated
    signal adds nothing. Callers on a hot path check `gpc_pending_changes` first.
    """
    customer = _locked_customer(customer)
    pending = gpc_pending_changes(
        customer=customer, asking_version=notice_latest_asking_version(), lock=True
    )
    if not pending:
        return []
    current = notice_current()
    return consent_set(
        customer=customer,
        changes=[ConsentChange(purpose, category, False) for purpose, category in pending],
        method=ConsentMethod.GPC,
        actor="customer",
        notice_version=current.version if current is not None else None,
        fingerprint=fingerprint,
    )
