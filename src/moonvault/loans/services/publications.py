"""Publications and the samples they used."""

from django.db import transaction
from django.utils.translation import gettext as _

from moonvault.accounts.models import Role
from moonvault.accounts.selectors import user_has_role
from moonvault.catalog.models import Sample
from moonvault.core.errors import DomainError, NotFound
from moonvault.core.identifiers import normalize_doi
from moonvault.loans.models import Authorship, Loan, Publication, PublicationUse
from moonvault.loans.services.common import loan_for


@transaction.atomic
def publication_record(
    *,
    actor,
    doi: str,
    title: str,
    journal: str,
    year: int,
    authors: list[str],
    sample_identifiers: list[str],
    loan_id: int | None = None,
) -> tuple[Publication, list[str]]:
    """Record a publication and link it to the samples it used.

    Returns the publication and warnings: a curator recording a publication that names no
    sample, or samples that no loan of its authors covered, is told so, because unlinked use is
    what audits find too late.
    """
    loan: Loan | None = loan_for(actor, loan_id) if loan_id else None
    if loan is None and not user_has_role(actor, Role.CURATOR):
        raise DomainError(_("record a publication under one of your loans"), field="loan")
    doi = normalize_doi(doi)
    if not title.strip():
        raise DomainError(_("the title is required"), field="title")
    if isinstance(year, bool) or not isinstance(year, int) or not 1969 <= year <= 2200:
        raise DomainError(_("a year from 1969 on"), field="year")
    names = [a.strip() for a in authors if a.strip()]
    if not names:
        raise DomainError(_("list the authors"), field="authors")
    samples = list(Sample.objects.filter(identifier__in=sample_identifiers))
    unknown = set(sample_identifiers) - {s.identifier for s in samples}
    if unknown:
        raise NotFound(
            _("unknown sample %(unknown)s") % {"unknown": repr(sorted(unknown)[0])},
            field="sample_identifiers",
        )
    publication, created = Publication.objects.get_or_create(
        doi=doi, defaults={"title": title.strip(), "journal": journal.strip(), "year": year}
    )
    if created:
        Authorship.objects.bulk_create(
            Authorship(publication=publication, name=name, position=n)
            for n, name in enumerate(names)
        )
    PublicationUse.objects.bulk_create(
        [PublicationUse(publication=publication, sample=s, loan=loan) for s in samples],
        ignore_conflicts=True,
    )
    warnings = []
    if not samples:
        warnings.append("the publication is linked to no sample")
    elif loan is None:
        lent = set(
            Sample.objects.filter(
                loan_items__isnull=False, pk__in=[s.pk for s in samples]
            ).values_list("pk", flat=True)
        )
        unlent = [s.identifier for s in samples if s.pk not in lent]
        if unlent:
            warnings.append(f"no loan covers {', '.join(unlent)}")
    return publication, warnings
