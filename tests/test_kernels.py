"""Each kernel against a slow, obvious Python reference of the same rule on small worlds."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sim.kernels import streams
from sim.kernels import fields as field_kernels
from sim.kernels.fields import (compute_static_field, dynamic_field_coefficients,
                                update_dynamic_field)
from sim.kernels.movement import _DC as movement_dc
from sim.kernels.movement import _DR as movement_dr
from sim.kernels.movement import (_POW2, CASUALTY, EVACUATED, MOVING, NO_DIRECTION,
                                  ZIGZAG_DISCOUNT, _exp_nonpositive, downhill_directions,
                                  make_scratch, neighbour_mask, step_movement)


def grid_world(rows: list[str]):
    """Flat arrays from a small map: '#' wall, '.' floor, 'E' source/exit, '~' slow (0.5)."""
    h, w = len(rows), len(rows[0])
    flat = "".join(rows)
    walkable = np.array([ch in ".~" for ch in flat])
    factor = np.array([0.5 if ch == "~" else 1.0 for ch in flat])
    sources = np.array([i for i, ch in enumerate(flat) if ch == "E"], dtype=np.int32)
    return walkable, factor, sources, w, h


def reference_fast_march(walkable, factor, sources, width, cell_m, links=()):
    """Plain fast marching: accept the smallest tentative value, update axial neighbours."""
    n = len(walkable)
    dist = [math.inf] * n
    known = [False] * n
    for s in sources:
        dist[int(s)] = 0.0
    while True:
        best, c = math.inf, -1
        for i in range(n):
            if not known[i] and dist[i] < best:
                best, c = dist[i], i
        if c < 0:
            break
        known[c] = True
        for j in (c - 1, c + 1, c - width, c + width):
            if known[j] or not walkable[j]:
                continue
            h = cell_m / factor[j]
            a = min([dist[k] for k in (j - 1, j + 1) if known[k]] + [math.inf])
            b = min([dist[k] for k in (j - width, j + width) if known[k]] + [math.inf])
            a, b = min(a, b), max(a, b)
            if b == math.inf or b - a >= h:
                cand = a + h
            else:
                cand = 0.5 * (a + b + math.sqrt(2 * h * h - (b - a) ** 2))
            dist[j] = min(dist[j], cand)
        for (u, v, length) in links:
            if u == c and walkable[v] and not known[v]:
                dist[v] = min(dist[v], best + length / factor[v])
    return np.array(dist)


ROOMS = [
    ["#########",
     "#.......#",
     "#.##....#",
     "#..#..~.E",
     "#.......#",
     "#########"],
    ["############",
     "#....#.....#",
     "#.~~.#.###.#",
     "#....#...#.#",
     "#.........#E",
     "#~~~~~~~~~.#",
     "############"],
]


def assert_field_as_reference(walkable, factor, sources, width):
    """The kernel's static field (no links) against the plain search: same cells reached, same
    distances."""
    empty = np.zeros(len(walkable) + 1, dtype=np.int32)
    got = compute_static_field(walkable, factor, sources, width, 0.4, empty,
                               np.zeros(0, np.int32), np.zeros(0))
    want = reference_fast_march(walkable, factor, sources, width, 0.4)
    reachable = np.isfinite(want)
    assert np.array_equal(np.isfinite(got), reachable)
    np.testing.assert_allclose(got[reachable], want[reachable], rtol=1e-6)


@pytest.mark.parametrize("rows", ROOMS)
def test_static_field_matches_reference(rows):
    walkable, factor, sources, w, _ = grid_world(rows)
    assert_field_as_reference(walkable, factor, sources, w)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(3, 14), st.integers(3, 14),
       st.sampled_from([0.0, 0.15, 0.35]), st.integers(1, 6))
def test_static_field_matches_reference_on_random_grids(seed, h, w, wall_share, n_sources):
    """Walls, slow cells, and sources that tie (a whole row) or repeat: the heap, which holds
    each cell once and moves it up when its distance falls, gives the plain search's field."""
    rng = np.random.default_rng(seed)
    width = w + 2
    walkable = np.zeros((h + 2) * width, dtype=bool)
    walkable.reshape(h + 2, width)[1:-1, 1:-1] = rng.random((h, w)) >= wall_share
    factor = np.where(rng.random(walkable.size) < 0.3, rng.choice([0.25, 0.5, 0.55],
                                                                   walkable.size), 1.0)
    cells = np.flatnonzero(walkable)
    assume(cells.size > 0)
    sources = rng.choice(cells, n_sources)  # (with repeats)
    if seed % 3 == 0:
        sources = np.concatenate([sources, cells[cells < 2 * width]])  # the first row: ties
    assert_field_as_reference(walkable, factor, sources.astype(np.int32), width)


def _static_fields_on(threads, *args):
    """:func:`compute_static_fields` on ``threads`` threads (as many as there are, at most)."""
    before = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        return field_kernels.compute_static_fields(*args)
    finally:
        numba.set_num_threads(before)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(3, 16), st.integers(3, 16),
       st.lists(st.integers(0, 5), min_size=0, max_size=6), st.sampled_from([1, 2]))
def test_static_fields_are_each_field_as_computed_alone(seed, h, w, set_sizes, threads):
    """Several fields at once (every exit's), marched in parallel in each thread's own
    scratch: each row is the field of its sources computed alone, bit for bit, whatever the
    number of threads; a set of no sources gives a field of inf."""
    rng = np.random.default_rng(seed)
    width = w + 2
    walkable = np.zeros((h + 2) * width, dtype=bool)
    walkable.reshape(h + 2, width)[1:-1, 1:-1] = rng.random((h, w)) >= 0.2
    factor = np.where(rng.random(walkable.size) < 0.3, 0.5, 1.0)
    cells = np.flatnonzero(walkable)
    assume(cells.size > 0)
    source_sets = [rng.choice(cells, k).astype(np.int32) for k in set_sizes]
    no_links = (np.zeros(walkable.size + 1, np.int32), np.zeros(0, np.int32), np.zeros(0))
    got = _static_fields_on(threads, walkable, factor, source_sets, width, 0.4, *no_links)
    assert got.shape == (len(source_sets), walkable.size) and got.dtype == np.float32
    for row, sources in zip(got, source_sets):
        alone = compute_static_field(walkable, factor, sources, width, 0.4, *no_links)
        assert np.array_equal(row, alone)
        assert sources.size > 0 or np.all(np.isinf(row))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(3, 14), st.integers(3, 14),
       st.integers(0, 5), st.sampled_from([1, 2]))
def test_static_fields_with_a_walkable_mask_each_are_each_field_as_computed_alone(
        seed, h, w, k, threads):
    """A walkable mask a field (beliefs about locked doors, actors' goals): each row is the
    field computed alone over its own mask, bit for bit, on one thread and two."""
    rng = np.random.default_rng(seed)
    width = w + 2
    base = np.zeros((h + 2) * width, dtype=bool)
    base.reshape(h + 2, width)[1:-1, 1:-1] = rng.random((h, w)) >= 0.15
    cells = np.flatnonzero(base)
    assume(cells.size > 0)
    walk = np.repeat(base[None, :], k, axis=0) & (rng.random((k, base.size)) >= 0.1)
    factor = np.where(rng.random(base.size) < 0.3, 0.5, 1.0)
    source_sets = [rng.choice(cells, rng.integers(0, 4)).astype(np.int32) for _ in range(k)]
    source_sets = [s[walk[f, s]] for f, s in enumerate(source_sets)]
    no_links = (np.zeros(base.size + 1, np.int32), np.zeros(0, np.int32), np.zeros(0))
    got = _static_fields_on(threads, walk, factor, source_sets, width, 0.4, *no_links)
    assert got.shape == (k, base.size)
    for f, (row, sources) in enumerate(zip(got, source_sets)):
        alone = compute_static_field(walk[f], factor, sources, width, 0.4, *no_links)
        assert np.array_equal(row, alone)
    with pytest.raises(ValueError, match="rows for"):  # a mask short
        field_kernels.compute_static_fields(walk, factor, source_sets + [np.zeros(0, np.int32)],
                                            width, 0.4, *no_links)


def test_static_fields_reject_a_bad_source_set():
    walkable, factor, sources, w, _ = grid_world(ROOMS[0])
    empty = np.zeros(len(walkable) + 1, dtype=np.int32)
    with pytest.raises(ValueError, match="source cell index out of range"):
        field_kernels.compute_static_fields(walkable, factor, [sources, np.array([10_000])], w,
                                            0.4, empty, empty[:0], [])


def test_static_field_follows_links_like_reference():
    rows = ["#######",
            "#..#..#",
            "#..#.E#",
            "#######"]
    walkable, factor, sources, w, _ = grid_world(rows)
    a, b = 1 * w + 1, 1 * w + 4  # the two halves are joined only by a 3.5 m link
    links = [(a, b, 3.5), (b, a, 3.5)]
    order = sorted(links)
    ptr = np.zeros(len(walkable) + 1, dtype=np.int32)
    for u, _, _ in order:
        ptr[u + 1] += 1
    ptr = np.cumsum(ptr).astype(np.int32)
    got = compute_static_field(walkable, factor, sources, w, 0.4, ptr,
                               np.array([v for _, v, _ in order], np.int32),
                               np.array([l for _, _, l in order]))
    want = reference_fast_march(walkable, factor, sources, w, 0.4, links)
    assert np.isfinite(got[a])
    np.testing.assert_allclose(got[np.isfinite(want)], want[np.isfinite(want)], rtol=1e-6)


def test_static_field_is_isotropic_in_open_space():
    """First-order fast marching from a point source errs by at most 4 % at 10 m, at any
    angle (an 8-neighbour Dijkstra distance errs by up to 8 % at 22.5°)."""
    n = 61
    rows = ["#" * (n + 2)] + ["#" + "." * n + "#" for _ in range(n)] + ["#" * (n + 2)]
    mid = (n + 2) // 2
    rows[mid] = rows[mid][:mid] + "E" + rows[mid][mid + 1:]
    walkable, factor, sources, w, _ = grid_world(rows)
    d = compute_static_field(walkable, factor, sources, w, 0.4,
                             np.zeros(len(walkable) + 1, np.int32), np.zeros(0, np.int32),
                             np.zeros(0))
    for angle in np.linspace(0, math.pi / 2, 9):
        r, c = mid - round(25 * math.sin(angle)), mid + round(25 * math.cos(angle))
        euclid = 0.4 * math.hypot(r - mid, c - mid)
        assert abs(d[r * w + c] / euclid - 1) < 0.04, angle


def test_static_field_rejects_bad_input():
    walkable, factor, sources, w, _ = grid_world(ROOMS[0])
    empty = np.zeros(len(walkable) + 1, dtype=np.int32)
    with pytest.raises(ValueError, match="speed_factor has shape"):
        compute_static_field(walkable, factor[:-1], sources, w, 0.4, empty, empty[:0], [])
    with pytest.raises(ValueError, match="source cell index out of range"):
        compute_static_field(walkable, factor, np.array([10_000]), w, 0.4, empty, empty[:0], [])


def test_dynamic_field_matches_reference():
    walkable, _, _, w, _ = grid_world(ROOMS[1])
    rng = np.random.default_rng(3)
    field = (rng.random(len(walkable)) * walkable).astype(np.float32)
    out = np.zeros_like(field)
    update_dynamic_field(field, walkable, w, 0.1, 0.3, out)
    want = np.zeros(len(walkable))
    for c in np.flatnonzero(walkable):
        nb = [j for j in (c - 1, c + 1, c - w, c + w) if walkable[j]]
        v = field[c]
        if nb:
            v = 0.9 * v + 0.1 * np.mean(field[nb])
        want[c] = 0.7 * v
    np.testing.assert_allclose(out, want, rtol=1e-5)
    with pytest.raises(ValueError, match="different arrays"):
        update_dynamic_field(field, walkable, w, 0.1, 0.3, field)


@pytest.mark.parametrize("side", [9, 160], ids=["serial", "parallel"])
def test_dynamic_field_decays_to_zero_never_to_subnormals(side):
    """Traces fade to exactly zero, not through subnormal floats (which an Intel processor
    computes many times slower), and a trace above the floor is kept as computed."""
    rows = ["#" * side] + ["#" + "." * (side - 2) + "#"] * (side - 2) + ["#" * side]
    walkable, _, _, w, _ = grid_world(rows)
    assert (len(walkable) >= field_kernels.SERIAL_BELOW) == (side == 160)
    field = np.zeros(len(walkable), dtype=np.float32)
    middle = (side // 2) * w + side // 2
    field[middle] = 1.0
    out = np.zeros_like(field)
    tiny = np.finfo(np.float32).tiny  # the smallest normal float32
    keep, share = dynamic_field_coefficients(walkable, w, 0.1, 0.3)
    keep, share = keep.astype(float), share.astype(float)
    floor = float(field_kernels.TRACE_FLOOR)
    for step in range(400):
        update_dynamic_field(field, walkable, w, 0.1, 0.3, out)
        assert not np.any((out > 0) & (out < tiny)), step
        assert np.all((out == 0) | (out >= floor)), step
        f = field.astype(float)
        want = keep * f + share * (np.roll(f, 1) + np.roll(f, -1) + np.roll(f, w) + np.roll(f, -w))
        assert np.all(out[want < 0.5 * floor] == 0), step
        big = want > 2 * floor
        np.testing.assert_allclose(out[big], want[big], rtol=1e-4)
        field, out = out, field
    assert field.max() == 0.0  # 0.7 ** 400 < 1e-61: every trace has gone, to an exact zero


# --------------------------------------------------------------------------- movement

def reference_step(agents, grid, fields, randoms, params, info=None):
    """The movement rule written plainly (see sim.kernels.movement's docstring). ``info``: a
    dict in which the step's exchanges are counted: ``head_on``, ``other`` (with a neighbour
    who wanted another cell) and ``outbid`` (valid proposals that lost to a rival)."""
    a = {k: v.copy() for k, v in agents.items()}
    g = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in grid.items()}
    w, cell = g["width"], g["cell_m"]
    t, dt = params["time_s"], params["dt_s"]
    n = len(a["cell"])
    desired = [-1] * n
    cost = [0.0] * n
    blocked = [-1] * n
    blocked_cost = [0.0] * n
    for i in range(n):
        if a["state"][i] != MOVING or a["field_row"][i] < 0:
            continue
        c = int(a["cell"][i])
        S = fields[a["field_row"][i]]
        a["credit_m"][i] += float(a["speed_ms"][i]) * dt
        if a["credit_m"][i] < ZIGZAG_DISCOUNT * cell:
            continue  # cannot afford even the cheapest move
        options = []  # (exponent, cell, length)
        best_occupied = (0.0, -1, 0.0)  # (slope, cell, length) of the most wanted occupied cell
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                if dr == dc == 0:
                    continue
                j = c + dr * w + dc
                if not g["passable"][j]:
                    continue
                if dr and dc and not (g["passable"][c + dr * w] and g["passable"][c + dc]):
                    continue
                length = cell * (math.sqrt(2) if dr and dc else 1)
                if not np.isfinite(S[j]):
                    continue
                if g["occ"][j] >= 0:
                    slope = (S[c] - S[j]) / length
                    if slope > best_occupied[0]:
                        best_occupied = (slope, j, length)
                    continue
                if t < g["free_at_s"][j]:  # entered less than a headway ago
                    continue
                options.append((params["k_s"] * (S[c] - S[j]) / length
                                + params["k_d"] * g["dyn"][j], j, length))
        options.append((params["k_d"] * g["dyn"][c], -1, 0.0))
        top = max(o[0] for o in options)
        weights = [math.exp(o[0] - top) for o in options]
        pick = randoms["u_choice"][i] * sum(weights)
        chosen = len(options) - 1
        acc = 0.0
        for k, wgt in enumerate(weights):
            acc += wgt
            if pick < acc:
                chosen = k
                break
        _, j, length = options[chosen]
        if j < 0:
            a["credit_m"][i] = min(a["credit_m"][i], cell * math.sqrt(2) / g["factor"][c])
            slope, b, blen = best_occupied
            if b >= 0:
                full_b = blen / g["factor"][b]
                cost_b = min(max(slope * blen, ZIGZAG_DISCOUNT * full_b), full_b)
                if a["credit_m"][i] >= cost_b:
                    blocked[i], blocked_cost[i] = b, cost_b
            continue
        full = length / g["factor"][j]
        gain = S[c] - S[j]
        cst = min(max(gain, ZIGZAG_DISCOUNT * full), full) if gain > 0 else full
        cost[i] = cst
        if a["credit_m"][i] >= cst:
            desired[i] = j
    moved: set[int] = set()
    contenders: dict[int, list[int]] = {}
    for i, j in enumerate(desired):
        if j >= 0:
            contenders.setdefault(j, []).append(i)
    for j, who in contenders.items():
        winner = max(who, key=lambda i: (randoms["u_conflict"][i], -i))
        if len(who) > 1 and randoms["u_friction"][winner] < params["mu"]:
            winner = -1
        for i in who:
            if i != winner:
                a["credit_m"][i] = min(a["credit_m"][i], cost[i])
        if winner < 0:
            continue
        c = int(a["cell"][winner])
        g["occ"][c] = -1
        g["dyn"][c] += 1
        g["free_at_s"][j] = t + float(g["headway_s"][j])
        a["credit_m"][winner] -= cost[winner]
        e = g["exit_of_cell"][j]
        if e >= 0:
            a["state"][winner] = EVACUATED
            a["cell"][winner] = -1
            a["exit_used"][winner] = e
            a["out_time_s"][winner] = t + dt
        else:
            g["occ"][j] = winner
            a["cell"][winner] = j
        moved.add(winner)
    # Exchanges: one who stayed proposes to trade cells with the neighbour in the cell it wants
    # most; valid if that neighbour stayed without claiming, gains on its own field and can
    # pay. A head-on pair makes one proposal, the lower index's. Of proposals sharing a
    # person, the lowest draw is made (ties to the lower index); all decided before any move.
    def partner(i):
        b = blocked[i]
        return g["occ"][b] if b >= 0 else -1

    proposals = {}  # proposer -> what its partner pays
    for i in range(n):
        k = partner(i)
        if k < 0 or i in moved or a["state"][i] != MOVING or a["state"][k] != MOVING or \
                k in moved or desired[k] >= 0 or randoms["u_friction"][i] >= params["swap"]:
            continue
        ci, b = int(a["cell"][i]), blocked[i]
        if blocked[k] == ci:
            if i < k:
                proposals[i] = blocked_cost[k]
            continue
        Sk = fields[a["field_row"][k]]
        gain = float(Sk[b]) - float(Sk[ci])
        if a["field_row"][k] < 0 or not gain > 0:
            continue
        length = cell if abs(ci - b) in (1, w) else cell * math.sqrt(2)
        full = length / g["factor"][ci]
        cost_k = min(max(gain, ZIGZAG_DISCOUNT * full), full)
        if a["credit_m"][k] >= cost_k:
            proposals[i] = cost_k

    def rank(i):
        return (randoms["u_friction"][i], i)

    made = [i for i in proposals
            if all(rank(i) < rank(j) for j in proposals
                   if j != i and {j, partner(j)} & {i, partner(i)})]
    if info is not None:
        head_on = sum(1 for i in made if blocked[partner(i)] == a["cell"][i])
        info["head_on"] = info.get("head_on", 0) + head_on
        info["other"] = info.get("other", 0) + len(made) - head_on
        info["outbid"] = info.get("outbid", 0) + len(proposals) - len(made)

    def trade(i, cost_k=None):
        """i takes the cell it wants most; whoever is there takes i's: paying ``cost_k`` and
        entering it, or (``None``: a casualty, stepped over) only laid there."""
        b = blocked[i]
        k = g["occ"][b]
        ci = int(a["cell"][i])
        g["occ"][ci], g["occ"][b] = k, i
        a["cell"][i], a["cell"][k] = b, ci
        a["credit_m"][i] -= blocked_cost[i]
        g["dyn"][ci] += 1
        g["free_at_s"][b] = t + float(g["headway_s"][b])
        if cost_k is not None:
            a["credit_m"][k] -= cost_k
            g["dyn"][b] += 1
            g["free_at_s"][ci] = t + float(g["headway_s"][ci])
        moved.update((i, k))

    for i in made:
        trade(i, proposals[i])
    if params.get("step_over"):
        # Stepping over a casualty in the cell one wants most; of several rivals for one
        # casualty the lowest-numbered, all decided before any of these moves.
        def steps_over(j, b):
            return (blocked[j] == b and j not in moved and a["state"][j] == MOVING
                    and randoms["u_friction"][j] < params["swap"])

        wins = [i for i in range(n) if blocked[i] >= 0 and g["occ"][blocked[i]] >= 0
                and a["state"][g["occ"][blocked[i]]] == CASUALTY and steps_over(i, blocked[i])
                and not any(steps_over(j, blocked[i]) for j in range(i))]
        for i in wins:
            trade(i)
    return a, g


def crowded_world(seed: int, n_agents: int, casualties: int = 0):
    rows = ["##########",
            "#........#",
            "#..##....#",
            "#..~~....E",
            "#........E",
            "#........#",
            "##########"]
    walkable, factor, sources, w, _ = grid_world(rows)
    exits_cells = sources
    empty = np.zeros(len(walkable) + 1, dtype=np.int32)
    field = compute_static_field(walkable, factor, sources, w, 0.4, empty, empty[:0], [])
    west = np.array([r * w + 1 for r in range(1, len(rows) - 1)], dtype=np.int32)
    back = compute_static_field(walkable, factor, west, w, 0.4, empty, empty[:0], [])
    rng = np.random.default_rng(seed)
    free = np.flatnonzero(walkable)
    cells = rng.choice(free, n_agents, replace=False).astype(np.int32)
    n_cells = len(walkable)
    occ = np.full(n_cells, -1, np.int32)
    occ[cells] = np.arange(n_agents)
    exit_of = np.full(n_cells, -1, np.int16)
    exit_of[exits_cells] = 0
    passable = (walkable | (exit_of >= 0)).astype(np.uint8)
    grid = {"width": w, "cell_m": 0.4, "passable": passable, "factor": factor.astype(float),
            "occ": occ, "free_at_s": np.where(rng.random(n_cells) < 0.2, 0.5, -np.inf),
            "headway_s": np.full(n_cells, 0.5, np.float32), "exit_of_cell": exit_of,
            "dyn": rng.random(n_cells).astype(np.float32), "link_ptr": empty,
            "link_to": empty[:0], "link_len_m": np.zeros(0)}
    agents = {"cell": cells, "state": np.full(n_agents, MOVING, np.uint8),
              "speed_ms": rng.uniform(0.5, 1.5, n_agents).astype(np.float32),
              "credit_m": rng.uniform(0, 0.6, n_agents),
              # Half head east, half west: head-on encounters, where swaps happen.
              "field_row": (np.arange(n_agents) % 2).astype(np.int32),
              "exit_used": np.full(n_agents, -1, np.int16),
              "out_time_s": np.full(n_agents, np.inf)}
    # The kernels draw their numbers from the step's key; the reference is given them as
    # arrays (the fill is a separate, vectorised computation of the same numbers).
    key = streams.step_key(seed, 1)
    u = streams.fill_uniform(key, np.empty((streams.N_ROWS, n_agents), np.float32))
    randoms = {"key": key, "u_choice": u[streams.ROW_CHOICE],
               "u_conflict": u[streams.ROW_CONFLICT], "u_friction": u[streams.ROW_FRICTION]}
    params = {"dt_s": 0.15, "time_s": 0.3, "k_s": 3.0, "k_d": 1.0, "mu": 0.4, "swap": 0.7}
    if casualties:  # (people overcome by smoke lie among them, to be stepped over)
        agents["state"][rng.choice(n_agents, casualties, replace=False)] = CASUALTY
        params["step_over"] = True
    return agents, grid, np.stack([field, back]), randoms, params


@pytest.mark.parametrize("crowd", [(30, 0), (36, 0), (34, 8)],
                         ids=["crowded", "jammed", "casualties"])
@pytest.mark.parametrize("kernels", ["serial", "parallel"])
@pytest.mark.parametrize("seed", range(12))
def test_movement_step_matches_reference(seed, kernels, crowd, monkeypatch):
    """30 in the 38 free cells, or 36: then most have no free neighbour, and the partner of a
    head-on swap comes from the table of downhill neighbours, not from a search; or 34, 8 of
    them overcome by smoke, to be stepped over."""
    from sim.kernels import movement

    if kernels == "parallel":  # the parallel choice and resolve passes, even for 30 occupants
        monkeypatch.setattr(movement, "SERIAL_BELOW", 0)
    agents, grid, fields, randoms, params = crowded_world(seed, *crowd)
    want_a, want_g = reference_step(agents, grid, fields, randoms, params)
    scratch = make_scratch(len(agents["cell"]), len(grid["occ"]))
    moved = step_movement(agents, grid, fields, randoms["key"], params, scratch)
    for key in ("cell", "state", "exit_used", "out_time_s"):
        np.testing.assert_array_equal(agents[key], want_a[key], err_msg=key)
    used = want_a["exit_used"]  # (nobody was out before the step)
    np.testing.assert_array_equal(scratch["out_by_exit"].sum(axis=0),
                                  np.bincount(used[used >= 0], minlength=1))
    np.testing.assert_allclose(agents["credit_m"], want_a["credit_m"], rtol=1e-12)
    for key in ("occ", "free_at_s", "dyn"):
        np.testing.assert_array_equal(grid[key], want_g[key], err_msg=key)
    assert moved == int(scratch["moved"].sum())


def test_the_reference_steps_compared_hold_every_kind_of_exchange():
    """The steps the kernels are matched with above make exchanges head on and with a neighbour
    who wanted another cell, and have proposals outbid by a rival's."""
    info = {}
    for crowd in (30, 36):
        for seed in range(12):
            agents, grid, fields, randoms, params = crowded_world(seed, crowd)
            reference_step(agents, grid, fields, randoms, params, info)
    assert info["head_on"] > 0 and info["other"] > 0 and info["outbid"] > 0, info


ROOM_3X5 = ["#######",
            "#.....#",
            "#.....#",
            "#.....#",
            "#######"]


def walled_in_pair(field_a, field_b, a_cell, b_cell, fillers, free_at=None):
    """A step's world in ``ROOM_3X5``: A at ``a_cell`` following ``field_a``, B at ``b_cell``
    following ``field_b``, and fillers (on ``field_a``) who cannot pay for a move this step:
    they neither propose exchanges nor are traded with, and only wall A and B in. Friction
    0, exchanges proposed with probability 1."""
    walkable, factor, _, w, h = grid_world(ROOM_3X5)
    n_cells = w * h
    cells = np.array([a_cell, b_cell] + list(fillers), dtype=np.int32)
    n = len(cells)
    occ = np.full(n_cells, -1, np.int32)
    occ[cells] = np.arange(n)
    grid = {"width": w, "cell_m": 0.4, "passable": walkable.astype(np.uint8),
            "factor": factor.astype(float), "occ": occ,
            "free_at_s": np.full(n_cells, -np.inf) if free_at is None else free_at,
            "headway_s": np.full(n_cells, 0.5, np.float32),
            "exit_of_cell": np.full(n_cells, -1, np.int16),
            "dyn": np.zeros(n_cells, np.float32), "link_ptr": np.zeros(n_cells + 1, np.int32),
            "link_to": np.zeros(0, np.int32), "link_len_m": np.zeros(0)}
    agents = {"cell": cells, "state": np.full(n, MOVING, np.uint8),
              "speed_ms": np.full(n, 1.2, np.float32),
              "credit_m": np.array([0.6, 0.6] + [0.0] * len(fillers)),
              "field_row": np.array([0, 1] + [0] * len(fillers), dtype=np.int32),
              "exit_used": np.full(n, -1, np.int16), "out_time_s": np.full(n, np.inf)}
    key = streams.step_key(5, 1)
    u = streams.fill_uniform(key, np.empty((streams.N_ROWS, n), np.float32))
    randoms = {"key": key, "u_choice": u[streams.ROW_CHOICE],
               "u_conflict": u[streams.ROW_CONFLICT], "u_friction": u[streams.ROW_FRICTION]}
    params = {"dt_s": 0.15, "time_s": 0.6, "k_s": 3.0, "k_d": 1.0, "mu": 0.0, "swap": 1.0}
    fields = np.stack([field_a, field_b]).astype(np.float32)
    return agents, grid, fields, randoms, params


@pytest.mark.parametrize("partner_heads", ["south-west", "north-east"])
@pytest.mark.parametrize("kernels", ["serial", "parallel"])
def test_an_exchange_is_made_only_if_the_partner_comes_nearer_its_goal(kernels, partner_heads,
                                                                       monkeypatch):
    """A heads north, walled in but for B, north of it; B heads for a point and wants the cell
    diagonally ahead of it, which holds somebody who cannot move. They do not want each other's
    cells, so no head-on swap. With its goal to the south-west, B comes nearer it in A's cell:
    they exchange (probability 1), and each pays for its own move. With its goal to the
    north-east B would lose ground, and nobody moves."""
    from sim.kernels import movement

    if kernels == "parallel":
        monkeypatch.setattr(movement, "SERIAL_BELOW", 0)
    walkable, _, _, w, h = grid_world(ROOM_3X5)
    n_cells = w * h
    rr, cc = np.divmod(np.arange(n_cells), w)
    north = np.where(walkable, rr * 0.4, np.inf)  # A's field: a plane falling north
    goal = (3, 0) if partner_heads == "south-west" else (0, 5)
    point = np.where(walkable, 0.4 * np.hypot(rr - goal[0], cc - goal[1]), np.inf)
    cell = lambda r, c: r * w + c  # noqa: E731
    a_cell, b_cell = cell(2, 2), cell(1, 2)
    fillers = [cell(1, 1), cell(1, 3), cell(2, 1), cell(2, 3), cell(3, 1), cell(3, 2),
               cell(3, 3)]
    agents, grid, fields, randoms, params = walled_in_pair(north, point, a_cell, b_cell,
                                                           fillers)
    cells, key, n = agents["cell"].copy(), randoms["key"], len(agents["cell"])
    info = {}
    want_a, want_g = reference_step(agents, grid, fields, randoms, params, info)
    scratch = make_scratch(n, n_cells)
    step_movement(agents, grid, fields, key, params, scratch)
    assert scratch["blocked"][1] not in (-1, a_cell)  # B wants another occupied cell, not A's
    banked = min(0.6 + 1.2 * 0.15, 0.4 * math.sqrt(2))  # (who stays keeps one move's worth)
    if partner_heads == "south-west":
        assert agents["cell"][0] == b_cell and agents["cell"][1] == a_cell
        gain_b = float(point[b_cell]) - float(point[a_cell])
        assert agents["credit_m"][0] == pytest.approx(banked - 0.4)
        assert agents["credit_m"][1] == pytest.approx(
            banked - max(gain_b, ZIGZAG_DISCOUNT * 0.4))
        assert info == {"head_on": 0, "other": 1, "outbid": 0}
    else:
        np.testing.assert_array_equal(agents["cell"], cells)
        assert info == {"head_on": 0, "other": 0, "outbid": 0}
    np.testing.assert_array_equal(agents["cell"], want_a["cell"])
    np.testing.assert_array_equal(grid["occ"], want_g["occ"])
    np.testing.assert_allclose(agents["credit_m"], want_a["credit_m"], rtol=1e-12)
    np.testing.assert_array_equal(scratch["swap_ok"], 0)  # (left clear for the next step)


@pytest.mark.parametrize("casualties", [0, 8])
@pytest.mark.parametrize("chunks", [1, 7, 64])
@pytest.mark.parametrize("kernels", ["serial", "parallel"])
@pytest.mark.parametrize("seed", range(4))
def test_movement_step_is_the_same_in_any_order_and_any_chunks(seed, kernels, chunks,
                                                                casualties, monkeypatch):
    """The choice of cell lists claimants and possible swappers by chunk of the visiting order,
    and the resolve pass visits only them: one chunk, a few, or more chunks than occupants (most
    of them empty), visited in a shuffled order, give the reference's step."""
    from sim.kernels import movement

    if kernels == "parallel":
        monkeypatch.setattr(movement, "SERIAL_BELOW", 0)
    agents, grid, fields, randoms, params = crowded_world(seed, 33, casualties)
    want_a, want_g = reference_step(agents, grid, fields, randoms, params)
    scratch = make_scratch(len(agents["cell"]), len(grid["occ"]))
    for counts in ("claim_n", "block_n", "settled_n"):
        scratch[counts] = np.zeros(chunks, dtype=np.int64)
    scratch["order"] = np.random.default_rng(seed).permutation(len(agents["cell"]))
    step_movement(agents, grid, fields, randoms["key"], params, scratch)
    for key in ("cell", "state", "exit_used"):
        np.testing.assert_array_equal(agents[key], want_a[key], err_msg=key)
    np.testing.assert_allclose(agents["credit_m"], want_a["credit_m"], rtol=1e-12)
    for key in ("occ", "free_at_s", "dyn"):
        np.testing.assert_array_equal(grid[key], want_g[key], err_msg=key)
    assert scratch["claim_count"].max() == 0  # reset for the next step by the winners
    assert scratch["claim_n"].sum() > 0  # (somebody claimed a cell: the lists were used)
    scratch["settled_n"] = np.zeros(chunks + 1, dtype=np.int64)
    with pytest.raises(ValueError, match="one slot per chunk"):
        step_movement(agents, grid, fields, randoms["key"], params, scratch)


def test_downhill_table_gives_the_neighbour_a_search_would():
    """Per field and cell, the allowed neighbour with a finite field that gains the most per
    metre (the first in direction order on a tie), or none: checked against a plain search on
    random fields with walls, unreachable cells and ties; a table made row by row is the
    same."""
    rng = np.random.default_rng(7)
    w, h = 13, 11
    passable = (rng.random(w * h) < 0.75).astype(np.uint8)
    passable.reshape(h, w)[[0, -1], :] = 0
    passable.reshape(h, w)[:, [0, -1]] = 0
    mask = neighbour_mask(passable, w)
    fields = np.round(rng.uniform(0, 4, (3, w * h)), 1).astype(np.float32)  # ties
    fields[rng.random(fields.shape) < 0.1] = np.inf
    table = downhill_directions(fields, mask, w, 0.4)
    assert table.dtype == np.uint8 and table.shape == fields.shape
    found = 0
    for r in range(3):
        for c in range(w * h):
            best, best_slope = NO_DIRECTION, 0.0
            for d, (dr, dc) in enumerate(zip(movement_dr, movement_dc)):
                if not mask[c] >> d & 1 or not np.isfinite(fields[r, c + dr * w + dc]):
                    continue
                slope = (fields[r, c] - fields[r, c + dr * w + dc]) * (
                    1.0 / (0.4 * math.sqrt(2) if dr and dc else 0.4))
                if slope > best_slope:
                    best, best_slope = d, slope
            assert table[r, c] == best, (r, c)
            found += best != NO_DIRECTION
    assert found > 100
    out = np.zeros_like(table)
    downhill_directions(fields, mask, w, 0.4, rows=[2, 0], out=out)
    downhill_directions(fields, mask, w, 0.4, rows=[1], out=out)
    np.testing.assert_array_equal(out, table)
    grid = {"downhill": table[:2]}
    with pytest.raises(ValueError, match="downhill"):
        step_movement({"cell": np.zeros(0, np.int32)}, {**grid, "nbr_mask": mask,
                      "min_move_m": 0.3}, fields, 1, {"mu": 0.0}, {"moved": np.zeros(0, bool)})


@pytest.mark.parametrize("kernels", ["serial", "parallel"])
def test_a_swap_partner_is_searched_for_when_the_cell_downhill_is_free_but_just_entered(
        kernels, monkeypatch):
    """A heads east; the cell east of it is empty but was entered less than a headway ago, and
    every other neighbour is taken. Its partner is B, diagonally ahead, heading for a point
    that A's cell leads to. The table of downhill neighbours gives A the empty cell, so the
    partner must be searched for among the occupied ones: A and B swap (swap probability 1),
    as in the reference."""
    from sim.kernels import movement

    if kernels == "parallel":
        monkeypatch.setattr(movement, "SERIAL_BELOW", 0)
    walkable, _, _, w, h = grid_world(ROOM_3X5)
    n_cells = w * h
    rr, cc = np.divmod(np.arange(n_cells), w)
    east = np.where(walkable, (w - 1 - cc) * 0.4, np.inf)  # A's field: a plane falling east
    point = np.where(walkable, 0.4 * np.hypot(rr - 3, cc - 1), np.inf)  # B's: towards (3, 1)
    cell = lambda r, c: r * w + c  # noqa: E731
    a_cell, b_cell, gap = cell(2, 2), cell(1, 3), cell(2, 3)
    fillers = [cell(1, 1), cell(1, 2), cell(2, 1), cell(3, 1), cell(3, 2), cell(3, 3),
               cell(1, 4), cell(2, 4)]
    free_at = np.full(n_cells, -np.inf)
    free_at[gap] = 1.0  # entered at 0.5 s with a 0.5 s headway
    agents, grid, fields, randoms, params = walled_in_pair(east, point, a_cell, b_cell,
                                                           fillers, free_at)
    key, n = randoms["key"], len(agents["cell"])
    table = downhill_directions(fields, neighbour_mask(grid["passable"], w), w, 0.4)
    assert table[0, a_cell] == 4  # east: the empty cell
    want_a, want_g = reference_step(agents, grid, fields, randoms, params)
    step_movement(agents, grid, fields, key, params, make_scratch(n, n_cells))
    assert agents["cell"][0] == b_cell and agents["cell"][1] == a_cell  # they swapped
    np.testing.assert_array_equal(agents["cell"], want_a["cell"])
    np.testing.assert_array_equal(grid["occ"], want_g["occ"])
    np.testing.assert_allclose(agents["credit_m"], want_a["credit_m"], rtol=1e-12)


def test_movement_rejects_bad_friction():
    agents, grid, fields, randoms, params = crowded_world(0, 5)
    params["mu"] = 1.5
    with pytest.raises(ValueError, match="friction mu must lie in"):
        step_movement(agents, grid, fields, randoms["key"], params,
                      make_scratch(5, len(grid["occ"])))


def test_choice_weights_exp_is_exp_to_1e8():
    xs = np.concatenate([-np.logspace(-12, np.log10(700.0), 4000), [0.0, -0.5, -1e-300]])
    got = np.array([_exp_nonpositive(float(x), _POW2) for x in xs])
    np.testing.assert_allclose(got, np.exp(xs), rtol=1e-8, atol=1e-300)
    assert _exp_nonpositive(-800.0, _POW2) == 0.0  # below 2**-1022: nothing
    assert _exp_nonpositive(float("nan"), _POW2) == 0.0


def test_neighbour_mask_says_which_moves_the_walls_allow():
    walkable, _, _, w, _ = grid_world(ROOMS[1])
    passable = walkable.astype(np.uint8)
    mask = neighbour_mask(passable, w)
    for c in range(w + 1, len(walkable) - w - 1):
        k = 0
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                if dr == dc == 0:
                    continue
                j = c + dr * w + dc
                allowed = walkable[j] and (
                    not (dr and dc) or (walkable[c + dr * w] and walkable[c + dc]))
                assert bool(mask[c] >> k & 1) == bool(allowed), (c, dr, dc)
                k += 1


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_exit_choice_rejects_a_capacity_that_is_not_positive(bad):
    from sim.kernels import choice

    n, n_exits = 5, 2
    a = {"cell": np.arange(n, dtype=np.int32), "state": np.full(n, MOVING, np.uint8),
         "speed_ms": np.ones(n, np.float32), "target": np.zeros(n, np.int16),
         "belief": np.zeros(n, np.int32), "known": np.zeros(n, np.uint64),
         "known_locked": np.zeros(n, np.uint64), "field_row": np.zeros(n, np.int32),
         "needs_choice": np.ones(n, bool), "discovered": np.zeros(n, bool),
         "choice_time_s": np.zeros(n), "choice_cell": np.arange(n, dtype=np.int32),
         "lost_s": np.zeros(n)}
    fields = np.ones((n_exits, n), np.float32)
    params = {"bin_m": 0.4, "sight_m": 10.0, "hysteresis": 0.1, "time_s": 0.0,
              "max_distance_m": 1.0}
    row_of = np.arange(n_exits, dtype=np.int32)[None, :]
    with pytest.raises(ValueError, match="capacity_ps must be positive"):
        choice.choose_exits(a, fields, row_of, np.array([1.0, bad]), params)
    with pytest.raises(ValueError, match="capacity_ps must be positive"):
        choice.choose_exits(a, fields, row_of, np.ones(3), params)  # one per exit
    assert a["needs_choice"].all()  # rejected before anybody chose
    choice.choose_exits(a, fields, row_of, np.ones(n_exits), params)
    assert not a["needs_choice"].any()


def test_news_of_a_locked_exit_and_those_only_told_to_avoid_it():
    from sim.kernels import choice

    # A 5 x 5 grid; exit 0 is locked and adjacent to cell 6, where occupant 0 stands heading
    # for it. Occupant 1 (cell 7) was only told to avoid exit 0; occupant 2 (cell 11) knows
    # nothing of it. Everyone believes news (tell_p 1).
    w, n_cells = 5, 25
    cells = np.array([6, 7, 11], np.int32)
    occ = np.full(n_cells, -1, np.int32)
    occ[cells] = np.arange(3)
    bit = np.uint64(1)
    a = {"cell": cells, "state": np.full(3, MOVING, np.uint8),
         "target": np.array([0, 1, 1], np.int16), "field_row": np.zeros(3, np.int32),
         "belief_doors": np.zeros(3, np.uint64),
         "known_locked": np.array([0, bit, 0], np.uint64),
         "steered": np.array([0, bit, 0], np.uint64),
         "needs_choice": np.zeros(3, bool), "discovered": np.zeros(3, bool),
         "informant": np.full(3, -1, np.int32), "informant_next": np.full(3, -1, np.int32)}
    adj = np.zeros(n_cells, np.uint64)
    adj[6] = bit
    g = {"adj_exit_mask": adj, "exit_locked": np.array([1, 0], np.uint8),
         "adj_door_cell": np.full(n_cells, -1, np.int32),
         "door_of_cell": np.full(n_cells, -1, np.int32), "door_locked": np.zeros(1, np.uint8),
         "occ": occ, "width": w}
    events = {"agent": np.zeros(8, np.int32), "exit": np.zeros(8, np.int16),
              "door": np.zeros(8, np.int16)}
    fields = np.zeros((1, n_cells), np.float32)
    n_events, n_told = choice.discover_locked(a, g, fields, 1, {"tell_radius": 2, "tell_p": 1.0},
                                              events)
    assert (n_events, events["agent"][0], events["exit"][0]) == (1, 0, 0)  # 0 found it
    assert n_told == 1  # occupant 2 was told; occupant 1 already kept away from it
    assert np.all(a["known_locked"] == bit) and not np.any(a["steered"])  # all know now
    assert a["needs_choice"].tolist() == [True, False, True]
    assert a["informant"].tolist() == [-1, -1, 0]  # only 2 passes it on


def test_exit_choice_is_the_same_in_any_order_serial_or_parallel(monkeypatch):
    from sim.kernels import choice

    rng = np.random.default_rng(5)
    n, n_cells, n_exits = 6000, 20_000, 3
    fields = (rng.random((n_exits, n_cells)) * 80).astype(np.float32)

    def agents():
        r = np.random.default_rng(6)
        return {"cell": r.integers(0, n_cells, n).astype(np.int32),
                "state": np.full(n, MOVING, np.uint8),
                "speed_ms": r.uniform(0.5, 1.5, n).astype(np.float32),
                "target": r.integers(-1, n_exits, n).astype(np.int16),
                "belief": np.zeros(n, np.int32),
                "known": np.full(n, 1, np.uint64),
                "known_locked": np.zeros(n, np.uint64),
                "field_row": np.zeros(n, np.int32),
                "needs_choice": r.random(n) < 0.5,
                "discovered": np.zeros(n, np.bool_),
                "choice_time_s": np.zeros(n), "choice_cell": np.zeros(n, np.int32),
                "lost_s": np.zeros(n)}

    row_of = np.arange(n_exits, dtype=np.int32)[None, :]
    params = {"bin_m": 0.4, "sight_m": 10.0, "hysteresis": 0.1, "time_s": 3.0,
              "max_distance_m": 80.0}
    results = []
    for serial_below, order in ((10**9, None), (0, None), (0, rng.permutation(n))):
        monkeypatch.setattr(choice, "SERIAL_BELOW", serial_below)
        a = agents()
        changed = choice.choose_exits(a, fields, row_of, np.ones(n_exits), params, order)
        results.append((changed, a))
    assert results[0][0] > 0
    for changed, a in results[1:]:
        assert changed == results[0][0]
        for key in ("target", "field_row", "known", "needs_choice"):
            np.testing.assert_array_equal(a[key], results[0][1][key], err_msg=key)
    with pytest.raises(ValueError, match="width"):  # cells to mark, but no grid width
        choice.choose_exits(agents(), fields, row_of, np.ones(n_exits), params,
                            stamp=np.zeros(n_cells, np.int32))


def test_step_random_numbers_are_uniform_reproducible_and_thread_independent(monkeypatch):
    a = streams.fill_uniform(streams.step_key(7, 3), np.empty((4, 50_000), np.float32)).copy()
    # Each number as a kernel draws it, where it needs it, is the one in the array.
    for row, agent in [(0, 0), (1, 17), (2, 49_999), (3, 31_337), (streams.ROW_TELL, 5)]:
        assert streams.uniform(streams.step_key(7, 3), row, agent, 50_000) == a[row, agent]
    monkeypatch.setattr(streams, "SERIAL_BELOW", 10**9)  # the serial twin: same numbers
    b = streams.fill_uniform(streams.step_key(7, 3), np.empty((4, 50_000), np.float32))
    np.testing.assert_array_equal(a, b)
    assert a.min() >= 0.0 and a.max() < 1.0
    counts = np.histogram(a, bins=20, range=(0, 1))[0]
    expected = a.size / 20
    assert ((counts - expected) ** 2 / expected).sum() < 43.8  # chi-square, 19 dof, p = 0.001
    assert abs(np.corrcoef(a[0, :-1], a[0, 1:])[0, 1]) < 0.02  # neighbours unrelated
    assert abs(np.corrcoef(a[0], a[1])[0, 1]) < 0.02  # rows unrelated
    other = streams.fill_uniform(streams.step_key(7, 4), np.empty((4, 50_000), np.float32))
    assert abs(np.corrcoef(a.ravel(), other.ravel())[0, 1]) < 0.02  # steps unrelated


@pytest.mark.parametrize("serial_below", [10**9, 0], ids=["serial", "parallel"])
def test_census_over_the_visiting_order_counts_as_over_everyone(monkeypatch, serial_below):
    from sim.kernels import movement

    monkeypatch.setattr(movement, "SERIAL_BELOW", serial_below)
    rng = np.random.default_rng(3)
    n_occ, n_actors = 5_000, 40
    state = rng.integers(0, 5, n_occ + n_actors).astype(np.uint8)  # all five states
    # The order: everyone not out, some who are out (out since it was built), the actors.
    out = np.flatnonzero(state[:n_occ] == EVACUATED)
    order = np.concatenate([np.flatnonzero(state[:n_occ] != EVACUATED),
                            rng.choice(out, out.size // 3, replace=False),
                            np.arange(n_occ, n_occ + n_actors)])
    rng.shuffle(order)
    expected = movement.census(state, n_occ)
    assert movement.census_of(state, order.astype(np.int64), n_occ) == expected
    assert expected[1] == out.size and expected[0] > 0
    # With the movement step's count by thread and exit: summed over threads in the same call
    # (an exit the count has no column for gets 0).
    by_thread = rng.integers(0, 50, (3, 4))
    totals = np.full(5, -1, dtype=np.int64)
    assert movement.census_of(state, order.astype(np.int64), n_occ, by_thread, totals) == \
        (*expected, int(by_thread.sum()))
    np.testing.assert_array_equal(totals, [*by_thread.sum(axis=0), 0])


@pytest.mark.parametrize("seed", range(8))
def test_settled_choices_give_the_results_of_choosing_afresh_step_after_step(seed):
    """The crowded world for 200 steps: half head for the exits, half for the west wall, where
    they jam (and meet those heading east: swaps). A stair link leads from the west end to a
    cell near the exits, which frees up as people leave. With choices settled in the jam
    taken as they were (``settle_after`` -1) the world is the same at every step as with
    every choice made afresh (``NEVER_SETTLE``), and choices were in fact skipped; so they
    were at steps whose moves were not marked round (fewer settled than half the claims:
    ``settle_floor``), whose settled choices were then made afresh."""
    from sim.kernels.movement import NEVER_SETTLE

    worlds = []
    for settle in (True, False):
        agents, grid, fields, _, params = crowded_world(seed, 36)
        w = grid["width"]
        a, b = 3 * w + 1, 4 * w + 8  # west end of the middle row -> near the exits
        grid["link_ptr"] = np.concatenate([np.zeros(a + 1, np.int32),
                                           np.ones(len(grid["occ"]) - a, np.int32)])
        grid["link_to"] = np.array([b], np.int32)
        grid["link_len_m"] = np.array([0.8])
        scratch = make_scratch(len(agents["cell"]), len(grid["occ"]))
        skipped, unmarked, states = 0, 0, []
        for t in range(200):
            stamp = grid.get("stamp", np.full(len(grid["occ"]), -1))
            skipped += int(np.count_nonzero((agents["state"] == MOVING) & (
                scratch["settled_at"] > stamp[np.maximum(agents["cell"], 0)]) & (
                scratch["settled_at"] > scratch["settle_floor"][0])))
            step_movement(agents, grid, fields, streams.step_key(seed, t),
                          {**params, "time_s": t * params["dt_s"], "clock": t,
                           "settle_after": -1 if settle else NEVER_SETTLE}, scratch)
            unmarked += int(scratch["settle_floor"][0] == t)
            states.append((agents["cell"].copy(), agents["credit_m"].copy(),
                           grid["free_at_s"].copy(), scratch["blocked"].copy()))
        worlds.append((states, skipped, unmarked))
    (settled, skipped, unmarked), (fresh, _, never) = worlds
    for t, (x, y) in enumerate(zip(settled, fresh)):
        for name, u, v in zip(("cell", "credit_m", "free_at_s", "blocked"), x, y):
            np.testing.assert_array_equal(u, v, err_msg=f"{name} after step {t}")
    assert skipped > 100
    assert unmarked > 0 and never == 0


def _queue_count(agents, fields, n_exits, bin_m, n_bins):
    """Exit choice's queue histogram (cumulated) counted afresh over every agent."""
    from sim.kernels import choice

    n = len(agents["cell"])
    none64, none32 = np.zeros(0, np.int64), np.zeros(0, np.int32)
    return choice._count_ahead_serial(
        np.arange(n, dtype=np.int64), agents["cell"], agents["state"], agents["target"],
        agents["field_row"], np.zeros(n, np.bool_), fields, n_exits, bin_m, n_bins, 1,
        np.empty(n, np.int64), np.empty(1, np.int64), none64, none32,
        np.zeros((0, 0), np.int64), none32)


@pytest.mark.parametrize("kernels", ["serial", "parallel"])
@pytest.mark.parametrize("seed", range(6))
def test_the_kept_queue_histogram_follows_moves_swaps_and_exits(seed, kernels, monkeypatch):
    """The movement step keeps exit choice's queue histogram (scratch['live']) up to date as
    occupants move, swap head on and go out: after every step it is the count made afresh.
    Half the crowd heads east, half west (swaps happen); some head nowhere (not counted)."""
    from sim.kernels import choice, movement

    if kernels == "parallel":
        monkeypatch.setattr(movement, "SERIAL_BELOW", 0)
    agents, grid, fields, randoms, params = crowded_world(seed, 30)
    n = len(agents["cell"])
    agents["target"] = agents["field_row"].astype(np.int16)  # exit e follows row e
    agents["target"][::7] = -1
    bin_m, n_bins, n_exits = 0.4, 12, 2  # (a few far occupants share the last bin)
    # (Left over from an earlier count: the count made afresh replaces every row.)
    live = {"hist": np.full((numba.config.NUMBA_NUM_THREADS, n_exits * (n_bins + 1)), 7,
                            np.int64), "slot": np.full(n, -1, np.int32)}
    first = choice._count_ahead_serial(
        np.arange(n, dtype=np.int64), agents["cell"], agents["state"], agents["target"],
        agents["field_row"], np.zeros(n, np.bool_), fields, n_exits, bin_m, n_bins, 1,
        np.empty(n, np.int64), np.empty(1, np.int64), np.zeros(0, np.int64),
        np.zeros(0, np.int32), live["hist"], live["slot"])
    live.update(valid=True, bin_m=bin_m, n_bins=n_bins)
    assert (live["slot"] >= 0).sum() == n - len(range(0, n, 7))
    scratch = make_scratch(n, len(grid["occ"]))
    scratch["live"] = live
    swaps = gone = 0
    for step in range(40):
        before = agents["cell"].copy()
        params = {**params, "time_s": step * params["dt_s"]}
        step_movement(agents, grid, fields, streams.step_key(seed, step), params, scratch)
        after = agents["cell"]
        moved_to = {int(c): i for i, c in enumerate(before)}
        swaps += sum(1 for i in range(n) if after[i] >= 0 and after[i] != before[i] and
                     moved_to.get(int(after[i])) is not None and
                     after[moved_to[int(after[i])]] == before[i])
        gone = int((agents["state"] == EVACUATED).sum())
        kept = choice._cum_of(live["hist"], n_exits, n_bins)
        np.testing.assert_array_equal(kept, _queue_count(agents, fields, n_exits, bin_m,
                                                         n_bins), err_msg=f"step {step}")
    assert not np.array_equal(kept, first)  # (people moved and left)
    assert gone > 0
    assert swaps > 0, "no head-on swap in the crowd: the test needs one"
