"""Static and dynamic floor fields.

The grid is one flat array of cells: every floor (and every stair flight) is a block of rows in
one stacked 2-D grid of width ``width``, padded so that every walkable cell has eight in-range
neighbours. A cell ``c`` has axial neighbours ``c-1, c+1, c-width, c+width``. Stair flights join
the blocks through *links* (CSR arrays ``link_ptr``, ``link_to``, ``link_len_m``).

Static field
    The travel distance to an exit, in *effective metres*: a metre of cell with speed factor
    ``f`` costs ``1/f`` metres (clutter, stairs and closed doors have ``f < 1``). It is the
    solution of the eikonal equation ``|grad T| = 1/f`` by the first-order fast marching method
    (Sethian 1996), so distances are not biased towards the 8 grid directions as a Dijkstra
    distance on the cell graph is (up to 8 % at 22.5 degrees). Links are relaxed as graph edges.
    Kretz, Bönisch and Vortisch (2010) discuss why floor fields should be isotropic.

Dynamic field
    The Kirchner–Schadschneider "virtual trace": every move leaves one boson on the cell left
    behind; each step the field diffuses with strength ``alpha`` and decays with ``delta``
    (Kirchner & Schadschneider 2002; defaults from reference/verification.md §4.4). A trace
    that decays below ``TRACE_FLOOR`` (1e-30 bosons) is set to zero.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .jit import kernel, serial_and_parallel, start_threads
from numba import prange

INF = np.float32(np.inf)
# A trace below this is set to zero. Left alone, a trace decays until it is a subnormal number
# (below 1.2e-38 in float32), and an Intel processor computes with those through a microcode
# assist, many times slower: at the temple fair, half the grid's traces were subnormal by
# step 3,000 and the dynamic field took 35 % of the run (8.9 of 25 s) on this project's Intel
# machine, against 4 % on an AMD one. A trace this small weighs nothing in a choice of cell:
# ``k_D D`` then moves a choice's exponent by less than 1e-29, below float64's resolution of
# any exponent that is not itself smaller than 1e-13 (the same runs come out bit for bit).
TRACE_FLOOR = np.float32(1e-30)


# The fast-marching front is a binary heap of (distance, cell) that holds each cell at most
# once: a cell whose tentative distance falls is moved up where it stands (``pos``: each cell's
# place in the heap, -1 if it was never in it). Pushing it again instead, and skipping stale
# entries as they came out, made twice the heap operations (at 1M cells 2.0 million pops,
# half of them stale) and took half as long again: 1M cells 594 against 399 ms and 539
# against 366 ms, alternated in one process. The fields come out the same bit for bit (every
# exit's field of every building in the library, with and without each of its first doors,
# and 400 random grids with walls, slow cells, stair links and tied sources), though the two
# heaps accept cells of equal distance in different orders.
# Elements are moved through a hole rather than swapped: one write each.
#
# The heap's operations and the upwind update are written out in the loop, not called as
# helpers: Numba counts the references to an array it passes to a helper that branches or
# loops, with an atomic instruction (``lock inc``/``lock dec``) on every call, and each of
# those waits for every memory access in flight. As helpers, at 1M cells: 221 against 188 ms
# and 232 against 192 ms, alternated in one process (see ``jit.inlined_kernel``).


@kernel
def _fast_march(walkable, speed_factor, sources, width, cell_m, link_ptr, link_to, link_len_m,
                dist, known, heap_keys, heap_vals, pos):
    n = walkable.shape[0]
    for c in range(n):
        dist[c] = np.inf
        known[c] = False
        pos[c] = -1
    size = 0
    for k in range(sources.shape[0]):
        s = sources[k]
        dist[s] = 0.0
        if pos[s] < 0:  # (every key is 0: a new source goes last, below no larger parent)
            heap_keys[size] = 0.0
            heap_vals[size] = s
            pos[s] = size
            size += 1
    while size > 0:
        # Take the nearest out. (Its ``pos`` is left stale: an accepted cell is never lowered
        # again.)
        d = heap_keys[0]
        c = heap_vals[0]
        size -= 1
        if size > 0:
            last_key = heap_keys[size]
            last_val = heap_vals[size]
            i = 0
            while True:
                left = 2 * i + 1
                if left >= size:
                    break
                right = left + 1
                # (without a branch: which child is smaller is a coin toss to the predictor)
                child = right if (right < size) & (heap_keys[right] < heap_keys[left]) else left
                ck = heap_keys[child]
                if last_key <= ck:
                    break
                heap_keys[i] = ck
                cv = heap_vals[child]
                heap_vals[i] = cv
                pos[cv] = i
                i = child
            heap_keys[i] = last_key
            heap_vals[i] = last_val
            pos[last_val] = i
        known[c] = True
        # Its axial neighbours (an upwind eikonal update), then its links (stair flights: a
        # graph relaxation), in one loop so that the heap's update is written once.
        first_link = link_ptr[c]
        for q in range(4 + link_ptr[c + 1] - first_link):
            if q < 4:
                j = c + (-1 if q == 0 else (1 if q == 1 else (-width if q == 2 else width)))
                if known[j] or not walkable[j]:
                    continue
                h = cell_m / speed_factor[j]
                a = np.inf
                if known[j - 1] and dist[j - 1] < a:
                    a = dist[j - 1]
                if known[j + 1] and dist[j + 1] < a:
                    a = dist[j + 1]
                b = np.inf
                if known[j - width] and dist[j - width] < b:
                    b = dist[j - width]
                if known[j + width] and dist[j + width] < b:
                    b = dist[j + width]
                if a > b:
                    a, b = b, a
                if a == np.inf:
                    cand = np.inf
                elif b == np.inf or b - a >= h:
                    cand = a + h
                else:
                    cand = 0.5 * (a + b + math.sqrt(2.0 * h * h - (b - a) * (b - a)))
            else:
                k = first_link + q - 4
                j = link_to[k]
                if known[j] or not walkable[j]:
                    continue
                cand = d + link_len_m[k] / speed_factor[j]
            if cand < dist[j]:
                dist[j] = cand
                # Add it to the heap, or move it up from where it stands, past larger parents.
                i = pos[j]
                if i < 0:
                    i = size
                    size += 1
                while i > 0:
                    parent = (i - 1) >> 1
                    pk = heap_keys[parent]
                    if pk <= cand:
                        break
                    heap_keys[i] = pk
                    pv = heap_vals[parent]
                    heap_vals[i] = pv
                    pos[pv] = i
                    i = parent
                heap_keys[i] = cand
                heap_vals[i] = j
                pos[j] = i


def _checked(walkable, speed_factor, source_sets):
    walkable = np.ascontiguousarray(walkable, dtype=np.bool_)
    speed_factor = np.ascontiguousarray(speed_factor, dtype=np.float64)
    source_sets = [np.ascontiguousarray(s, dtype=np.int32).ravel() for s in source_sets]
    n = walkable.shape[0]
    if speed_factor.shape != (n,):
        raise ValueError(f"speed_factor has shape {speed_factor.shape}, expected ({n},)")
    if np.any(speed_factor[walkable] <= 0):
        raise ValueError("speed_factor must be > 0 on walkable cells")
    for sources in source_sets:
        if sources.size and (sources.min() < 0 or sources.max() >= n):
            raise ValueError("source cell index out of range")
    return walkable, speed_factor, source_sets


def _links(link_ptr, link_to, link_len_m):
    return (np.ascontiguousarray(link_ptr, dtype=np.int32),
            np.ascontiguousarray(link_to, dtype=np.int32),
            np.ascontiguousarray(link_len_m, dtype=np.float64))


def compute_static_field(walkable, speed_factor, sources, width, cell_m, link_ptr, link_to,
                         link_len_m):
    """Distance to the nearest source cell, in effective metres, by fast marching.

    Parameters
    ----------
    walkable : (n_cells,) bool
        Cells the field may pass through (the sources included). Border cells must be False.
    speed_factor : (n_cells,) float64
        Walking-speed factor per cell, in (0, 1]; a metre in a cell costs ``1/factor``.
    sources : (k,) int32
        Cell indices where the distance is zero (the cells of one exit).
    width : int
        Row length of the stacked grid.
    cell_m : float
        Cell side in metres.
    link_ptr, link_to, link_len_m : CSR arrays of the links (stair flights).

    Returns
    -------
    (n_cells,) float32, ``inf`` where no source is reachable.
    """
    walkable, speed_factor, (sources,) = _checked(walkable, speed_factor, [sources])
    n = walkable.shape[0]
    dist = np.empty(n, dtype=np.float64)
    known = np.empty(n, dtype=np.bool_)
    # The heap holds each cell at most once.
    heap_keys = np.empty(n, dtype=np.float64)
    heap_vals = np.empty(n, dtype=np.int32)
    pos = np.empty(n, dtype=np.int32)
    _fast_march(walkable, speed_factor, sources, int(width), float(cell_m),
                *_links(link_ptr, link_to, link_len_m), dist, known, heap_keys, heap_vals, pos)
    return dist.astype(np.float32)


def _march_each_py(walkable, walk_of, speed_factor, src_ptr, src_cells, width, cell_m, link_ptr,
                   link_to, link_len_m, known, heap_keys, heap_vals, pos, out):
    # A field an iteration, marched into its own row of ``out`` (float64) with the scratch
    # rows of the thread that runs it. Field ``f`` passes the cells of row ``walk_of[f]`` of
    # ``walkable``. (Rounding to float32 here, in a loop LLVM vectorises, left the upper
    # halves of the vector registers dirty on the worker threads: every later call there into
    # code with SSE instructions, such as libm's pow in the smoke conditions, then ran 5-8
    # times slower. The caller rounds, on its own thread.)
    for f in prange(out.shape[0]):
        t = numba.get_thread_id()
        _fast_march(walkable[walk_of[f]], speed_factor, src_cells[src_ptr[f]:src_ptr[f + 1]],
                    width, cell_m, link_ptr, link_to, link_len_m, out[f], known[t],
                    heap_keys[t], heap_vals[t], pos[t])


_march_each, _march_each_serial = serial_and_parallel(_march_each_py)


def compute_static_fields(walkable, speed_factor, source_sets, width, cell_m, link_ptr,
                          link_to, link_len_m):
    """:func:`compute_static_field` for each set of sources in ``source_sets`` (each exit's
    cells): a (len(source_sets), n_cells) float32 array, row by row the same bit for bit.

    The fields are marched in parallel, one a thread, each in its thread's scratch (fast
    marching itself is serial). They are recomputed whenever smoke, clutter or a lock changes
    the routes: a drill with smoke does so every few seconds of simulated time. This replaced
    a pool of Python threads, one field each, which cost about a millisecond a call to start
    and hand over: more than it saved in the library's buildings (the bathhouse's two fields
    within a run: 1.0-1.5 ms one after the other, 2.0 ms in the pool, 0.8-1.0 ms here).

    ``walkable`` is one (n_cells,) mask for every field, or a (len(source_sets), n_cells)
    mask a field: so the exits' fields under every belief (doors believed locked) are marched
    in one call, and so are the goals the actors follow."""
    walkable = np.asarray(walkable)
    k = len(source_sets)
    if walkable.ndim == 2:
        if walkable.shape[0] != k:
            raise ValueError(f"walkable has {walkable.shape[0]} rows for {k} source sets")
        walk_of = np.arange(k, dtype=np.int64)
        _, speed_factor, source_sets = _checked(walkable.any(axis=0), speed_factor,
                                                source_sets)
        walkable = np.ascontiguousarray(walkable, dtype=np.bool_)
    else:
        walk_of = np.zeros(k, dtype=np.int64)
        walkable, speed_factor, source_sets = _checked(walkable, speed_factor, source_sets)
        walkable = walkable[None, :]
    n = walkable.shape[1]
    src_ptr = np.zeros(k + 1, dtype=np.int64)
    src_ptr[1:] = np.cumsum([s.size for s in source_sets])
    src_cells = np.concatenate(source_sets) if k else np.zeros(0, dtype=np.int32)
    start_threads()  # (the kernels call get_thread_id())
    threads = numba.get_num_threads()
    parallel = k > 1 and threads > 1
    rows = numba.config.NUMBA_NUM_THREADS if parallel else 1
    out = np.empty((k, n))
    run = _march_each if parallel else _march_each_serial
    run(walkable, walk_of, speed_factor, src_ptr, src_cells, int(width), float(cell_m),
        *_links(link_ptr, link_to, link_len_m), np.empty((rows, n), dtype=np.bool_),
        np.empty((rows, n)), np.empty((rows, n), dtype=np.int32),
        np.empty((rows, n), dtype=np.int32), out)
    return out.astype(np.float32)


def _diffuse_decay_py(field, keep, share, width, out):
    # Branch-free: non-walkable cells hold zero, so the sum over all four axial neighbours is
    # the sum over the walkable ones; ``keep`` and ``share`` carry the rest (float32 throughout).
    # Shifted views instead of ``field[c - 1]``: indexing with a signed offset makes Numba check
    # for negative indices on every access, which stops the loop vectorising (10x slower).
    n = field.shape[0]
    lo = width + 1
    hi = n - width - 1
    out[:lo] = 0.0
    out[hi:] = 0.0
    here = field[lo:hi]
    west = field[lo - 1:hi - 1]
    east = field[lo + 1:hi + 1]
    north = field[lo - width:hi - width]
    south = field[lo + width:hi + width]
    k = keep[lo:hi]
    s = share[lo:hi]
    o = out[lo:hi]
    for c in prange(hi - lo):
        v = k[c] * here[c] + s[c] * (west[c] + east[c] + north[c] + south[c])
        o[c] = v if v >= TRACE_FLOOR else np.float32(0.0)  # (branch-free: a select)


_diffuse_decay, _diffuse_decay_serial = serial_and_parallel(_diffuse_decay_py)
SERIAL_BELOW = 20_000  # cells


def dynamic_field_coefficients(walkable, width, alpha, delta):
    """Per-cell weights of one diffusion-and-decay step: ``(keep, share)``, float32.

    A walkable cell with ``k`` walkable axial neighbours keeps ``(1-delta)(1-alpha)`` of its
    value and takes ``(1-delta) alpha / k`` of each neighbour's; with no walkable neighbour it
    keeps ``1-delta``. Non-walkable cells get zero weights (and so hold zero).
    """
    if not (0.0 <= alpha <= 1.0 and 0.0 <= delta <= 1.0):
        raise ValueError(f"alpha and delta must lie in [0, 1], got {alpha}, {delta}")
    walkable = np.asarray(walkable, dtype=bool)
    n = walkable.shape[0]
    count = np.zeros(n, dtype=np.int64)
    inner = np.arange(width + 1, n - width - 1)
    for off in (-1, 1, -width, width):
        count[inner] += walkable[inner + off]
    has = walkable & (count > 0)
    keep = np.where(walkable, 1.0 - delta, 0.0)
    keep[has] *= 1.0 - alpha
    share = np.zeros(n)
    share[has] = (1.0 - delta) * alpha / count[has]
    return keep.astype(np.float32), share.astype(np.float32)


def update_dynamic_field(field, walkable, width, alpha, delta, out, coefficients=None):
    """One diffusion-and-decay step of the dynamic field.

    ``field`` and ``out`` are (n_cells,) float32 and must be different arrays; ``field`` is zero
    on non-walkable cells. Diffusion moves a fraction ``alpha`` of a cell's value towards the
    mean of its walkable axial neighbours, then everything decays by ``delta``; a value below
    ``TRACE_FLOOR`` becomes zero (see there). Pass the
    result of :func:`dynamic_field_coefficients` as ``coefficients`` to skip recomputing them.
    """
    if field is out:
        raise ValueError("field and out must be different arrays")
    if coefficients is None:
        coefficients = dynamic_field_coefficients(walkable, int(width), alpha, delta)
    keep, share = coefficients
    run = _diffuse_decay_serial if field.shape[0] < SERIAL_BELOW else _diffuse_decay
    run(field, keep, share, int(width), out)
    return out
