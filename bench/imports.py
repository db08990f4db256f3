"""Import speed: rows/s and peak RSS of `moonvault import-samples` (run by bench/run.py, or alone).

For each database (SQLite always; PostgreSQL when BENCH_PG_URL's server answers) a migrated
database is prepared once, and each import runs in a fresh copy of it, in its own process so that
the peak RSS is the import's own:
- the Apollo catalog (src/moonvault/catalog/data, 2,229 rows, --format apollo-csv);
- generated CSVs of BENCH_IMPORT_SIZES rows (default 100000,1000000) through a mapping file.
The smallest generated file is imported a second time (nothing may change) and the ledger
verified; the facet table is compared with a recount after every import. Baselines from the same
run: reading the CSV with the csv module alone, and writing as many rows into a bare table (no
index, trigger or ledger) by COPY on PostgreSQL and executemany on SQLite.

Each file is imported BENCH_IMPORT_RUNS times (default 3), each time into a fresh copy; the
median run is reported, with every run's rate beside it.
BENCH_IMPORT_DATABASES=sqlite (or postgresql) runs one database only.
Results print and go to var/bench/imports.json. `python bench/imports.py --write-csv FILE
--rows N` only writes a generated catalog, with its mapping beside it (FILE.toml).
"""

import argparse
import csv
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "bench"
MOONVAULT = str(ROOT / ".venv" / "bin" / "moonvault")
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
APOLLO = ROOT / "src" / "moonvault" / "catalog" / "data" / "apollo_rocksamples.csv"
HEADER = ["Sample ID", "Mission", "Type", "Mass", "Unit", "Lithology", "IGSN", "Notes"]
MAPPING = """[columns]
identifier = "Sample ID"
mission = "Mission"
form = "Type"
mass = "Mass"
mass_unit = "Unit"
classification = "Lithology"
igsn = "IGSN"
description = "Notes"

[forms]
scoop = "scooped_regolith"
drill = "drilled_regolith"
chip = "rock_fragment"
"""
MISSIONS = ("BCE5", "BCE6")
FORMS = ("scoop", "drill", "chip", "powder", "thin_section", "particle")
SETUP = f"""
from moonvault.catalog.models import IdConvention, Mission, StorageLocation
StorageLocation.objects.get_or_create(
    code="MAIN", defaults={{"name": "Main laboratory", "kind": "facility"}})
for code in {MISSIONS!r}:
    Mission.objects.get_or_create(code=code, defaults={{
        "name": code, "agency": "CNSA", "returned_mass_ug": 10**15,
        "id_convention": IdConvention.SUFFIX}})
"""
# Imports of each file, each into a fresh database; the median is reported.
RUNS = int(os.environ.get("BENCH_IMPORT_RUNS", "3"))
BARE_COLUMNS = ("identifier", "mission", "form", "mass_ug", "classification", "igsn", "notes")


def write_csv(path: Path, rows: int, seed: int = 1) -> Path:
    """A catalog of `rows` samples in the mapped layout; returns the mapping file beside it."""
    rng = random.Random(seed)
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for n in range(1, rows + 1):
            mission = MISSIONS[n % 3 == 0]
            unit = "mg" if n % 2 else "g"
            out.writerow(
                [
                    f"{mission}-{n:07d}",
                    mission,
                    FORMS[n % len(FORMS)],
                    f"{rng.randint(1, 5_000_000) / 1000:.3f}",
                    unit,
                    "basalt" if n % 5 == 0 else "regolith",
                    f"IEBX{n:07d}" if n % 10 == 0 else "",
                    f"generated sample {n}" if n % 4 == 0 else "",
                ]
            )
    mapping = path.with_suffix(".toml")
    mapping.write_text(MAPPING)
    return mapping


def run_measured(args: list[str], env: dict) -> tuple[str, float, float]:
    """Output, wall seconds and the child's own peak RSS in MB (from wait4)."""
    began = time.perf_counter()
    process = subprocess.Popen(
        args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - began
    if process.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{out}")
    return out, wall, round(usage.ru_maxrss / 1024, 1)


def pg_available() -> bool:
    try:
        import psycopg

        psycopg.connect(PG_URL, connect_timeout=3).close()
        return True
    except Exception:
        return False


class Database:
    """A migrated template with a main facility and the generated missions, copied per import."""

    def __init__(self, vendor: str):
        self.vendor = vendor
        self.template = self._fresh("template", template=None)
        env = self.env(self.template)
        for args in (["migrate", "--noinput", "-v0"], ["shell", "-c", SETUP]):
            subprocess.run([MOONVAULT, *args], env=env, cwd=ROOT, check=True, capture_output=True)

    def env(self, url: str) -> dict:
        return {**os.environ, "DATABASE_URL": url, "DEBUG": "1"}

    def copy(self, name: str) -> str:
        return self._fresh(name, template=self.template)

    def _fresh(self, name: str, template: str | None) -> str:
        if self.vendor == "sqlite":
            path = OUT / f"imports-{name}.sqlite3"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            if template:
                shutil.copyfile(template.removeprefix("sqlite:///"), path)
            return f"sqlite:///{path}"
        import psycopg

        db = f"moonvault_imports_{name}"
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {db}")
            source = f" TEMPLATE {template.rsplit('/', 1)[1]}" if template else ""
            conn.execute(f"CREATE DATABASE {db}{source}")
        return PG_URL.rsplit("/", 1)[0] + f"/{db}"


def import_once(db: Database, url: str, args: list[str], rows: int) -> dict:
    env = db.env(url)
    out, wall, rss = run_measured(
        [MOONVAULT, "import-samples", *args, "--skip-checks", "--quiet"], env
    )
    found = re.search(r"([\d.]+) s in all|in ([\d.]+) s\.", out)
    seconds = float(found[1] or found[2])
    facets, _, _ = run_measured([MOONVAULT, "rebuild-facets", "--check", "--skip-checks"], env)
    return {
        "rows": rows,
        "import_s": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "process_wall_s": round(wall, 2),
        "peak_rss_mb": rss,
        "facets_exact": "the facet table is exact" in facets,
        "output_tail": out.strip().splitlines()[-1],
    }


def baseline_parse(path: Path) -> dict:
    began = time.perf_counter()
    with path.open(newline="") as handle:
        rows = sum(1 for _ in csv.reader(handle)) - 1
    seconds = time.perf_counter() - began
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds)}


def baseline_bare_insert(vendor: str, url: str, path: Path) -> dict:
    """The same rows, read by the csv module, written to a table with no index or trigger."""
    began = time.perf_counter()
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        rows = [(r[0], r[1], r[2], int(float(r[3]) * 1000), r[5], r[6], r[7]) for r in reader]
    columns = ", ".join(BARE_COLUMNS)
    ddl = (
        "CREATE TABLE bench_bare (identifier varchar(64), mission varchar(16), form varchar(20), "
        "mass_ug bigint, classification varchar(40), igsn varchar(32), notes text)"
    )
    if vendor == "sqlite":
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(ddl)
        for start in range(0, len(rows), 20_000):
            conn.executemany(
                f"INSERT INTO bench_bare ({columns}) VALUES ({', '.join('?' * 7)})",
                rows[start : start + 20_000],
            )
        conn.execute("COMMIT")
        conn.close()
    else:
        import psycopg

        with psycopg.connect(url) as conn, conn.transaction():
            conn.execute(ddl)
            with conn.cursor().copy(f"COPY bench_bare ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    seconds = time.perf_counter() - began
    return {
        "rows": len(rows),
        "seconds": round(seconds, 2),
        "rows_per_s": round(len(rows) / seconds),
    }


def baselines(vendor: str, url: str, path: Path) -> dict:
    """In a process of their own: this one stays small, and a child's peak RSS as wait4 gives
    it starts from its parent's size at the fork."""
    done = subprocess.run(
        [sys.executable, __file__, "--baselines", vendor, url, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def import_runs(db: Database, name: str, args: list[str], rows: int) -> tuple[dict, str]:
    """RUNS imports, each into a fresh copy: the figures of the median run, every run's rate
    beside them (a shared machine's disk and neighbours move one run by 20 % or more), and the
    database of the last run."""
    runs = []
    for _ in range(RUNS):
        url = db.copy(name)
        runs.append(import_once(db, url, args, rows))
    figures = sorted(runs, key=lambda f: f["rows_per_s"])[len(runs) // 2]
    figures["runs_rows_per_s"] = [f["rows_per_s"] for f in runs]
    return figures, url


def bench_vendor(vendor: str, sizes: list[int]) -> dict:
    db = Database(vendor)
    results: dict = {}
    results["apollo"], _ = import_runs(db, "apollo", [str(APOLLO), "--format", "apollo-csv"], 2229)
    show(vendor, "apollo catalog", results["apollo"])
    for size in sizes:
        path = OUT / f"imports-{size}.csv"
        if not path.exists() or not path.with_suffix(".toml").exists():
            write_csv(path, size)
        args = [str(path), "--format", "mapped", "--mapping", str(path.with_suffix(".toml"))]
        figures, url = import_runs(db, str(size), args, size)
        show(vendor, f"generated {size:,}", figures)
        if size == min(sizes):
            again, wall, rss = run_measured(
                [MOONVAULT, "import-samples", *args, "--skip-checks", "--quiet"], db.env(url)
            )
            verified, seconds, _ = run_measured([MOONVAULT, "verify"], db.env(url))
            figures["rerun"] = {
                "process_wall_s": round(wall, 2),
                "peak_rss_mb": rss,
                "unchanged": "Nothing changed" in again,
            }
            figures["verify"] = {"seconds": round(seconds, 2), "output": verified.strip()}
            print(
                f"  {vendor} re-run of {size:,}: {wall:.1f} s, nothing changed="
                f"{figures['rerun']['unchanged']}; verify ({seconds:.1f} s): "
                f"{verified.strip().splitlines()[0]}"
            )
        figures.update(baselines(vendor, db.copy("bare"), path))
        print(
            f"  {vendor} baselines for {size:,}: csv module alone "
            f"{figures['baseline_csv_parse']['rows_per_s']:,} rows/s; bare-table insert "
            f"{figures['baseline_bare_insert']['rows_per_s']:,} rows/s"
        )
        results[f"generated-{size}"] = figures
    return results


def show(vendor: str, label: str, figures: dict) -> None:
    every = ", ".join(f"{rate:,}" for rate in figures["runs_rows_per_s"])
    print(
        f"  {vendor} {label}: {figures['rows_per_s']:,} rows/s, median of {every} "
        f"({figures['import_s']} s import, {figures['process_wall_s']} s process), "
        f"peak RSS {figures['peak_rss_mb']} MB, facets exact={figures['facets_exact']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write-csv", type=Path, metavar="FILE")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baselines", nargs=3, metavar=("VENDOR", "URL", "CSV"))
    options = parser.parse_args()
    if options.baselines:
        vendor, url, path = options.baselines
        figures = {
            "baseline_csv_parse": baseline_parse(Path(path)),
            "baseline_bare_insert": baseline_bare_insert(vendor, url, Path(path)),
        }
        print(json.dumps(figures))
        return
    if options.write_csv:
        mapping = write_csv(options.write_csv, options.rows)
        print(f"wrote {options.write_csv} ({options.rows:,} rows) and {mapping}")
        return
    OUT.mkdir(parents=True, exist_ok=True)
    sizes = sorted(
        int(s) for s in os.environ.get("BENCH_IMPORT_SIZES", "100000,1000000").split(",")
    )
    vendors = ["sqlite"] + (["postgresql"] if pg_available() else [])
    wanted = os.environ.get("BENCH_IMPORT_DATABASES")
    if wanted:
        vendors = [v for v in vendors if v in wanted.split(",")]
    load = os.getloadavg()
    print(f"== imports ({', '.join(vendors)}; load average {load[0]:.2f} on {os.cpu_count()} CPUs)")
    kept = OUT / "imports.json"
    results = json.loads(kept.read_text()) if kept.exists() else {}
    for vendor in vendors:
        # Merged into earlier figures, so that a quick run of one size keeps the others.
        figures = results.setdefault(vendor, {})
        figures.update(bench_vendor(vendor, sizes))
        figures.update({"load_average_at_start": load, "cpus": os.cpu_count()})
        kept.write_text(json.dumps(results, indent=2))
    print(f"wrote {kept}")


if __name__ == "__main__":
    main()
