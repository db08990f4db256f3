"""Sample metadata out: SESAR fields (JSON, CSV) and DataCite, by service, command and API."""

import csv
import io
import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from moonvault.catalog import exports
from moonvault.catalog.models import Form, Sample, StorageLocation
from moonvault.catalog.selectors import SampleFilters, sample_search
from moonvault.catalog.services import ChildSpec, sample_split
from tests.conftest import GRAM


@pytest.fixture
def samples(receive, mission_a17, mission_ce5, cabinet):
    mission_a17.landing_site = "Taurus–Littrow valley"
    mission_a17.latitude, mission_a17.longitude = Decimal("20.1908"), Decimal("30.7717")
    mission_a17.landed_on = date(1972, 12, 11)
    mission_a17.save()
    soil = receive("74220", mission_a17, 1171 * GRAM)
    Sample.objects.filter(pk=soil.pk).update(
        igsn="IEXXX0001", classification="soil", subtype="Unsieved", location=cabinet,
        description="Orange glass soil",
    )  # fmt: skip
    [powder] = sample_split(
        actor=None,
        sample_id=soil.pk,
        children=[ChildSpec(mass_ug=1_500_000, form=Form.POWDER)],
    )
    receive("CE5C0400YJFM00505", mission_ce5, 2 * GRAM, form=Form.ROCK_FRAGMENT)
    return soil, powder


def test_a_sample_in_sesar_fields(samples):
    record = exports.sample_sesar(samples[0])
    assert record == {
        "igsn": "IEXXX0001",
        "sample_name": "74220",
        "parent_igsn": "",
        "sample_type": "Individual Sample",
        "material": "Soil",
        "classification": "soil",
        "field_name": "Unsieved",
        "collection_method": "Scoop",
        "size": "1169.5",
        "size_unit": "g",
        "latitude": "20.1908",
        "longitude": "30.7717",
        "locality": "Taurus–Littrow valley, Moon",
        "cruise_field_prgrm": "Apollo 17",
        "collection_start_date": "1972-12-11",
        "current_archive": "Main laboratory",
        "description": "Orange glass soil",
    }


def test_a_split_names_its_parents_igsn_and_the_collection_of_its_root(samples):
    record = exports.sample_sesar(samples[1])
    assert (record["sample_name"], record["parent_igsn"]) == ("74220,1", "IEXXX0001")
    assert (record["sample_type"], record["size"]) == ("Rock Powder", "1.5")
    assert record["collection_method"] == "Scoop"


def test_a_sample_out_of_storage_is_archived_by_the_main_facility(samples, facility):
    StorageLocation.objects.create(
        code="BACKUP", name="Backup site", kind="facility", site=StorageLocation.Site.BACKUP
    )
    Sample.objects.filter(pk=samples[1].pk).update(state="on_loan", location=None)
    assert exports.sample_sesar(Sample.objects.get(pk=samples[1].pk))["current_archive"] == (
        "Main laboratory"
    )


def test_datacite_metadata_describes_a_physical_object_part_of_its_parent(samples):
    powder = samples[1]
    Sample.objects.filter(pk=powder.pk).update(igsn="IEXXX0002")
    attributes = exports.sample_datacite(powder)["data"]["attributes"]
    assert attributes["doi"] == "10.60516/IEXXX0002"
    assert attributes["types"] == {
        "resourceTypeGeneral": "PhysicalObject",
        "resourceType": "Rock Powder",
    }
    assert attributes["creators"] == [{"name": "NASA", "nameType": "Organizational"}]
    assert attributes["titles"] == [{"title": "Lunar sample 74220,1 (Apollo 17)"}]
    assert attributes["publisher"] == "Main laboratory"
    assert attributes["publicationYear"] == powder.created_at.year
    assert {"subject": "Rock"} in attributes["subjects"]
    assert attributes["geoLocations"] == [
        {
            "geoLocationPlace": "Taurus–Littrow valley, Moon",
            "geoLocationPoint": {"pointLatitude": "20.1908", "pointLongitude": "30.7717"},
        }
    ]
    assert attributes["relatedIdentifiers"] == [
        {
            "relatedIdentifier": "10.60516/IEXXX0001",
            "relatedIdentifierType": "DOI",
            "relationType": "IsPartOf",
        }
    ]


def test_a_sample_without_igsn_or_coordinates_has_no_doi_nor_point(samples):
    ce5 = Sample.objects.get(identifier="CE5C0400YJFM00505")
    attributes = exports.sample_datacite(ce5)["data"]["attributes"]
    assert "doi" not in attributes
    assert attributes["geoLocations"] == [{"geoLocationPlace": "Moon"}]
    assert attributes["relatedIdentifiers"] == []


def test_search_results_stream_as_csv_and_json(samples):
    qs = sample_search(filters=SampleFilters(mission="A17"))
    rows = list(csv.DictReader(io.StringIO("".join(exports.sesar_csv(qs)))))
    assert [r["sample_name"] for r in rows] == ["74220", "74220,1"]
    assert list(rows[0]) == list(exports.SESAR_FIELDS)
    body = json.loads("".join(exports.sesar_json(qs)))
    assert [r["sample_name"] for r in body["samples"]] == ["74220", "74220,1"]
    data = json.loads("".join(exports.datacite_json(qs)))["data"]
    assert [d["attributes"]["identifiers"][-1]["identifier"] for d in data] == ["74220", "74220,1"]


def test_an_empty_result_is_a_header_or_an_empty_list(db):
    qs = sample_search(filters=SampleFilters())
    assert "".join(exports.sesar_csv(qs)) == ",".join(exports.SESAR_FIELDS) + "\n"
    assert json.loads("".join(exports.sesar_json(qs))) == {"samples": []}


def test_more_samples_than_a_chunk_keep_their_roots_collection_method(
    receive, mission_ce5, monkeypatch
):
    monkeypatch.setattr(exports, "CHUNK", 2)
    core = receive("CE5-CORE", mission_ce5, GRAM, form=Form.DRILLED_REGOLITH)
    sample_split(actor=None, sample_id=core.pk, children=[ChildSpec(mass_ug=10)] * 4)
    body = json.loads("".join(exports.sesar_json(sample_search(filters=SampleFilters()))))
    assert [r["collection_method"] for r in body["samples"]] == ["Coring"] * 5


# The command


def test_the_command_writes_a_file_with_the_catalog_filters(samples, tmp_path):
    out = tmp_path / "samples.csv"
    call_command("export-samples", "--format", "sesar-csv", "--mission", "CE5", str(out))
    rows = list(csv.DictReader(out.open()))
    assert [r["sample_name"] for r in rows] == ["CE5C0400YJFM00505"]


def test_the_command_refuses_a_bad_filter(db):
    with pytest.raises(CommandError, match="mass_min_ug is above mass_max_ug"):
        call_command(
            "export-samples", "--format", "sesar-json", "--mass-min-ug", "9", "--mass-max-ug", "1"
        )


# The API


def test_the_api_gives_one_samples_sesar_and_datacite_json(client, samples):
    response = client.get("/api/v1/samples/74220/sesar.json")
    assert response.status_code == 200
    assert response.json()["igsn"] == "IEXXX0001"
    response = client.get("/api/v1/samples/74220,1/datacite.json")
    assert response.status_code == 200
    assert response.json()["data"]["attributes"]["types"]["resourceTypeGeneral"] == (
        "PhysicalObject"
    )


def test_an_unknown_sample_is_a_404_in_the_error_shape(client, db):
    response = client.get("/api/v1/samples/99999/sesar.json")
    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "identifier"


def test_the_api_streams_filtered_exports(client, samples):
    response = client.get("/api/v1/exports/samples.csv", {"mission": "A17", "form": "powder"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    assert [r["sample_name"] for r in csv.DictReader(io.StringIO(text))] == ["74220,1"]
    response = client.get("/api/v1/exports/samples.json", {"q": "CE5"})
    assert [
        r["sample_name"] for r in json.loads(b"".join(response.streaming_content))["samples"]
    ] == ["CE5C0400YJFM00505"]
    response = client.get("/api/v1/exports/samples.datacite.json")
    assert len(json.loads(b"".join(response.streaming_content))["data"]) == 3


def test_a_bad_export_filter_is_a_4xx_before_anything_is_streamed(client, db):
    response = client.get("/api/v1/exports/samples.csv", {"mass_min_ug": 9, "mass_max_ug": 1})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "mass_min_ug"
    assert client.get("/api/v1/exports/samples.json", {"form": "pebble"}).status_code == 422
