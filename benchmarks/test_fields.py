"""Static-field computation (fast marching) on open grids of 100k and 1M cells."""

from __future__ import annotations

import numpy as np
import pytest

from sim.kernels.fields import compute_static_field

SIZES = {"100k": 316, "1M": 1000}


@pytest.mark.parametrize("size", list(SIZES))
def test_static_field(benchmark, size):
    n = SIZES[size]
    width = n + 2
    walkable = np.zeros(width * width, dtype=bool)
    grid = walkable.reshape(width, width)
    grid[1:-1, 1:-1] = True
    sources = np.arange(width * (n // 2) + n + 1, width * (n // 2) + n + 1 + 5 * width, width,
                        dtype=np.int32)  # an exit 5 cells wide in the east wall
    empty = np.zeros(width * width + 1, dtype=np.int32)
    factor = np.ones(width * width)
    args = (walkable, factor, sources, width, 0.4, empty, empty[:0], np.zeros(0))
    compute_static_field(*args)  # compile
    benchmark.group = "static-field"
    benchmark.extra_info["cells"] = n * n
    dist = benchmark.pedantic(compute_static_field, args=args, rounds=5, iterations=1)
    assert np.isfinite(dist[walkable]).all()
