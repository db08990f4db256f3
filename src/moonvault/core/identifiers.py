"""Validation of the field's identifiers: DOI, ORCID iD, ROR id, IGSN."""

import re

from django.utils.translation import gettext as _

from moonvault.core.errors import DomainError

DOI_PATTERN = re.compile(r"^10\.\d{4,9}/\S+$")
ORCID_PATTERN = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")
ROR_PATTERN = re.compile(r"^0[a-hj-km-np-tv-z0-9]{6}\d{2}$")
CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
IGSN_PATTERN = re.compile(r"^[A-Z0-9]{5,32}$")
# IGSNs resolve as DOIs under this prefix; the sample record keeps the bare IGSN.
IGSN_DOI_PREFIX = "10.60516"


def normalize_doi(text: str, *, field: str = "doi") -> str:
    """`https://doi.org/10.1038/X` and `doi:10.1038/X` become `10.1038/x` (DOIs ignore case)."""
    doi = text.strip()
    for prefix in ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "doi:"):
        if doi.lower().startswith(prefix):
            doi = doi[len(prefix) :]
    if not DOI_PATTERN.match(doi):
        raise DomainError(
            _("%(text)s is not a DOI (10.NNNN/suffix)") % {"text": repr(text)}, field=field
        )
    return doi.lower()


def validate_orcid(text: str, *, field: str = "orcid") -> str:
    """ISO 7064 MOD 11-2 check digit, as ORCID specifies."""
    orcid = text.strip().removeprefix("https://orcid.org/")
    if not ORCID_PATTERN.match(orcid):
        raise DomainError(
            _("%(text)s is not an ORCID iD (0000-0000-0000-0000)") % {"text": repr(text)},
            field=field,
        )
    digits = orcid.replace("-", "")
    total = 0
    for ch in digits[:-1]:
        total = (total + int(ch)) * 2
    check = (12 - total % 11) % 11
    if digits[-1] != ("X" if check == 10 else str(check)):
        raise DomainError(
            _("%(text)s has a wrong ORCID check digit") % {"text": repr(text)}, field=field
        )
    return orcid


def validate_ror(text: str, *, field: str = "ror") -> str:
    """Crockford base-32 body with an ISO 7064 MOD 97-10 checksum, as ROR specifies."""
    ror = text.strip().lower().removeprefix("https://ror.org/")
    if not ROR_PATTERN.match(ror):
        raise DomainError(_("%(text)s is not a ROR id") % {"text": repr(text)}, field=field)
    number = 0
    for ch in ror[:-2]:
        number = number * 32 + CROCKFORD.index(ch)
    if 98 - (number * 100) % 97 != int(ror[-2:]):
        raise DomainError(
            _("%(text)s has a wrong ROR checksum") % {"text": repr(text)}, field=field
        )
    return ror


def normalize_igsn(text: str, *, field: str = "igsn") -> str:
    """`IEXXX0001`, `igsn:IEXXX0001` and `https://doi.org/10.60516/IEXXX0001` become `IEXXX0001`."""
    igsn = text.strip()
    for prefix in ("https://doi.org/", "http://doi.org/", "doi:", "https://igsn.org/", "igsn:"):
        if igsn.lower().startswith(prefix):
            igsn = igsn[len(prefix) :]
            break
    igsn = igsn.removeprefix(IGSN_DOI_PREFIX + "/").upper()
    if not IGSN_PATTERN.match(igsn):
        raise DomainError(
            _(
                "%(text)s is not an IGSN (5 to 32 letters and digits such as IEXXX0001, "
                "or %(igsn_doi_prefix)s/IEXXX0001)"
            )
            % {"text": repr(text), "igsn_doi_prefix": IGSN_DOI_PREFIX},
            field=field,
        )
    return igsn
