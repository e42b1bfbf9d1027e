"""The one place that sets JIT options for every kernel.

``cache=True`` writes compiled code next to the module (or into ``NUMBA_CACHE_DIR``) so a second
process does not recompile. No ``fastmath``: results must be bit-for-bit reproducible.
"""

from __future__ import annotations

import numba

JIT_OPTIONS = {"cache": True, "nogil": True}


def kernel(func):
    """Compile ``func`` as a serial Numba kernel with the project's options."""
    return numba.njit(**JIT_OPTIONS)(func)


def parallel_kernel(func):
    """Compile ``func`` with ``parallel=True``: only for loops whose iterations are independent.

    Each iteration writes only its own output slots, so results do not depend on the number
    of threads or their scheduling.
    """
    return numba.njit(parallel=True, **JIT_OPTIONS)(func)
