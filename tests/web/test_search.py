"""Faceted catalog search: filters, counts per option, sorting, pagination, bad input."""

from datetime import timedelta

import pytest
from django.utils import timezone

from moonvault.catalog import selectors
from moonvault.catalog.facets import ALL_MASSES, sample_facets_grouped
from moonvault.catalog.generator import generate
from moonvault.catalog.models import Form, Mission, Sample
from moonvault.catalog.selectors import SampleFilters, sample_search_counts
from moonvault.catalog.services import ChildSpec, sample_split
from moonvault.loans.models import Publication, PublicationUse
from tests.conftest import GRAM

pytestmark = pytest.mark.django_db


@pytest.fixture
def shelf(family, apollo_rock):
    _, children, _ = family
    Sample.objects.filter(pk=apollo_rock.pk).update(
        classification="basalt", subtype="ilmenite", description="Coarse-grained mare basalt"
    )
    publication = Publication.objects.create(title="Young lunar volcanism", year=2021)
    PublicationUse.objects.create(publication=publication, sample=children[1])
    return family, apollo_rock


def listed(response):
    return [s["identifier"] for s in response.context["page"]]


def facet(response, name):
    return {o.value: o.count for o in response.context["facets"][name] if o.count}


def test_facet_counts_sit_next_to_each_option(client, shelf):
    response = client.get("/samples/")
    assert facet(response, "mission") == {"CE5": 4, "A17": 1}
    assert facet(response, "form") == {"scooped_regolith": 3, "powder": 1, "rock_fragment": 1}
    assert facet(response, "pool") == {"research": 4, "permanent": 1}
    assert '<span class="count">4</span>' in response.text


def test_an_option_counts_what_choosing_it_would_give_with_the_other_filters(client, shelf):
    response = client.get("/samples/", {"mission": "CE5", "form": "powder"})
    assert listed(response) == ["CE5C0400YJFM00505-2"]
    # The mission facet ignores the mission filter but keeps the form filter, and vice versa.
    assert facet(response, "mission") == {"CE5": 1}
    assert facet(response, "form") == {"scooped_regolith": 3, "powder": 1}
    assert 'aria-current="true"' in response.text


@pytest.mark.parametrize("prefix", ["", "/zh-hans"])
@pytest.mark.parametrize("htmx", [False, True])
def test_facet_links_set_one_filter_from_page_one_and_clear_it(client, shelf, prefix, htmx):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client.get(f"{prefix}/samples/", {"form": "powder", "page": "1"}, **headers)
    choose = f"{prefix}/samples/?form=powder&amp;mission=CE5"
    assert f'href="{choose}" hx-get="{choose}"' in response.text
    # The selected option's clear link drops its filter, and the page, keeping the others.
    cleared = f"{prefix}/samples/?"
    assert f'<a class="clear" href="{cleared}" hx-get="{cleared}"' in response.text
    assert "page=" not in response.text.split('class="facets"')[1].split("</aside>")[0]


def test_facet_counts_with_a_mass_range_come_from_the_table_and_its_edges(client, shelf):
    response = client.get("/samples/", {"mass_min": "1", "unit": "g"})
    assert listed(response) == ["74001,6040", "CE5C0400YJFM00505"]
    assert facet(response, "mission") == {"CE5": 1, "A17": 1}
    counts = sample_search_counts(filters=SampleFilters(mass_min_ug=GRAM))
    assert (counts.source, counts.total) == ("table", 2)
    # 1.5 g is not a bucket edge: the samples between it and 2 g are counted one by one.
    counts = sample_search_counts(filters=SampleFilters(mass_min_ug=3 * GRAM // 2))
    assert (counts.source, counts.total) == ("table+query", 2)


def test_more_matches_than_are_counted_say_so(client, shelf, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_LIMIT", 2)
    response = client.get("/samples/", {"q": "CE5"})
    assert "More than 2 samples" in response.text
    assert '<span class="count">' not in response.text
    # Every option stays listed, without a count, so that the search can still be narrowed.
    assert {o.value for o in response.context["facets"]["form"]} == set(Form.values)
    assert "Powder aliquot</a>" in response.text
    body = client.get("/api/v1/samples", {"q": "CE5"}).json()
    assert (body["count"], body["count_exact"], body["facets_source"]) == (2, False, "query")
    assert {o["count"] for o in body["facets"]["form"]} == {None}
    assert len(body["items"]) == 4


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"text": "basalt"}, ["74001,6040"]),
        ({"text": "ILMEN"}, ["74001,6040"]),
        ({"text": "mare"}, ["74001,6040"]),
        ({"text": "anorthosite"}, []),
        ({"has_publications": "1"}, ["CE5C0400YJFM00505-2"]),
        ({"has_publications": "1", "mission": "A17"}, []),
        ({"q": "74001", "text": "basalt"}, ["74001,6040"]),
    ],
)
def test_text_and_publication_filters(client, shelf, params, expected):
    response = client.get("/samples/", params)
    assert response.status_code == 200
    assert listed(response) == expected
    assert response.context["page"].paginator.count == len(expected)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("identifier", ["74001,6040", "CE5C0400YJFM00505", "CE5C0400YJFM00505-1"]),
        ("-identifier", ["CE5C0400YJFM00505-2", "CE5C0400YJFM00505-1-1", "CE5C0400YJFM00505-1"]),
        ("mass", ["CE5C0400YJFM00505-1-1", "CE5C0400YJFM00505-2", "CE5C0400YJFM00505-1"]),
        ("-mass", ["74001,6040", "CE5C0400YJFM00505", "CE5C0400YJFM00505-1"]),
        # By mission in the order the missions were entered (CE5 before A17 here).
        ("mission", ["CE5C0400YJFM00505", "CE5C0400YJFM00505-1", "CE5C0400YJFM00505-1-1"]),
        ("-mission", ["74001,6040", "CE5C0400YJFM00505-2", "CE5C0400YJFM00505-1-1"]),
    ],
)
def test_sorting(client, shelf, sort, expected):
    response = client.get("/samples/", {"sort": sort})
    assert listed(response)[:3] == expected
    assert f'<option value="{sort}" selected>' in response.text


def test_sorting_by_update_puts_the_latest_change_first(client, shelf):
    _, children, _ = shelf[0]
    later = timezone.now() + timedelta(minutes=5)
    Sample.objects.filter(pk=children[1].pk).update(description="re-examined", updated_at=later)
    response = client.get("/samples/", {"sort": "-updated"})
    assert listed(response)[0] == children[1].identifier


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"sort": "colour"}, "sort", "is not one of"),
        ({"text": "x" * 101}, "text", "longer than 100 characters"),
        ({"state": "melted"}, "state", "is not one of"),
    ],
)
def test_bad_search_input_is_an_error_next_to_its_field(client, shelf, params, field, message):
    response = client.get("/samples/", params)
    assert response.status_code == 400
    assert f'id="error-{field}"' in response.text
    start = response.text.index(f'id="error-{field}"')
    assert message in response.text[start : start + 300]


def test_pages_follow_the_sort_and_keep_the_filters(client, mission_ce5, facility, receive):
    parent = receive("CE5Z0001", mission_ce5, 60 * GRAM)
    sample_split(actor=None, sample_id=parent.pk, children=[ChildSpec(1000 + i) for i in range(55)])
    first = client.get("/samples/", {"sort": "-mass", "mission": "CE5"})
    second = client.get("/samples/", {"sort": "-mass", "mission": "CE5", "page": "2"})
    assert len(listed(first)) == 50 and len(listed(second)) == 6
    assert not set(listed(first)) & set(listed(second))
    masses = [s["mass_ug"] for s in [*first.context["page"], *second.context["page"]]]
    assert masses == sorted(masses, reverse=True)
    assert "sort=-mass" in first.text and "page=2" in first.text
    # A page number that is not one gives the first page rather than an error.
    assert listed(client.get("/samples/", {"page": "last-but-one"})) == listed(
        client.get("/samples/")
    )


def test_counts_equal_a_group_by_after_a_split_and_a_bulk_generate(client, family):
    generate(samples=120, seed=11, events_per_sample=3, batch_events=300)
    response = client.get("/samples/")
    grouped = sample_facets_grouped()
    codes = dict(Mission.objects.values_list("id", "code"))
    by_mission = {}
    for (mission_id, *_, bucket), (n, _mass) in grouped.items():
        if bucket == ALL_MASSES:
            by_mission[codes[mission_id]] = by_mission.get(codes[mission_id], 0) + n
    assert facet(response, "mission") == by_mission
    assert response.context["page"].paginator.count == Sample.objects.count()
    assert sum(facet(response, "form").values()) == Sample.objects.count()


def test_the_api_answers_facets_and_sorts(client, shelf):
    body = client.get("/api/v1/samples", {"sort": "-mass", "pool": "research"}).json()
    assert body["count"] == 4
    assert body["facets_source"] == "table"
    assert body["items"][0]["identifier"] == "CE5C0400YJFM00505"
    pools = {o["value"]: o["count"] for o in body["facets"]["pool"]}
    assert pools == {"permanent": 1, "backup": 0, "research": 4, "public_benefit": 0}
    assert {o["value"] for o in body["facets"]["form"]} == set(Form.values)
    body = client.get("/api/v1/samples", {"text": "basalt", "has_publications": "false"}).json()
    assert (body["count"], body["facets_source"]) == (1, "query")


def test_the_api_refuses_an_unknown_sort(client, shelf):
    response = client.get("/api/v1/samples", {"sort": "colour"})
    assert response.status_code == 422


def test_a_broad_mass_range_finds_the_same_page_either_way(client, shelf, monkeypatch):
    params = {"mass_min_ug": 1, "mass_max_ug": 5 * GRAM, "sort": "identifier"}
    narrow = client.get("/api/v1/samples", params).json()
    # As if the range held more samples than are worth reading through the mass index.
    monkeypatch.setattr(selectors, "MANY_IN_RANGE", 1)
    broad = client.get("/api/v1/samples", params).json()
    assert broad == narrow
    assert [s["identifier"] for s in broad["items"]] == sorted(
        Sample.objects.filter(mass_ug__range=(1, 5 * GRAM)).values_list("identifier", flat=True)
    )
