"""Browser-only helpers for the Playwright tests (the fixtures stay in conftest.py)."""

import re

from accounts.models import User
from accounts.roles import Role
from tests.builders import PASSWORD
from tests.mfa import recovery_code, totp_code

__all__ = ["PASSWORD", "ROLE_START_PAGE", "blocking_violations", "sign_in"]


ROLE_START_PAGE = {
    Role.CUSTOMER: re.compile(r"/me/$"),
    Role.STAFF: re.compile(r"/staff/$"),
    Role.OWNER: re.compile(r"/owner/$"),
}

# axe findings that fail a page.
BLOCKING = {"serious", "critical"}


def blocking_violations(page) -> list[str]:
    """Serious and critical axe findings, one readable line per affected element."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {node['target']}"
        for violation in results.response["violations"]
        if violation["impact"] in BLOCKING
        for node in violation["nodes"]
    ]


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the real login form, as a person would.

    Someone with an authenticator app (owners: make_user sets one up, tests/mfa.py)
    then types the app's code, or a recovery code when this test already used the
    current one (a code counts once).
    """
    from allauth.mfa.models import Authenticator

    page.goto("/accounts/login/")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    user = User.objects.filter(email__iexact=email).first()
    if (
        user is None
        or not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    ):
        return
    page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
    code = totp_code()
    if _CODES_TYPED.get(user.pk) == code:
        code = recovery_code(user)
    _CODES_TYPED[user.pk] = code
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Sign in").click()
    # Signed in once the code's answer has arrived (its cookie set): a page opened before
    # that would meet the sign-in page again.
    page.wait_for_url(lambda url: "/accounts/2fa/" not in url)


# The last authenticator code each person typed (by user id), to never type one twice.
_CODES_TYPED: dict[int, str] = {}
