"""One smoke step on an open grid of 1M cells (and 100k): the spread (all its sub-steps) and
the conditions derived from it (K, walking speed, FED rate, temperature), which the model
refreshes once a second. Smoke is everywhere, so the clean-air shortcut never applies."""

from __future__ import annotations

import numpy as np
import pytest

from sim.kernels import smoke as K

SIZES = {"100k": 316, "1M": 1000}
DT, CELL, D = 0.15, 0.4, 1.0


def grid(n):
    width = n + 2
    g = np.zeros(width * width)
    g.reshape(width, width)[1:-1, 1:-1] = 1.0
    rng = np.random.default_rng(1)
    y = np.where(g > 0, rng.random(width * width) * 1e-3, 0.0)
    return width, g, y


@pytest.mark.parametrize("size", list(SIZES))
def test_smoke_spread_step(benchmark, size):
    width, g, y = grid(SIZES[size])
    n = y.size
    ptr = np.zeros(n + 1, dtype=np.int32)
    none_i, none_f = np.zeros(0, dtype=np.int32), np.zeros(0)
    n_sub = K.substeps(D, DT, CELL, ptr, none_f)
    source = np.zeros(n)
    source[n // 2 + width // 2] = 0.05  # a 1 MW fire
    sink = np.zeros(n, dtype=np.bool_)
    scratch = np.zeros(n)
    faces = K.diffusion_faces(g, sink, width, ptr)  # once per change of doors, as in a run
    args = (y, scratch, g, sink, source, 0.48, width, DT, CELL, D, ptr, none_i, none_f, n_sub,
            faces)
    K.spread(*args)  # compile
    benchmark.group = "smoke-step"
    benchmark.extra_info.update({"cells": SIZES[size] ** 2, "substeps": n_sub})
    benchmark.pedantic(K.spread, args=args, rounds=10, iterations=1)
    assert np.all(y >= 0)


def march_two_fields():
    """What a run does before its first conditions: march its exits' fields, on the worker
    threads when there are two or more (a kernel that left those threads slow for libm's pow
    and exp made the conditions 10 times slower after it: see ``_march_each_py``)."""
    from sim.kernels.fields import compute_static_fields

    side = 60
    walkable = np.zeros(side * side, dtype=bool)
    walkable.reshape(side, side)[1:-1, 1:-1] = True
    exits = [np.array([side + 1], dtype=np.int32), np.array([side * side - side - 2],
                                                             dtype=np.int32)]
    compute_static_fields(walkable, np.ones(side * side), exits, side, CELL,
                          np.zeros(side * side + 1, dtype=np.int64),
                          np.zeros(0, dtype=np.int32), np.zeros(0))


@pytest.mark.parametrize("size", list(SIZES))
def test_smoke_conditions(benchmark, size):
    march_two_fields()
    width, g, y = grid(SIZES[size])
    n = y.size
    fixed = {k: np.full(n, -1.0) for k in ("k", "co", "co2", "o2", "t")}
    out = {k: np.zeros(n) for k in ("k", "speed", "fed_rate", "temp")}
    p = {"soot_k": 435.0, "co_ppm_per": 17167.0, "co2_pct_per": 82.0, "o2_pct_per": 115.0,
         "dtemp_per": 4983.0, "speed_floor": 0.1, "fn_slope": K.FN_SLOPE}
    K.conditions(y, fixed, p, out)  # compile
    benchmark.group = "smoke-step"
    benchmark.extra_info["cells"] = SIZES[size] ** 2
    benchmark.pedantic(K.conditions, args=(y, fixed, p, out), rounds=10, iterations=1)
    assert np.all(out["speed"] <= 1.0)
