"""The Numba engine against the plain-Python Mesa reference in benchmarks/: same rules, so the
same evacuation times in distribution (different random streams, same starting positions and
speeds)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from sim.model import EvacuationModel

from worlds import building_doc, make_scenario, room_with_exit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from reference import ReferenceModel  # noqa: E402


def test_engine_and_reference_give_the_same_evacuation_times():
    doc = building_doc(room_with_exit(14, 3), {"door": "X"}, regions={"room": {"symbol": "r"}})
    sc = make_scenario(doc, [{"count": 40, "region": "room"}])
    engine, reference = [], []
    for seed in range(1, 21):
        m = EvacuationModel(sc, seed, make_handles=False)
        cells = m.agents_state["cell"].copy()
        speeds = m.agents_state["speed_ms"].copy()
        engine.append(m.run().time_s)
        reference.append(ReferenceModel(sc.building, cells, speeds, seed + 1000).run())
    engine, reference = np.array(engine), np.array(reference)
    assert abs(engine.mean() / reference.mean() - 1) < 0.05
    # Two-sample Kolmogorov-Smirnov at alpha 0.05 does not tell them apart.
    grid = np.sort(np.concatenate([engine, reference]))
    d = np.max(np.abs(np.searchsorted(np.sort(engine), grid, side="right") / 20
                      - np.searchsorted(np.sort(reference), grid, side="right") / 20))
    assert d < 1.36 * np.sqrt(2 / 20)
