"""What one browser did with an account's credentials, remembered in its session.

A password typed at sign-up is only known to be the mailbox owner's choice when the
confirmation link is opened in the same browser. The session remembers which account
(and which password, by a keyed fingerprint of its hash) this browser set, and, after a
confirmation elsewhere dropped an unproven password, that this browser may choose the
account's new one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.models import User

SET_HERE_SESSION_KEY = "accounts.password_set_here"
MAY_CHOOSE_SESSION_KEY = "accounts.may_choose_password"
# How long after confirming the address the confirming browser may choose the password.
CHOOSE_PASSWORD_WINDOW = timedelta(hours=1)


def _fingerprint(user: User) -> str:
    return salted_hmac("accounts.credentials", f"{user.pk}:{user.password}").hexdigest()


def remember_password_set_here(request: HttpRequest | None, user: User) -> None:
    """This browser chose `user`'s current password."""
    if request is None or not hasattr(request, "session") or user.pk is None:
        return
    request.session[SET_HERE_SESSION_KEY] = {"user": user.pk, "password": _fingerprint(user)}


def password_set_here(request: HttpRequest | None, user: User) -> bool:
    """Whether this browser chose `user`'s current password (and it is unchanged since)."""
    if request is None or not hasattr(request, "session"):
        return False
    mark = request.session.get(SET_HERE_SESSION_KEY)
    return (
        isinstance(mark, dict)
        and mark.get("user") == user.pk
        and constant_time_compare(str(mark.get("password", "")), _fingerprint(user))
    )


def allow_choosing_password(request: HttpRequest, user: User, *, now=None) -> None:
    """This browser just proved `user`'s mailbox; it may choose the password."""
    now = now or timezone.now()
    request.session.pop(SET_HERE_SESSION_KEY, None)
    request.session[MAY_CHOOSE_SESSION_KEY] = {
        "user": user.pk,
        "password": _fingerprint(user),
        "at": now.isoformat(),
    }


def user_who_may_choose_password(request: HttpRequest, *, now=None) -> User | None:
    """The account this browser may choose a password for, if any.

    The permission ends when the window passes or the account's password changes
    (someone chose it, here or by a reset link).
    """
    mark = request.session.get(MAY_CHOOSE_SESSION_KEY)
    if not isinstance(mark, dict):
        return None
    user_id = mark.get("user")
    if not isinstance(user_id, int):
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not constant_time_compare(str(mark.get("password", "")), _fingerprint(user)):
        return None
    try:
        granted = datetime.fromisoformat(str(mark.get("at")))
    except ValueError:
        return None
    if (now or timezone.now()) - granted > CHOOSE_PASSWORD_WINDOW:
        return None
    return user


def forget_choosing_password(request: HttpRequest) -> None:
    request.session.pop(MAY_CHOOSE_SESSION_KEY, None)
