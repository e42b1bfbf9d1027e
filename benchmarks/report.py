"""Run the benchmarks and write the results: ``python benchmarks/report.py [--runs N]``.

Each run writes ``benchmarks/results/run-K/latest.json`` (pytest-benchmark's JSON) and
``run-K/summary.json``; JIT compilation is measured apart in every run (a run of the hall in a
fresh process with an empty Numba cache, then again with the cache warm, and ``drillsim run
hall`` as a user starts it). After the runs, ``benchmarks/results/summary.json`` gives every
figure's median over the runs with its range (ratios are taken within a run, then their median),
``docs/benchmarks.png`` plots the medians (time per step against occupants and against cells,
static field against cells, log-log), and the table for the README is printed with every
target and its measured value.

A shared machine's load moves one run's figures by tens of per cent, hence the runs and the
medians. Every file is written atomically, run by run: an interrupted batch keeps the runs that
finished, and ``--aggregate-only`` makes the summary, plot and table from them. A new batch
starts by removing the last batch's runs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sim.bench import machine_description
from sim.record import write_atomic_text

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


def code_version() -> str:
    """The commit measured, with ``+changes`` if the code or the benchmarks differ from it
    (not the plot in docs/, which the report itself redraws)."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    head = git("rev-parse", "--short", "HEAD")
    if head.returncode != 0:
        return "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "sim", "benchmarks",
                "buildings", "scenarios", "pyproject.toml").stdout.strip()
    return head.stdout.strip() + ("+changes" if dirty else "")


def summarise(bench: dict) -> dict:
    """One run's figures from pytest-benchmark's JSON (times are the benchmarks' means)."""
    import numba

    summary = {"machine": machine_description(), "numba": numba.__version__,
               "code": code_version(),
               "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "step": {}, "static_field": {}, "runs": {}}
    for b in bench["benchmarks"]:
        name = b["name"]
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
    # The 100k step's cost per occupant over the 10k one's, within the run ("flat": 1).
    one = summary["step"].get("1core", {})
    if "10k" in one and "100k" in one:
        summary["flatness_100k_over_10k"] = round(
            one["100k"]["us_per_occupant"] / one["10k"]["us_per_occupant"], 3)
    return summary


def one_run(directory: Path) -> dict:
    """Run every benchmark once; write ``directory/latest.json`` and ``summary.json``."""
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "latest.json"
        subprocess.run([sys.executable, "-m", "pytest", "benchmarks", "--benchmark-only", "-q",
                        f"--benchmark-json={raw}"], check=True, cwd=ROOT)
        bench = json.loads(raw.read_text())
    summary = summarise(bench)
    summary["startup"] = startup_times()
    write_atomic_text(directory / "latest.json", json.dumps(bench, indent=1))
    write_atomic_text(directory / "summary.json", json.dumps(summary, indent=1))
    return summary


def _leaves(tree, prefix=()):
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _leaves(v, prefix + (k,))
    else:
        yield prefix, tree


def _put(tree: dict, path: tuple, value) -> None:
    for k in path[:-1]:
        tree = tree.setdefault(k, {})
    tree[path[-1]] = value


def aggregate(summaries: list[dict]) -> tuple[dict, dict]:
    """Over several runs' summaries: the medians, in the same shape as one summary (so that
    :func:`plot` draws them), and per figure its ``[min, max]`` and number of runs.
    Text (the machine, the code) is kept if every run agrees and listed otherwise."""
    values: dict[tuple, list] = {}
    for s in summaries:
        for path, v in _leaves(s):
            values.setdefault(path, []).append(v)
    medians: dict = {}
    ranges: dict = {}
    for path, vs in values.items():
        numeric = [v for v in vs if isinstance(v, (int, float)) and not isinstance(v, bool)
                   and math.isfinite(v)]
        if numeric and len(numeric) == len(vs):
            med = statistics.median(numeric)
            if all(isinstance(v, int) for v in numeric) and med == int(med):
                med = int(med)
            _put(medians, path, med)
            _put(ranges, path, [min(numeric), max(numeric), len(numeric)])
        else:
            distinct = list(dict.fromkeys(json.dumps(v) for v in vs))
            _put(medians, path, json.loads(distinct[0]) if len(distinct) == 1
                 else [json.loads(d) for d in distinct])
    medians["n_runs"] = len(summaries)
    return medians, ranges


def _count(summaries: list[dict], path: tuple, ok) -> tuple[int, int]:
    """In how many runs the figure at ``path`` passes ``ok``, of how many that measured it."""
    passed = measured = 0
    for s in summaries:
        v = s
        for k in path:
            v = v.get(k, {}) if isinstance(v, dict) else {}
        if isinstance(v, (int, float)):
            measured += 1
            passed += bool(ok(v))
    return passed, measured


def table(summaries: list[dict]) -> str:
    """The README's table of targets: each figure's median over the runs, its range, and, for
    a target, in how many runs it was met."""
    med, rng = aggregate(summaries)
    n = len(summaries)

    def get(tree, path):
        for k in path:
            tree = tree[k]
        return tree

    def fig(path, fmt, unit=""):
        try:
            m = get(med, path)
            lo, hi, _ = get(rng, path)
        except (KeyError, TypeError):
            return "not measured"
        return f"{m:{fmt}}{unit} ({lo:{fmt}}–{hi:{fmt}}{unit})"

    def met(path, ok):
        k, measured = _count(summaries, path, ok)
        return f"met in {k} of {measured} runs" if measured else ""

    rows = [("what", "target", f"median of {n} runs (range)", "")]
    for size, occ in (("10k", 10_000), ("100k", 100_000)):
        rows.append((f"full model step, {occ:,} occupants, one core, µs per occupant",
                     "≤ 0.1", fig(("step", "1core", size, "us_per_occupant"), ".3f"),
                     met(("step", "1core", size, "us_per_occupant"), lambda v: v <= 0.1)))
        rows.append(("the same on both cores", "—",
                     fig(("step", "2cores", size, "us_per_occupant"), ".3f"), ""))
    rows.append(("100k cost per occupant over 10k's, one core", "flat (≤ 1)",
                 fig(("flatness_100k_over_10k",), ".2f"),
                 met(("flatness_100k_over_10k",), lambda v: v <= 1.0)))
    for size in ("1k", "10k"):
        for cores, label in (("1core", "one core"), ("2cores", "both cores")):
            path = ("speedup_over_reference", size, cores)
            rows.append((f"speed-up over the plain-Python reference, {size}, {label}", "≥ 100×",
                         fig(path, ".0f", "×"), met(path, lambda v: v >= 100)))
    for size, target_ms in (("100k", 50), ("1M", 500)):
        path = ("static_field", size, "ms")
        rows.append((f"static field, {size} cells, ms", f"≤ {target_ms}", fig(path, ".0f"),
                     met(path, lambda v, t=target_ms: v <= t)))
    for kind in ("spread_step", "conditions"):
        rows.append((f"smoke {kind.replace('_step', '')}, 1M cells, ms", "—",
                     fig(("smoke", kind, "1M", "ms"), ".1f"), ""))
    path = ("runs", "test_run_temple_fair_100k", "wall_s")
    rows.append(("temple fair, 100,000 visitors, to the end, s", "≤ 30", fig(path, ".1f"),
                 met(path, lambda v: v <= 30)))
    for name, label in (("test_run[hall-all_open]", "hall"),
                        ("test_run[nursing_home-rear_locked]", "nursing home rear_locked")):
        rows.append((f"whole run, {label}, s", "—", fig(("runs", name, "wall_s"), ".3f"), ""))
    path = ("startup", "drillsim_run_hall_warm_s")
    rows.append(("`drillsim run hall`, warm cache, start-up included, s", "≤ 2",
                 fig(path, ".2f"), met(path, lambda v: v <= 2)))
    rows.append(("hall from a fresh process, empty / warm Numba cache, s", "reported",
                 fig(("startup", "hall_run_cold_cache_s"), ".1f") + " / "
                 + fig(("startup", "hall_run_warm_cache_s"), ".2f"), ""))
    lines = [f"{med.get('machine')}; numba {med.get('numba')}; code {med.get('code')}"]
    for i, r in enumerate(rows):
        lines.append("| " + " | ".join(r) + " |")
        if i == 0:
            lines.append("| --- | --- | --- | --- |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1,
                        help="how many times to run every benchmark (default 1)")
    parser.add_argument("--aggregate-only", action="store_true",
                        help="run nothing: summarise the runs already in benchmarks/results")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.aggregate_only:
        for old in RESULTS.glob("run-*"):
            shutil.rmtree(old)
        for k in range(1, args.runs + 1):
            print(f"--- run {k} of {args.runs}", flush=True)
            one_run(RESULTS / f"run-{k}")
    summaries = [json.loads(p.read_text()) for p in
                 sorted(RESULTS.glob("run-*/summary.json"),
                        key=lambda p: int(p.parent.name.split("-")[1]))]
    if not summaries:
        print("no finished runs in benchmarks/results", file=sys.stderr)
        return 1
    medians, ranges = aggregate(summaries)
    write_atomic_text(RESULTS / "summary.json",
                      json.dumps({"median": medians, "range": ranges}, indent=1))
    plot(medians, ROOT / "docs" / "benchmarks.png")
    print(table(summaries))
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
    runs = summary.get("n_runs", 1)
    fig.suptitle(f"{summary['machine']}; code {summary.get('code', '?')}"
                 + (f"; medians of {runs} runs" if runs > 1 else ""), fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
