"""One full model step (exit choice, discovery, movement, dynamic field) at named sizes, and
the plain-Python reference's step beside it at the small size.

Run: ``python -m pytest benchmarks/ --benchmark-only`` (or ``python benchmarks/report.py``).
JIT compilation is excluded: each model is built and stepped before timing starts.
"""

from __future__ import annotations

import pytest

from sim.model import EvacuationModel

from venues import venue_scenario

SIZES = {
    # name: (venue side in cells, occupants) — 0.4 m cells
    "1k": (80, 1_000),        # 32 m x 32 m, 6,400 cells
    "10k": (250, 10_000),     # 100 m x 100 m, 62,500 cells
    "100k": (700, 100_000),   # 280 m x 280 m, 490,000 cells
}


def started(size: str) -> EvacuationModel:
    side, n = SIZES[size]
    m = EvacuationModel(venue_scenario(side, n), 1, make_handles=False)
    for _ in range(10):  # compile, and get the crowd moving
        m.step()
    return m


@pytest.mark.parametrize("size", list(SIZES))
def test_step(benchmark, size):
    m = started(size)
    benchmark.group = f"step-{size}"
    benchmark.extra_info.update(occupants=m.n_occupants, cells=m.building.n_cells,
                                engine="numba")
    benchmark.pedantic(m.step, rounds=20, iterations=1, warmup_rounds=2)


def test_reference_step(benchmark):
    """The same rules as Mesa agents in plain Python, same world and crowd as step[1k]."""
    from reference import ReferenceModel

    m = started("1k")
    ref = ReferenceModel(m.building, m.agents_state["cell"][m.agents_state["cell"] >= 0],
                         m.agents_state["speed_ms"][m.agents_state["cell"] >= 0], 1)
    benchmark.group = "step-1k"
    benchmark.extra_info.update(occupants=m.n_occupants, cells=m.building.n_cells,
                                engine="python-mesa")
    benchmark.pedantic(ref.step, rounds=5, iterations=1, warmup_rounds=1)
