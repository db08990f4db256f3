"""ORCID, ROR, DOI and IGSN: checked where people, institutions, publications and samples enter."""

import pytest

from moonvault.accounts.services import institution_create, person_create
from moonvault.catalog.models import Form, Pool, Sample
from moonvault.catalog.services import NewSample, sample_receive, samples_receive
from moonvault.core.errors import Conflict, DomainError
from moonvault.core.identifiers import normalize_doi, normalize_igsn, validate_orcid, validate_ror
from tests.conftest import GRAM


def test_a_real_orcid_passes_its_check_digit():
    assert validate_orcid("0000-0002-1825-0097") == "0000-0002-1825-0097"
    assert validate_orcid("https://orcid.org/0000-0002-1825-0097") == "0000-0002-1825-0097"


@pytest.mark.parametrize(
    ("orcid", "why"),
    [
        ("0000-0002-1825-0098", "wrong ORCID check digit"),
        ("0000-0002-1825-009", "is not an ORCID iD"),
        ("0000000218250097", "is not an ORCID iD"),
    ],
)
def test_a_broken_orcid_is_refused(orcid, why):
    with pytest.raises(DomainError, match=why):
        validate_orcid(orcid)


@pytest.mark.parametrize("ror", ["05dxps055", "02mhbdp94", "https://ror.org/05dxps055"])
def test_real_ror_ids_pass_their_checksum(ror):
    assert validate_ror(ror) == ror.removeprefix("https://ror.org/")


@pytest.mark.parametrize(
    ("ror", "why"),
    [
        ("05dxps056", "wrong ROR checksum"),
        ("02mhbdp95", "wrong ROR checksum"),
        ("15dxps055", "not a ROR"),
    ],
)
def test_a_broken_ror_id_is_refused(ror, why):
    with pytest.raises(DomainError, match=why):
        validate_ror(ror)


def test_dois_are_normalized_from_their_usual_spellings():
    assert normalize_doi("https://doi.org/10.1126/Science.aax4156") == "10.1126/science.aax4156"
    assert normalize_doi("doi:10.1038/s41586-021-04100-2") == "10.1038/s41586-021-04100-2"
    with pytest.raises(DomainError, match="is not a DOI"):
        normalize_doi("10.12/x")


@pytest.mark.parametrize(
    "text",
    [
        "IEXXX0001",
        "iexxx0001",
        " igsn:IEXXX0001",
        "10.60516/IEXXX0001",
        "https://doi.org/10.60516/iexxx0001",
    ],
)
def test_igsns_are_normalized_from_their_bare_and_doi_forms(text):
    assert normalize_igsn(text) == "IEXXX0001"


@pytest.mark.parametrize("text", ["IEX", "IEXXX-0001", "10.1234/IEXXX0001", "IEXXX 0001"])
def test_a_malformed_igsn_is_refused(text):
    with pytest.raises(DomainError, match="is not an IGSN"):
        normalize_igsn(text)


def test_a_person_is_created_with_a_valid_orcid_and_refused_with_a_broken_one(db):
    person = person_create(
        username="carberry", password="x-Orcid-2026", orcid="https://orcid.org/0000-0002-1825-0097"
    )
    assert person.orcid == "0000-0002-1825-0097"
    with pytest.raises(DomainError) as caught:
        person_create(username="other", password="x-Orcid-2026", orcid="0000-0002-1825-0098")
    assert caught.value.problems[0].field == "orcid"
    with pytest.raises(Conflict, match="belongs to another person"):
        person_create(username="third", password="x-Orcid-2026", orcid="0000-0002-1825-0097")


def test_an_institution_is_created_with_a_valid_ror_and_refused_with_a_broken_one(db):
    institution = institution_create(
        name="Institution A", country="CN", ror="https://ror.org/05dxps055"
    )
    assert institution.ror == "05dxps055"
    assert institution_create(name="Institution A", country="CN", ror="05dxps055") == institution
    with pytest.raises(DomainError) as caught:
        institution_create(name="Institution B", country="US", ror="02mhbdp95")
    assert caught.value.problems[0].field == "ror"
    with pytest.raises(Conflict, match="belongs to another institution"):
        institution_create(name="Institution C", country="US", ror="05dxps055")


def _new(identifier, mission, facility, igsn):
    return NewSample(
        identifier=identifier,
        mission=mission,
        form=Form.ROCK_FRAGMENT,
        pool=Pool.RESEARCH,
        mass_ug=GRAM,
        location=facility,
        igsn=igsn,
    )


def test_a_received_sample_keeps_its_igsn_in_the_bare_form(mission_ce5, facility):
    sample = sample_receive(
        actor=None, new=_new("CE5-A", mission_ce5, facility, "10.60516/iexxx0001")
    )
    assert sample.igsn == "IEXXX0001"


def test_a_malformed_or_taken_igsn_refuses_the_receipt(mission_ce5, facility):
    with pytest.raises(DomainError) as caught:
        sample_receive(actor=None, new=_new("CE5-A", mission_ce5, facility, "not an igsn"))
    assert caught.value.problems[0].field == "igsn"
    sample_receive(actor=None, new=_new("CE5-A", mission_ce5, facility, "IEXXX0001"))
    with pytest.raises(Conflict, match="IGSN IEXXX0001 is already given"):
        sample_receive(actor=None, new=_new("CE5-B", mission_ce5, facility, "igsn:IEXXX0001"))
    with pytest.raises(Conflict) as caught:
        samples_receive(
            actor=None,
            samples=[
                _new("CE5-C", mission_ce5, facility, "IEXXX0002"),
                _new("CE5-D", mission_ce5, facility, "IEXXX0002"),
            ],
        )
    assert caught.value.problems[0].field == "samples[1].igsn"
    assert Sample.objects.count() == 1
