"""The ledger's canonical serialization and hash, in the standard library only.

An outside auditor reproduces `event_hash` from an exported event without Moonvault: the event's
fields, in this order, as a compact JSON array (UTF-8, no ASCII escaping), prefixed by nothing,
hashed with SHA-256. The previous event's hash is one of the fields, which makes the chain.
"""

import hashlib
import json
from datetime import UTC, datetime

FIELDS = (
    "seq",
    "prev_hash",
    "kind",
    "sample_id",
    "operation",
    "mass_delta_ug",
    "loss_ug",
    "state_after",
    "location_after_id",
    "actor_id",
    "recorded_at",
    "reason",
    "data",
)


def canonical_time(moment: datetime) -> str:
    """UTC with microseconds and a Z: 2024-06-25T06:07:08.000009Z."""
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


_encode_sorted = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode


def canonical_data(data: dict) -> str:
    return _encode_sorted(data) if data else "{}"


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def event_bytes(values: tuple) -> bytes:
    """`values` in the order of FIELDS, with recorded_at already canonical text."""
    return _encode(values).encode()


def event_hash(values: tuple) -> str:
    return hashlib.sha256(event_bytes(values)).hexdigest()
