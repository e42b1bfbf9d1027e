"""Per-region bookkeeping at every recorded frame: which regions hold somebody, and the mean
conditions over each region's cells (for its tenability, :mod:`sim.hazardrun`).

In NumPy these were a gather and a mean per region and quantity, about 12 µs each: 200 µs a
frame in the residential tower (six regions), a frame a simulated second. Here they are one
call each. The means are NumPy's own, bit for bit: the same pairwise summation
(:func:`pairwise_sum`), so that a region becomes untenable at the same frame as before.
"""

from __future__ import annotations

import numpy as np

from .jit import kernel
from .movement import CASUALTY, MOVING, WAITING

_BLOCK = 128  # NumPy's pairwise summation: below this, eight running sums


@kernel
def pairwise_sum(values, index, lo, n):
    """The sum of ``values[index[lo:lo + n]]`` added as ``np.add.reduce`` adds a contiguous
    float64 array: fewer than 8 one by one; up to 128 in eight running sums, combined as a
    tree, then the rest one by one; above that the two halves (the first a multiple of 8)
    summed so and added."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += values[index[i]]
        return res
    if n <= _BLOCK:
        r0 = values[index[lo]]
        r1 = values[index[lo + 1]]
        r2 = values[index[lo + 2]]
        r3 = values[index[lo + 3]]
        r4 = values[index[lo + 4]]
        r5 = values[index[lo + 5]]
        r6 = values[index[lo + 6]]
        r7 = values[index[lo + 7]]
        i = lo + 8
        whole = lo + n - n % 8
        while i < whole:
            r0 += values[index[i]]
            r1 += values[index[i + 1]]
            r2 += values[index[i + 2]]
            r3 += values[index[i + 3]]
            r4 += values[index[i + 4]]
            r5 += values[index[i + 5]]
            r6 += values[index[i + 6]]
            r7 += values[index[i + 7]]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < lo + n:
            res += values[index[i]]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return pairwise_sum(values, index, lo, n2) + pairwise_sum(values, index, lo + n2, n - n2)


@kernel
def _region_means(a, b, c, cells, ptr, skip, out):
    for r in range(ptr.shape[0] - 1):
        lo = ptr[r]
        n = ptr[r + 1] - lo
        if skip[r] or n == 0:
            out[r, 0] = np.nan
            out[r, 1] = np.nan
            out[r, 2] = np.nan
            continue
        out[r, 0] = pairwise_sum(a, cells, lo, n) / n
        out[r, 1] = pairwise_sum(b, cells, lo, n) / n
        out[r, 2] = pairwise_sum(c, cells, lo, n) / n


def region_means(a, b, c, cells, ptr, skip, out=None):
    """Means of the float64 arrays ``a``, ``b`` and ``c`` over each region's cells:
    ``out[r]`` is (``a[cells[ptr[r]:ptr[r + 1]]].mean()``, the same of ``b``, of ``c``), the
    same bit for bit; NaN for an empty region and where ``skip[r]`` is set (not computed).
    ``cells`` int64 holds the regions' cells one region after another."""
    n_regions = ptr.shape[0] - 1
    if out is None:
        out = np.empty((n_regions, 3))
    _region_means(a, b, c, cells, ptr, skip, out)
    return out


@kernel
def _occupied(cell, state, n, masks, out):
    out[:] = False
    for i in range(n):
        s = state[i]
        if s == WAITING or s == MOVING or s == CASUALTY:
            c = cell[i]
            for r in range(masks.shape[0]):
                out[r] |= masks[r, c]


def occupied_regions(cell, state, n, masks, out=None):
    """Per region (a row of the bool array ``masks``, (regions, cells)): whether any of the
    first ``n`` agents who is waiting, moving or down (a casualty) stands in it."""
    if out is None:
        out = np.empty(masks.shape[0], dtype=np.bool_)
    _occupied(cell, state, n, masks, out)
    return out
