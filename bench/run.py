"""`make bench`: the scale benchmarks and the optimizer benchmarks, figures printed and kept.

For each size (BENCH_SIZES, default 10000) and each database (BENCH_VENDORS, default SQLite and,
when BENCH_PG_URL's server answers, PostgreSQL), a fresh database is migrated, `moonvault
generate` fills it (timed, with its peak memory), and bench/measure.py times the endpoints, raw
SQL and verify with the production settings (DEBUG off). Results are merged into
var/bench/scale.json by vendor and size, so sizes can be run one at a time, and latency against
size is plotted beside it (scale.png, scale.svg); with two sizes or more, each endpoint's p95
at the largest over its p95 at the smallest is printed (growth). bench/http_load.py then loads
the catalog endpoint through gunicorn for BENCH_HTTP_SECONDS (default 15). BENCH_OPTIMIZER=0
skips the optimizer runs; BENCH_OPTIMIZER_SIZES (default small,medium,large; see
bench/optimizer/run.py) picks their sizes.
"""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "bench"
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def run(args: list[str], env: dict) -> str:
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def pg_available() -> bool:
    try:
        import psycopg

        psycopg.connect(PG_URL, connect_timeout=3).close()
        return True
    except Exception:
        return False


def fresh_database(vendor: str, size: int) -> str:
    if vendor == "sqlite":
        path = OUT / f"bench-{size}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    name = f"moonvault_bench_{size}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return PG_URL.rsplit("/", 1)[0] + f"/{name}"


# As deployed: DEBUG off (no query log), no HTTPS redirect for the in-process client.
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-not-secret",
    "ALLOWED_HOSTS": "testserver",
    "SECURE_SSL_REDIRECT": "0",
}


def bench_size(vendor: str, size: int) -> dict:
    url = fresh_database(vendor, size)
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1"}
    moonvault = str(ROOT / ".venv" / "bin" / "moonvault")
    run([moonvault, "migrate", "--noinput", "-v0"], env)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    generated = run([moonvault, "generate", "--samples", str(size), "--seed", "1"], env)
    elapsed = time.perf_counter() - started
    print(f"  {vendor} {size:,}: {generated.strip()} (load {load:.1f})")
    # The HTML pages name hashed static files, which DEBUG off reads from the manifest.
    run([moonvault, "collectstatic", "--noinput", "-v0"], {**env, **PRODUCTION})
    figures = json.loads(
        run([sys.executable, str(ROOT / "bench" / "measure.py")], {**env, **PRODUCTION})
    )
    seconds = os.environ.get("BENCH_HTTP_SECONDS", "15")
    figures["http"] = json.loads(
        run([sys.executable, str(ROOT / "bench" / "http_load.py"), seconds], {**env, **PRODUCTION})
    )
    events = re.search(r"and ([\d,]+) events", generated)
    figures["generate"] = {
        "output": generated.strip(),
        "seconds": round(elapsed, 1),
        "events": int(events.group(1).replace(",", "")) if events else None,
        "peak_rss_mb": float(rss.group(1))
        if (rss := re.search(r"peak RSS (\d+) MB", generated))
        else None,
        "load_before": round(load, 2),
    }
    return figures


def show(vendor: str, size: int, figures: dict) -> None:
    floor = figures["trivial"]["p95_ms"]
    print(f"  trivial endpoint p95 {floor} ms")
    for name, value in figures.items():
        if isinstance(value, dict) and "api" in value:
            api, sql = value["api"], value["sql"]
            # A page of two requests (genealogy and timeline) pays the floor twice.
            ratio = api["p95_ms"] / (sql["p95_ms"] + floor * len(value.get("urls", [1])))
            print(
                f"  {name:28s} api p50 {api['p50_ms']:8.2f} p95 {api['p95_ms']:8.2f} ms | "
                f"sql p95 {sql['p95_ms']:7.2f} ms | api/(sql+floor) {ratio:.2f}"
            )
    v = figures["verify"]
    print(
        f"  verify {v['events']:,} events: {v['events_per_s']:,} events/s "
        f"({v['events_per_cpu_s']:,}/CPU s); bare loop {v['bare_loop_events_per_s']:,} events/s "
        f"({v['bare_loop_events_per_cpu_s']:,}/CPU s); ratio {v['ratio']} (ok={v['ok']}); "
        f"command {v['command_s']} s, peak RSS {v['command_peak_rss_mb']} MB; "
        f"load {v['load_before']}→{v['load_after']}"
    )
    h = figures["http"]
    print(
        f"  catalog endpoint under load ({h['server']}, {h['generator']}): "
        f"{h['requests_per_s']:,} requests/s, {h['errors']} errors in {h['requests']:,}"
    )
    print(
        f"  measure peak RSS {figures['peak_rss_mb']} MB; load {figures['load_start']}→"
        f"{figures['load_end']}"
    )


def endpoint_p95s(figures: dict) -> dict[str, float]:
    """Each endpoint's p95 through the API (or the HTML page), in ms, for one database and size."""
    return {
        name: value["api"]["p95_ms"]
        for name, value in figures.items()
        if isinstance(value, dict) and "api" in value
    }


def growth(results: dict) -> None:
    """Each endpoint's p95 at the largest size measured over its p95 at the smallest, per
    database: how latency grows with the catalog (the target is at most 2 from 10,000 to
    1,000,000 samples)."""
    for vendor in sorted({figures["vendor"] for figures in results.values()}):
        by_size = {f["samples"]: f for f in results.values() if f["vendor"] == vendor}
        if len(by_size) < 2:
            continue
        small, large = endpoint_p95s(by_size[min(by_size)]), endpoint_p95s(by_size[max(by_size)])
        print(f"== growth, {vendor}: p95 at {max(by_size):,} samples / p95 at {min(by_size):,}")
        for name in (n for n in large if n in small):
            ratio = large[name] / small[name]
            print(f"  {name:28} {large[name]:8.2f} / {small[name]:6.2f} ms = {ratio:5.2f}")


def plot(results: dict) -> None:
    """p95 against catalog size, log-log, one line per endpoint and database."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    series: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for figures in results.values():
        for name, p95 in endpoint_p95s(figures).items():
            series.setdefault((figures["vendor"], name), []).append((figures["samples"], p95))
    figure, axes = pyplot.subplots(figsize=(9, 6))
    for (vendor, name), points in sorted(series.items()):
        points.sort()
        axes.plot(
            [p[0] for p in points],
            [p[1] for p in points],
            marker="o",
            linestyle="-" if vendor == "postgresql" else "--",
            label=f"{vendor}: {name}",
        )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("samples")
    axes.set_ylabel("p95 latency through the API (ms)")
    axes.set_title("Moonvault catalog latency against size")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="x-small", ncol=2)
    figure.tight_layout()
    for suffix in ("png", "svg"):
        figure.savefig(OUT / f"scale.{suffix}")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "10000").split(",")]
    vendors = os.environ.get("BENCH_VENDORS", "sqlite,postgresql").split(",")
    if "postgresql" in vendors and not pg_available():
        print(f"PostgreSQL at {PG_URL} is not reachable: SQLite only.")
        vendors.remove("postgresql")
    kept = OUT / "scale.json"
    results = json.loads(kept.read_text()) if kept.exists() else {}
    for vendor in vendors:
        for size in sizes:
            print(f"== {vendor}, {size:,} samples")
            figures = bench_size(vendor, size)
            show(vendor, size, figures)
            results[f"{vendor}-{size}"] = figures
            kept.write_text(json.dumps(results, indent=2))
    plot(results)
    growth(results)
    print(f"wrote {kept} and {OUT / 'scale.png'}, {OUT / 'scale.svg'}")
    subprocess.run([sys.executable, str(ROOT / "bench" / "imports.py")], cwd=ROOT, check=True)
    if os.environ.get("BENCH_OPTIMIZER", "1") == "0":
        return
    print("== optimizers")
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "optimizer" / "run.py"),
            "--sizes",
            os.environ.get("BENCH_OPTIMIZER_SIZES", "small,medium,large"),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        check=True,
    )


if __name__ == "__main__":
    main()
