"""Random numbers for the time step, from a counter-based generator.

Every uniform is a pure function of (step key, row, agent): the SplitMix64 finaliser (Steele,
Lea & Flood 2014, "Fast splittable pseudorandom number generators") applied to a Weyl sequence
over the counter. The kernels compute each number where it is used (:func:`uniform`), and only
if it is used: an occupant in a jam draws none. Numbers do not depend on the number of threads
or on the order they are computed in, so a run is the same bit for bit on one core or many; one
costs about a nanosecond, where NumPy's generator, which must run serially, costs several.

The rows: ``ROW_CHOICE`` (the choice of cell), ``ROW_CONFLICT`` (who wins a contested cell),
``ROW_FRICTION`` (whether nobody does; whether an exchange is proposed, and which of rival
proposals is made), ``ROW_TELL`` (whether an occupant believes news of a locked exit).
:func:`fill_uniform` gives a step's numbers as an array, as the kernels see them (for tests
and references).
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


ROW_CHOICE, ROW_CONFLICT, ROW_FRICTION, ROW_TELL = 0, 1, 2, 3
N_ROWS = 4


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


@kernel
def uniform(key, row, agent, n):
    """Agent ``agent``'s number in row ``row`` of the step with key ``key`` (``n`` agents):
    the same as ``fill_uniform(key, out)[row, agent]`` for ``out`` of shape (rows, n)."""
    return _uniform(key, row * n + agent)


SERIAL_BELOW = 20_000  # numbers


def step_key(seed_key: int, step: int) -> np.uint64:
    """The key of one step's numbers: a mix of the run's key and the step number."""
    x = (int(seed_key) + (int(step) + 1) * 0xD1B54A32D192ED03) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return np.uint64(x ^ (x >> 31))


def fill_uniform(key: np.uint64, out: np.ndarray) -> np.ndarray:
    """Fill the float32 array ``out`` (rows, n) with the uniforms in [0, 1) of the step with
    key ``key``: ``out[row, agent]`` is the number the kernels draw as
    ``uniform(key, row, agent, n)``."""
    if out.ndim != 2 or out.dtype != np.float32:
        raise ValueError("out must be a 2-D float32 array")
    run = _fill_serial if out.size < SERIAL_BELOW else _fill
    run(np.uint64(key), out)
    return out
