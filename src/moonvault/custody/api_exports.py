"""The custody ledger as a download: the file `moonvault export-ledger` writes, streamed."""

from django.http import StreamingHttpResponse
from ninja import Router

from moonvault.core.api import answers
from moonvault.custody.archive import ledger_lines
from moonvault.custody.selectors import ledger_head

router = Router(tags=["custody"])

EXAMPLE = (
    '{"format": "moonvault-ledger", "version": 1, "head_seq": 2, "head_hash": "9f2c…", '
    '"exported_at": "2026-11-22T14:00:00+00:00", "fields": ["seq", "prev_hash", "kind", '
    '"sample_id", "operation", "mass_delta_ug", "loss_ug", "state_after", '
    '"location_after_id", "actor_id", "recorded_at", "reason", "data", "hash"]}\n'
    '{"seq": 1, "prev_hash": "0000…", "kind": "received", "sample_id": 1, "operation": '
    '"5b1e…", "mass_delta_ug": 1500000, "loss_ug": 0, "state_after": "stored", '
    '"location_after_id": 1, "actor_id": 1, "recorded_at": "2026-01-05T09:12:30.123456Z", '
    '"reason": "", "data": "{…}", "hash": "3a7d…"}\n'
)


@router.get(
    "/exports/ledger.jsonl",
    url_name="ledger-export",
    response=answers(200, None, public=True),
    auth=None,
    summary="The whole custody ledger as JSON lines (streamed)",
    description=(
        "A header line (format, head seq and hash, time, field names), then one object per event "
        "in chain order up to that head: the file `moonvault export-ledger` writes, which "
        "`python chain.py FILE` checks with nothing but Python. Public, as the ledger is the "
        "record the inventory is accountable to; it reads every event, so it takes as long as "
        "the ledger is large."
    ),
    openapi_extra={
        "responses": {
            200: {
                "description": "OK",
                "content": {
                    "application/x-ndjson": {"schema": {"type": "string"}, "example": EXAMPLE}
                },
            }
        }
    },
)
def ledger_jsonl(request):
    head = ledger_head()
    response = StreamingHttpResponse(ledger_lines(head), content_type="application/x-ndjson")
    response["Content-Disposition"] = f'attachment; filename="moonvault-ledger-{head.seq}.jsonl"'
    return response
