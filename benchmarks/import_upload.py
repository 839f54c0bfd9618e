"""The owner's upload page against the CLI, on the same file, in one run.

    python benchmarks/import_upload.py [--file ../shared/data/online-retail/online_retail.csv.gz]
                                       [--rows N] [--profile online-retail]

Uses the database configured by DATABASE_URL (PostgreSQL for the target) but creates a
throwaway test database on it for each run, so nothing of the shop's data is touched and
both halves start from an empty shop:

1. CLI: `import_data --profile P --file F --dry-run`, then the same without --dry-run;
2. page: the owner's POST of the file to /owner/import/ (Django's test client; the body
   goes through the upload handler to the private folder on disk), the dry run it queues
   (the preview), then the POST of "Import these rows" and the import it queues. The
   tasks run in this process (Celery's eager mode), so the figures are the page's and the
   service's cost, not a broker's latency.

The halves run in the order CLI, page, page, CLI, each on a fresh database, and each
figure is the mean of its two runs (the machine's load drifting weighs on both alike).
Printed: each step's time and the ratios page/CLI for the import step, for the preview
step (page dry run + upload vs CLI --dry-run), and for the whole path. Target (issue #18):
the import through the upload page within 1.5x the CLI time.
Data: UCI Online Retail (Chen, 2015), CC BY 4.0, https://doi.org/10.24432/C5BW33.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"

DEFAULT_FILE = Path(__file__).resolve().parent.parent.parent / (
    "shared/data/online-retail/online_retail.csv.gz"
)


def prefix_copy(source: Path, rows: int, folder: Path) -> Path:
    """The header and the first `rows` data lines of `source`, gzipped."""
    target = folder / f"{source.name.split('.')[0]}_{rows}.csv.gz"
    with gzip.open(source, "rt", newline="") as f, gzip.open(target, "wt", newline="") as out:
        for n, line in enumerate(f):
            if n > rows:
                break
            out.write(line)
    return target


def fresh_database() -> None:
    from django.db import connection

    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)


def drop_database() -> None:
    from django.db import connection

    connection.creation.destroy_test_db(old_database_name=None, verbosity=0)


def stored_rows() -> int:
    from personalization.models import GuestSale, Interaction

    return Interaction.objects.count() + GuestSale.objects.count()


def cli(profile: str, path: Path) -> tuple[float, float, int]:
    """(dry-run seconds, import seconds, rows stored) of the command."""
    from django.core.management import call_command

    def run(*extra: str) -> float:
        started = time.perf_counter()
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command(
                "import_data", "--profile", profile, "--file", str(path), *extra,
                stdout=out, stderr=err,
            )  # fmt: skip
        except SystemExit as exc:
            sys.exit(f"the CLI refused the file ({exc.code}): {err.getvalue()[-2000:]}")
        return time.perf_counter() - started

    dry = run("--dry-run")
    real = run()
    return dry, real, stored_rows()


def page(profile: str, path: Path, upload_dir: Path) -> dict[str, float | int]:
    """Seconds of each step through the owner's page, and the rows stored."""
    from allauth.mfa.totp.internal.auth import TOTP
    from django.conf import settings
    from django.test import Client

    from accounts.models import User
    from accounts.roles import Role
    from accounts.services import user_set_role
    from personalization.importing import runs
    from personalization.models import ImportRun, ImportRunStatus

    settings.IMPORT_UPLOAD_DIR = upload_dir
    settings.ALLOWED_HOSTS = ["testserver"]
    owner = User.objects.create_user(email="bench-owner@example.com", password="x" * 20)
    user_set_role(user=owner, role=Role.OWNER)
    TOTP.activate(owner, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")  # the owner pages need one
    client = Client()
    client.force_login(owner)
    # Loads the URL conf, views and templates once, as a running server has.
    if client.get("/owner/import/").status_code != 200:
        sys.exit("the owner could not open /owner/import/")

    work_seconds: list[float] = []
    real_work = runs.import_run_work

    def timed_work(**kwargs):
        started = time.perf_counter()
        try:
            return real_work(**kwargs)
        finally:
            work_seconds.append(time.perf_counter() - started)

    runs.import_run_work = timed_work  # the task calls runs.import_run_work(run_id=...)
    try:
        started = time.perf_counter()
        with open(path, "rb") as upload:
            response = client.post("/owner/import/", {"profile": profile, "uploads": upload})
        upload_post = time.perf_counter() - started
        if response.status_code != 302:
            sys.exit(f"the upload was refused ({response.status_code})")
        run = ImportRun.objects.get()
        if run.status != ImportRunStatus.CHECKED:
            errors = (run.preview or {}).get("errors", [])[:3]
            sys.exit(f"the preview was not ready: {run.status} {errors}")
        check = work_seconds[-1]

        started = time.perf_counter()
        response = client.post(f"/owner/import/{run.pk}/confirm/")
        confirm_post = time.perf_counter() - started
        run.refresh_from_db()
        if run.status != ImportRunStatus.COMPLETED:
            sys.exit(f"the import did not complete: {run.status} {run.failure}")
        imported = work_seconds[-1]
    finally:
        runs.import_run_work = real_work
    return {
        "upload": upload_post - check,
        "check": check,
        "confirm_overhead": confirm_post - imported,
        "import": imported,
        "preview_total": upload_post,
        "import_total": confirm_post,
        "rows": stored_rows(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--rows", type=int, default=0, help="only the first N data lines")
    parser.add_argument("--profile", default="online-retail")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("set DATABASE_URL to a PostgreSQL database: the target is for PostgreSQL")
    with tempfile.TemporaryDirectory() as folder:
        path = prefix_copy(args.file, args.rows, Path(folder)) if args.rows else args.file
        print(f"file: {path.name} ({path.stat().st_size / 1e6:.1f} MB), profile {args.profile}")
        path.read_bytes()  # both halves read it from the page cache

        # CLI, page, page, CLI: the machine's load drifting during the run weighs on
        # both alike; each figure is the mean of its two runs.
        clis, pages = [], []
        for n, half in enumerate(("cli", "page", "page", "cli")):
            fresh_database()
            try:
                if half == "cli":
                    clis.append(cli(args.profile, path))
                else:
                    pages.append(page(args.profile, path, Path(folder) / f"imports{n}"))
            finally:
                drop_database()
    cli_dry = sum(c[0] for c in clis) / len(clis)
    cli_import = sum(c[1] for c in clis) / len(clis)
    cli_rows = clis[0][2]
    web = {key: sum(p[key] for p in pages) / len(pages) for key in pages[0]}
    print("runs (s): CLI dry/import " + ", ".join(f"{d:.1f}/{i:.1f}" for d, i, _r in clis))
    print(
        "runs (s): page dry/import "
        + ", ".join(f"{p['check']:.1f}/{p['import']:.1f}" for p in pages)
    )

    print(f"CLI  --dry-run               {cli_dry:7.1f} s")
    print(f"CLI  import                  {cli_import:7.1f} s  ({cli_rows:,} sale rows stored)")
    print(f"page upload (to disk)        {web['upload']:7.1f} s")
    print(f"page dry run (preview)       {web['check']:7.1f} s")
    print(f"page import (the task)       {web['import']:7.1f} s")
    print(f"page confirm + import        {web['import_total']:7.1f} s  ({int(web['rows']):,} rows)")
    import_ratio = web["import_total"] / cli_import
    preview_ratio = web["preview_total"] / cli_dry
    whole_ratio = (web["preview_total"] + web["import_total"]) / (cli_dry + cli_import)
    print(f"import step, page / CLI      {import_ratio:7.2f}x  (target <= 1.50x)")
    print(f"preview step, page / CLI     {preview_ratio:7.2f}x  (upload + dry run vs --dry-run)")
    print(f"whole path, page / CLI       {whole_ratio:7.2f}x  (both steps)")
    same = all(c[2] == cli_rows for c in clis) and all(p["rows"] == cli_rows for p in pages)
    print(f"same rows stored: {same}")
    print("target met" if import_ratio <= 1.5 and same else "target NOT met")


if __name__ == "__main__":
    main()
