"""Run the benchmarks and write the results: ``python benchmarks/report.py``.

Writes ``benchmarks/results/latest.json`` (pytest-benchmark's JSON) and
``benchmarks/results/summary.json``, draws ``docs/benchmarks.png`` (time per step against
occupants, static field against cells, log-log) and prints the table for the README. JIT
compilation is measured apart: a run of the hall in a fresh process with an empty Numba cache,
then again with the cache warm, and ``drillsim run hall`` as a user starts it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sim.bench import machine_description

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
RUN_HALL = ("from sim.scenario import load_scenario, resolve_scenario_path; "
            "from sim.model import EvacuationModel; "
            "EvacuationModel(load_scenario(resolve_scenario_path('hall'), 'all_open'), 1, "
            "make_handles=False).run()")


def timed(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=ROOT, capture_output=True)
    return time.perf_counter() - t0


def startup_times(runs: int = 9) -> dict:
    """The hall from a fresh process: with an empty Numba cache (the first run after install),
    then warm; and ``drillsim run hall`` as a user starts it, ``runs`` times (median and
    range: one process start varies by tenths of a second on a shared machine). Python may
    write its bytecode cache, as ``pip install`` does for an installed package (some shells
    here set PYTHONDONTWRITEBYTECODE, which would add 0.1 s of compiling to every start)."""
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["NUMBA_CACHE_DIR"] = cache
        cold = timed([sys.executable, "-c", RUN_HALL], env)
        warm = timed([sys.executable, "-c", RUN_HALL], env)
        cli = sorted(timed([sys.executable, "-m", "sim.cli", "run", "hall", "--variant",
                            "all_open", "--no-record", "--out", str(Path(cache) / "out")], env)
                     for _ in range(runs))
    return {"hall_run_cold_cache_s": round(cold, 2), "hall_run_warm_cache_s": round(warm, 2),
            "drillsim_run_hall_warm_s": round(cli[len(cli) // 2], 2),
            "drillsim_run_hall_warm_range_s": [round(cli[0], 2), round(cli[-1], 2)],
            "drillsim_run_hall_runs": runs}


def main() -> int:
    RESULTS.mkdir(parents=True, exist_ok=True)
    latest = RESULTS / "latest.json"
    subprocess.run([sys.executable, "-m", "pytest", "benchmarks", "--benchmark-only", "-q",
                    f"--benchmark-json={latest}"], check=True, cwd=ROOT)
    bench = json.loads(latest.read_text())
    rows = {b["name"]: b for b in bench["benchmarks"]}
    summary = {"machine": machine_description(),
               "startup": startup_times(), "step": {}, "static_field": {}, "runs": {}}
    for name, b in rows.items():
        mean = b["stats"]["mean"]
        info = b.get("extra_info", {})
        if name.startswith("test_step["):
            n = info["occupants"]
            size, cores = name[10:-1].split("-")
            summary["step"].setdefault(cores, {})[size] = {
                "occupants": n, "cells": info["cells"], "threads": info["threads"],
                "ms": mean * 1e3, "median_ms": b["stats"]["median"] * 1e3,
                "us_per_occupant": mean / n * 1e6}
        elif name.startswith("test_reference_step["):
            summary.setdefault("reference", {})[name[20:-1]] = {
                "ms": mean * 1e3, "us_per_occupant": mean / info["occupants"] * 1e6}
        elif name.startswith("test_static_field["):
            summary["static_field"][name[18:-1]] = {"cells": info["cells"], "ms": mean * 1e3}
        elif name.startswith("test_smoke_"):
            kind, size = name[len("test_smoke_"):-1].split("[")
            summary.setdefault("smoke", {}).setdefault(kind, {})[size] = {
                "cells": info["cells"], "ms": mean * 1e3}
        elif name.startswith("test_run"):
            summary["runs"][name] = {"wall_s": mean, **info}
    for size, ref in summary.get("reference", {}).items():
        summary.setdefault("speedup_over_reference", {})[size] = {
            cores: round(ref["ms"] / steps[size]["ms"], 1)
            for cores, steps in summary["step"].items() if size in steps}
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=1))
    plot(summary, ROOT / "docs" / "benchmarks.png")
    print(json.dumps(summary, indent=1))
    return 0


def plot(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained")
    styles = (("1core", "o-", "one core"), ("2cores", "s--", "two cores"))
    for cores, style, label in styles:
        steps = sorted(summary["step"].get(cores, {}).values(), key=lambda s: s["occupants"])
        if steps:
            a1.loglog([s["occupants"] for s in steps], [s["ms"] for s in steps], style,
                      label=f"model step, {label}")
            a2.loglog([s["cells"] for s in steps], [s["ms"] for s in steps], style,
                      label=f"model step, {label}")
    ref = summary.get("reference", {})
    if ref:
        sizes = sorted(ref, key=lambda k: summary["step"]["1core"][k]["occupants"])
        a1.loglog([summary["step"]["1core"][k]["occupants"] for k in sizes],
                  [ref[k]["ms"] for k in sizes], "^:", color="#d1361f",
                  label="plain Python (Mesa agents)")
    n = sorted(s["occupants"] for s in summary["step"]["1core"].values())
    a1.loglog(n, [k * 0.1e-3 for k in n], ":", color="#777", label="target: 0.1 µs per occupant")
    a1.set_xlabel("occupants")
    a1.set_ylabel("time per step (ms)")
    a1.set_title("one step against occupants", fontsize=10)
    smoke = summary.get("smoke", {})
    for kind, style, label in (("spread_step", "d-", "smoke spread"),
                               ("conditions", "v-", "smoke conditions")):
        pts = sorted(smoke.get(kind, {}).values(), key=lambda s: s["cells"])
        if pts:
            a2.loglog([p["cells"] for p in pts], [p["ms"] for p in pts], style, label=label)
    a2.set_xlabel("cells")
    a2.set_ylabel("time per step (ms)")
    a2.set_title("per step against cells", fontsize=10)
    fields = sorted(summary["static_field"].values(), key=lambda s: s["cells"])
    a3.loglog([f["cells"] for f in fields], [f["ms"] for f in fields], "o-",
              label="static field, one exit")
    a3.loglog([1e5, 1e6], [50, 500], ":", color="#777", label="targets: 50 ms, 0.5 s")
    a3.set_xlabel("cells")
    a3.set_ylabel("time (ms)")
    a3.set_title("static field against cells", fontsize=10)
    for ax in (a1, a2, a3):
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3, which="both")
    fig.suptitle(summary["machine"], fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
