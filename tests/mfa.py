"""Authenticator apps for test people: a known TOTP secret and the codes it gives."""

from __future__ import annotations

import time

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value

from accounts.models import User

# Base32, as an authenticator app would scan it from the QR code.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
TOTP_PERIOD = 30


def totp_enrol(user: User, secret: str = TOTP_SECRET) -> None:
    """Set up an authenticator app (and recovery codes) for `user`, as the setup page does."""
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, secret)
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).exists():
        RecoveryCodes.activate(user)


def totp_code(secret: str = TOTP_SECRET, *, at: float | None = None) -> str:
    """The code the app shows at `at` (now by default, as the server checks against now)."""
    counter = int(time.time() if at is None else at) // TOTP_PERIOD
    return format_hotp_value(hotp_value(secret, counter))


def recovery_code(user: User) -> str:
    """One of the user's recovery codes not used yet."""
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    return RecoveryCodes(authenticator).get_unused_codes()[0]
