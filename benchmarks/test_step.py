"""One full model step (exit choice, discovery, movement, dynamic field) at named sizes, on one
core and on all, and the plain-Python reference's step beside it at the small sizes.

Run: ``python -m pytest benchmarks/ --benchmark-only`` (or ``python benchmarks/report.py``).
JIT compilation is excluded: each model is built and stepped before timing starts.
"""

from __future__ import annotations

import numba
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


@pytest.fixture
def threads(request):
    """Numba threads for the test (1: one core), restored afterwards."""
    before = numba.get_num_threads()
    numba.set_num_threads(min(request.param, numba.config.NUMBA_NUM_THREADS))
    yield numba.get_num_threads()
    numba.set_num_threads(before)


@pytest.mark.parametrize("threads", [1, 2], indirect=True, ids=["1core", "2cores"])
@pytest.mark.parametrize("size", list(SIZES))
def test_step(benchmark, size, threads):
    m = started(size)
    benchmark.group = f"step-{size}"
    benchmark.extra_info.update(occupants=m.n_occupants, cells=m.building.n_cells,
                                engine="numba", threads=threads)
    benchmark.pedantic(m.step, rounds=20, iterations=1, warmup_rounds=2)


@pytest.mark.parametrize("size", ["1k", "10k"])
def test_reference_step(benchmark, size):
    """The same rules as Mesa agents in plain Python, same world and crowd as step[size]."""
    from reference import ReferenceModel

    m = started(size)
    inside = m.agents_state["cell"] >= 0
    ref = ReferenceModel(m.building, m.agents_state["cell"][inside],
                         m.agents_state["speed_ms"][inside], 1)
    benchmark.group = f"step-{size}"
    benchmark.extra_info.update(occupants=m.n_occupants, cells=m.building.n_cells,
                                engine="python-mesa")
    benchmark.pedantic(ref.step, rounds=3 if size == "10k" else 5, iterations=1,
                       warmup_rounds=1)
