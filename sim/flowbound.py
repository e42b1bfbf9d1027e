"""A network-flow lower bound on the evacuation time, in the spirit of EVACNET.

Two things no evacuation in this model can beat: an occupant cannot reach exit *e* before its
pre-movement time plus the free-walking time along its shortest route (``start_s +
S_e(cell)/v``), and exit *e* cannot pass more than its capacity, ``c_e = J_max × width`` persons
per second, plus the people standing in its cells at the start. The smallest
horizon *T* for which a time-expanded flow can move everyone from their arrival
times, through exit queues that only move forward in time, to the outside within the exits'
capacities is therefore a lower bound (2 s steps; arrival times are rounded down): it is what the building would give with perfect
knowledge, perfect exit choice and no congestion except at the exits. How far a simulated time
lies above it is what congestion inside the building and behaviour cost.

Not constrained (so the bound stays a floor): internal doors, stairs and corridors. networkx
solves the flows; occupants with the same arrival times are grouped.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np


def exit_windows(model) -> list[tuple[float, float]]:
    """(open_from_s, open_until_s) of each exit over the run, from its start state and the
    scenario's timed lock/unlock changes."""
    b, sc = model.building, model.scenario
    windows = []
    for e in b.exits:
        locked = bool(model.locked_at_start[e.index])
        start, end = (math.inf, math.inf) if locked else (0.0, math.inf)
        for ch in sc.changes:
            if ch.target != e.name:
                continue
            if ch.action == "unlock" and locked:
                start, locked = ch.time_s, False
            elif ch.action == "lock" and not locked:
                end, locked = ch.time_s, True
        windows.append((start, end))
    return windows


def arrival_times(model) -> np.ndarray:
    """(n_occupants, n_exits): the earliest time each occupant could reach each exit."""
    n = model.n_occupants
    a = {k: v[:n] for k, v in model.agents_state.items()}
    # Occupants who cannot walk are left out (a bound on fewer people is still a bound); an
    # alarm the drill raises later is taken as raised at once; and where a drill sweeps rooms
    # (hurrying people out before their pre-movement time is up) nobody waits at all.
    inside = (a["cell"] >= 0) & ~model.needs_assist
    cells = a["cell"][inside]
    start = np.where(np.isfinite(a["start_s"]), a["start_s"], a["premove_s"])[inside]
    if any(x.action == "sweep" for x in model.scenario.drill.actions):
        start = np.zeros_like(start)
    # Fields of belief 0 treat every door as usable: the shortest routes in the building.
    dist = model.fields[model.row_of[0]][:, cells].T.astype(float)  # (n, exits)
    t = start[:, None] + dist / a["speed_ms"][inside][:, None].astype(float)
    return t


def evacuation_lower_bound(model, step_s: float = 2.0) -> float | None:
    """Lower bound (s) on the time the last occupant is out; None if some cannot get out."""
    t = arrival_times(model)
    n = t.shape[0]
    if n == 0:
        return 0.0
    b = model.building
    windows = exit_windows(model)
    caps = [float(c) for c in model.capacity_ps]
    cells = [len(e.cells) for e in b.exits]
    for k, (start, end) in enumerate(windows):
        usable = (t[:, k] <= end)
        t[:, k] = np.where(usable, np.maximum(t[:, k], start), np.inf)
    if not np.all(np.isfinite(t).any(axis=1)):
        return None
    bins = np.floor(t / step_s)
    groups: dict[tuple, int] = {}
    for row in bins:
        key = tuple(int(v) if np.isfinite(v) else -1 for v in row)
        groups[key] = groups.get(key, 0) + 1

    def feasible(horizon: int) -> bool:
        g = nx.DiGraph()
        for gi, (key, count) in enumerate(groups.items()):
            g.add_edge("source", ("g", gi), capacity=count)
            for e, tb in enumerate(key):
                if 0 <= tb <= horizon:
                    g.add_edge(("g", gi), ("e", e, tb), capacity=count)
        for e in range(len(caps)):
            start, end = windows[e]
            for tb in range(horizon + 1):
                node = ("e", e, tb)
                if tb < horizon:
                    g.add_edge(node, ("e", e, tb + 1))  # waiting in the queue: unbounded
                within = start <= (tb + 1) * step_s and tb * step_s <= end
                cap = caps[e] * step_s + (cells[e] if tb == horizon else 0.0)
                if within:
                    g.add_edge(node, "sink", capacity=cap)
        if "sink" not in g:
            return False
        value = nx.maximum_flow_value(g, "source", "sink",
                                      flow_func=nx.algorithms.flow.preflow_push)
        return value >= n - 1e-6

    # Start from what needs no flow: the latest earliest arrival, and the exits' total
    # capacity; then gallop up in small steps and bisect.
    earliest = np.where(np.isfinite(bins), bins, np.inf).min(axis=1).max()
    fluid = (n - sum(cells)) / (sum(caps) * step_s) if sum(caps) > 0 else 0.0
    lo = int(max(0.0, earliest, math.floor(fluid)))
    stride = max(2, lo // 20)
    hi = lo
    while not feasible(hi):
        lo = hi + 1
        hi += stride
        stride *= 2
        if hi > 10 ** 6:
            return None
    while lo < hi:
        mid = (lo + hi) // 2
        if feasible(mid):
            hi = mid
        else:
            lo = mid + 1
    return float(hi * step_s)
