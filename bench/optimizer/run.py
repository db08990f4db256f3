"""Benchmark the optimisers on generated instances and write var/bench/optimizer-<sizes>.json.

Usage: PYTHONPATH=src python bench/optimizer/run.py [--sizes small,medium,large]
small: CNSA-like rounds and 500x150 assignment; medium: NASA-like rounds and 3,000x1,000;
large: the stress round and 10,000x3,000. The greedy baseline runs on the same rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import assignment_by_name, round_by_name

from moonvault.allocation.optimizer import (
    funded_units,
    greedy_allocation,
    solve_allocation,
    solve_assignment,
    verify_allocation,
)

SIZES = {
    "small": (["cnsa", "cnsa-scarce"], ["assign-500x150"]),
    "medium": (["nasa", "nasa-scarce"], ["assign-3000x1000"]),
    "large": (["stress"], ["assign-10000x3000"]),
}


def load() -> float:
    """One-minute load average: the machine is shared, so figures are read against it."""
    return round(os.getloadavg()[0], 2)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def allocation_row(name: str) -> dict:
    rnd = round_by_name(name)
    row: dict = {"instance": name, "requests": len(rnd.requests), "sources": len(rnd.sources)}
    funded = {}
    for label, run in (("greedy", greedy_allocation), ("optimizer", solve_allocation)):
        before = load()
        t0, c0 = time.perf_counter(), time.process_time()
        result = run(rnd)
        funded[label] = funded_units(rnd, result.outcomes)
        row[label] = {
            "seconds": round(time.perf_counter() - t0, 2),
            "cpu_seconds": round(time.process_time() - c0, 2),
            "load_before": before,
            "load_after": load(),
            "objective_weighted_g": round(result.objective, 4),
            "bound_weighted_g": round(result.bound, 4),
            "gap": round(result.gap, 6),
            "funded_requests": result.funded_requests,
            "delivered_g": round(result.funded_mass / 1e6, 3),
            "splits": result.splits,
            "rank_rule_exact": result.rank_rule_exact,
            "undetermined": sum(o.reason == "undetermined" for o in result.outcomes),
            "violations": len(verify_allocation(rnd, result.outcomes)),
            "notes": list(result.notes),
        }
    row["lexicographically_at_least_greedy"] = funded["optimizer"] >= funded["greedy"]
    return row


def assignment_row(name: str) -> dict:
    t0 = time.perf_counter()
    problem = assignment_by_name(name)
    built = time.perf_counter() - t0
    before = load()
    c0 = time.process_time()
    result = solve_assignment(problem)
    return {
        "instance": name,
        "build_seconds": round(built, 2),
        "seconds": round(result.solve_seconds, 2),
        "cpu_seconds": round(time.process_time() - c0, 2),
        "load_before": before,
        "load_after": load(),
        "status": result.status,
        "objective": round(result.total_affinity, 4),
        "bound": None if result.bound is None else round(result.bound, 4),
        "optimality_proven": result.optimality_proven,
        "candidate_pairs": result.candidate_pairs,
        "pricing_rounds": result.pricing_rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="small,medium,large")
    args = parser.parse_args()
    sizes = args.sizes.split(",")
    print(f"uptime: {uptime()}", flush=True)
    report: dict = {"sizes": sizes, "uptime": uptime(), "allocation": [], "assignment": []}
    # One file per set of sizes, rewritten after every instance so a long run keeps its figures.
    out = Path("var/bench") / f"optimizer-{'-'.join(sizes)}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    for size in sizes:
        rounds, assignments = SIZES[size]
        for name in rounds:
            row = allocation_row(name)
            report["allocation"].append(row)
            for label in ("greedy", "optimizer"):
                r = row[label]
                print(
                    f"{name:12s} {label:9s} {r['seconds']:8.2f}s (cpu {r['cpu_seconds']:.2f}s,"
                    f" load {r['load_before']}->{r['load_after']})"
                    f" obj={r['objective_weighted_g']:.3f} bound={r['bound_weighted_g']:.3f}"
                    f" gap={r['gap']:.4%} funded={r['funded_requests']}/{row['requests']}"
                    f" delivered={r['delivered_g']} g splits={r['splits']}"
                    f" exact={r['rank_rule_exact']} undetermined={r['undetermined']}"
                    f" violations={r['violations']}",
                    flush=True,
                )
            print(
                f"{name:12s} optimizer funded set lexicographically >= greedy's:"
                f" {row['lexicographically_at_least_greedy']}",
                flush=True,
            )
            out.write_text(json.dumps(report, indent=2))
        for name in assignments:
            row = assignment_row(name)
            report["assignment"].append(row)
            print(
                f"{name:18s} {row['seconds']:8.2f}s (cpu {row['cpu_seconds']:.2f}s,"
                f" load {row['load_before']}->{row['load_after']}) {row['status']}"
                f" obj={row['objective']} bound={row['bound']}"
                f" proven={row['optimality_proven']} candidates={row['candidate_pairs']}"
                f" rounds={row['pricing_rounds']}",
                flush=True,
            )
            out.write_text(json.dumps(report, indent=2))
    report["uptime_after"] = uptime()
    print(f"uptime: {report['uptime_after']}", flush=True)
    out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
