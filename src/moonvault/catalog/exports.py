"""Sample metadata in the registries' shapes: SESAR (IGSN) fields as JSON or CSV, and DataCite.

A lab registering IGSNs uploads these instead of retyping its catalog. Records are built from a
queryset in chunks, so an export of a million samples streams in bounded memory: the storage
locations are read once, and the root of each chunk's split samples in one query per chunk.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet

from moonvault.catalog.models import Form, Sample, StorageLocation, path_ids
from moonvault.core.identifiers import IGSN_DOI_PREFIX
from moonvault.core.streams import csv_pieces, json_list_pieces

CHUNK = 2000

SESAR_FIELDS = (
    "igsn",
    "sample_name",
    "parent_igsn",
    "sample_type",
    "material",
    "classification",
    "field_name",
    "collection_method",
    "size",
    "size_unit",
    "latitude",
    "longitude",
    "locality",
    "cruise_field_prgrm",
    "collection_start_date",
    "current_archive",
    "description",
)

# SESAR's controlled sample types; a polished mount has no equivalent of its own.
SESAR_SAMPLE_TYPES = {
    Form.SCOOPED_REGOLITH: "Individual Sample",
    Form.DRILLED_REGOLITH: "Core Section",
    Form.ROCK_FRAGMENT: "Individual Sample",
    Form.POWDER: "Rock Powder",
    Form.THIN_SECTION: "Thin Section",
    Form.POLISHED_MOUNT: "Other",
    Form.PARTICLE: "Individual Sample",
    Form.GLASS_BEAD: "Individual Sample",
}
# Lunar regolith is "soil" in the curators' and SESAR's words alike.
SESAR_MATERIALS = {
    Form.SCOOPED_REGOLITH: "Soil",
    Form.DRILLED_REGOLITH: "Soil",
    Form.ROCK_FRAGMENT: "Rock",
    Form.POWDER: "Rock",
    Form.THIN_SECTION: "Rock",
    Form.POLISHED_MOUNT: "Rock",
    Form.PARTICLE: "Particulate",
    Form.GLASS_BEAD: "Particulate",
}
# How material was taken from the Moon follows from the form of its returned (root) sample.
COLLECTION_METHODS = {
    Form.SCOOPED_REGOLITH: "Scoop",
    Form.DRILLED_REGOLITH: "Coring",
}
HAND_COLLECTED = "Surface grab"


@dataclass(frozen=True)
class _Archives:
    """Storage location id -> the facility that holds it, and the facility for the rest."""

    by_location: dict[int, str]
    main: str

    def of(self, sample: Sample) -> str:
        return self.by_location.get(sample.location_id, "") or self.main


def _archives() -> _Archives:
    rows = {
        pk: (parent_id, kind, name)
        for pk, parent_id, kind, name in StorageLocation.objects.values_list(
            "id", "parent_id", "kind", "name"
        )
    }
    by_location = {}
    for pk in rows:
        node, name = pk, ""
        while node is not None:
            parent_id, kind, node_name = rows[node]
            name = node_name
            if kind == StorageLocation.Kind.FACILITY:
                break
            node = parent_id
        by_location[pk] = name
    # Lent, displayed, consumed or lost samples stay in the main facility's responsibility.
    main = (
        StorageLocation.objects.filter(
            kind=StorageLocation.Kind.FACILITY, site=StorageLocation.Site.MAIN
        )
        .order_by("code")
        .values_list("name", flat=True)
        .first()
    )
    return _Archives(by_location, main or "")


def _grams(micrograms: int) -> str:
    return f"{Decimal(micrograms) / 1_000_000:f}"


def _coordinate(value: Decimal | None) -> str:
    return "" if value is None else f"{value:f}"


def sesar_record(sample: Sample, *, root_form: str, archive: str) -> dict:
    """`sample` with its mission and parent loaded."""
    mission = sample.mission
    return {
        "igsn": sample.igsn,
        "sample_name": sample.identifier,
        "parent_igsn": sample.parent.igsn if sample.parent_id else "",
        "sample_type": SESAR_SAMPLE_TYPES[sample.form],
        "material": SESAR_MATERIALS[sample.form],
        "classification": sample.classification,
        "field_name": sample.subtype,
        "collection_method": COLLECTION_METHODS.get(root_form, HAND_COLLECTED),
        "size": _grams(sample.mass_ug),
        "size_unit": "g",
        "latitude": _coordinate(mission.latitude),
        "longitude": _coordinate(mission.longitude),
        "locality": f"{mission.landing_site}, Moon" if mission.landing_site else "Moon",
        "cruise_field_prgrm": mission.name,
        "collection_start_date": mission.landed_on.isoformat() if mission.landed_on else "",
        "current_archive": archive,
        "description": sample.description,
    }


def igsn_doi(igsn: str) -> str:
    return f"{IGSN_DOI_PREFIX}/{igsn}"


def datacite_record(sample: Sample, *, root_form: str, archive: str) -> dict:
    """The DataCite (schema 4) attributes of a physical object, as its REST API takes them."""
    sesar = sesar_record(sample, root_form=root_form, archive=archive)
    mission = sample.mission
    attributes: dict = {
        "identifiers": [
            {"identifier": sample.identifier, "identifierType": "Local accession number"}
        ],
        "creators": [{"name": mission.agency, "nameType": "Organizational"}],
        "titles": [{"title": f"Lunar sample {sample.identifier} ({mission.name})"}],
        "publisher": archive or mission.agency,
        "publicationYear": sample.created_at.year,
        "types": {"resourceTypeGeneral": "PhysicalObject", "resourceType": sesar["sample_type"]},
        "subjects": [
            {"subject": value}
            for value in (sesar["material"], sample.classification, sample.subtype)
            if value
        ],
        "descriptions": (
            [{"description": sample.description, "descriptionType": "Abstract"}]
            if sample.description
            else []
        ),
        "geoLocations": [{"geoLocationPlace": sesar["locality"]}],
        "relatedIdentifiers": [],
    }
    if sample.igsn:
        attributes["doi"] = igsn_doi(sample.igsn)
        attributes["identifiers"].insert(0, {"identifier": sample.igsn, "identifierType": "IGSN"})
    if mission.latitude is not None and mission.longitude is not None:
        attributes["geoLocations"][0]["geoLocationPoint"] = {
            "pointLatitude": sesar["latitude"],
            "pointLongitude": sesar["longitude"],
        }
    if sample.parent_id and sample.parent.igsn:
        attributes["relatedIdentifiers"].append(
            {
                "relatedIdentifier": igsn_doi(sample.parent.igsn),
                "relatedIdentifierType": "DOI",
                "relationType": "IsPartOf",
            }
        )
    return {"data": {"type": "dois", "attributes": attributes}}


def _with_context(samples: Iterable[Sample], archives: _Archives) -> Iterator[tuple]:
    """(sample, root form, archive) for each sample, looking up roots one chunk at a time."""
    chunk: list[Sample] = []

    def emit():
        root_ids = {path_ids(s.path)[0] for s in chunk if s.depth}
        forms = dict(Sample.objects.filter(id__in=root_ids).values_list("id", "form"))
        for s in chunk:
            yield s, forms[path_ids(s.path)[0]] if s.depth else s.form, archives.of(s)

    for sample in samples:
        chunk.append(sample)
        if len(chunk) == CHUNK:
            yield from emit()
            chunk = []
    yield from emit()


def _records(qs: QuerySet[Sample], build) -> Iterator[dict]:
    samples = qs.select_related("mission", "parent").iterator(chunk_size=CHUNK)
    for sample, root_form, archive in _with_context(samples, _archives()):
        yield build(sample, root_form=root_form, archive=archive)


def sample_sesar(sample: Sample) -> dict:
    return next(_records(Sample.objects.filter(pk=sample.pk), sesar_record))


def sample_datacite(sample: Sample) -> dict:
    return next(_records(Sample.objects.filter(pk=sample.pk), datacite_record))


def sesar_csv(qs: QuerySet[Sample]) -> Iterator[str]:
    """The header line, then one line per sample."""
    return csv_pieces(SESAR_FIELDS, _records(qs, sesar_record))


def sesar_json(qs: QuerySet[Sample]) -> Iterator[str]:
    """`{"samples": [...]}`, in pieces."""
    return json_list_pieces("samples", _records(qs, sesar_record))


def datacite_json(qs: QuerySet[Sample]) -> Iterator[str]:
    """`{"data": [...]}` of DataCite records, in pieces."""
    return json_list_pieces("data", (r["data"] for r in _records(qs, datacite_record)))
