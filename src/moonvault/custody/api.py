"""Public read endpoints of the custody ledger: transparency is the point of it."""

from ninja import Router

from moonvault.catalog.selectors import sample_get
from moonvault.custody import selectors
from moonvault.custody.schemas import LedgerHeadOut, TimelineOut

router = Router(tags=["custody"])


@router.get(
    "/samples/{identifier}/timeline",
    response=TimelineOut,
    auth=None,
    summary="A sample's custody events, oldest first",
)
def sample_timeline(request, identifier: str):
    sample = sample_get(identifier=identifier)
    return {
        "identifier": sample.identifier,
        "events": list(selectors.sample_timeline(sample=sample)),
    }


@router.get("/ledger/head", response=LedgerHeadOut, auth=None, summary="The ledger's last event")
def ledger_head(request):
    return selectors.ledger_head()
