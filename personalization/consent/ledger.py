"""The consent ledger's hash chain. Pure Python (no Django)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64

# The fields each hash covers, in this order. Adding one is a new chain version.
HASHED_FIELDS = (
    "customer_ref",
    "purpose",
    "data_category",
    "granted",
    "notice_version",
    "method",
    "actor",
    "created_at",
    "ip_hash",
    "user_agent_hash",
)


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def event_hash(fields: Mapping[str, Any], prev_hash: str) -> str:
    """SHA-256 over the previous hash and the event's fields as canonical JSON."""
    payload = {name: _canonical(fields[name]) for name in HASHED_FIELDS}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(f"{prev_hash}\n{text}".encode()).hexdigest()


@dataclass(frozen=True)
class Break:
    """The first place the chain does not hold."""

    event_id: int
    reason: str


def verify_chain(events: Iterable[Mapping[str, Any]]) -> Break | None:
    """Walk events in ledger order; None when every link holds.

    Each event needs `id`, `prev_hash`, `hash` and the HASHED_FIELDS.
    """
    expected_prev = GENESIS
    for event in events:
        if event["prev_hash"] != expected_prev:
            return Break(
                event["id"],
                "does not follow the entry before it (an entry was deleted, inserted or moved)",
            )
        if event_hash(event, event["prev_hash"]) != event["hash"]:
            return Break(event["id"], "its content does not match its hash (it was altered)")
        expected_prev = event["hash"]
    return None
