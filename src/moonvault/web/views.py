"""Public pages: home, catalog, sample, missions, transparency.

Thin: parse, call a selector, render; figures are drawn by web/charts.py from what the selectors
return.
"""

import json

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.vary import vary_on_headers

from moonvault.catalog import selectors
from moonvault.catalog.models import Form, Pool, State
from moonvault.core.errors import DomainError, NotFound
from moonvault.core.units import MICROGRAMS_PER, format_mass, parse_mass
from moonvault.custody.selectors import ledger_head, sample_timeline
from moonvault.web import charts, exports, mission_report
from moonvault.web import selectors as pages

PAGE_SIZE = 50
MASS_UNITS = ["kg", "g", "mg", "ug"]
# The catalog's query parameters, and the selector fields they feed where the names differ.
FILTER_PARAMS = [
    "q",
    "text",
    "mission",
    "form",
    "pool",
    "state",
    "mass_min",
    "mass_max",
    "unit",
    "has_publications",
    "sort",
]
PARAM_OF_FIELD = {"mass_min_ug": "mass_min", "mass_max_ug": "mass_max"}
SORT_LABELS = {
    "identifier": gettext_lazy("Identifier (A–Z)"),
    "-identifier": gettext_lazy("Identifier (Z–A)"),
    "mass": gettext_lazy("Mass (lightest first)"),
    "-mass": gettext_lazy("Mass (heaviest first)"),
    "mission": gettext_lazy("Mission"),
    "-mission": gettext_lazy("Mission (reversed)"),
    "-updated": gettext_lazy("Recently updated"),
    "updated": gettext_lazy("Least recently updated"),
}
FACET_TITLES = {
    "mission": gettext_lazy("Mission"),
    "form": gettext_lazy("Form"),
    "pool": gettext_lazy("Purpose pool"),
    "state": gettext_lazy("State"),
}
CHILDREN_DRAWN = 8


def home(request):
    return render(
        request,
        "web/home.html",
        {"missions": selectors.mission_list(), "head": ledger_head()},
    )


def _mass_param(request, name: str) -> int | None:
    text = request.GET.get(name, "").strip()
    if not text:
        return None
    unit = request.GET.get("unit", "g")
    if unit not in MICROGRAMS_PER:
        raise DomainError(_("unknown mass unit %(unit)s") % {"unit": repr(unit)}, field="unit")
    return parse_mass(text, unit, field=name)


@vary_on_headers("HX-Request")
def catalog(request):
    errors = {}
    result = None
    sort = request.GET.get("sort", "identifier") or "identifier"
    try:
        filters = selectors.SampleFilters(
            mission=request.GET.get("mission", ""),
            form=request.GET.get("form", ""),
            pool=request.GET.get("pool", ""),
            state=request.GET.get("state", ""),
            mass_min_ug=_mass_param(request, "mass_min"),
            mass_max_ug=_mass_param(request, "mass_max"),
            q=request.GET.get("q", ""),
            text=request.GET.get("text", ""),
            has_publications=request.GET.get("has_publications", "") == "1",
        )
        result = selectors.sample_catalog_page(
            filters=filters, sort=sort, number=request.GET.get("page"), size=PAGE_SIZE
        )
    except DomainError as exc:
        for problem in exc.problems:
            errors[PARAM_OF_FIELD.get(problem.field, problem.field)] = problem.message
    params = request.GET.copy()
    params.pop("page", None)
    template = "web/_sample_table.html" if request.htmx else "web/catalog.html"
    return render(
        request,
        template,
        {
            "page": result.page if result else None,
            "facets": result.counts.facets if result else None,
            "counts": result.counts if result else None,
            "errors": errors,
            # One slot per filter, so that a partial answer also clears errors already fixed.
            "field_errors": [(name, errors.get(name, "")) for name in FILTER_PARAMS],
            "other_errors": [m for f, m in errors.items() if f not in FILTER_PARAMS],
            "params": params.urlencode(),
            # The search read the missions for their facet already.
            "missions": (
                [(o.value, o.label) for o in result.counts.facets["mission"]]
                if result
                else selectors.mission_choices()
            ),
            "forms": Form.choices,
            "pools": Pool.choices,
            "states": State.choices,
            "facet_titles": FACET_TITLES,
            "units": MASS_UNITS,
            "unit": request.GET.get("unit", "g"),
            "sorts": SORT_LABELS.items(),
            "sort": sort,
        },
        status=400 if errors else 200,
    )


def _node(identifier: str, form: str, mass_ug: int, *, current=False) -> charts.TreeNode:
    return charts.TreeNode(
        label=identifier,
        detail=f"{Form(form).label} · {format_mass(mass_ug)}",
        href="" if current else reverse("sample-detail", args=[identifier]),
        current=current,
    )


def sample_detail(request, identifier: str):
    try:
        sample = selectors.sample_get(identifier=identifier)
    except NotFound:
        return render(request, "web/404.html", {"identifier": identifier}, status=404)
    ancestors = selectors.sample_ancestor_nodes(sample=sample)
    children = selectors.sample_children_nodes(sample=sample, limit=CHILDREN_DRAWN + 1)
    child_count = (
        len(children)
        if len(children) <= CHILDREN_DRAWN
        else selectors.sample_child_count(sample=sample)
    )
    shown = children[:CHILDREN_DRAWN]
    nodes = [_node(c["identifier"], c["form"], c["mass_ug"]) for c in shown]
    if child_count > len(shown):
        more = child_count - len(shown)
        nodes.append(charts.TreeNode(label=_("+%(n)d more") % {"n": more}, detail=""))
    history = pages.sample_mass_history(events=sample_timeline(sample=sample))
    # The label encodes the address in the default language: one label for every reader.
    with translation.override(settings.LANGUAGE_CODE):
        address = settings.SITE_URL.rstrip("/") + reverse("sample-detail", args=[identifier])
    return render(
        request,
        "web/sample_detail.html",
        {
            "sample": sample,
            "ancestors": ancestors,
            "children": shown,
            "child_count": child_count,
            "descendant_count": selectors.sample_descendant_count(sample=sample),
            "history": history,
            "events": [step.event for step in history],
            "mass_chart": charts.mass_history_chart(
                [(step.event.recorded_at, step.mass_after_ug) for step in history],
                title=_("Mass after each custody event"),
                axis=_("mass (%(unit)s)"),
            )
            if history
            else "",
            "tree": charts.genealogy_tree(
                ancestors=[_node(a["identifier"], a["form"], a["mass_ug"]) for a in ancestors],
                sample=_node(sample.identifier, sample.form, sample.mass_ug, current=True),
                children=nodes,
                title=_("Genealogy of %(identifier)s") % {"identifier": sample.identifier},
            ),
            "publications": pages.sample_publications(sample=sample),
            "address": address,
            "qr": charts.qr_code(address, title=_("Label QR code")),
        },
    )


def _moon_map(current_code: str = ""):
    return charts.moon_map(
        [
            charts.Site(m.code, float(m.latitude), float(m.longitude), m.code == current_code)
            for m in pages.mission_sites()
        ],
        title=_("Landing sites"),
        near_side=_("Near side"),
        far_side=_("Far side"),
        axes=(_("longitude (°)"), _("latitude (°)")),
    )


def missions(request):
    return render(
        request,
        "web/missions.html",
        {"missions": selectors.mission_list(), "moon_map": _moon_map()},
    )


def mission_detail(request, code: str):
    try:
        mission = selectors.mission_get(code=code)
    except NotFound:
        return render(request, "web/404.html", status=404)
    return render(
        request,
        "web/mission_detail.html",
        {
            "mission": mission,
            "accounting": pages.mission_accounting(mission=mission),
            "pools": Pool.choices,
            "moon_map": _moon_map(mission.code),
        },
    )


# Charts of the transparency page: which table, which column to plot, and the axis unit.
CHARTS = [
    ("released-by-mission", "mission", "mass_ug"),
    ("released-by-year", "year", "mass_ug"),
    ("released-by-country", "country", "mass_ug"),
    ("released-by-institution", "institution", "mass_ug"),
    ("calls", "call", "success_pct"),
    ("remaining", "mission", "remaining_pct"),
]
INSTITUTIONS_CHARTED = 15


def transparency(request):
    tables = pages.transparency_tables(shown=pages.SHOWN_ROWS)
    figures = {}
    for slug, label_key, value_key in CHARTS:
        rows = [r for r in tables[slug].rows if r[value_key] != ""][:INSTITUTIONS_CHARTED]
        if not rows:
            continue
        grams = value_key.endswith("_ug")
        figures[slug] = charts.bar_chart(
            [str(r[label_key]) or "—" for r in rows],
            [r[value_key] / charts.GRAM if grams else r[value_key] for r in rows],
            title=str(tables[slug].title),
            axis=_("mass (g)") if grams else _("percent"),
        )
    medians = pages.loan_time_medians()
    return render(
        request,
        "web/transparency.html",
        {
            "tables": [(t, figures.get(slug)) for slug, t in tables.items()],
            "median_to_shipment": medians["days_to_shipment"],
            "median_to_publication": medians["days_to_publication"],
        },
    )


def _transparency_table(slug: str):
    try:
        return exports.transparency_table(slug=slug)
    except NotFound:
        raise Http404(slug) from None


def _download(content, content_type: str, filename: str, *, inline: bool = False):
    response = HttpResponse(content, content_type=content_type)
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


def transparency_csv(request, slug: str):
    table = _transparency_table(slug)
    return _download(exports.table_csv(table), "text/csv; charset=utf-8", f"moonvault-{slug}.csv")


def transparency_json(request, slug: str):
    table = _transparency_table(slug)
    return _download(
        json.dumps(exports.table_json(table), ensure_ascii=False),
        "application/json",
        f"moonvault-{slug}.json",
    )


def transparency_all_json(request):
    return _download(
        json.dumps(exports.transparency_json(), ensure_ascii=False),
        "application/json",
        "moonvault-transparency.json",
    )


def mission_report_pdf(request, code: str):
    try:
        report = mission_report.mission_report(code=code)
    except NotFound:
        return render(request, "web/404.html", status=404)
    return _download(
        mission_report.mission_report_pdf(report),
        "application/pdf",
        mission_report.mission_report_filename(report),
        inline=True,
    )


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": "not found", "errors": [{"field": None, "message": "no such endpoint"}]},
            status=404,
        )
    return render(request, "web/404.html", status=404)
