"""Public pages: home, catalog, sample, missions. Thin: parse, call a selector, render."""

from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.vary import vary_on_headers

from moonvault.catalog import selectors
from moonvault.catalog.models import Form, Pool, State
from moonvault.core.errors import DomainError, NotFound
from moonvault.core.units import MICROGRAMS_PER, parse_mass
from moonvault.custody.selectors import ledger_head, sample_timeline

PAGE_SIZE = 50
MASS_UNITS = ["kg", "g", "mg", "ug"]
# The catalog's query parameters, and the selector fields they feed where the names differ.
FILTER_PARAMS = ["q", "mission", "form", "pool", "state", "mass_min", "mass_max", "unit"]
PARAM_OF_FIELD = {"mass_min_ug": "mass_min", "mass_max_ug": "mass_max"}


def home(request):
    return render(
        request,
        "web/home.html",
        {"missions": selectors.mission_list(), "head": ledger_head()},
    )


def missions(request):
    return render(request, "web/missions.html", {"missions": selectors.mission_list()})


def _mass_param(request, name: str) -> int | None:
    text = request.GET.get(name, "").strip()
    if not text:
        return None
    unit = request.GET.get("unit", "g")
    if unit not in MICROGRAMS_PER:
        raise DomainError(f"unknown mass unit {unit!r}", field="unit")
    return parse_mass(text, unit, field=name)


@vary_on_headers("HX-Request")
def catalog(request):
    errors = {}
    page = None
    try:
        filters = selectors.SampleFilters(
            mission=request.GET.get("mission", ""),
            form=request.GET.get("form", ""),
            pool=request.GET.get("pool", ""),
            state=request.GET.get("state", ""),
            mass_min_ug=_mass_param(request, "mass_min"),
            mass_max_ug=_mass_param(request, "mass_max"),
            q=request.GET.get("q", ""),
        )
        page = Paginator(selectors.sample_search(filters=filters), PAGE_SIZE).get_page(
            request.GET.get("page")
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
            "page": page,
            "errors": errors,
            # One slot per filter, so that a partial answer also clears errors already fixed.
            "field_errors": [(name, errors.get(name, "")) for name in FILTER_PARAMS],
            "other_errors": [m for f, m in errors.items() if f not in FILTER_PARAMS],
            "params": params.urlencode(),
            "missions": selectors.mission_list(),
            "forms": Form.choices,
            "pools": Pool.choices,
            "states": State.choices,
            "units": MASS_UNITS,
            "unit": request.GET.get("unit", "g"),
        },
        status=400 if errors else 200,
    )


def sample_detail(request, identifier: str):
    try:
        sample = selectors.sample_get(identifier=identifier)
    except NotFound:
        return render(request, "web/404.html", {"identifier": identifier}, status=404)
    return render(
        request,
        "web/sample_detail.html",
        {
            "sample": sample,
            "ancestors": selectors.sample_ancestors(sample=sample),
            "children": list(selectors.sample_children(sample=sample)),
            "descendant_count": selectors.sample_descendants(sample=sample).count(),
            "events": sample_timeline(sample=sample),
        },
    )


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": "not found", "errors": [{"field": None, "message": "no such endpoint"}]},
            status=404,
        )
    return render(request, "web/404.html", status=404)
