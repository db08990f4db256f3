"""State changes of a sample that move no mass: allocation, shipping, display and return.

Each is one generic step — lock the sample, check the state it is in, set the new state and
location, record the custody event — so that the rules live in one table, `TRANSITIONS`.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from moonvault.catalog.models import Sample, State, StorageLocation
from moonvault.core.errors import Conflict, NotFound
from moonvault.custody.models import EventKind
from moonvault.custody.services import PendingEvent, events_record, ledger_lock


@dataclass(frozen=True)
class Transition:
    kind: EventKind
    allowed_from: frozenset[str]
    to_state: str
    needs_location: bool  # whether the sample ends in one of our storage locations


TRANSITIONS = {
    "allocate": Transition(EventKind.ALLOCATED, frozenset({State.STORED}), State.ALLOCATED, True),
    "deallocate": Transition(
        EventKind.DEALLOCATED, frozenset({State.ALLOCATED}), State.STORED, True
    ),
    "pack": Transition(EventKind.PACKED, frozenset({State.ALLOCATED}), State.ALLOCATED, True),
    "ship": Transition(
        EventKind.SHIPPED, frozenset({State.ALLOCATED, State.ON_LOAN}), State.IN_TRANSIT, False
    ),
    "deliver": Transition(EventKind.DELIVERED, frozenset({State.IN_TRANSIT}), State.ON_LOAN, False),
    "return": Transition(EventKind.RETURNED, frozenset({State.IN_TRANSIT}), State.STORED, True),
    "display": Transition(
        EventKind.DISPLAYED, frozenset({State.STORED, State.IN_TRANSIT}), State.ON_DISPLAY, False
    ),
    "undisplay": Transition(
        EventKind.UNDISPLAYED, frozenset({State.ON_DISPLAY}), State.IN_TRANSIT, False
    ),
    "found": Transition(EventKind.FOUND, frozenset({State.LOST}), State.STORED, True),
}


def samples_transition(
    *,
    actor,
    sample_ids: list[int],
    step: str,
    location: StorageLocation | None = None,
    reason: str = "",
    data: dict | None = None,
    pristine: bool | None = None,
) -> list[Sample]:
    """Apply one step to several samples as one operation, all or none.

    `pristine=False` marks material that has left the controlled environment (a return from a
    loan or a display); it is recorded in the event so that replay keeps it, and nothing turns it
    back to pristine.
    """
    rule = TRANSITIONS[step]
    if rule.needs_location and location is None:
        raise Conflict(_("say where the samples go (%(step)s)") % {"step": step}, field="location")
    with transaction.atomic():
        samples = list(Sample.objects.select_for_update().filter(pk__in=sample_ids).order_by("pk"))
        missing = set(sample_ids) - {s.pk for s in samples}
        if missing:
            raise NotFound(
                _("sample %(missing)s does not exist") % {"missing": sorted(missing)[0]},
                field="sample",
            )
        for sample in samples:
            if sample.state not in rule.allowed_from:
                raise Conflict(
                    _("sample %(identifier)s is %(state)s; it cannot be %(label)s")
                    % {
                        "identifier": sample.identifier,
                        "state": sample.get_state_display().lower(),
                        "label": rule.kind.label.lower(),
                    },
                    field="sample",
                )
        # The ledger head before any sample row changes (lock order in catalog/services.py).
        head = ledger_lock()
        events = []
        for sample in samples:
            sample.state = rule.to_state
            sample.location = location if rule.needs_location else None
            extra = dict(data or {})
            if pristine is False and sample.pristine:
                sample.pristine = False
                extra["pristine"] = False
            sample.save(update_fields=["state", "location", "pristine", "updated_at"])
            events.append(PendingEvent(sample, rule.kind, data=extra))
        events_record(actor=actor, head=head, reason=reason, events=events)
        return samples
