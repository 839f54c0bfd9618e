"""The embedded default (scripts/run): SQLite under var/, the filesystem broker, and the
app served as a shop would run it: debug off, static files from WhiteNoise, plain http
on this machine (no HTTPS redirect or secure-only cookies, unlike production)."""

from .base import *  # noqa: F403
from .base import env

# DJANGO_DEBUG=1 brings back Django's debug pages (and static files without collectstatic).
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# A fixed development key; production refuses to start without its own.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="local-development-key-not-for-production")
# collectstatic (scripts/run) fills it; WhiteNoise wants the folder to exist before that.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
