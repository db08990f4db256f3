"""API shapes for the custody ledger."""

import json
from datetime import datetime

from ninja import Schema


class EventOut(Schema):
    seq: int
    kind: str
    recorded_at: datetime
    mass_delta_ug: int
    loss_ug: int
    state_after: str
    location: str | None
    reason: str
    data: dict
    prev_hash: str
    hash: str

    @staticmethod
    def resolve_location(obj):
        return obj.location_after.code if obj.location_after_id else None

    @staticmethod
    def resolve_data(obj):
        return json.loads(obj.data)


class TimelineOut(Schema):
    identifier: str
    events: list[EventOut]


class LedgerHeadOut(Schema):
    seq: int
    hash: str
