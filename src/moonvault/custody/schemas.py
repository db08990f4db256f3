"""API shapes for the custody ledger."""

import json
from datetime import datetime

from ninja import Schema
from pydantic import ConfigDict


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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "identifier": "CE5C0400YJFM00505",
                    "events": [
                        {
                            "seq": 1,
                            "kind": "received",
                            "recorded_at": "2026-11-22T14:55:40.538Z",
                            "mass_delta_ug": 2000000,
                            "loss_ug": 0,
                            "state_after": "stored",
                            "location": "MAIN",
                            "reason": "",
                            "data": {
                                "form": "scooped_regolith",
                                "identifier": "CE5C0400YJFM00505",
                                "mission": "CE5",
                                "parent": None,
                                "pool": "research",
                                "pristine": True,
                            },
                            "prev_hash": (
                                "0000000000000000000000000000000000000000000000000000000000000000"
                            ),
                            "hash": (
                                "3ab05482167a0afeece77a9f7b67bc2f21c18f2b795b9599fbde8a99610e2ec4"
                            ),
                        },
                        {
                            "seq": 2,
                            "kind": "split",
                            "recorded_at": "2026-11-22T14:55:40.621Z",
                            "mass_delta_ug": -800007,
                            "loss_ug": 7,
                            "state_after": "stored",
                            "location": "MAIN",
                            "reason": "",
                            "data": {"children": [2, 3]},
                            "prev_hash": (
                                "3ab05482167a0afeece77a9f7b67bc2f21c18f2b795b9599fbde8a99610e2ec4"
                            ),
                            "hash": (
                                "edb65976296317b635956403057167d8aaa357a16ad49b7338957826e80aecfe"
                            ),
                        },
                    ],
                }
            ]
        }
    )

    identifier: str
    events: list[EventOut]


class LedgerHeadOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "seq": 9,
                    "hash": "d1187cb81b6f20bd5cc7aefb157fcf32cb0fc9caa9ff59750069b202df99ac8d",
                }
            ]
        }
    )

    seq: int
    hash: str
