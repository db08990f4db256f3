"""The sample page: mass history chart and table, genealogy tree, publications, label QR code."""

import xml.etree.ElementTree as ET

import pytest
import segno
from django.conf import settings

from moonvault.catalog.services import ChildSpec, sample_split
from moonvault.loans.models import Publication, PublicationUse
from moonvault.web import charts
from moonvault.web.charts import qr_code
from tests.conftest import GRAM

pytestmark = pytest.mark.django_db
SVG = "{http://www.w3.org/2000/svg}"


def svgs(html: str) -> list[ET.Element]:
    """Every inline SVG of a page, parsed: each must be well-formed XML on its own."""
    found, start = [], 0
    while (start := html.find("<svg", start)) != -1:
        end = html.index("</svg>", start) + len("</svg>")
        found.append(ET.fromstring(html[start:end]))
        start = end
    return found


def texts(svg: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in svg.iter(f"{SVG}text")]


def by_label(html: str, label: str) -> ET.Element:
    return next(s for s in svgs(html) if s.get("aria-label", "").startswith(label))


def test_the_mass_history_is_a_chart_and_a_table(client, family):
    regolith, _, _ = family
    response = client.get(f"/samples/{regolith.identifier}/")
    chart = by_label(response.text, "Mass after each custody event")
    assert "mass (g)" in texts(chart)
    steps = response.context["history"]
    assert [s.mass_after_ug for s in steps] == [2 * GRAM, 2 * GRAM - 251_512]
    assert "Mass history as a table" in response.text
    assert 'title="1,748,488 µg"' in response.text


def test_a_chart_is_drawn_again_only_when_the_history_changes(client, family, monkeypatch):
    regolith, _, _ = family
    drawn = []
    draw = charts.Figure.savefig
    monkeypatch.setattr(charts.Figure, "savefig", lambda *a, **k: drawn.append(1) or draw(*a, **k))
    charts._mass_history_chart.cache_clear()
    page = f"/samples/{regolith.identifier}/"
    first = client.get(page)
    again = client.get(page)
    assert len(drawn) == 1
    chart = by_label(first.text, "Mass after each")
    assert ET.tostring(chart) == ET.tostring(by_label(again.text, "Mass after each"))
    held = first.context["history"][-1].mass_after_ug
    sample_split(actor=None, sample_id=regolith.pk, children=[ChildSpec(GRAM // 10)])
    changed = client.get(page)
    assert len(drawn) == 2
    assert changed.context["history"][-1].mass_after_ug == held - GRAM // 10
    assert ET.tostring(by_label(changed.text, "Mass after each")) != ET.tostring(chart)


def test_the_genealogy_tree_links_ancestors_and_children(client, family):
    regolith, children, grandchild = family
    response = client.get(f"/samples/{children[0].identifier}/")
    tree = by_label(response.text, "Genealogy of")
    links = {a.get("href") for a in tree.iter(f"{SVG}a")}
    assert links == {
        f"/samples/{regolith.identifier}/",
        f"/samples/{grandchild.identifier}/",
    }
    assert children[0].identifier in texts(tree)


def test_a_wide_tree_draws_a_few_children_and_a_more_node(client, regolith):
    sample_split(actor=None, sample_id=regolith.pk, children=[ChildSpec(1000)] * 11)
    response = client.get(f"/samples/{regolith.identifier}/")
    tree = by_label(response.text, "Genealogy of")
    assert len(list(tree.iter(f"{SVG}a"))) == 8
    assert "+3 more" in texts(tree)
    assert "11 children" in response.text


def test_publications_that_used_the_sample_are_listed(client, family):
    regolith, _, _ = family
    publication = Publication.objects.create(
        title="Two-billion-year-old volcanism", journal="Nature", year=2021, doi="10.1038/x1"
    )
    PublicationUse.objects.create(publication=publication, sample=regolith)
    response = client.get(f"/samples/{regolith.identifier}/")
    assert "<cite>Two-billion-year-old volcanism</cite>, Nature (2021)" in response.text
    assert 'href="https://doi.org/10.1038/x1"' in response.text


def test_the_label_qr_code_encodes_the_absolute_address(client, apollo_rock, settings):
    settings.SITE_URL = "https://moonvault.example.org/"
    response = client.get("/zh-hans/samples/74001,6040/")
    address = "https://moonvault.example.org/samples/74001,6040/"
    assert response.context["address"] == address
    expected = segno.make(address, error="m").svg_inline(
        scale=4, title="标签二维码", svgclass="qr", lineclass=None
    )
    assert expected in response.text
    assert str(qr_code(address, title="x")).startswith("<svg")


def test_every_figure_on_the_page_is_well_formed(client, family):
    _, children, _ = family
    response = client.get(f"/samples/{children[0].identifier}/")
    assert len(svgs(response.text)) == 3
    assert settings.LANGUAGE_CODE == "en"


def test_the_sample_page_in_chinese(client, family):
    regolith, _, _ = family
    response = client.get(f"/zh-hans/samples/{regolith.identifier}/")
    assert response.status_code == 200
    assert "质量变化记录" in response.text
    assert "样品谱系" in response.text
