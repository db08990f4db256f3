"""Latency and throughput on the database named by DATABASE_URL (run by bench/run.py).

Prints one JSON object: p50/p95 of catalog search and sample endpoints through the API (Django's
in-process client, so no network is timed), the same queries as raw SQL on the same connection,
a trivial endpoint as the framework's floor, and `verify` against a bare loop that streams the
same rows and hashes the same bytes.
"""

import hashlib
import json
import os
import resource
import statistics
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "moonvault.settings")
import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from moonvault.catalog.models import Sample  # noqa: E402
from moonvault.custody.chain import event_bytes  # noqa: E402
from moonvault.custody.selectors import events_stream  # noqa: E402
from moonvault.custody.verification import custody_verify  # noqa: E402

REPEAT = int(os.environ.get("BENCH_REPEAT", "100"))


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


def api(client: Client, url: str):
    def call():
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code} {response.content[:200]!r}")

    return call


def raw(sql: str, params: list):
    def call():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            cursor.fetchall()

    return call


def main() -> None:
    client = Client()
    mission = Sample.objects.values_list("mission__code", flat=True).first()
    deep = Sample.objects.order_by("-depth", "pk").first()
    wide_parent = (
        Sample.objects.filter(parent__isnull=False)
        .values("parent")
        .annotate(n=django.db.models.Count("pk"))
        .order_by("-n")
        .first()
    )
    wide = Sample.objects.get(pk=wide_parent["parent"])
    table = Sample._meta.db_table
    searches = {
        "mission+state": (
            f"/api/v1/samples?mission={mission}&state=stored&limit=50",
            f"SELECT s.* FROM {table} s JOIN catalog_mission m ON m.id = s.mission_id "
            "WHERE m.code = %s AND s.state = %s ORDER BY s.identifier LIMIT 50",
            [mission, "stored"],
        ),
        "form+pool+mass": (
            "/api/v1/samples?form=powder&pool=research&mass_min_ug=1000000&limit=50",
            f"SELECT * FROM {table} WHERE form = %s AND pool = %s AND mass_ug >= %s "
            "ORDER BY identifier LIMIT 50",
            ["powder", "research", 1_000_000],
        ),
        "identifier prefix": (
            f"/api/v1/samples?q={deep.identifier[:6]}&limit=50",
            f"SELECT * FROM {table} WHERE identifier >= %s AND identifier < %s "
            "ORDER BY identifier LIMIT 50",
            [deep.identifier[:6], deep.identifier[:6] + "\U0010ffff"],
        ),
    }
    result: dict = {"samples": Sample.objects.count(), "vendor": connection.vendor}
    result["trivial"] = timed(api(client, "/api/v1/ledger/head"))
    for name, (url, sql, params) in searches.items():
        result[f"search {name}"] = {"api": timed(api(client, url)), "sql": timed(raw(sql, params))}
    for label, sample in (("deep", deep), ("wide", wide)):
        ident = sample.identifier
        result[f"sample page {label}"] = {
            "api": timed(
                lambda ident=ident: (
                    api(client, f"/api/v1/samples/{ident}/genealogy")(),
                    api(client, f"/api/v1/samples/{ident}/timeline")(),
                )
            ),
            "sql": timed(
                raw(
                    f"SELECT * FROM {table} WHERE path > %s AND path < %s ORDER BY path",
                    [sample.path, sample.path + "~"],
                )
            ),
            "depth": sample.depth,
            "children": sample.children.count(),
        }
    t0 = time.perf_counter()
    hashed = 0
    for row in events_stream():
        hashlib.sha256(event_bytes(tuple(row[:13]))).hexdigest()
        hashed += 1
    bare = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = custody_verify()
    took = time.perf_counter() - t0
    result["verify"] = {
        "ok": report.ok,
        "events": report.events,
        "events_per_s": round(report.events / took) if took else None,
        "bare_loop_events_per_s": round(hashed / bare) if bare else None,
        "ratio": round(bare / took, 3) if took else None,
    }
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
