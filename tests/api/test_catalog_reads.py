import pytest

from moonvault.catalog.models import Payload, Sample
from moonvault.catalog.schemas import GenealogyOut, SampleFacetsOut, SampleOut, SamplePage
from moonvault.catalog.selectors import (
    SORTS,
    SampleFilters,
    sample_children_nodes,
    sample_descendants,
    sample_search,
    sample_search_counts,
    sample_search_rows,
)
from moonvault.catalog.services import sample_mark_lost
from moonvault.core.errors import DomainError
from tests.api.conftest import MG, as_schema_renders
from tests.conftest import GRAM

pytestmark = pytest.mark.django_db


def identifiers(response):
    return identifiers_of(response.json())


def identifiers_of(body):
    return [item["identifier"] for item in body["items"]]


def test_missions_are_listed_by_landing_date_with_their_payloads(client, mission_ce5, mission_a17):
    Payload.objects.create(
        mission=mission_ce5, name="Lunar regolith penetrating radar", agency="CNSA", country="CN"
    )
    response = client.get("/api/v1/missions")
    assert response.status_code == 200
    body = response.json()
    assert {m["code"] for m in body} == {"CE5", "A17"}
    ce5 = next(m for m in body if m["code"] == "CE5")
    assert ce5["name_zh"] == "嫦娥五号"
    assert ce5["returned_mass_ug"] == 1731 * GRAM
    assert ce5["payloads"] == [
        {"name": "Lunar regolith penetrating radar", "agency": "CNSA", "country": "CN"}
    ]


def test_one_mission_is_read_by_its_code(client, mission_a17):
    response = client.get("/api/v1/missions/A17")
    assert response.status_code == 200
    assert response.json()["name"] == "Apollo 17"


def test_samples_without_filters_list_every_sample_in_identifier_order(client, inventory):
    response = client.get("/api/v1/samples")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 6
    assert (body["limit"], body["offset"]) == (50, 0)
    assert identifiers(response) == sorted(identifiers(response))


def test_samples_filter_by_mission(client, inventory):
    response = client.get("/api/v1/samples", {"mission": "A17"})
    assert identifiers(response) == ["74001,6040", "74001,6041"]


def test_samples_filter_by_form(client, inventory):
    response = client.get("/api/v1/samples", {"form": "powder"})
    assert identifiers(response) == [inventory.regolith_children[1].identifier]


def test_samples_filter_by_pool(client, inventory):
    response = client.get("/api/v1/samples", {"pool": "permanent"})
    assert identifiers(response) == ["74001,6040", "74001,6041"]


def test_samples_filter_by_state(client, inventory):
    assert client.get("/api/v1/samples", {"state": "stored"}).json()["count"] == 6
    assert client.get("/api/v1/samples", {"state": "lost"}).json()["count"] == 0


def test_samples_filter_by_mass_range_in_micrograms(client, inventory):
    response = client.get("/api/v1/samples", {"mass_min_ug": 300 * MG, "mass_max_ug": 2 * GRAM})
    assert sorted(identifiers(response)) == sorted(
        [
            inventory.regolith.identifier,
            inventory.rock_split.identifier,
            *(c.identifier for c in inventory.regolith_children),
        ]
    )


def test_facet_counts_under_a_mass_range_are_json_numbers(client, inventory):
    # 1 mg to 1 g is whole buckets: counted from the facet table's sums alone.
    body = client.get("/api/v1/samples", {"mass_min_ug": MG, "mass_max_ug": GRAM - 1}).json()
    assert body["facets_source"] == "table"
    counts = [o["count"] for options in body["facets"].values() for o in options]
    assert all(type(c) is int for c in counts)
    assert sum(o["count"] for o in body["facets"]["mission"]) == body["count"] == 3


def test_samples_mass_bounds_are_inclusive(client, inventory):
    response = client.get("/api/v1/samples", {"mass_min_ug": MG, "mass_max_ug": MG})
    assert identifiers(response) == [inventory.grandchild.identifier]


def test_samples_filter_by_identifier_prefix(client, inventory):
    response = client.get("/api/v1/samples", {"q": "CE5C0400YJFM00505-1"})
    assert identifiers(response) == ["CE5C0400YJFM00505-1", "CE5C0400YJFM00505-1-1"]


def test_identifier_prefix_is_case_sensitive_like_the_identifiers(client, inventory):
    assert client.get("/api/v1/samples", {"q": "ce5"}).json()["count"] == 0


def test_samples_are_paginated_with_limit_and_offset_and_a_total_count(client, inventory):
    everything = identifiers(client.get("/api/v1/samples"))
    first = client.get("/api/v1/samples", {"limit": 4}).json()
    second = client.get("/api/v1/samples", {"limit": 4, "offset": 4}).json()
    assert first["count"] == second["count"] == 6
    assert (second["limit"], second["offset"]) == (4, 4)
    assert [i["identifier"] for i in first["items"] + second["items"]] == everything
    assert len(second["items"]) == 2


@pytest.mark.parametrize(
    "params",
    [{}, {"mission": "CE5", "sort": "-mass"}, {"q": "74001", "limit": 1, "offset": 1}],
)
def test_search_items_are_the_samples_as_their_schema_shows_them(client, inventory, params):
    body = client.get("/api/v1/samples", params).json()
    assert set(body) == set(SamplePage.model_fields)
    by_identifier = {
        s.identifier: s
        for s in Sample.objects.select_related("mission", "parent", "location").filter(
            identifier__in=identifiers_of(body)
        )
    }
    assert body["items"] == [
        SampleOut.from_orm(by_identifier[i]).model_dump() for i in identifiers_of(body)
    ]
    assert body["items"]
    facets = SampleFacetsOut.model_validate(body["facets"]).model_dump()
    assert facets == body["facets"]


@pytest.mark.parametrize(
    "filters",
    [
        SampleFilters(),
        SampleFilters(mission="CE5"),
        SampleFilters(mission="A17", form="rock_fragment", state="stored"),
        SampleFilters(form="scooped_regolith", pool="research"),
        SampleFilters(mass_min_ug=MG, mass_max_ug=2 * GRAM),
        SampleFilters(mass_min_ug=0, state="stored", has_publications=True),
        SampleFilters(mission="NONE"),
        SampleFilters(q="CE5C0400YJFM00505"),
        SampleFilters(q=" 74001 ", form="rock_fragment"),
        SampleFilters(q="CE5C0400YJFM00505-", mass_max_ug=GRAM),
    ],
)
def test_compiled_pages_are_the_pages_of_the_search(inventory, filters):
    """Searches by prefix, facet and mass run a page query compiled once per shape, sort and
    page; each page is the one the queryset of `sample_search` gives, and a change shows at
    once."""

    def both(sort, offset):
        counts = sample_search_counts(filters=filters)
        rows = sample_search_rows(filters=filters, sort=sort, offset=offset, limit=2, counts=counts)
        page = sample_search(filters=filters, sort=sort)[offset : offset + 2]
        return [r["identifier"] for r in rows], [s.identifier for s in page]

    for sort in SORTS:
        for offset in (0, 2, 4):
            compiled, searched = both(sort, offset)
            assert compiled == searched, (sort, offset)
    sample_mark_lost(actor=None, sample_id=inventory.grandchild.pk, reason="not on its shelf")
    for sort in ("identifier", "-mass"):
        compiled, searched = both(sort, 0)
        assert compiled == searched


def test_a_search_item_without_a_location_or_parent_says_null(client, inventory):
    sample_mark_lost(actor=None, sample_id=inventory.rock.pk, reason="not on its shelf")
    (item,) = client.get("/api/v1/samples", {"q": "74001,6040"}).json()["items"][:1]
    assert (item["identifier"], item["parent"], item["location"]) == ("74001,6040", None, None)


def lineage(sample: Sample) -> list[Sample]:
    """The ancestors, root first, followed parent by parent."""
    found = []
    while sample.parent_id is not None:
        sample = sample.parent
        found.insert(0, sample)
    return found


def test_genealogies_are_the_samples_as_their_schema_shows_them(client, inventory):
    for sample in Sample.objects.all():
        body = client.get(f"/api/v1/samples/{sample.identifier}/genealogy").json()
        expected = {
            "sample": sample,
            "ancestors": lineage(sample),
            "children": sample_children_nodes(sample=sample),
            "descendant_count": sample_descendants(sample=sample).count(),
        }
        assert body == as_schema_renders(GenealogyOut, expected)


def test_an_offset_past_the_end_gives_an_empty_page(client, inventory):
    body = client.get("/api/v1/samples", {"offset": 100}).json()
    assert body["count"] == 6
    assert body["items"] == []


def test_a_search_nothing_matches_reads_no_page(client, inventory, django_assert_num_queries):
    # The missions and the text's matches grouped: none, so the page is known to be empty.
    with django_assert_num_queries(2):
        body = client.get("/api/v1/samples", {"text": "no such words"}).json()
    assert (body["count"], body["count_exact"], body["items"]) == (0, True, [])


def test_a_bad_sort_is_refused_on_a_page_known_to_be_empty(inventory):
    filters = SampleFilters(text="no such words")
    counts = sample_search_counts(filters=filters)
    with pytest.raises(DomainError) as refused:
        sample_search_rows(filters=filters, sort="weight", offset=0, limit=50, counts=counts)
    ((field, message),) = [(p.field, p.message) for p in refused.value.problems]
    assert field == "sort"
    assert "'weight' is not one of" in message


def test_one_sample_is_read_by_an_identifier_containing_a_comma(client, inventory):
    response = client.get("/api/v1/samples/74001,6040")
    assert response.status_code == 200
    body = response.json()
    assert body["identifier"] == "74001,6040"
    assert body["mission"] == "A17"
    assert body["parent"] is None
    assert body["form"] == "rock_fragment"
    assert body["mass_ug"] == 38 * GRAM
    assert body["mass"] == "38 g"
    assert body["location"] == "MAIN"


def test_a_percent_encoded_comma_reaches_the_same_sample(client, inventory):
    response = client.get("/api/v1/samples/74001%2C6041")
    assert response.status_code == 200
    assert response.json()["parent"] == "74001,6040"


def test_genealogy_lists_ancestors_root_first_children_and_all_descendants(client, inventory):
    response = client.get(f"/api/v1/samples/{inventory.regolith_children[0].identifier}/genealogy")
    assert response.status_code == 200
    body = response.json()
    assert body["sample"]["identifier"] == "CE5C0400YJFM00505-1"
    assert [a["identifier"] for a in body["ancestors"]] == ["CE5C0400YJFM00505"]
    assert [c["identifier"] for c in body["children"]] == ["CE5C0400YJFM00505-1-1"]
    assert body["descendant_count"] == 1

    root = client.get("/api/v1/samples/CE5C0400YJFM00505/genealogy").json()
    assert root["ancestors"] == []
    assert root["descendant_count"] == 3
    assert [c["mass_ug"] for c in root["children"]] == [499 * MG, 300 * MG]


def test_facet_labels_follow_the_readers_language(client, inventory):
    def mission_labels(**headers):
        facets = client.get("/api/v1/samples", headers=headers).json()["facets"]
        return {o["value"]: o["label"] for o in facets["mission"]}

    assert mission_labels() == {"CE5": "Chang'e-5", "A17": "Apollo 17"}
    assert mission_labels(accept_language="zh-hans") == {"CE5": "嫦娥五号", "A17": "Apollo 17"}


def test_a_search_reads_the_missions_once(client, inventory, django_assert_num_queries):
    # The missions (facet labels and the listed samples' codes), the facet table, the page.
    with django_assert_num_queries(3):
        assert client.get("/api/v1/samples").status_code == 200


@pytest.mark.parametrize(("which", "queries"), [("regolith", 3), ("grandchild", 4)])
def test_a_sample_page_costs_the_same_queries_at_any_depth(
    client, inventory, which, queries, django_assert_num_queries
):
    identifier = getattr(inventory, which).identifier
    # The sample, its ancestors (none for a root: nothing to read), its children, its
    # descendants counted.
    with django_assert_num_queries(queries):
        assert client.get(f"/api/v1/samples/{identifier}/genealogy").status_code == 200
    # Its events, found by its identifier.
    with django_assert_num_queries(1):
        assert client.get(f"/api/v1/samples/{identifier}/timeline").status_code == 200
