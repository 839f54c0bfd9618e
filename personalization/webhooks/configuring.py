"""The owner's webhook settings: add, rotate the secret, send a test, delete."""

from __future__ import annotations

import json
import logging
import secrets
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from personalization.models import Webhook
from personalization.webhooks import targets
from personalization.webhooks.signing import HEADER, sign

logger = logging.getLogger(__name__)
TEST_EVENT = "webhook.test"
TIMEOUT_SECONDS = 10


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


@transaction.atomic
def webhook_create(*, name: str, url: str, events: list[str]) -> tuple[Webhook, str]:
    """Add a webhook to a checked target; the secret is returned to be shown once."""
    targets.webhook_target_check(url)
    secret = _new_secret()
    hook = Webhook.objects.create(name=name, url=url, events=events, secret=secret)
    logger.info("webhook %s added", hook.pk)
    return hook, secret


@transaction.atomic
def webhook_secret_rotate(*, webhook: Webhook) -> str:
    """A new signing secret (the old one stops being used at once); returned once."""
    webhook.secret = _new_secret()
    webhook.save(update_fields=["secret"])
    logger.info("webhook %s secret rotated", webhook.pk)
    return webhook.secret


@transaction.atomic
def webhook_delete(*, webhook: Webhook) -> None:
    """Remove the webhook with its delivery log; nothing pending is sent any more."""
    pk = webhook.pk
    webhook.delete()
    logger.info("webhook %s deleted", pk)


@dataclass(frozen=True)
class TestResult:
    ok: bool
    status: int | None
    message: str


def webhook_test_send(*, webhook: Webhook) -> TestResult:
    """POST a signed `webhook.test` event (no customer data) and report the answer."""
    body = json.dumps(
        {
            "id": f"test-{uuid.uuid4()}",
            "event": TEST_EVENT,
            "created_at": timezone.now().isoformat(),
            "data": {},
        },
        sort_keys=True,
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - targets.urlopen allows https only
        webhook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Fairshare-Webhooks/1",
            "X-Fairshare-Event": TEST_EVENT,
            HEADER: sign(webhook.secret, int(time.time()), body),
        },
    )
    try:
        with targets.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
    except targets.TargetRefused as exc:
        result = TestResult(False, None, str(exc.reason))
    except urllib.error.HTTPError as exc:
        result = TestResult(
            False, exc.code, _("The receiver answered HTTP %(code)s.") % {"code": exc.code}
        )
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        result = TestResult(
            False,
            None,
            _("The receiver could not be reached (%(reason)s).") % {"reason": reason},
        )
    else:
        ok = 200 <= status < 300
        result = TestResult(
            ok,
            status,
            _("The receiver accepted the test event (HTTP %(code)s).") % {"code": status}
            if ok
            else _("The receiver answered HTTP %(code)s.") % {"code": status},
        )
    logger.info(
        "webhook %s test event: %s (HTTP %s)",
        webhook.pk,
        "accepted" if result.ok else "failed",
        result.status,
    )
    return result
