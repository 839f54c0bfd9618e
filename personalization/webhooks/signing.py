"""HMAC-SHA256 signatures of webhook bodies. Pure Python (no Django)."""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Fairshare-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix time>,v1=<hex hmac>` over "<timestamp>.<body>", so a replay can be aged."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(secret: str, header: str, body: bytes) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)
