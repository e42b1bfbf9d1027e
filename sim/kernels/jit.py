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


def inlined_kernel(func):
    """Compile a small helper of other kernels to be inlined into them by Numba itself
    (``inline="always"``, at the level of Numba's IR).

    Only for helpers that take no arrays. Numba counts the references to an array bound to a
    helper's argument, and where the helper branches or loops the counting is not pruned:
    every call then makes two atomic instructions per array, each a full memory barrier.
    Helpers that take arrays are plain :func:`kernel` without branches or loops (LLVM inlines
    them and the counting is pruned), or are written out where they are used: the fast-marching
    heap's operations, as helpers like this, cost 15-17 % of the static field's time.
    ``python benchmarks/refcounts.py`` lists any call to Numba's runtime inside a kernel's
    loop."""
    return numba.njit(inline="always", **JIT_OPTIONS)(func)


_threads_started = False


def start_threads() -> None:
    """Start Numba's threading layer, once a process, before any kernel that calls
    ``numba.get_thread_id()`` runs: in a serial kernel loaded from the on-disk cache, that
    call crashes the process (a segmentation fault) while the layer has not been started.
    A kernel compiled in the process starts it while compiling, so the crash shows only
    with a warm cache, for a caller whose first kernel is such a one (a single test, a
    script). Every public function that runs such kernels calls this first."""
    global _threads_started
    if not _threads_started:
        numba.get_num_threads()  # (starts the layer: about 4 ms, once)
        _threads_started = True


def parallel_kernel(func):
    """Compile ``func`` with ``parallel=True``: only for loops whose iterations are independent.

    Each iteration writes only its own output slots, so results do not depend on the number
    of threads or their scheduling.
    """
    return numba.njit(parallel=True, **JIT_OPTIONS)(func)


def serial_and_parallel(func):
    """(parallel, serial) compilations of one loop with ``prange``: the serial one for small
    inputs, where starting threads costs more than it saves.

    Each gets a function object of its own name: Numba's on-disk cache is keyed by the
    function's qualified name, and two compilations under one name load each other's machine
    code (a crash, seen here).
    """
    twins = []
    for suffix, compile_ in (("_parallel", parallel_kernel), ("_serial", kernel)):
        clone = type(func)(func.__code__, func.__globals__, func.__name__ + suffix,
                                   func.__defaults__, func.__closure__)
        clone.__qualname__ = func.__qualname__ + suffix
        clone.__module__ = func.__module__
        clone.__doc__ = func.__doc__
        twins.append(compile_(clone))
    return tuple(twins)
