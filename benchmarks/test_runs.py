"""Whole runs to the end, start-up (model building, fields) included, JIT warm."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.model import EvacuationModel
from sim.scenario import load_scenario


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


def test_run_temple_fair_100k(benchmark):
    """100,000 visitors leave the 200 m x 200 m temple fair by eight 10 m gates (start-up included)."""
    sc = load_scenario(ROOT / "scenarios" / "temple_fair.toml", "all_gates")
    benchmark.group = "whole-run"
    m = benchmark.pedantic(run, args=(sc,), rounds=1, iterations=1)
    benchmark.extra_info.update(occupants=m.n_occupants, simulated_s=m.time_s,
                                steps=m.n_steps, inside=m.count_inside())
