"""The public list of results: publications that used the samples, per mission and per sample."""

from django.shortcuts import render

from moonvault.catalog.selectors import mission_list, sample_get
from moonvault.core.errors import NotFound
from moonvault.loans import selectors


def results(request):
    code = request.GET.get("mission", "").strip()
    missions = list(mission_list())
    mission = next((m for m in missions if m.code == code), None)
    return render(
        request,
        "loans/results.html",
        {
            "missions": missions,
            "mission": mission,
            "unknown_mission": code if code and mission is None else "",
            "publications": selectors.publications_of_mission(mission=mission),
        },
    )


def sample_results(request, identifier: str):
    try:
        sample = sample_get(identifier=identifier)
    except NotFound:
        return render(request, "web/404.html", {"identifier": identifier}, status=404)
    return render(
        request,
        "loans/sample_results.html",
        {"sample": sample, "publications": selectors.publications_of_sample(sample=sample)},
    )
