"""Public, read-only exports of sample metadata for the IGSN registries (SESAR, DataCite)."""

from django.http import StreamingHttpResponse
from ninja import Query, Router

from moonvault.catalog import exports, selectors
from moonvault.catalog.schemas import SampleSearchQuery
from moonvault.core.api import answers
from moonvault.core.streams import csv_text

router = Router(tags=["exports"])

EXAMPLE_SESAR = {
    "igsn": "IEXXX0001",
    "sample_name": "74220",
    "parent_igsn": "",
    "sample_type": "Individual Sample",
    "material": "Soil",
    "classification": "soil",
    "field_name": "Unsieved",
    "collection_method": "Scoop",
    "size": "1223.4",
    "size_unit": "g",
    "latitude": "20.1908",
    "longitude": "30.7717",
    "locality": "Taurus–Littrow valley, Moon",
    "cruise_field_prgrm": "Apollo 17",
    "collection_start_date": "1972-12-11",
    "current_archive": "Main laboratory",
    "description": "Orange glass soil from Shorty crater.",
}

EXAMPLE_DATACITE = {
    "type": "dois",
    "attributes": {
        "doi": "10.60516/IEXXX0002",
        "identifiers": [
            {"identifier": "IEXXX0002", "identifierType": "IGSN"},
            {"identifier": "74220,1", "identifierType": "Local accession number"},
        ],
        "creators": [{"name": "NASA", "nameType": "Organizational"}],
        "titles": [{"title": "Lunar sample 74220,1 (Apollo 17)"}],
        "publisher": "Main laboratory",
        "publicationYear": 2026,
        "types": {"resourceTypeGeneral": "PhysicalObject", "resourceType": "Rock Powder"},
        "subjects": [{"subject": "Rock"}, {"subject": "soil"}, {"subject": "Unsieved"}],
        "descriptions": [],
        "geoLocations": [
            {
                "geoLocationPlace": "Taurus–Littrow valley, Moon",
                "geoLocationPoint": {"pointLatitude": "20.1908", "pointLongitude": "30.7717"},
            }
        ],
        "relatedIdentifiers": [
            {
                "relatedIdentifier": "10.60516/IEXXX0001",
                "relatedIdentifierType": "DOI",
                "relationType": "IsPartOf",
            }
        ],
    },
}


def _example(content_type: str, example) -> dict:
    """A route's documented success answer: its media type with an example."""
    kind = "object" if isinstance(example, dict) else "string"
    media = {"schema": {"type": kind}, "example": example}
    return {"responses": {200: {"description": "OK", "content": {content_type: media}}}}


def _search(query: SampleSearchQuery):
    # Filters are checked here, before the first byte is sent, so that a bad one is a 4xx.
    return selectors.sample_search(filters=query.filters(), sort=query.sort)


def _stream(pieces, content_type: str, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(pieces, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@router.get(
    "/samples/{identifier}/sesar.json",
    response=answers(200, dict, public=True),
    auth=None,
    summary="One sample's metadata in SESAR (IGSN registry) fields",
    description="The fields SESAR's sample registration takes, from the sample and its mission.",
    openapi_extra={
        "responses": {
            200: {
                "description": "OK",
                "content": {
                    "application/json": {"schema": {"type": "object"}, "example": EXAMPLE_SESAR}
                },
            }
        }
    },
)
def sample_sesar(request, identifier: str):
    return exports.sample_sesar(selectors.sample_get(identifier=identifier))


@router.get(
    "/samples/{identifier}/datacite.json",
    response=answers(200, dict, public=True),
    auth=None,
    summary="One sample's DataCite metadata (schema 4, PhysicalObject), for registering its IGSN",
    description=(
        "The body DataCite's REST API takes (`data.type` = `dois`). `doi` is the IGSN under "
        "10.60516 when the sample has one; the parent's IGSN is a relatedIdentifier IsPartOf."
    ),
    openapi_extra=_example("application/json", {"data": EXAMPLE_DATACITE}),
)
def sample_datacite(request, identifier: str):
    return exports.sample_datacite(selectors.sample_get(identifier=identifier))


@router.get(
    "/exports/samples.csv",
    response=answers(200, None, public=True),
    auth=None,
    summary="Catalog search results as SESAR CSV (streamed)",
    description="The catalog's filters; one header line, then one line per sample.",
    openapi_extra=_example("text/csv", csv_text(exports.SESAR_FIELDS, [EXAMPLE_SESAR])),
)
def samples_sesar_csv(request, query: Query[SampleSearchQuery]):
    return _stream(exports.sesar_csv(_search(query)), "text/csv; charset=utf-8", "samples.csv")


@router.get(
    "/exports/samples.json",
    response=answers(200, dict, public=True),
    auth=None,
    summary="Catalog search results as SESAR JSON (streamed)",
    description='`{"samples": [...]}`, each in the fields of `/samples/{identifier}/sesar.json`.',
    openapi_extra=_example("application/json", {"samples": [EXAMPLE_SESAR]}),
)
def samples_sesar_json(request, query: Query[SampleSearchQuery]):
    return _stream(exports.sesar_json(_search(query)), "application/json", "samples.json")


@router.get(
    "/exports/samples.datacite.json",
    response=answers(200, dict, public=True),
    auth=None,
    summary="Catalog search results as DataCite records (streamed)",
    description='`{"data": [...]}`, each the `data` of `/samples/{identifier}/datacite.json`.',
    openapi_extra=_example("application/json", {"data": [EXAMPLE_DATACITE]}),
)
def samples_datacite_json(request, query: Query[SampleSearchQuery]):
    return _stream(
        exports.datacite_json(_search(query)), "application/json", "samples.datacite.json"
    )
