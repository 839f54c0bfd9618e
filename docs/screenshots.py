"""Screenshots of the main pages, as the customer, staff and owner see them, at 390x844
(a phone) and 1366x900 (a laptop), to look at after a change of layout or wording.

    .venv/bin/python docs/screenshots.py                 # seeds its own demo shop
    .venv/bin/python docs/screenshots.py --base-url http://127.0.0.1:8000

Without --base-url it seeds a fresh demo shop (seed_demo and a first bias audit) into a
temporary folder (its own SQLite database), serves it with `manage.py runserver` on a free
port, and deletes it all afterwards: nothing of yours is read or changed. That takes
about a minute or two.

With --base-url it photographs a server that is already running (./scripts/run) and must
be started with the same settings and database as this script (the same environment),
because it signs the demo owner in with an authenticator code: it sets up an
authenticator app for owner@example.com if there is none, or else uses one of the
owner's unused recovery codes. Use it only on a demo database.

The PNGs go to `screenshots/<language>/<role>/<page>-<size>.png` (default folder
`screenshots/` at the repository's root, ignored by git; --out to change it), one
language per run (--language en or de). Needs Debian's chromium (/usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
SIZES = {"phone": (390, 844), "desktop": (1366, 900)}
PEOPLE = {
    "customer": "gable@example.com",
    "staff": "staff@example.com",
    "owner": "owner@example.com",
}
AREAS = {"customer": "/me/", "staff": "/staff/", "owner": "/owner/"}
# The authenticator app this script sets up for the demo owner (a fresh demo only).
TOTP_SECRET = "NB2W45DFOIZA2ZLTMNZGKZLOONUG65DT"  # noqa: S105 (a throwaway demo's)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", help="a running server on this environment's database")
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("--language", choices=("en", "de"), default="en")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    if args.base_url:
        _setup_django()
        return _photograph(args.base_url.rstrip("/"), args.out, args.language)
    with tempfile.TemporaryDirectory(prefix="fairshare-screenshots-") as var_dir:
        os.environ["VAR_DIR"] = var_dir
        os.environ.pop("DATABASE_URL", None)
        os.environ["DJANGO_DEBUG"] = "1"  # runserver serves the static files
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
        for command in (
            ["migrate", "--noinput", "-v", "0"],
            ["compile_translations", "-v", "0"],
            ["seed_demo"],
            ["run_audit", "--sync", "--if-none"],
        ):
            print("==> manage.py", " ".join(command), flush=True)
            subprocess.run([sys.executable, "manage.py", *command], check=True)  # noqa: S603
        port = _free_port()
        server = subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            stdout=subprocess.DEVNULL,
        )
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_for(base_url + "/healthz/")
            _setup_django()
            return _photograph(base_url, args.out, args.language)
        finally:
            server.terminate()
            server.wait(timeout=30)


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    # Playwright's sync API runs an event loop in this thread; the few ORM reads here
    # (page addresses, the owner's code) are plain synchronous calls between its steps.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    import django

    django.setup()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):  # noqa: S310 (our own local server)
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _pages(role: str) -> list[tuple[str, str]]:
    """(file name, path) of the role's pages: home, the public page on AI, each page of
    its area's section navigation, and for the owner the latest audit report."""
    from django.urls import reverse

    from accounts.context_processors import section_pages

    pages = [("home", reverse("home")), ("transparency", reverse("transparency"))]
    for _label, name in section_pages(AREAS[role]):
        path = reverse(name)
        pages.append((_slug(path), path))
    if role == "owner":
        from audits.models import AuditRun

        run = AuditRun.objects.order_by("-pk").first()
        if run is not None:
            pages.append(("audit-report", reverse("owner:audit_detail", args=[run.pk])))
    return pages


def _slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"


def _owner_code(email: str) -> str:
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value

    from accounts.models import User

    user = User.objects.get(email__iexact=email)
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, TOTP_SECRET)
        RecoveryCodes.activate(user)
        return format_hotp_value(hotp_value(TOTP_SECRET, int(time.time()) // 30))
    codes = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    return RecoveryCodes(codes).get_unused_codes()[0]


def _sign_in(page, base_url: str, email: str) -> None:
    from personalization.demo.people import DEMO_PASSWORD

    page.goto(base_url + "/accounts/login/")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()
    if "/accounts/2fa/" in page.url:
        page.locator("input[name=code]").fill(_owner_code(email))
        page.locator("main form button[type=submit]").first.click()
        page.wait_for_url(lambda url: "/accounts/2fa/" not in url)


def _photograph(base_url: str, out: Path, language: str) -> int:
    from playwright.sync_api import sync_playwright

    locale = {"en": "en-GB", "de": "de-DE"}[language]
    saved = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for role, email in PEOPLE.items():
            context = browser.new_context(locale=locale)
            page = context.new_page()
            _sign_in(page, base_url, email)
            folder = out / language / role
            folder.mkdir(parents=True, exist_ok=True)
            for name, path in _pages(role):
                for size, (width, height) in SIZES.items():
                    page.set_viewport_size({"width": width, "height": height})
                    page.goto(base_url + path)
                    target = folder / f"{name}-{size}.png"
                    page.screenshot(path=str(target), full_page=True)
                    saved += 1
            context.close()
        browser.close()
    print(f"{saved} screenshots in {out / language}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
