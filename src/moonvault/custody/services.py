"""Appending to the custody ledger. Every service that changes a sample ends here."""

import uuid
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from moonvault.catalog.models import Sample
from moonvault.custody.chain import canonical_data, canonical_time, event_hash
from moonvault.custody.models import CustodyEvent, EventKind, LedgerHead


@dataclass
class PendingEvent:
    """One change to one sample; state and location after it are read from the sample itself."""

    sample: Sample
    kind: EventKind
    mass_delta_ug: int = 0
    loss_ug: int = 0
    data: dict = field(default_factory=dict)


def ledger_lock() -> LedgerHead:
    """Lock the ledger head for the rest of the transaction.

    Callers lock the samples they change first and the head last, always in that order, so that
    two services never wait on each other in a cycle.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("the ledger is written only inside a transaction")
    head = LedgerHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        # The genesis row comes with the migrations; a flushed test database lacks it.
        LedgerHead.objects.get_or_create(pk=1)
        head = LedgerHead.objects.select_for_update().get(pk=1)
    return head


def events_record(
    *, actor, events: list[PendingEvent], reason: str = "", head: LedgerHead | None = None
) -> list[CustodyEvent]:
    """Append `events` as one operation, chained after the current head."""
    head = head or ledger_lock()
    recorded_at = timezone.now()
    when = canonical_time(recorded_at)
    operation = uuid.uuid4().hex
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    seq, prev = head.seq, head.hash
    rows = []
    for pending in events:
        seq += 1
        sample = pending.sample
        data = canonical_data(pending.data)
        values = (
            seq,
            prev,
            pending.kind.value,
            sample.pk,
            operation,
            pending.mass_delta_ug,
            pending.loss_ug,
            sample.state,
            sample.location_id,
            actor_id,
            when,
            reason,
            data,
        )
        digest = event_hash(values)
        rows.append(
            CustodyEvent(
                seq=seq,
                sample_id=sample.pk,
                kind=pending.kind.value,
                operation=operation,
                mass_delta_ug=pending.mass_delta_ug,
                loss_ug=pending.loss_ug,
                state_after=sample.state,
                location_after_id=sample.location_id,
                actor_id=actor_id,
                recorded_at=recorded_at,
                reason=reason,
                data=data,
                prev_hash=prev,
                hash=digest,
            )
        )
        prev = digest
    CustodyEvent.objects.bulk_create(rows, batch_size=2000)
    head.seq, head.hash = seq, prev
    head.save(update_fields=["seq", "hash"])
    return rows
