"""The kernels run at every recorded frame against what NumPy gives: the smoke as float16, the
regions' mean conditions, and which regions hold somebody."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sim.kernels.half import to_float16
from sim.kernels.movement import CARRIED, CASUALTY, EVACUATED, MOVING, WAITING
from sim.kernels.regions import occupied_regions, region_means


def numpy_half(x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (overflow to infinity)
        return np.asarray(x, dtype=np.float64).astype(np.float16)


def assert_same_halves(x):
    want, got = numpy_half(x), to_float16(x)
    assert got.dtype == np.float16
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan)
    bad = np.flatnonzero(want[~nan].view(np.uint16) != got[~nan].view(np.uint16))
    assert bad.size == 0, (np.asarray(x)[~nan][bad[:5]], want[~nan][bad[:5]], got[~nan][bad[:5]])


def test_float16_rounds_every_boundary_as_numpy_does():
    # Every finite half, the midpoints between neighbours (ties go to the even one) and the
    # doubles just either side of each: where one rounding error would show.
    halves = np.arange(2**16, dtype=np.uint16).view(np.float16)
    values = np.unique(halves[np.isfinite(halves)].astype(np.float64))
    mids = (values[:-1] + values[1:]) / 2
    x = np.concatenate([values, mids, np.nextafter(mids, np.inf), np.nextafter(mids, -np.inf),
                        [65504.0, 65519.999, 65520.0, 65536.0, 1e300, np.inf, -np.inf, np.nan,
                         -np.nan, 0.0, -0.0, 2.0**-25, -(2.0**-25), 2.0**-24, 2.0**-26,
                         5e-324, 2.2250738585072014e-308]])
    assert_same_halves(x)


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.float64, st.integers(0, 300),
                  elements=st.floats(allow_nan=True, allow_infinity=True, width=64)))
def test_float16_is_numpys_for_any_double(x):
    assert_same_halves(x)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 5000))
def test_float16_is_numpys_for_random_bits_and_smoke_like_values(seed, n):
    rng = np.random.default_rng(seed)
    assert_same_halves(rng.integers(0, 2**64, n, dtype=np.uint64).view(np.float64))
    assert_same_halves(rng.lognormal(-2.0, 3.0, n))  # extinction coefficients, 1/m
    assert_same_halves(np.ldexp(rng.uniform(-1.0, 1.0, n), rng.integers(-30, 18, n)))


def test_float16_rejects_a_2d_array():
    with pytest.raises(ValueError, match="1-D"):
        to_float16(np.zeros((2, 2)))


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1),
       st.lists(st.one_of(st.integers(0, 20), st.integers(100, 140), st.integers(0, 3000)),
                min_size=1, max_size=6),
       st.lists(st.booleans(), min_size=6, max_size=6))
def test_region_means_are_numpys_means_bit_for_bit(seed, sizes, skip):
    # Sizes round NumPy's pairwise blocks (8 and 128) and above; cells in any order, repeated
    # across regions.
    rng = np.random.default_rng(seed)
    n_cells = 4000
    a = rng.lognormal(0.0, 2.0, n_cells)
    b = rng.normal(20.0, 30.0, n_cells)
    c = rng.uniform(0.0, 1e-3, n_cells) * (rng.random(n_cells) < 0.5)
    regions = [rng.choice(n_cells, size=k, replace=False).astype(np.int64) for k in sizes]
    cells = np.concatenate(regions)
    ptr = np.zeros(len(regions) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(sizes)
    skipped = np.array(skip[:len(regions)], dtype=np.bool_)
    out = region_means(a, b, c, cells, ptr, skipped)
    for r, where in enumerate(regions):
        if skipped[r] or where.size == 0:
            assert np.isnan(out[r]).all()
            continue
        for q, values in enumerate((a, b, c)):
            want = values[where].mean()
            assert out[r, q] == want, (r, q, where.size, out[r, q], want)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 60), st.integers(1, 5))
def test_occupied_regions_are_those_with_somebody_waiting_moving_or_down(seed, n, n_regions):
    rng = np.random.default_rng(seed)
    n_cells = 50
    masks = rng.random((n_regions, n_cells)) < 0.2
    cell = rng.integers(0, n_cells, n + 5).astype(np.int32)
    state = rng.choice(np.array([WAITING, MOVING, EVACUATED, CASUALTY, CARRIED], np.uint8),
                       n + 5)
    cell[state == EVACUATED] = -1
    cell[state == CARRIED] = -1
    got = occupied_regions(cell, state, n, masks)
    s = state[:n]
    inside = cell[:n][(s == WAITING) | (s == MOVING) | (s == CASUALTY)]
    want = [bool(masks[r][inside].any()) for r in range(n_regions)]
    assert got.tolist() == want
