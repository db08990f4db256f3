"""Latency and throughput on the database named by DATABASE_URL (run by bench/run.py).

Prints one JSON object: p50/p95 of catalog search (facet counts included) and the sample page
(genealogy and timeline) through the API and the HTML catalog, and of the generated programme's
busiest pages, each signed in as its user (Django's in-process client, so no network is timed);
the very SELECTs those requests ran, captured and replayed as raw SQL on the same connection; a
trivial endpoint as the framework's floor; and `verify` against a bare loop that streams the
same rows and hashes the same bytes, with the command's own peak memory.
"""

import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "moonvault.settings")
# The programme's pages are signed in by force_login, which confirms no second factor.
os.environ.setdefault("SECOND_FACTOR_REQUIRED", "0")
import django

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from moonvault.calls.models import Call, CallStatus, Proposal  # noqa: E402
from moonvault.catalog.models import Sample  # noqa: E402
from moonvault.custody.chain import event_bytes  # noqa: E402
from moonvault.custody.selectors import event_batches  # noqa: E402
from moonvault.custody.verification import custody_verify  # noqa: E402
from moonvault.review.models import Assignment  # noqa: E402

REPEAT = int(os.environ.get("BENCH_REPEAT", "100"))
# Runs argv[1:] and writes its peak RSS in KiB as the last word of standard error.
PEAK_OF_CHILD = (
    "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
    "sys.exit(code)"
)
MOONVAULT = str(Path(sys.executable).with_name("moonvault"))


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 3),
        "n": len(ordered),
    }


def timed(fn, repeat: int = REPEAT) -> dict:
    fn()  # warm caches and connections
    took = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        took.append(time.perf_counter() - t0)
    return percentiles(took)


def get(client: Client, url: str) -> None:
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"{url}: {response.status_code} {response.content[:200]!r}")


def api(client: Client, *urls: str):
    def call():
        for url in urls:
            get(client, url)

    return call


def captured(client: Client, *urls: str) -> list[str]:
    """The SELECTs the endpoints run, parameters filled in, to replay as raw SQL."""
    with CaptureQueriesContext(connection) as queries:
        api(client, *urls)()
    return [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().startswith("SELECT")]


def raw(statements: list[str]):
    def call():
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                cursor.fetchall()

    return call


def endpoint(client: Client, *urls: str) -> dict:
    statements = captured(client, *urls)
    return {
        "api": timed(api(client, *urls)),
        "sql": timed(raw(statements)),
        "queries": len(statements),
        "urls": list(urls),
    }


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def programme_pages() -> dict:
    """The pages whose work grows with a round or a reviewer's load, for their busiest users;
    none when the inventory was generated without a programme."""
    round_in_review = Call.objects.filter(status=CallStatus.REVIEW).first()
    if round_in_review is None:
        return {}
    chair = signed_in(round_in_review.chair)
    decided = Call.objects.filter(status=CallStatus.DECIDED).first()
    screening = Call.objects.filter(status=CallStatus.SCREENING).first()
    busiest = Assignment.objects.values("reviewer").annotate(n=Count("id")).order_by("-n").first()
    applicant = Proposal.objects.values("pi").annotate(n=Count("id")).order_by("-n").first()
    curator = User.objects.filter(groups__name="curator").order_by("pk").first()
    pages = {
        "reviewer's page": (User.objects.get(pk=busiest["reviewer"]), "/review/"),
        "assignment matrix": (chair, f"/review/calls/{round_in_review.pk}/assignments/"),
        "round page, decided": (chair, f"/calls/committee/{decided.pk}/"),
        "ranking, decided": (chair, f"/review/calls/{decided.pk}/ranking/"),
        "screening": (chair, f"/calls/committee/{screening.pk}/screening/"),
        "applicant's proposals": (User.objects.get(pk=applicant["pi"]), "/calls/proposals/"),
        "loan compliance": (curator, "/loans/"),
        "transparency": (Client(), "/transparency/"),
    }
    return {
        name: endpoint(user if isinstance(user, Client) else signed_in(user), url)
        for name, (user, url) in pages.items()
    }


def verify_figures() -> dict:
    """`verify` in this process against a bare loop over the same rows and bytes, then the
    command alone in a fresh process for its peak memory."""
    sha256 = hashlib.sha256
    load = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    hashed = 0
    for rows in event_batches():
        for row in rows:
            sha256(event_bytes(row[:13])).hexdigest()
        hashed += len(rows)
    bare, bare_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    report = custody_verify()
    took, took_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    # Started from a small wrapper, not from here: a child's peak memory counts what it shared
    # with its parent before exec, and this process holds the whole measurement by now.
    done = subprocess.run(
        [sys.executable, "-c", PEAK_OF_CHILD, MOONVAULT, "verify"],
        capture_output=True,
        text=True,
        check=False,
    )
    alone = time.perf_counter() - t0
    return {
        "ok": report.ok,
        "events": report.events,
        "events_per_s": round(report.events / took) if took else None,
        "events_per_cpu_s": round(report.events / took_cpu) if took_cpu else None,
        "bare_loop_events_per_s": round(hashed / bare) if bare else None,
        "bare_loop_events_per_cpu_s": round(hashed / bare_cpu) if bare_cpu else None,
        "ratio": round(bare / took, 3) if took else None,
        "command_ok": done.returncode == 0,
        "command_s": round(alone, 2),
        "command_peak_rss_mb": round(int(done.stderr.split()[-1]) / 1024, 1),
        "load_before": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    client = Client()
    mission = Sample.objects.values_list("mission__code", flat=True).first()
    deep = Sample.objects.order_by("-depth", "pk").first()
    wide_parent = (
        Sample.objects.filter(parent__isnull=False)
        .values("parent")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    wide = Sample.objects.get(pk=wide_parent["parent"])
    searches = {
        "all": "/api/v1/samples?limit=50",
        "mission+state": f"/api/v1/samples?mission={mission}&state=stored&limit=50",
        "form+pool": "/api/v1/samples?form=powder&pool=research&limit=50",
        "form+pool+mass": "/api/v1/samples?form=powder&pool=research&mass_min_ug=1000000&limit=50",
        "identifier prefix": f"/api/v1/samples?q={deep.identifier[:6]}&limit=50",
        # Text matching a seventh of the samples, then text matching none.
        "text common": "/api/v1/samples?text=basalt&limit=50",
        "text rare": "/api/v1/samples?text=phenocryst&limit=50",
        "text+mission": f"/api/v1/samples?text=breccia&mission={mission}&limit=50",
    }
    result: dict = {
        "samples": Sample.objects.count(),
        "vendor": connection.vendor,
        "load_start": round(os.getloadavg()[0], 2),
    }
    result["trivial"] = timed(api(client, "/api/v1/ledger/head"))
    for name, url in searches.items():
        result[f"search {name}"] = endpoint(client, url)
    result["search html"] = endpoint(client, f"/samples/?mission={mission}&state=stored")
    for label, sample in (("deep", deep), ("wide", wide)):
        ident = sample.identifier
        result[f"sample page {label}"] = {
            **endpoint(
                client,
                f"/api/v1/samples/{ident}/genealogy",
                f"/api/v1/samples/{ident}/timeline",
            ),
            "depth": sample.depth,
            "children": sample.children.count(),
        }
    result.update(programme_pages())
    result["load_end"] = round(os.getloadavg()[0], 2)
    result["verify"] = verify_figures()
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
