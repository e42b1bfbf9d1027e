"""Open venues of a given size built in memory, for benchmarks."""

from __future__ import annotations

from pathlib import Path

from sim.building import build_building
from sim.scenario import build_scenario


def venue_building(side_cells: int, exits_per_side: int = 2, exit_cells: int = 5):
    """A square open ground of ``side_cells`` cells a side (0.4 m), with exits in every wall."""
    n = side_cells
    grid = [["."] * n for _ in range(n)]
    rows = [["#"] * (n + 2)] + [["#"] + r + ["#"] for r in grid] + [["#"] * (n + 2)]
    symbols = iter("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    exits = {}
    for side in range(4):
        for k in range(exits_per_side):
            sym = next(symbols)
            exits[f"exit_{sym}"] = {"symbol": sym}
            pos = (k + 1) * (n + 2) // (exits_per_side + 1)
            for d in range(exit_cells):
                p = pos + d - exit_cells // 2
                if side == 0:
                    rows[0][p] = sym
                elif side == 1:
                    rows[-1][p] = sym
                elif side == 2:
                    rows[p][0] = sym
                else:
                    rows[p][-1] = sym
    text = [" " * (n + 4)] + [" " + "".join(r) + " " for r in rows] + [" " * (n + 4)]
    doc = {"schema": "drillsim.building/1", "name": f"venue{n}", "cell_m": 0.4,
           "floors": [{"name": "ground", "map": "\n".join(text)}], "exits": exits,
           "regions": {"ground": {"rect_m": [0, 0, 1e6, 1e6], "floor": "ground"}}}
    return build_building(doc, f"<venue {n}>")


def venue_scenario(side_cells: int, occupants: int, **top):
    b = venue_building(side_cells)
    doc = {"schema": "drillsim.scenario/1", "name": f"venue{side_cells}", "building": "-",
           "occupants": [{"count": occupants, "region": "ground"}], **top}
    return build_scenario(doc, Path("<venue>"), building=b)
