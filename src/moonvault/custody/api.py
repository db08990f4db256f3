"""Public read endpoints of the custody ledger: transparency is the point of it."""

from ninja import Router

from moonvault.catalog.selectors import sample_get
from moonvault.core.api import answers, json_answer
from moonvault.custody import selectors
from moonvault.custody.schemas import LedgerHeadOut, TimelineOut

router = Router(tags=["custody"])


@router.get(
    "/samples/{identifier}/timeline",
    response=answers(200, TimelineOut, public=True),
    auth=None,
    summary="A sample's custody events, oldest first",
    description="Every event of the sample's life in the ledger — received, split, weighed, "
    "moved, shipped, returned, … — each with its sequence number, mass change, state after it, "
    "reason, and the hashes that chain it to the event before. Public.",
)
def sample_timeline(request, identifier: str):
    events = selectors.sample_timeline_rows(identifier=identifier)
    if not events:
        # Every sample is made by an event: none means no such sample, which this says.
        sample_get(identifier=identifier, related=False)
    return json_answer(request, {"identifier": identifier, "events": events})


@router.get(
    "/ledger/head",
    response=answers(200, LedgerHeadOut, public=True),
    auth=None,
    summary="The ledger's last event",
    description="The sequence number and hash of the newest custody event: publish or keep it "
    "to check later that history has not been rewritten. Public.",
)
def ledger_head(request):
    return selectors.ledger_head()
