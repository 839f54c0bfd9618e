"""The client's address, as every rate limit and fingerprint here counts it."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The address the nearest untrusted hop connected from.

    With `TRUSTED_PROXY_COUNT = 0` (the default) that is REMOTE_ADDR and
    X-Forwarded-For is ignored, since anyone can send it. Behind N proxies of the
    shop's own, each appends the address it saw, so the N-th entry from the right is
    the one the outermost trusted proxy saw; entries further left were written by the
    client and are never believed. A header with fewer entries than trusted proxies,
    or an entry that is not an address, falls back to REMOTE_ADDR.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    if len(hops) < count:
        return remote
    candidate = hops[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
