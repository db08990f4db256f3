"""Reads of the custody ledger."""

from django.db.models import QuerySet

from moonvault.catalog.models import Sample
from moonvault.custody.models import CustodyEvent, LedgerHead


def sample_timeline(*, sample: Sample) -> QuerySet[CustodyEvent]:
    return (
        CustodyEvent.objects.filter(sample=sample)
        .select_related("location_after", "actor")
        .order_by("seq")
    )


def ledger_head() -> LedgerHead:
    return LedgerHead.objects.get(pk=1)
