"""Faults the concurrent workload found, pinned down one step at a time."""

import pytest

from moonvault.catalog.models import State
from moonvault.core.errors import Conflict
from moonvault.loans.models import Shipment
from moonvault.loans.services import research

pytestmark = pytest.mark.robustness


def test_a_sample_waits_in_one_return_container_at_a_time(decided_round, curator):
    loan = decided_round[0]
    research.loan_record_signature(actor=curator, loan_id=loan.pk, signed_by_name="A. Official")
    out = research.shipment_pack(
        actor=curator,
        loan_id=loan.pk,
        container_code="BOX",
        seal_number="S-1",
        nitrogen_purged=True,
        location_code="PACK",
    )
    research.shipment_dispatch(actor=curator, shipment_id=out.pk, courier="SF", tracking_number="1")
    held = dict(loan.items.values_list("sample_id", "sample__mass_ug"))
    research.shipment_receive(actor=loan.pi, shipment_id=out.pk, seal_intact=True, measured=held)

    def pack_return():
        return research.return_pack(
            actor=loan.pi,
            loan_id=loan.pk,
            sample_ids=sorted(held),
            container_code="BOX-R",
            seal_number="S-R",
        )

    pack_return()
    with pytest.raises(Conflict, match="already packed to come back") as refused:
        pack_return()
    assert refused.value.problems[0].field == "sample_ids"
    assert loan.shipments.filter(direction=Shipment.Direction.RETURN).count() == 1
    assert set(loan.items.values_list("sample__state", flat=True)) == {State.ON_LOAN}
