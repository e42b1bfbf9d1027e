"""One full model step (exit choice, discovery, movement, dynamic field) at named sizes.

Run: ``pytest benchmarks/ --benchmark-only``. JIT compilation is excluded: the model is
built and stepped before timing starts.
"""

from __future__ import annotations

import pytest

from sim.model import EvacuationModel

from venues import venue_scenario

SIZES = {
    # name: (venue side in cells, occupants)  — 0.4 m cells
    "10k": (250, 10_000),     # 100 m x 100 m, 62,500 cells
    "100k": (700, 100_000),   # 280 m x 280 m, 490,000 cells
}


@pytest.fixture(scope="module", params=list(SIZES))
def model(request):
    side, n = SIZES[request.param]
    m = EvacuationModel(venue_scenario(side, n), 1, make_handles=False)
    for _ in range(10):  # compile, and get the crowd moving
        m.step()
    m.size_name = request.param
    return m


def test_step(benchmark, model):
    benchmark.extra_info["occupants"] = model.n_occupants
    benchmark.extra_info["cells"] = model.building.n_cells
    benchmark.pedantic(model.step, rounds=20, iterations=1, warmup_rounds=2)
    per = benchmark.stats.stats.mean / model.n_occupants * 1e6
    benchmark.extra_info["us_per_occupant_step"] = round(per, 4)
