"""Exit choice and the discovery of locked exits and doors.

Exit choice: an occupant weighs every exit it knows and has not found locked by the estimated
time to get out through it, ``S_e / v + Q_e / C_e``: ``S_e`` the walking distance (effective
metres) along its believed route, ``v`` its speed, ``Q_e`` the number of occupants heading for
that exit who are closer to it, ``C_e`` the exit's flow capacity (persons/s). It keeps its exit
unless another is better by more than the hysteresis fraction. Exits within ``sight_m`` of
walking distance become known (a stand-in for "in sight"). An occupant that knows no usable
exit follows the signs to any exit it has not found locked; one that has found every exit
locked waits at the nearest and leaves if it is unlocked. Exits an announcement told it not
to use ("leave by X") count as locked, but only as long as there is another way: one whose
every way out is locked or so ruled out tries those it was only told to avoid
(``steered``) before it waits at a locked one.

Discovery: an occupant standing next to the exit it heads for finds out whether the exit is
locked; next to a locked door on its route, that the door is locked. It then chooses again, and
tells the occupants within ``tell_radius`` cells, each of whom believes it with probability
``tell_p`` and passes it on in the same way in the next step (news of a locked exit travels
through a crowd; news of a locked door is told once, by the one who found it). The time an
occupant lost to a locked exit is estimated at re-choice as the time since it chose that exit
plus the free-walking time to its new exit from where it now stands, minus the same from
where it stood when it chose: what the detour cost, at free speed.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange

from .jit import kernel, serial_and_parallel, start_threads
from .movement import MOVING, mark_around, move_in_histogram, queue_slot
from .streams import ROW_TELL, uniform


def _count_ahead_py(order, cell, state, target, field_row, needs_choice, fields, n_exits,
                    bin_m, n_bins, n_chunks, who, n_who, bin_key, bin_of, live_hist, live_slot):
    """Histogram per exit of the distance of the occupants heading there, then cumulated.
    Occupants are visited in ``order``, in ``n_chunks`` slices with a histogram each; integer
    counts do not depend on the order or the slicing. On the way, those who choose this step
    (moving, flagged) are listed: slice ``ch`` lists ``n_who[ch]`` of them in ``who``, from
    its first position on.

    ``bin_of`` keeps each occupant's distance bin, for the cell and field row in ``bin_key``
    (``cell << 20 | row``; -1: none): an occupant who has not moved since (in a jam, most)
    needs no read of the fields, far apart in memory. The caller clears ``bin_key`` when the
    fields or the bins change; empty arrays: no cache.

    ``live_hist`` and ``live_slot`` (empty: none): the histogram to keep up to date from here
    on (:func:`choose_exits`): its row 0 gets the counts, its other rows zeros, and
    ``live_slot`` each visited occupant's slot (``target * (n_bins + 1) + bin``, -1 if not
    counted)."""
    hist = np.zeros((n_chunks, n_exits * (n_bins + 1)), dtype=np.int64)
    n = order.shape[0]
    cached = bin_key.shape[0] > 0
    live = live_slot.shape[0] > 0
    slot = np.empty(n, dtype=np.int32)
    for ch in prange(n_chunks):
        # First every occupant's slot (exit and bin), then the counts: in one loop, each
        # count waited for the field read before it (100k, one core: 14.6 -> 11.9 ns each).
        lo = ch * n // n_chunks
        m = lo
        w = lo
        for k in range(lo, (ch + 1) * n // n_chunks):
            i = order[k]
            if state[i] != MOVING:
                continue
            if needs_choice[i]:
                who[w] = i
                w += 1
            row = field_row[i]
            if target[i] < 0 or row < 0:
                if live:
                    live_slot[i] = -1
                continue
            c = cell[i]
            key = (np.int64(c) << 20) | row
            if cached and bin_key[i] == key:
                b = bin_of[i]
            else:
                d = fields[row, c]
                b = int(d / bin_m)
                if b > n_bins:
                    b = n_bins
                if cached:
                    bin_key[i] = key
                    bin_of[i] = b
            slot[m] = target[i] * (n_bins + 1) + b
            if live:
                live_slot[i] = slot[m]
            m += 1
        for k in range(lo, m):
            hist[ch, slot[k]] += 1
        n_who[ch] = w - lo
    if live:  # (the chunks' counts summed, row by row: integers, exact in any order)
        for k in range(hist.shape[1]):
            live_hist[0, k] = hist[0, k]
        for ch in range(1, n_chunks):
            for k in range(hist.shape[1]):
                live_hist[0, k] += hist[ch, k]
        for r in range(1, live_hist.shape[0]):
            for k in range(live_hist.shape[1]):
                live_hist[r, k] = 0
    return _cumulated(hist, n_exits, n_bins)


_count_ahead, _count_ahead_serial = serial_and_parallel(_count_ahead_py)
SERIAL_BELOW = 4_000  # occupants


def _list_choosers_py(order, state, needs_choice, n_chunks, who, n_who):
    """Those who choose this step (moving, flagged), listed as :func:`_count_ahead_py` lists
    them: slice ``ch`` of ``order`` lists ``n_who[ch]`` from its first position on."""
    n = order.shape[0]
    for ch in prange(n_chunks):
        lo = ch * n // n_chunks
        w = lo
        for k in range(lo, (ch + 1) * n // n_chunks):
            i = order[k]
            if needs_choice[i] and state[i] == MOVING:
                who[w] = i
                w += 1
        n_who[ch] = w - lo


_list_choosers, _list_choosers_serial = serial_and_parallel(_list_choosers_py)


@kernel
def _cumulated(hist, n_exits, n_bins):
    """``cum[e, b]``: the number counted in ``hist`` heading to exit ``e`` in bins below ``b``,
    summed over the rows of ``hist`` (n_rows, n_exits * (n_bins + 1)). Row by row, each read
    in order: summing each slot over the rows first (reads a row apart) took 2-3 times as
    long (8 exits and 60-700 bins: 4.5-28 against 2.6-9.6 us)."""
    w = n_bins + 1
    cum = np.zeros((n_exits, n_bins + 2), dtype=np.int64)
    for r in range(hist.shape[0]):
        for e in range(n_exits):
            run = 0
            for b in range(w):
                run += hist[r, e * w + b]
                cum[e, b + 1] += run
    return cum


@kernel
def _cum_of(live_hist, n_exits, n_bins):
    """The cumulated histogram (as :func:`_count_ahead_py` returns it) from the kept one: the
    sum of its rows (a row per thread; a row's counts may be negative, their sum is not)."""
    return _cumulated(live_hist, n_exits, n_bins)


def _choose_py(who, n_who, n, cell, speed_ms, target, belief, known, known_locked, steered,
               field_row,
               needs_choice, discovered, choice_time_s, choice_cell, lost_s, fields, row_of,
               exit_dist, capacity_ps, cum, bin_m, n_bins, sight_m, hysteresis, time_s,
               n_exits, stamp, width, clock, live_hist, live_slot):
    # Those who choose, as listed by _count_ahead (slice ``ch`` of ``n`` visited: ``n_who[ch]``
    # of them from its first position). Each writes only its own slots: neither the order nor
    # the threads change anything. The distances to every exit are read from ``exit_dist``
    # (belief, cell, exit): one cache line, where the fields' rows would cost one each.
    for e in range(n_exits):  # (checked here: as a NumPy expression it cost 5 us a step)
        if not capacity_ps[e] > 0.0:
            raise ValueError("capacity_ps must be positive, one per exit")
    n_chunks = n_who.shape[0]
    n_changed = 0
    live = live_slot.shape[0] > 0
    # The choosers' rows of distances, chunk ``ch``'s from row ``first[ch]`` on: allocated
    # once, not in the loop (``benchmarks/refcounts.py`` checks that no loop calls Numba's
    # runtime).
    first = np.zeros(n_chunks + 1, dtype=np.int64)
    for ch in range(n_chunks):
        first[ch + 1] = first[ch] + n_who[ch]
    dist = np.empty((first[n_chunks], n_exits), dtype=exit_dist.dtype)
    for ch in prange(n_chunks):
        lo = ch * n // n_chunks
        cnt = n_who[ch]
        t = numba.get_thread_id()  # (the row of the kept histogram this chunk writes)
        row0 = first[ch]
        # First every chooser's row of distances, in a loop of loads only: the rows lie far
        # apart (a cache miss each), and so their misses overlap (about a tenth off the kernel
        # at the temple fair).
        for q in range(cnt):
            i = who[lo + q]
            c = cell[i]
            b_i = belief[i]
            for e in range(n_exits):
                dist[row0 + q, e] = exit_dist[b_i, c, e]
        changed = 0
        for q in range(cnt):
            i = who[lo + q]
            c = cell[i]
            v = speed_ms[i]
            b_i = belief[i]
            # Exits in sight become known. (The masks are kept in locals: the compiler cannot
            # tell that the writes to ``known`` leave the other arrays alone.)
            kn = known[i]
            for e in range(n_exits):
                if dist[row0 + q, e] <= sight_m:
                    kn |= np.uint64(1) << np.uint64(e)
            known[i] = kn
            kl = known_locked[i]
            real = kl & ~steered[i]  # (known to be locked, not only to be kept away from)
            tgt = target[i]
            best = -1
            best_t = np.inf
            current_t = np.inf
            for attempt in range(4):
                for e in range(n_exits):
                    bit = np.uint64(1) << np.uint64(e)
                    if attempt < 2 and kl & bit:
                        continue
                    if attempt == 2 and real & bit:
                        continue
                    if attempt == 0 and not (kn & bit):
                        continue
                    d = dist[row0 + q, e]
                    if not np.isfinite(d):
                        continue
                    b = int(d / bin_m)
                    if b > n_bins:
                        b = n_bins
                    ahead = cum[e, b]  # bins below this occupant's: never counts itself
                    est = d / v + ahead / capacity_ps[e]
                    if e == tgt:
                        current_t = est
                    if est < best_t:
                        best_t = est
                        best = e
                if best >= 0:
                    break
            new = tgt
            avoid = kl if attempt < 2 else real
            if attempt == 3:
                new = best  # nowhere else to go: wait at the nearest exit, even a locked one
            elif new < 0 or (avoid >> np.uint64(new)) & np.uint64(1) or \
                    not np.isfinite(current_t):
                new = best
            elif best >= 0 and best_t < (1.0 - hysteresis) * current_t:
                new = best
            if discovered[i] and new >= 0:
                row_new = row_of[b_i, new]
                lost = (time_s - choice_time_s[i]) + (fields[row_new, c]
                                                       - fields[row_new, choice_cell[i]]) / v
                if np.isfinite(lost) and lost > 0.0:
                    lost_s[i] += lost
            if new != tgt or discovered[i]:
                choice_time_s[i] = time_s
                choice_cell[i] = c
            if new != tgt:
                changed += 1
            target[i] = new
            row_now = row_of[b_i, new] if new >= 0 else -1
            if row_now != field_row[i] and stamp.shape[0] > 0:
                # (Its neighbours' choice of cell may change: a neighbour heading elsewhere
                # can be a swap partner. See the movement step's ``stamp``.)
                mark_around(stamp, c, width, clock)
            field_row[i] = row_now
            if live:  # (counted as the histogram pass would count it)
                slot_now = -1
                if new >= 0 and row_now >= 0:
                    slot_now = queue_slot(new, dist[row0 + q, new], bin_m, n_bins)
                move_in_histogram(live_hist, live_slot, i, slot_now, t)
            needs_choice[i] = False
            discovered[i] = False
        n_changed += changed
    return n_changed


_choose, _choose_serial = serial_and_parallel(_choose_py)


def exit_distances(fields, row_of) -> np.ndarray:
    """The exits' fields by belief, cell and exit (``out[b, c, e] = fields[row_of[b, e], c]``):
    exit choice reads all of a cell's exits at once. Rebuild it whenever those rows change."""
    out = np.empty((row_of.shape[0], fields.shape[1], row_of.shape[1]), dtype=fields.dtype)
    for b in range(row_of.shape[0]):
        out[b] = fields[row_of[b]].T
    return out


_NO_STAMP = np.zeros(0, dtype=np.int32)
_NO_KEYS = np.zeros(0, dtype=np.int64)
_NO_BINS = np.zeros(0, dtype=np.int32)
_NO_HIST = np.zeros((0, 0), dtype=np.int64)


def choose_exits(agents, fields, row_of, capacity_ps, params, order=None, exit_dist=None,
                 stamp=None, bins=None, live=None):
    """Re-choose the exit of every moving occupant flagged in ``agents['needs_choice']``.

    ``agents`` holds per-occupant arrays (``cell``, ``state``, ``speed_ms``, ``target`` int16,
    ``belief`` int32, ``known`` and ``known_locked`` uint64 exit bitmasks (optionally
    ``steered``, uint64: the exits among ``known_locked`` that the occupant only keeps away
    from, told to leave by another; zeros if missing), ``field_row``,
    ``needs_choice`` and ``discovered`` bool, ``choice_time_s``, ``choice_cell``, ``lost_s``);
    ``fields`` (n_rows, n_cells) float32 in effective metres; ``row_of`` (n_beliefs, n_exits)
    int32; ``capacity_ps`` (n_exits,) float64 persons/s. ``params``: ``bin_m``, ``sight_m``,
    ``hysteresis``, ``time_s``, ``max_distance_m`` (the largest finite value in ``fields``;
    larger distances share the last bin). ``order``: optionally, the occupants to visit, in
    any order, holding at least every one who is moving; the result is the same.
    ``exit_dist``: :func:`exit_distances` of ``fields`` and ``row_of``, if the caller keeps it
    (made here if not). ``stamp``: the movement step's ``grid['stamp']``, if it is kept:
    the cells round an occupant whose field row changes are marked with ``params['clock']``
    (``params['width']`` is then required: the grid's). ``bins``: optionally, (``bin_key``
    int64, ``bin_of`` int32), one slot per agent, each occupant's distance bin kept from
    step to step (``bin_key`` -1 at first; the caller sets it to -1 whenever ``fields`` or
    ``max_distance_m`` change). ``live``: optionally, a dict in which the queue histogram is
    kept from step to step instead of counted afresh (``live['valid']`` False at first): the
    histogram pass then only lists those who choose. The caller must set ``live['valid']``
    to False whenever anything but this function and :func:`~.movement.step_movement` (given
    the same dict as ``scratch['live']``) changes an occupant's state, cell, exit or field
    row, or the fields or ``max_distance_m`` change. Returns the number of occupants whose
    exit changed.
    """
    start_threads()  # (the kernels call get_thread_id())
    a = agents
    n_exits = row_of.shape[1]
    if capacity_ps.shape != (n_exits,):  # (and positive: checked in the kernel)
        raise ValueError("capacity_ps must be positive, one per exit")
    if n_exits > 64:
        raise ValueError(f"at most 64 exits are supported, got {n_exits}")
    if stamp is not None and int(params.get("width", 0)) <= 0:
        raise ValueError("marking cells in stamp needs params['width'], the grid's width")
    max_d = float(params["max_distance_m"])
    bin_m = float(params["bin_m"])
    n_bins = int(math.ceil(max_d / bin_m)) + 1
    n = a["cell"].shape[0]
    if order is None:
        order = np.arange(n, dtype=np.int64)
    serial = order.shape[0] < SERIAL_BELOW
    count = _count_ahead_serial if serial else _count_ahead
    if bins is not None and fields.shape[0] >= 1 << 20:  # (the key holds the row in 20 bits)
        bins = None
    who = np.empty(order.shape[0], dtype=np.int64)
    n_who = np.empty(1 if serial else numba.get_num_threads(), dtype=np.int64)
    live_hist, live_slot = _NO_HIST, _NO_BINS
    kept = False
    if live is not None:
        shape = (numba.config.NUMBA_NUM_THREADS, n_exits * (n_bins + 1))
        kept = bool(live.get("valid")) and live["hist"].shape == shape and \
            live["bin_m"] == bin_m
        if not kept:  # counted afresh below, into these
            if live.get("hist") is None or live["hist"].shape != shape:
                live["hist"] = np.zeros(shape, dtype=np.int64)
            if live.get("slot") is None or live["slot"].shape[0] != n:
                live["slot"] = np.empty(n, dtype=np.int32)
            live["slot"].fill(-1)  # (those not visited are out: counted nowhere)
            live.update(bin_m=bin_m, n_bins=n_bins, valid=True)
        live_hist, live_slot = live["hist"], live["slot"]
    if kept:
        # Kept up to date since it was counted: only those who choose are listed.
        (_list_choosers_serial if serial else _list_choosers)(
            order, a["state"], a["needs_choice"], n_who.shape[0], who, n_who)
        cum = _cum_of(live_hist, n_exits, n_bins)
    else:
        cum = count(order, a["cell"], a["state"], a["target"], a["field_row"],
                    a["needs_choice"], fields, n_exits, bin_m, n_bins, n_who.shape[0], who,
                    n_who, *((_NO_KEYS, _NO_BINS) if bins is None else bins), live_hist,
                    live_slot)
    if exit_dist is None:
        exit_dist = exit_distances(fields, row_of)
    steered = a["steered"] if "steered" in a else np.zeros(n, dtype=np.uint64)
    choose = _choose_serial if serial else _choose
    return choose(who, n_who, order.shape[0], a["cell"], a["speed_ms"], a["target"],
                  a["belief"], a["known"], a["known_locked"], steered, a["field_row"],
                  a["needs_choice"], a["discovered"], a["choice_time_s"], a["choice_cell"],
                  a["lost_s"], fields, row_of, exit_dist, capacity_ps, cum, bin_m, n_bins,
                  float(params["sight_m"]),
                  float(params["hysteresis"]), float(params["time_s"]), n_exits,
                  _NO_STAMP if stamp is None else stamp, int(params.get("width", 0)),
                  int(params.get("clock", 0)), live_hist, live_slot)


@kernel
def _discover(cell, state, target, field_row, belief_doors, known_locked, steered, needs_choice,
              discovered, informant, informant_next, fields, adj_exit_mask, exit_locked,
              adj_door_cell, door_of_cell, door_locked, occ, key, width, tell_radius,
              tell_p, events_agent, events_exit, events_door, told_count):
    """Find occupants next to a locked exit (or door) on their route; they tell neighbours,
    who pass the news on in the next step (``informant``)."""
    n = cell.shape[0]
    n_events = 0
    n_told = 0
    for i in range(n):
        informant_next[i] = -1
    for i in range(n):
        if state[i] != MOVING:
            continue
        c = cell[i]
        relay = informant[i]
        informant[i] = -1
        if target[i] < 0 and relay < 0:
            continue
        e = target[i]
        found_exit = -1
        found_door = -1
        if e >= 0 and (adj_exit_mask[c] & (np.uint64(1) << np.uint64(e))) and exit_locked[e] \
                and not (known_locked[i] & ~steered[i] & (np.uint64(1) << np.uint64(e))):
            found_exit = e
        elif relay >= 0:
            e = relay
        elif e >= 0:
            dc = adj_door_cell[c]
            if dc >= 0:
                d = door_of_cell[dc]
                dbit = np.uint64(1) << np.uint64(d)
                if door_locked[d] and not (belief_doors[i] & dbit) and \
                        fields[field_row[i], dc] < fields[field_row[i], c]:
                    found_door = d
        if found_exit < 0 and found_door < 0 and relay < 0:
            continue
        bit = np.uint64(1) << np.uint64(e)
        if found_exit >= 0 or found_door >= 0:
            if n_events < events_agent.shape[0]:
                events_agent[n_events] = i
                events_exit[n_events] = found_exit
                events_door[n_events] = found_door
                n_events += 1
        if found_exit >= 0:
            known_locked[i] |= bit
            steered[i] &= ~bit
            needs_choice[i] = True
            discovered[i] = True
        tell_exit = found_door < 0
        # Tell the neighbours (doors: the model updates their beliefs from the event list).
        r = tell_radius
        for dr in range(-r, r + 1):
            for dcol in range(-r, r + 1):
                if dr * dr + dcol * dcol > r * r:
                    continue
                j = c + dr * width + dcol
                if j < 0 or j >= occ.shape[0]:
                    continue
                k = occ[j]
                if k < 0 or k == i or state[k] != MOVING:
                    continue
                if uniform(key, ROW_TELL, k, n) >= tell_p:
                    continue
                if tell_exit:
                    if not (known_locked[k] & bit):
                        known_locked[k] |= bit
                        needs_choice[k] = True
                        discovered[k] = discovered[k] or target[k] == e
                        informant_next[k] = e
                        n_told += 1
                    else:
                        # Already keeping away from it (told to): now it knows why. As
                        # before, news stops at those who already avoid the exit.
                        steered[k] &= ~bit
                elif n_events < events_agent.shape[0]:
                    events_agent[n_events] = k
                    events_exit[n_events] = -1
                    events_door[n_events] = found_door
                    n_events += 1
                    n_told += 1
    for i in range(n):
        informant[i] = informant_next[i]
    told_count[0] = n_told
    return n_events


def discover_locked(agents, grid, fields, key, params, events):
    """Detect discoveries of locked exits and doors this step.

    Returns ``(n_events, n_told)``; ``events`` holds preallocated int32/int16 arrays
    ``agent``, ``exit`` and ``door`` (the first ``n_events`` entries are filled: exit
    discoveries with ``door == -1``, door discoveries and door news with ``exit == -1``).
    Exit knowledge is updated in place; door beliefs are left to the caller, who owns the
    fields for each belief. ``key``: the step's random key (whether a neighbour believes the
    news is row ``ROW_TELL`` of its numbers).
    """
    a, g = agents, grid
    told = np.zeros(1, dtype=np.int64)
    steered = a["steered"] if "steered" in a else np.zeros(a["cell"].shape[0], np.uint64)
    n_events = _discover(a["cell"], a["state"], a["target"], a["field_row"], a["belief_doors"],
                         a["known_locked"], steered, a["needs_choice"], a["discovered"],
                         a["informant"], a["informant_next"], fields,
                         g["adj_exit_mask"], g["exit_locked"], g["adj_door_cell"],
                         g["door_of_cell"], g["door_locked"], g["occ"], np.uint64(key), g["width"],
                         int(params["tell_radius"]), float(params["tell_p"]),
                         events["agent"], events["exit"], events["door"], told)
    return n_events, int(told[0])
