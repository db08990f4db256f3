"""A decided round with an active research loan, an exhibition on the road, and the people on
each side: what the exports are tested on."""

from datetime import date
from decimal import Decimal

import pytest

from moonvault.loans.services import exhibitions
from tests.web_loans.conftest import (
    active_loan,
    committee_member,
    decided,
    display_sample,
    fast_passwords,
    loan,
)

__all__ = [
    "active_loan",
    "committee_member",
    "decided",
    "display_sample",
    "fast_passwords",
    "loan",
]


@pytest.fixture
def travelling(decided, display_sample, cabinet):
    """An exhibition approved and dispatched, whose closing date has passed."""
    exhibition = exhibitions.exhibition_create(
        actor=decided.curator,
        title="Chang'e-5 at the IAC",
        organiser="IAC 2024 Milan",
        starts_on=date(2024, 10, 14),
        ends_on=date(2024, 10, 18),
        responsible_official="Ms. Official",
        deputy_official="Mr. Deputy",
        insurance_value=Decimal("1000000.00"),
        sample_identifiers=[display_sample.identifier],
        stops=[
            {
                "venue": "MiCo",
                "city": "Milan",
                "country": "IT",
                "arrive_on": date(2024, 10, 12),
                "depart_on": date(2024, 10, 19),
            }
        ],
    )
    exhibitions.exhibition_approve(actor=decided.committee, exhibition_id=exhibition.pk)
    exhibitions.exhibition_dispatch(
        actor=decided.curator,
        exhibition_id=exhibition.pk,
        container_code="CASE-1",
        seal_number="SEAL-E1",
        courier="Art courier",
        location_code=cabinet.code,
    )
    exhibition.refresh_from_db()
    return exhibition
