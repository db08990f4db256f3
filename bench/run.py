"""`make bench`: the scale benchmarks and the optimizer benchmarks, figures printed and kept.

For each size (BENCH_SIZES, default 10000) and each database (SQLite always; PostgreSQL when
BENCH_PG_URL's server answers), a fresh database is migrated, `moonvault generate` fills it, and
bench/measure.py times the endpoints, raw SQL and verify. Results go to var/bench/scale.json.
"""

import json
import os
import subprocess
import sys
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


def bench_size(vendor: str, size: int) -> dict:
    url = fresh_database(vendor, size)
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1"}
    moonvault = str(ROOT / ".venv" / "bin" / "moonvault")
    run([moonvault, "migrate", "--noinput", "-v0"], env)
    generated = run([moonvault, "generate", "--samples", str(size), "--seed", "1"], env)
    print(f"  {vendor} {size:,}: {generated.strip()}")
    figures = json.loads(run([sys.executable, str(ROOT / "bench" / "measure.py")], env))
    figures["generate"] = generated.strip()
    return figures


def show(vendor: str, size: int, figures: dict) -> None:
    floor = figures["trivial"]["p95_ms"]
    print(f"  trivial endpoint p95 {floor} ms")
    for name, value in figures.items():
        if isinstance(value, dict) and "api" in value:
            api, sql = value["api"], value["sql"]
            ratio = api["p95_ms"] / (sql["p95_ms"] + floor)
            print(
                f"  {name:28s} api p50 {api['p50_ms']:8.2f} p95 {api['p95_ms']:8.2f} ms | "
                f"sql p95 {sql['p95_ms']:7.2f} ms | api/(sql+floor) {ratio:.2f}"
            )
    v = figures["verify"]
    print(
        f"  verify {v['events']:,} events: {v['events_per_s']:,} events/s; bare loop "
        f"{v['bare_loop_events_per_s']:,} events/s; ratio {v['ratio']} (ok={v['ok']})"
    )
    print(f"  measure peak RSS {figures['peak_rss_mb']} MB")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "10000").split(",")]
    vendors = ["sqlite"] + (["postgresql"] if pg_available() else [])
    if "postgresql" not in vendors:
        print(f"PostgreSQL at {PG_URL} is not reachable: SQLite only.")
    results = {}
    for vendor in vendors:
        for size in sizes:
            print(f"== {vendor}, {size:,} samples")
            figures = bench_size(vendor, size)
            show(vendor, size, figures)
            results[f"{vendor}-{size}"] = figures
    (OUT / "scale.json").write_text(json.dumps(results, indent=2))
    print(f"wrote {OUT / 'scale.json'}")
    print("== optimizers")
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "optimizer" / "run.py"), "--sizes", "small"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        check=True,
    )


if __name__ == "__main__":
    main()
