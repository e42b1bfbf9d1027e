"""Whole runs to the end: the hall and the nursing home in this process, model building and
fields included, JIT warm; the temple fair in a fresh process, start-up included."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sim.model import EvacuationModel
from sim.scenario import load_scenario

from report import RUN_HALL  # (the hall run in a fresh process, as the report times it)


ROOT = Path(__file__).resolve().parents[1]


def run(scenario, seed=1):
    m = EvacuationModel(scenario, seed, make_handles=False)
    m.run()
    return m


@pytest.mark.parametrize("name,variant", [("hall", "all_open"),
                                          ("nursing_home", "rear_locked")])
def test_run(benchmark, name, variant):
    sc = load_scenario(ROOT / "scenarios" / f"{name}.toml", variant)
    run(sc)  # warm the JIT
    benchmark.group = "whole-run"
    m = benchmark.pedantic(run, args=(sc,), rounds=3, iterations=1)
    benchmark.extra_info.update(occupants=m.n_occupants, simulated_s=m.time_s,
                                steps=m.n_steps)


# The temple fair is timed as a user runs it: a fresh process, start-up included (Python,
# the imports, Numba loading its cached kernels, building the model), with the cache warm.
FAIR = ("import json, sys; from sim.model import EvacuationModel; "
        "from sim.scenario import load_scenario; "
        "sc = load_scenario(sys.argv[1], 'all_gates'); "
        "m = EvacuationModel(sc, 1, make_handles=False); "
        "n = int(sys.argv[2]); m.run() if n < 0 else [m.step() for _ in range(n)]; "
        "print(json.dumps(dict(occupants=m.n_occupants, simulated_s=m.time_s, "
        "steps=m.n_steps, inside=m.count_inside())))")


def fair(steps: int) -> dict:
    """The temple fair in a fresh Python process: ``steps`` steps, or to the end if -1."""
    out = subprocess.run([sys.executable, "-c", FAIR, str(ROOT / "scenarios" / "temple_fair.toml"),
                          str(steps)], check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.splitlines()[-1])


def test_run_temple_fair_100k(benchmark):
    """100,000 visitors leave the 200 m x 200 m temple fair by eight 10 m gates, in a fresh
    process (start-up included), the Numba cache warm."""
    # Warm the on-disk cache first, untimed: a few steps of the fair compile the parallel
    # kernels (the hall runs serial ones only), and the hall to its end the serial ones the
    # fair's last few thousand use. Without it, a report run right after a change of the
    # kernels timed their compiling too (46 s against 24 s here).
    subprocess.run([sys.executable, "-c", RUN_HALL], check=True, capture_output=True, cwd=ROOT)
    fair(20)
    benchmark.group = "whole-run"
    info = benchmark.pedantic(fair, args=(-1,), rounds=1, iterations=1)
    assert info["inside"] == 0
    benchmark.extra_info.update(info)
