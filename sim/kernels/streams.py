"""Random numbers for the time step, from a counter-based generator.

Every uniform is a pure function of (step key, row, occupant): the SplitMix64 finaliser (Steele,
Lea & Flood 2014, "Fast splittable pseudorandom number generators") applied to a Weyl sequence
over the counter. Numbers are filled in parallel and do not depend on the number of threads or
on the order they are computed in, so a run is the same bit for bit on one core or many; filling
them costs a fraction of a nanosecond each, where NumPy's generator, which must run serially,
costs several.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from .jit import kernel, serial_and_parallel

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_MASK64 = (1 << 64) - 1


@kernel
def _mix(x):
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


@kernel
def _uniform(key, index):
    """The uniform number ``index`` (row * n + column) of a step."""
    x = key + np.uint64(index + 1) * _GOLDEN
    # The top 24 bits as a float32 in [0, 1): exact, and never 1.
    top = np.int64(_mix(x) >> np.uint64(40))
    return np.float32(top) * np.float32(1.0 / 16777216.0)


def _fill_py(key, out):
    rows, n = out.shape
    for i in prange(n):
        for r in range(rows):
            out[r, i] = _uniform(key, r * n + i)


_fill, _fill_serial = serial_and_parallel(_fill_py)


def _fill_some_py(key, out, which):
    rows, n = out.shape
    for k in prange(which.shape[0]):
        i = which[k]
        for r in range(rows):
            out[r, i] = _uniform(key, r * n + i)


_fill_some, _fill_some_serial = serial_and_parallel(_fill_some_py)
SERIAL_BELOW = 20_000  # numbers


def step_key(seed_key: int, step: int) -> np.uint64:
    """The key of one step's numbers: a mix of the run's key and the step number."""
    x = (int(seed_key) + (int(step) + 1) * 0xD1B54A32D192ED03) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return np.uint64(x ^ (x >> 31))


def fill_uniform(key: np.uint64, out: np.ndarray, which: np.ndarray | None = None) -> np.ndarray:
    """Fill the float32 array ``out`` (rows, n) with uniforms in [0, 1) for ``key``.

    With ``which`` (int64 column indices), fill only those columns, with the same numbers as
    a full fill: the model skips occupants who are out."""
    if out.ndim != 2 or out.dtype != np.float32:
        raise ValueError("out must be a 2-D float32 array")
    if which is None:
        run = _fill_serial if out.size < SERIAL_BELOW else _fill
        run(np.uint64(key), out)
    else:
        run = _fill_some_serial if which.size * out.shape[0] < SERIAL_BELOW else _fill_some
        run(np.uint64(key), out, which)
    return out
