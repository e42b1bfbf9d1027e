"""The crowd's density round every cell, and the walking speed it allows: for routes marched
as quickest paths (``quickest_paths_s`` in a scenario's ``[model]``; README, "Routes").

Density is counted as people per square metre of walkable floor in a window of about 2 m x 2 m
round each cell (the measurement area of RiMEA test 4; 5 x 5 cells of 0.4 m), on the cell's
own floor or stair flight only (floors and flights are blocks of one stacked grid, and a window
must not reach into the next). The speed it allows, as a fraction of free speed, is Weidmann's
(1993) speed-density relation, ``1 - exp(-1.913 (1/rho - 1/5.4))`` (``reference/verification.md``
§4.1), which is 0 from 5.4 P/m² up; a route counts no cell as slower than a tenth of free speed
(an assumption: the field stays finite through a jam, which still lets people out).

Counts are integers summed exactly, so the factors are the same on every run and machine.
"""

from __future__ import annotations

import numpy as np

WINDOW_M = 2.0  # side of the square window density is counted in
MIN_FACTOR = 0.1  # the slowest a crowd makes a cell count, as a fraction of free speed
WEIDMANN_GAMMA = 1.913  # 1/m^2
WEIDMANN_JAM = 5.4  # P/m^2


def _box_sums(a: np.ndarray, r: int) -> np.ndarray:
    """Sums of the integer array ``a`` (2-D) over the (2r+1) x (2r+1) window round each
    element, cut off at the edges."""
    h, w = a.shape
    c = np.zeros((h + 1, w + 1), dtype=np.int64)
    np.cumsum(np.cumsum(a, axis=0, dtype=np.int64), axis=1, out=c[1:, 1:])
    y0 = np.clip(np.arange(h) - r, 0, h)
    y1 = np.clip(np.arange(h) + r + 1, 0, h)
    x0 = np.clip(np.arange(w) - r, 0, w)
    x1 = np.clip(np.arange(w) + r + 1, 0, w)
    return c[y1][:, x1] - c[y0][:, x1] - c[y1][:, x0] + c[y0][:, x0]


def weidmann_factor(density: np.ndarray) -> np.ndarray:
    """Walking speed as a fraction of free speed at ``density`` (P/m²), at least
    ``MIN_FACTOR``; 1 where nobody is counted."""
    rho = np.asarray(density, dtype=np.float64)
    with np.errstate(divide="ignore"):
        f = 1.0 - np.exp(-WEIDMANN_GAMMA * (1.0 / rho - 1.0 / WEIDMANN_JAM))
    return np.clip(np.where(rho > 0.0, f, 1.0), MIN_FACTOR, 1.0)


def zones_of(building) -> np.ndarray:
    """Per cell of ``building``'s stacked grid, the zone density is counted in: its floor's
    index, or for a stair flight the number of floors plus the flight's; -1 for padding."""
    zones = building.floor_of.astype(np.int32)
    for k, flight in enumerate(building.flights):
        zones[flight.cells] = len(building.floors) + k
    return zones


class CrowdSpeed:
    """Per cell, the walking speed the crowd round it allows (a fraction of free speed), for a
    building's walkable cells (``walkable``: flat bool array of the stacked grid) split into
    ``zones`` (flat int array: a floor or stair flight a cell belongs to, -1 for none)."""

    def __init__(self, walkable: np.ndarray, zones: np.ndarray, width: int, cell_m: float):
        self.width = int(width)
        self.cell_m = float(cell_m)
        self.r = max(0, int(round((WINDOW_M / self.cell_m - 1.0) / 2.0)))
        height = walkable.shape[0] // self.width
        walk2 = walkable.reshape(height, self.width)
        zone2 = zones.reshape(height, self.width)
        self._zones = []
        for z in np.unique(zones[walkable & (zones >= 0)]):
            rows = np.flatnonzero((zone2 == z).any(axis=1))
            r0, r1 = int(rows[0]), int(rows[-1]) + 1
            mask = (zone2[r0:r1] == z) & walk2[r0:r1]
            area = _box_sums(mask.astype(np.int64), self.r)  # walkable cells in each window
            self._zones.append((r0, r1, mask, np.where(mask, area, 1) * self.cell_m ** 2))

    def factor(self, occupied: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The factor of every cell (flat) given which cells are occupied (flat bool); 1 on
        cells in no zone."""
        height = occupied.shape[0] // self.width
        occ2 = occupied.reshape(height, self.width)
        if out is None:
            out = np.ones(occupied.shape[0], dtype=np.float64)
        out2 = out.reshape(height, self.width)
        for r0, r1, mask, area_m2 in self._zones:
            people = _box_sums((occ2[r0:r1] & mask).astype(np.int64), self.r)
            f = weidmann_factor(people / area_m2)
            block = out2[r0:r1]
            block[mask] = f[mask]
        return out
