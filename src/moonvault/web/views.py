"""Public pages: home, catalog, sample, missions. Thin: parse, call a selector, render."""

from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import render

from moonvault.catalog import selectors
from moonvault.catalog.models import Form, Pool, State
from moonvault.core.errors import DomainError, NotFound
from moonvault.core.units import parse_mass
from moonvault.custody.selectors import ledger_head, sample_timeline

PAGE_SIZE = 50


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
    return parse_mass(text, request.GET.get("unit", "g"), field=name)


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
        errors = {p.field: p.message for p in exc.problems}
    params = request.GET.copy()
    params.pop("page", None)
    template = "web/_sample_table.html" if request.htmx else "web/catalog.html"
    return render(
        request,
        template,
        {
            "page": page,
            "errors": errors,
            "params": params.urlencode(),
            "missions": selectors.mission_list(),
            "forms": Form.choices,
            "pools": Pool.choices,
            "states": State.choices,
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
            "children": selectors.sample_children(sample=sample),
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
