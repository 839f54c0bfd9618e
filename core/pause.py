"""A test-only pause point for the real-worker tests.

When the environment variable a module names holds a folder, the worker writes
`<folder>/paused` at that point and waits for `<folder>/resume` (at most ten minutes), so
a test can kill it at a known moment without guessing at timings. Read at run time; the
variables are never set outside those tests, and then this does nothing.
"""

import os
import time
from pathlib import Path

GIVE_UP_SECONDS = 600


def pause_point(env_var: str) -> None:
    folder = os.environ.get(env_var)
    if not folder:
        return
    Path(folder, "paused").touch()
    resume = Path(folder, "resume")
    give_up = time.monotonic() + GIVE_UP_SECONDS
    while not resume.exists() and time.monotonic() < give_up:
        time.sleep(0.05)
