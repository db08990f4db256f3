from html import escape

import pytest
from django.template import engines
from django.urls import reverse
from django.utils import translation

from moonvault.catalog.models import Form, Pool
from moonvault.catalog.services import samples_receive
from moonvault.web.templatetags.moonvault import catalog_rows, mass, refine, sample_label
from tests.conftest import GRAM

pytestmark = pytest.mark.django_db


def listed(response):
    return [s["identifier"] for s in response.context["page"]]


@pytest.fixture
def shelf(family, apollo_rock):
    return family, apollo_rock


def test_catalog_lists_every_sample(client, shelf):
    response = client.get("/samples/")
    assert response.status_code == 200
    assert len(listed(response)) == 5
    assert "5 samples" in response.text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"mission": "A17"}, ["74001,6040"]),
        ({"form": "powder"}, ["CE5C0400YJFM00505-2"]),
        ({"pool": "permanent"}, ["74001,6040"]),
        ({"state": "lost"}, []),
        ({"q": "CE5C0400YJFM00505-1"}, ["CE5C0400YJFM00505-1", "CE5C0400YJFM00505-1-1"]),
        ({"mass_min": "1", "unit": "g"}, ["74001,6040", "CE5C0400YJFM00505"]),
        ({"mass_max": "1.5", "unit": "mg"}, ["CE5C0400YJFM00505-1-1", "CE5C0400YJFM00505-2"]),
        ({"mass_min": "999", "mass_max": "999", "unit": "ug"}, ["CE5C0400YJFM00505-1-1"]),
    ],
)
def test_catalog_filters(client, shelf, params, expected):
    response = client.get("/samples/", params)
    assert response.status_code == 200
    assert listed(response) == expected


def test_the_filters_stay_selected(client, shelf):
    response = client.get("/samples/", {"pool": "permanent", "mass_min": "2.5", "unit": "mg"})
    assert '<option value="permanent" selected>' in response.text
    assert 'value="2.5"' in response.text
    assert '<option value="mg" selected>' in response.text


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"mass_min": "heavy"}, "mass_min", "&#x27;heavy&#x27; is not a number"),
        ({"mass_min": "-1"}, "mass_min", "mass must not be negative"),
        ({"mass_max": "0.0000001"}, "mass_max", "not a whole number of micrograms"),
        ({"mass_min": "2", "mass_max": "1"}, "mass_min", "mass_min_ug is above mass_max_ug"),
        ({"form": "cheese"}, "form", "is not one of"),
        ({"mass_min": "1", "unit": "stone"}, "unit", "unknown mass unit"),
    ],
)
def test_a_bad_filter_shows_its_error_next_to_the_field_with_status_400(
    client, shelf, params, field, message
):
    response = client.get("/samples/", params)
    assert response.status_code == 400
    assert response.context["page"] is None
    assert set(response.context["errors"]) == {field}
    slot = f'<span class="error" id="error-{field}" aria-live="polite">'
    start = response.text.index(slot) + len(slot)
    assert message in response.text[start : response.text.index("</span>", start)]
    assert "correct the filters marked above" in response.text


def test_the_catalog_pages_fifty_samples_at_a_time(client, mission_ce5, facility):
    from moonvault.catalog.services import NewSample

    samples_receive(
        actor=None,
        samples=[
            NewSample(f"CE5P{i:03}", mission_ce5, "powder", Pool.RESEARCH, GRAM, facility)
            for i in range(120)
        ],
    )
    first = client.get("/samples/", {"pool": "research"})
    assert len(listed(first)) == 50
    assert "Page 1 of 3" in first.text
    assert 'href="?pool=research&amp;page=2"' in first.text
    last = client.get("/samples/", {"pool": "research", "page": 3})
    assert listed(last) == [f"CE5P{i:03}" for i in range(100, 120)]
    assert 'href="?pool=research&amp;page=2"' in last.text
    assert client.get("/samples/", {"page": "many"}).context["page"].number == 1


def test_an_htmx_request_gets_only_the_results(client, shelf):
    response = client.get("/samples/", {"mission": "A17"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "<html" not in response.text
    assert "<table>" in response.text
    assert "74001,6040" in response.text
    assert "HX-Request" in response["Vary"]


def test_an_htmx_request_with_a_bad_filter_updates_every_error_slot_out_of_band(client, shelf):
    response = client.get("/samples/", {"mass_max": "abc"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "<html" not in response.text
    assert response.text.count('hx-swap-oob="true"') == 11
    assert 'id="error-mass_max" aria-live="polite" hx-swap-oob="true">&#x27;abc&#x27;' in (
        response.text
    )
    assert 'id="error-mass_min" aria-live="polite" hx-swap-oob="true"></span>' in response.text


def test_the_full_page_has_no_out_of_band_fragments(client, shelf):
    assert "hx-swap-oob" not in client.get("/samples/").text


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_catalog_rows_name_form_pool_and_state_as_the_models_do(shelf, language):
    sample = shelf[1]
    with translation.override(language):
        for name in ("form", "pool", "state"):
            assert (
                sample_label(getattr(sample, name), name)
                == getattr(sample, f"get_{name}_display")()
            )
        assert sample_label("not-a-state", "state") == "not-a-state"


def test_the_catalog_rows_are_in_the_readers_language(client, shelf):
    page = client.get("/zh-hans/samples/", {"mission": "A17"}).text
    with translation.override("zh-hans"):
        labels = [str(Form.ROCK_FRAGMENT.label), str(Pool.PERMANENT.label)]
    assert all(f"<td>{label}</td>" in page for label in labels)
    assert "<td>Rock fragment</td>" not in page


ROW = {
    "identifier": "74001,6040",
    "mission": "A17",
    "form": "rock_fragment",
    "pool": "permanent",
    "state": "stored",
    "mass_ug": 2_500_000,
    "classification": "Orange glass",
    "subtype": "",
}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_catalog_row_is_the_sample_s_cells_escaped_as_the_template_would(language):
    odd = {
        **ROW,
        "identifier": "A&B <x>,1 é#?%\"'",
        "mission": "M&<",
        "form": "not-a-form",
        "classification": "Breccia <b> & glass",
        "subtype": "x'y\"",
        "mass_ug": None,
    }
    with translation.override(language):
        # The same cells written in the template language, as the page had them before.
        template = engines["django"].from_string(
            "{% load moonvault %}{% for s in rows %}"
            "<tr><td><a href=\"{% url 'sample-detail' s.identifier %}\">{{ s.identifier }}</a>"
            "</td><td>{{ s.mission }}</td><td>{{ s.form|sample_label:'form' }}</td>"
            "<td>{{ s.pool|sample_label:'pool' }}</td><td>{{ s.state|sample_label:'state' }}</td>"
            '<td class="num">{{ s.mass_ug|mass }}</td><td>{{ s.classification }}'
            "{% if s.subtype %} · {{ s.subtype }}{% endif %}</td></tr>{% endfor %}"
        )
        rows = [ROW, odd]
        assert catalog_rows(rows) == template.render({"rows": rows})
        html = catalog_rows([odd])
        assert f'href="{escape(reverse("sample-detail", args=[odd["identifier"]]))}"' in html
        assert "<x>" not in html and "<b>" not in html
        assert f"<td>{escape(odd['classification'])} · {escape(odd['subtype'])}</td>" in html
        assert f'<td class="num">{mass(None)}</td>' in html
        assert f"<td>{sample_label('permanent', 'pool')}</td>" in catalog_rows([ROW])
    assert catalog_rows([]) == ""


def test_a_search_matching_nothing_says_so(client, shelf):
    page = client.get("/samples/", {"q": "no-such-sample"}).text
    assert "0 samples" in page and "No sample matches." in page and "<tr><td><a" not in page


@pytest.mark.parametrize(
    "query",
    [
        "",
        "mission=CE5&state=stored&page=3",
        "q=a%26b+c&text=%E7%8E%84%E6%AD%A6&form=powder&form=x&page=2",
        "page=1&mission=A17",
    ],
)
@pytest.mark.parametrize(
    ("name", "value"),
    [("mission", "CE5"), ("state", ""), ("form", "rock fragment&"), ("text", "玄武 岩")],
)
def test_a_facet_link_is_this_address_with_one_filter_changed_from_page_one(rf, query, name, value):
    request = rf.get(f"/samples/?{query}")
    expected = request.GET.copy()
    expected.pop("page", None)
    if value:
        expected[name] = value
    else:
        expected.pop(name, None)
    assert refine({"request": request}, name, value) == f"/samples/?{expected.urlencode()}"
