"""Movement of occupants: a parallel-update floor-field cellular automaton.

The rules (documented for users in README.md, "The model"):

* **Choice of cell** (Kirchner & Schadschneider 2002): an occupant in cell ``i`` picks a
  neighbour ``j`` (Moore neighbourhood, plus stair links, plus staying put) with probability
  ``p_j ∝ exp(k_S (S_i - S_j)/L_ij + k_D D_j)`` over the cells that are free: not occupied at
  the start of the step, passable, not a diagonal that cuts a wall corner, and not entered by
  somebody else less than the cell's *headway* ago. Unlike the classic rule, the static-field
  gain is divided by the step length ``L_ij`` (the field's slope along the move): with the
  plain difference a diagonal step in a corridor gains as much as a straight one, and occupants
  drift sideways a third of the time.
* **Individual speeds**: every occupant banks ``v dt`` metres of walking per step and moves
  when the bank covers the move's cost. A move of length ``L`` into a cell with speed factor
  ``f`` costs ``L/f``; a move that gains ``ΔS > 0`` along the occupant's route is charged
  ``max(ΔS, cos(22.5°) L/f)`` instead, so the zig-zag an 8-neighbour grid forces on a path
  that is not at a multiple of 45° is not paid for: free-walking speed holds in every direction.
  A blocked occupant keeps at most one move's worth in the bank.
* **Parallel update with friction** (Kirchner, Nishinari & Schadschneider 2003): all
  occupants choose at once; when several choose the same cell one of them, drawn at random,
  wins, and with probability ``mu`` none of them moves.
* **Exchanges** (head-on swaps, generalised): one who stays because the cell it wants most
  holds a neighbour heading elsewhere (following another field) proposes, with probability
  ``swap``, to trade cells with that neighbour. The trade is made if the neighbour stayed too
  (it claimed no cell), comes nearer its own goal by it (its field is lower at the proposer's
  cell than at its own) and has banked the walking the move costs it. Two who each want the
  other's cell (head on, the rule of Weng et al. 2006 in spirit) make one proposal, the
  lower-numbered one's. Of proposals that share a person, the one with the lowest draw is
  made (ties to the lower number): the trades are disjoint pairs, the same in any visiting
  order and on any number of threads. Without exchanges counter-flows lock solid; with head-on
  swaps alone, a counter-flow whose people step diagonally (in an aisle, round a corner) still
  can, for good. (Streams crossing at a right angle gain nothing from it: neither comes
  nearer its goal in the other's cell.) One who stays because a casualty (overcome by smoke)
  lies in the cell it wants most steps over them with the same probability: they exchange
  cells. Where no neighbour makes a partner, one across a stair link may (where a flight
  meets a landing): without that, one coming down a flight and one going up it in the same
  lane stood face to face for good (a fire crew climbing the tower's stair, one carrying a
  resident down).
* **Capacity**: a cell accepts a new occupant no sooner than ``headway_s`` after it accepted the
  last one. This bounds the flow through any cross-section to ``1/(headway * cell)`` persons per
  metre per second and is what makes door flow realistic (see README, "Door flow").

Random numbers are a pure function of the step's key, the row (what they decide) and the
occupant (:mod:`.streams`), computed where they are used; kernels hold no random state.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange

from .jit import inlined_kernel, kernel, serial_and_parallel, start_threads
from .streams import ROW_CHOICE, ROW_CONFLICT, ROW_FRICTION, uniform

WAITING = np.uint8(0)
MOVING = np.uint8(1)
EVACUATED = np.uint8(2)
CASUALTY = np.uint8(3)
CARRIED = np.uint8(4)  # being carried out by an actor (cell -1, not yet out)

# cos(22.5°): the worst angle between a route and the best of 8 grid directions.
ZIGZAG_DISCOUNT = math.cos(math.pi / 8.0)

# The Moore neighbourhood in a fixed order: bit k of a cell's neighbour mask is direction k.
_DR = (-1, -1, -1, 0, 0, 1, 1, 1)
_DC = (-1, 0, 1, -1, 1, -1, 0, 1)
_DR_A = np.array(_DR, dtype=np.int64)
_DC_A = np.array(_DC, dtype=np.int64)
NO_DIRECTION = np.uint8(255)  # in a table of directions: none
NEVER_SETTLE = 2**31 - 1  # as ``settle_after``: nobody's choice is taken as settled

_LOG2E = 1.0 / math.log(2.0)
_LN2 = math.log(2.0)
# _POW2[k + 1022] = 2**k for k in -1022..0: the exponent part of exp below.
_POW2 = np.array([2.0 ** k for k in range(-1022, 1)])


@kernel
def _exp_nonpositive(x, pow2):
    """exp(x) for x <= 0 (0 below 2**-1022), to about 1e-8 relative.

    The choice weights only need their ratios. This is about as fast as libm's exp here
    (measured) but, being plain arithmetic, gives the same bits on every machine, where libm's
    exp may differ between C libraries: runs stay reproducible across installations.
    2**t = 2**k * e**(f ln 2) with k = round(t), |f| <= 1/2: a degree-7 Taylor polynomial
    (truncation error below 6e-9).
    """
    t = x * _LOG2E
    if not t >= -1022.0:  # also catches NaN
        return 0.0
    k = math.floor(t + 0.5)
    f = (t - k) * _LN2
    p = 1.0 + f * (1.0 + f * (1.0 / 2.0 + f * (1.0 / 6.0 + f * (1.0 / 24.0 + f * (
        1.0 / 120.0 + f * (1.0 / 720.0 + f * (1.0 / 5040.0)))))))
    return p * pow2[int(k) + 1022]


def neighbour_mask(passable, width: int) -> np.ndarray:
    """Per cell, a byte whose bit ``k`` says a move from it in direction ``(_DR[k], _DC[k])`` is
    allowed by the walls: the target is passable and a diagonal does not cut a wall corner.
    (The cell itself need not be passable: whoever stands in a door being locked can still
    step out.) Recompute it whenever ``passable`` changes."""
    p = np.asarray(passable).astype(bool)
    n = p.shape[0]
    mask = np.zeros(n, dtype=np.uint8)
    inner = np.arange(width + 1, n - width - 1)
    for k in range(8):
        dr, dc = _DR[k], _DC[k]
        ok = p[inner + dr * width + dc]
        if dr and dc:
            ok &= p[inner + dr * width] & p[inner + dc]
        mask[inner[ok]] |= np.uint8(1 << k)
    return mask


def _downhill_py(fields, nbr_mask, rows, width, cell_m, out, best_slope):
    # Direction by direction over every cell of a row (shifted views, as the dynamic field):
    # branch-free, so LLVM vectorises it. Per cell the comparisons come in direction order,
    # with the same arithmetic as the search in the choice of cell (which gives the very
    # neighbour the search would), so it is the table a search cell by cell gives.
    # Cells on the grid's border have no neighbour the walls allow (``nbr_mask`` 0): none.
    diag = cell_m * math.sqrt(2.0)
    n_cells = fields.shape[1]
    lo = width + 1
    hi = n_cells - width - 1
    m = nbr_mask[lo:hi]
    slope_of = best_slope[lo:hi]
    for r in rows:
        row = fields[r]
        here = row[lo:hi]
        out[r, :] = NO_DIRECTION
        best = out[r, lo:hi]
        slope_of[:] = 0.0
        for d in range(8):
            off = _DR_A[d] * width + _DC_A[d]
            inv = 1.0 / (diag if _DR_A[d] != 0 and _DC_A[d] != 0 else cell_m)
            there = row[lo + off:hi + off]
            bit = np.uint8(1 << d)
            dd = np.uint8(d)
            for c in range(hi - lo):
                sj = there[c]
                slope = (here[c] - sj) * inv
                take = ((m[c] & bit) != 0) & (sj < np.inf) & (slope > slope_of[c])
                best[c] = dd if take else best[c]
                slope_of[c] = slope if take else slope_of[c]


# Serial: at start-up and on a change of fields only (the temple fair's eight rows: 13 ms,
# 46 ms cell by cell), and a parallel kernel takes 1.4 s longer to compile on a first run.
_downhill = kernel(_downhill_py)


def downhill_directions(fields, nbr_mask, width: int, cell_m: float, rows=None, out=None):
    """Per field row and cell, the direction (0-7, as in :func:`neighbour_mask`) of the
    neighbour a move to which gains the most of that field per metre, among those the walls
    allow (``nbr_mask``) and that have a finite field; ``NO_DIRECTION`` (255) where none gains.

    This is the partner search of a head-on swap when every neighbour is occupied (in a jam,
    most of a dense crowd): then it depends only on the field and the walls, and a table read
    replaces reading eight neighbours' fields. ``rows``: recompute only these rows of ``out``
    (after those fields changed); otherwise a new table of every row. Recompute whenever
    ``fields`` or ``nbr_mask`` change, as :class:`~sim.engine.Engine` does."""
    fields = np.asarray(fields)
    if out is None:
        out = np.empty(fields.shape, dtype=np.uint8)
        rows = None
    if rows is None:
        rows = np.arange(fields.shape[0])
    rows = np.asarray(rows, dtype=np.int64)
    if rows.size:
        _downhill(fields, nbr_mask, rows, int(width), float(cell_m), out,
                  np.empty(fields.shape[1]))
    return out


def _choose_cells_py(order, cell, state, speed_ms, credit_m, field_row, fields, dyn, nbr_mask,
                     passable, occ, free_at_s, factor, link_ptr, link_to, link_len_m, key,
                     width, cell_m, dt_s, time_s, k_s, k_d, min_cost_m, pow2, cand_buf,
                     expo_buf, desired, cost_m, blocked, blocked_cost, downhill, claim_list,
                     claim_n, block_list, block_n, moved, stamp, settled_at, clock,
                     settle_after, settled_n, desired_d, blocked_d, step_over):
    # Occupants are visited in ``order``; each writes only its own slots, so the result
    # does not depend on the order or the threads. ``order`` is cut into chunks (as many as
    # ``claim_n`` has slots), visited in parallel. Each chunk lists those who claim a cell,
    # and those who may swap, in its own stretch of ``claim_list`` and ``block_list`` (where
    # its part of ``order`` is), and their numbers in ``claim_n`` and ``block_n``: the resolve
    # pass then visits only them.
    n = order.shape[0]
    n_chunks = claim_n.shape[0]
    chunk = (n + n_chunks - 1) // n_chunks
    n_agents = cell.shape[0]
    diag = cell_m * math.sqrt(2.0)
    # Per direction: cell offset, step length, k_S / length and 1 / length.
    nbr_off = np.empty(8, dtype=np.int64)
    nbr_len = np.empty(8)
    nbr_ks = np.empty(8)
    nbr_inv = np.empty(8)
    for d in range(8):
        nbr_off[d] = _DR_A[d] * width + _DC_A[d]
        nbr_len[d] = diag if _DR_A[d] != 0 and _DC_A[d] != 0 else cell_m
        nbr_ks[d] = k_s / nbr_len[d]
        nbr_inv[d] = 1.0 / nbr_len[d]
    has_links = link_to.shape[0] > 0
    for ch in prange(n_chunks):
        start = ch * chunk
        n_claims = 0
        n_blocks = 0
        n_settled = 0  # holding a settled choice after this step's: skipped or settled now
        t = numba.get_thread_id()  # (once a chunk: as a call per occupant, 6 % of the kernel)
        for k_ord in range(start, min(start + chunk, n)):
            i = order[k_ord]
            moved[i] = False
            if state[i] != MOVING or field_row[i] < 0:
                desired[i] = -1
                cost_m[i] = 0.0
                blocked[i] = -1
                settled_at[i] = -1
                continue
            c = cell[i]
            # Settled in a jam (see below) at a step after the last change to its
            # surroundings: the choice would come out as it did then, and its results are
            # still in place. Only a possible swap is listed again.
            settled = settled_at[i]
            if settled > settle_after and settled > stamp[c]:
                n_settled += 1
                if blocked[i] >= 0:
                    block_list[start + n_blocks] = i
                    n_blocks += 1
                continue
            settled_at[i] = -1
            desired[i] = -1
            cost_m[i] = 0.0
            blocked[i] = -1
            credit = credit_m[i] + speed_ms[i] * dt_s
            credit_m[i] = credit
            if credit < min_cost_m:
                continue  # cannot pay for any move yet: the choice would not matter
            row = field_row[i]
            s0 = fields[row, c]
            mask = nbr_mask[c]
            # Candidates: 8 neighbours, then links, in this thread's scratch rows (indexed in 2-D:
            # a row view per occupant would cost reference counting). A candidate is kept as its
            # direction (0-7), or 8 + its link, and its exponent.
            m = 0
            # First which neighbours are open to this occupant: unoccupied, allowed by the walls,
            # on its field and not entered less than a headway ago. In a dense crowd most have
            # none (in a jam no neighbour is even unoccupied), and the rest of the neighbours'
            # values need not be read.
            unoccupied = 0
            for d in range(8):
                unoccupied |= (1 << d) if occ[np.uint64(c + nbr_off[d])] < 0 else 0
            avail = 0
            if unoccupied & mask:
                for d in range(8):
                    ju = np.uint64(c + nbr_off[d])  # unsigned: skips Numba's negative-index check
                    ok = ((((unoccupied & mask) >> d) & 1) != 0) & (free_at_s[ju] <= time_s) & \
                        (fields[row, ju] < np.inf)
                    avail |= (1 << d) if ok else 0
            if avail:
                for d in range(8):
                    # Branch-light: every neighbour's values are read (the grid is padded, so all
                    # are in range) and a candidate is appended by advancing ``m`` only if open.
                    ju = np.uint64(c + nbr_off[d])
                    cand_buf[t, m] = d
                    expo_buf[t, m] = nbr_ks[d] * (s0 - fields[row, ju]) + k_d * dyn[ju]
                    m += (avail >> d) & 1
            if has_links:  # (most buildings have none: their pointers need not be read)
                for k in range(link_ptr[c], link_ptr[c + 1]):
                    j = link_to[k]
                    if m >= 9 or not passable[j] or occ[j] >= 0 or free_at_s[j] > time_s:
                        continue
                    sj = fields[row, j]
                    if not sj < np.inf:
                        continue
                    cand_buf[t, m] = 8 + k
                    expo_buf[t, m] = k_s * (s0 - sj) / link_len_m[k] + k_d * dyn[j]
                    m += 1
            j = -1  # with no free cell round it, staying is certain (in a jam: most of a crowd)
            step_len = 0.0
            if m > 0:
                # Staying put is an option too.
                cand_buf[t, m] = -1
                expo_buf[t, m] = k_d * dyn[c]
                m += 1
                top = expo_buf[t, 0]
                for k in range(1, m):
                    if expo_buf[t, k] > top:
                        top = expo_buf[t, k]
                total = 0.0
                for k in range(m):
                    expo_buf[t, k] = _exp_nonpositive(expo_buf[t, k] - top, pow2)
                    total += expo_buf[t, k]
                pick = uniform(key, ROW_CHOICE, i, n_agents) * total
                chosen = m - 1
                acc = 0.0
                for k in range(m):
                    acc += expo_buf[t, k]
                    if pick < acc:
                        chosen = k
                        break
                code = cand_buf[t, chosen]
                if code >= 8:
                    j = link_to[code - 8]
                    step_len = link_len_m[code - 8]
                elif code >= 0:
                    j = c + nbr_off[code]
                    step_len = nbr_len[code]
            if j < 0:
                # Nothing better than staying: keep at most one ordinary step in the bank.
                cap = diag / factor[c]
                if credit > cap:
                    credit = cap
                    credit_m[i] = cap
                # Maybe a head-on swap (decided in the resolve pass) with the occupied
                # neighbour it would most like: looked for only now, as most occupants do not
                # stay. The neighbour most downhill of all that the walls allow depends on the
                # field alone and is looked up (:func:`downhill_directions`); if it is occupied
                # (in a jam, always), it is the one. Only if it is not are the occupied ones
                # searched.
                blk = -1
                blk_slope = 0.0
                blk_len = 0.0
                dd = downhill[row, c]
                if dd < 8 and ((unoccupied >> dd) & 1) == 0:
                    blk = c + nbr_off[dd]
                    blk_len = nbr_len[dd]
                    blk_slope = (s0 - fields[row, blk]) * nbr_inv[dd]
                elif dd < 8:  # (with no neighbour downhill at all, none among the occupied either)
                    for d in range(8):
                        ju = np.uint64(c + nbr_off[d])
                        sj = fields[row, ju]
                        slope = (s0 - sj) * nbr_inv[d]
                        better = (((mask >> d) & 1) != 0) & (sj < np.inf) & (occ[ju] >= 0) & \
                            (slope > blk_slope)
                        blk = c + nbr_off[d] if better else blk
                        blk_slope = slope if better else blk_slope
                        blk_len = nbr_len[d] if better else blk_len
                # A neighbour following the same field never wants this cell back (downhill for
                # one is uphill for the other): only one heading elsewhere can be a partner. In a
                # queue that is almost nobody, and the swap pass then has nothing to look up.
                # Someone overcome by smoke there is stepped over (``step_over``: some are).
                # Where no neighbour will do, one across a stair link may (where a flight meets
                # a landing: one coming down, one going up; someone lying at the flight's end).
                if has_links and link_ptr[c] < link_ptr[c + 1] and not (blk >= 0 and (
                        field_row[occ[blk]] != row or (
                            step_over and state[occ[blk]] == CASUALTY))):
                    best = 0.0  # (the one most downhill)
                    for k in range(link_ptr[c], link_ptr[c + 1]):
                        jl = link_to[k]
                        kl = occ[jl]
                        if kl >= 0 and (field_row[kl] != row or (
                                step_over and state[kl] == CASUALTY)):
                            slope = (s0 - fields[row, jl]) / link_len_m[k]
                            if slope > best:
                                best = slope
                                blk = jl
                                blk_slope = slope
                                blk_len = link_len_m[k]
                if blk >= 0 and (field_row[occ[blk]] != row or (
                        step_over and state[occ[blk]] == CASUALTY)):
                    full_b = blk_len / factor[blk]
                    cost_b = min(max(blk_slope * blk_len, ZIGZAG_DISCOUNT * full_b), full_b)
                    if credit >= cost_b:
                        blocked[i] = blk
                        blocked_cost[i] = cost_b
                        blocked_d[i] = fields[row, blk]  # (for the queue histogram, if kept)
                        block_list[start + n_blocks] = i
                        n_blocks += 1
                # Settled: every neighbour the walls allow is occupied, no stair link leads
                # away, and the bank is full. Until a neighbouring cell changes hands or a
                # neighbour changes its field (marked in ``stamp``), or the fields, walls or
                # speeds change (``settle_after``), the choice comes out the same: staying, with
                # this swap partner or none, and the bank full again.
                if (unoccupied & mask) == 0 and credit == cap and \
                        (not has_links or link_ptr[c] == link_ptr[c + 1]) and \
                        settle_after < NEVER_SETTLE:
                    settled_at[i] = clock
                    n_settled += 1
                continue
            full = step_len / factor[j]
            gain = s0 - fields[row, j]
            cost = full
            if gain > 0.0:
                cost = max(gain, ZIGZAG_DISCOUNT * full)
                if cost > full:
                    cost = full
            cost_m[i] = cost
            if credit >= cost:
                desired[i] = j
                desired_d[i] = fields[row, j]  # (for the queue histogram, if kept)
                claim_list[start + n_claims] = i
                n_claims += 1
        claim_n[ch] = n_claims
        block_n[ch] = n_blocks
        settled_n[ch] = n_settled


_choose_cells, _choose_cells_serial = serial_and_parallel(_choose_cells_py)
SERIAL_BELOW = 4_000  # occupants: below this, starting threads costs more than it saves
CHUNKS_PER_THREAD = 8  # in the choice of cell (any number gives the same results)


# Helpers that the kernels call in their loops and pass arrays to have no branches and no
# loops. Numba counts the references to an array passed to a function; where the function
# branches or loops it does not prune that counting, and every call then makes an atomic
# increment and decrement (``lock inc``/``lock dec``): each waits for every memory access in
# flight, and two threads contend for the array's count. In the resolve pass, with the queue
# histogram's update written with branches, that was a third of the pass (10k occupants,
# one core: 174 against 111 us; 100k: 3.4 against 2.3 ms). See ``jit.inlined_kernel``.


@kernel
def mark_around(stamp, c, width, clock):
    """Record in ``stamp`` that cell ``c`` changed at step ``clock``: in ``c`` and its eight
    neighbours, so that an occupant checks only its own cell. (Two threads may mark one
    cell, with the same value.) ``c`` must not be on the grid's border, which no occupant's
    cell is: the grid is padded; ``stamp`` must not be empty (the callers check)."""
    up = c - width
    down = c + width
    stamp[up - 1] = clock
    stamp[up] = clock
    stamp[up + 1] = clock
    stamp[c - 1] = clock
    stamp[c] = clock
    stamp[c + 1] = clock
    stamp[down - 1] = clock
    stamp[down] = clock
    stamp[down + 1] = clock


@kernel
def take_cell(occ, cell, credit_m, dyn, free_at_s, headway_s, i, b, cost, time_s):
    """Occupant ``i`` takes cell ``b`` and whoever is in it takes ``i``'s cell (an exchange,
    or a casualty stepped over): ``i`` pays ``cost``, leaves a trace in its old cell and
    enters ``b`` (its free-at time). Returns (the other occupant, ``i``'s old cell). The
    exchange adds what its partner pays and enters. (No branches or loops: see above.)"""
    k = occ[b]
    ci = cell[i]
    occ[ci] = k
    occ[b] = i
    cell[i] = b
    cell[k] = ci
    credit_m[i] -= cost
    dyn[ci] += 1.0
    free_at_s[b] = time_s + headway_s[b]
    return k, ci


@inlined_kernel
def queue_slot(target, distance_m, bin_m, n_bins):
    """The slot of exit choice's queue histogram an occupant heading for exit ``target`` at
    ``distance_m`` from it is counted in (as :func:`~.choice._count_ahead_py` counts)."""
    b = int(distance_m / bin_m)
    if b > n_bins:
        b = n_bins
    return target * (n_bins + 1) + b


@kernel
def move_in_histogram(live_hist, live_slot, i, new_slot, t):
    """Occupant ``i`` is now counted in ``new_slot`` (-1: in none) of the kept histogram:
    moved there from its old slot, in row ``t`` (the calling thread's: no two threads write
    one row). (Without a branch: a slot of -1 adds 0 to the first.)"""
    old = live_slot[i]
    live_hist[t, max(old, 0)] -= np.int64(old >= 0)
    live_hist[t, max(new_slot, 0)] += np.int64(new_slot >= 0)
    live_slot[i] = new_slot


def _resolve_py(n_visit, claim_list, claim_n, block_list, block_n, desired, credit_m, cost_m,
                key, mu, claim_count, claim_best, claim_key, cell, state, time_s, dt_s,
                exit_of_cell, occ, free_at_s, headway_s, dyn, exit_used, out_time_s, moved,
                blocked, blocked_cost, swap_p, out_by_exit, stamp, width, clock, settled_n,
                settled_total, settle_floor, desired_d, blocked_d, target, bin_m, n_bins,
                live_hist, live_slot, step_over, fields, field_row, factor, cell_m, swap_ok,
                swap_cost, link_ptr, link_to, link_len_m):
    """Decide who gets the cell it wants, move the winners, then make exchanges. Returns
    the moves made. Visits only those the choice of cell listed: the claimants and those who
    may swap, by chunk (:func:`_choose_cells_py`). In a jam that is a few in a hundred; visiting
    everyone took twice as long at the temple fair's step 2,000 (779 against 386 µs on two
    cores) and 1.6 times as long at 10,000 occupants on one core (207 against 129 µs).

    The decision uses a claim table per cell, filled in one serial pass (the table is shared):
    the highest key wins, ties to the lower index; with probability ``mu`` a contested cell
    goes to nobody; losers keep one move's worth in the bank. (Deciding in parallel, each
    occupant looking round the cell it wants for rivals, measured slower on two cores: 1.1
    against 0.73-0.86 ms at the temple fair's step 2,000, 3.9-4.2 against 2.6-3.4 ms at
    100,000 occupants.) The same pass gathers each list's chunks into one run at its start.

    Moving and swapping are safe in parallel: a winner is decided from the table alone, and
    writes only its own slots, the cell it leaves and the cell it won (no cell is left and
    entered in one step, as occupied cells are never chosen); exchanges are disjoint pairs; each
    cell's claim count is reset by the one who won the claim. The outcome does not depend on
    the order of the lists. Those who reach an exit are added up in ``out_by_exit`` (a row per
    thread, so no two threads add into one slot; its sum over rows is the same whatever the
    threads)."""
    n_agents = desired.shape[0]
    n_chunks = claim_n.shape[0]
    chunk = (n_visit + n_chunks - 1) // n_chunks  # (as in the choice of cell)
    n_cl = 0
    n_bl = 0
    n_settled = 0
    for ch in range(n_chunks):
        n_settled += settled_n[ch]
    for ch in range(n_chunks):
        start = ch * chunk
        for k in range(start, start + claim_n[ch]):
            i = claim_list[k]
            claim_list[n_cl] = i  # (n_cl <= k: gathering in place overwrites only what was read)
            n_cl += 1
            j = desired[i]
            cnt = claim_count[j]
            if cnt == 0:
                # Uncontested so far: the draw is made only if a rival comes (most claims
                # have none: 10k one core, resolve 341 -> 323 us; 100k 3.39 -> 3.02 ms).
                claim_best[j] = i
            else:
                if cnt == 1:
                    claim_key[j] = uniform(key, ROW_CONFLICT, claim_best[j], n_agents)
                u_i = uniform(key, ROW_CONFLICT, i, n_agents)
                if u_i > claim_key[j] or (u_i == claim_key[j] and i < claim_best[j]):
                    claim_best[j] = i
                    claim_key[j] = u_i
            claim_count[j] = cnt + 1
        for k in range(start, start + block_n[ch]):
            block_list[n_bl] = block_list[k]
            n_bl += 1
    # Cells that change hands are marked in ``stamp`` only while somebody holds a settled
    # choice (none in a walking crowd), and only while there are at least half as many of them
    # as claims: marking round a move costs about half a choice made afresh (100,000
    # occupants, one settled: 1.3-1.4 ms of the pass for 48,000 claims). Otherwise nothing is
    # marked and the settled choices are dropped (``settle_floor``): they are made afresh next
    # step, with the same results. One who settles later compares with later steps only.
    marking = n_settled > 0 and 2 * n_settled >= n_cl
    if n_settled > 0 and not marking:
        settle_floor[0] = clock
        n_settled = 0
    settled_total[0] = n_settled
    live = live_slot.shape[0] > 0
    n_moved = 0
    for ch in prange(n_chunks):  # (in chunks: the thread's number asked once a chunk)
        t = numba.get_thread_id()
        moved_here = 0
        for k in range(ch * n_cl // n_chunks, (ch + 1) * n_cl // n_chunks):
            i = claim_list[k]
            j = desired[i]
            if claim_best[j] != i or (
                    claim_count[j] > 1 and uniform(key, ROW_FRICTION, i, n_agents) < mu):
                if credit_m[i] > cost_m[i]:
                    credit_m[i] = cost_m[i]
                continue
            c = cell[i]
            occ[c] = -1
            dyn[c] += 1.0
            free_at_s[j] = time_s + headway_s[j]
            credit_m[i] -= cost_m[i]
            if marking:
                mark_around(stamp, c, width, clock)
            e = exit_of_cell[j]
            if e >= 0:
                state[i] = EVACUATED
                cell[i] = -1
                exit_used[i] = e
                out_time_s[i] = time_s + dt_s
                out_by_exit[t, e] += 1
                if live:
                    move_in_histogram(live_hist, live_slot, i, -1, t)
            else:
                occ[j] = i
                cell[i] = j
                if marking:
                    mark_around(stamp, j, width, clock)
                if live and live_slot[i] >= 0:
                    move_in_histogram(live_hist, live_slot, i, queue_slot(
                        target[i], desired_d[i], bin_m, n_bins), t)
            moved[i] = True
            moved_here += 1
        n_moved += moved_here
    for k in prange(n_cl):
        i = claim_list[k]
        j = desired[i]
        if claim_best[j] == i:
            claim_count[j] = 0  # reset for the next step, by the one claimant who won it
    # Exchanges (the module's docstring has the rule in words). Decided from the state after
    # the moves, in two passes that only read it (which proposals are valid, then which win
    # their neighbourhood), then made: the winners are disjoint pairs. ``swap_ok`` (0 for all
    # between steps): 1 a valid proposal, 2 a winning one.
    diag = cell_m * math.sqrt(2.0)
    has_links = link_to.shape[0] > 0
    for k_ord in prange(n_bl):
        i = block_list[k_ord]
        b = blocked[i]
        if b < 0 or moved[i] or state[i] != MOVING:
            continue
        k = occ[b]
        if k < 0 or state[k] != MOVING or moved[k] or desired[k] >= 0 or \
                uniform(key, ROW_FRICTION, i, n_agents) >= swap_p:
            continue
        ci = cell[i]
        if blocked[k] == ci:  # head on: one proposal for the pair, the lower index's
            if i < k:
                swap_ok[i] = 1
                swap_cost[i] = blocked_cost[k]
            continue
        row_k = field_row[k]
        if row_k < 0:
            continue
        gain = fields[row_k, b] - fields[row_k, ci]
        if not gain > 0.0:  # (also if its field is infinite at ci)
            continue
        step = ci - b
        length = cell_m if step == 1 or step == -1 or step == width or step == -width else diag
        if has_links:  # (across a stair link)
            for kl in range(link_ptr[b], link_ptr[b + 1]):
                if link_to[kl] == ci:
                    length = link_len_m[kl]
        full = length / factor[ci]
        cost_k = min(max(gain, ZIGZAG_DISCOUNT * full), full)
        if credit_m[k] >= cost_k:
            swap_ok[i] = 1
            swap_cost[i] = cost_k
    for k_ord in prange(n_bl):
        i = block_list[k_ord]
        if swap_ok[i] == 0:
            continue
        ci = cell[i]
        b = blocked[i]
        k = occ[b]
        u_i = uniform(key, ROW_FRICTION, i, n_agents)
        wins = True
        # Rival proposals: k's own, and others' to i or to k. Proposers stand next to whom
        # they propose to, so all of them are in the 3 x 3 blocks round ci and b, or at the
        # other end of a stair link from either.
        for centre in (ci, b):
            for dr in range(-1, 2):
                for dc in range(-1, 2):
                    j = occ[centre + dr * width + dc]
                    if j >= 0 and j != i and swap_ok[j] != 0 and \
                            _outbids(j, occ[blocked[j]], i, k, u_i, key, n_agents):
                        wins = False
            if not has_links:  # (kept apart: one loop over both was 5 % slower)
                continue
            for kl in range(link_ptr[centre], link_ptr[centre + 1]):
                j = occ[link_to[kl]]
                if j >= 0 and j != i and swap_ok[j] != 0 and \
                        _outbids(j, occ[blocked[j]], i, k, u_i, key, n_agents):
                    wins = False
        if wins:
            swap_ok[i] = 2
    for k_ord in prange(n_bl):
        i = block_list[k_ord]
        made = swap_ok[i] == 2
        swap_ok[i] = 0
        if not made:
            continue
        b = blocked[i]
        k, ci = take_cell(occ, cell, credit_m, dyn, free_at_s, headway_s, i, b,
                          blocked_cost[i], time_s)
        credit_m[k] -= swap_cost[i]  # (and k enters i's old cell)
        dyn[b] += 1.0
        free_at_s[ci] = time_s + headway_s[ci]
        if marking:
            mark_around(stamp, ci, width, clock)
            mark_around(stamp, b, width, clock)
        if live:
            t = numba.get_thread_id()
            if live_slot[i] >= 0:
                move_in_histogram(live_hist, live_slot, i, queue_slot(
                    target[i], blocked_d[i], bin_m, n_bins), t)
            if live_slot[k] >= 0:
                move_in_histogram(live_hist, live_slot, k, queue_slot(
                    target[k], fields[field_row[k], ci], bin_m, n_bins), t)
        moved[i] = True
        moved[k] = True
        n_moved += 2
    if step_over:
        n_moved += _step_over(block_list, n_bl, blocked, blocked_cost, moved, state, cell, occ,
                              credit_m, dyn, free_at_s, headway_s, time_s, key, swap_p,
                              n_agents, marking, stamp, width, clock, link_ptr, link_to)
    return n_moved


@inlined_kernel
def _outbids(j, to, i, k, u_i, key, n_agents):
    """Whether ``j``'s valid proposal (to ``to``) rivals ``i``'s to ``k`` (it is k's own, or
    made to i or to k) and wins: the lower draw, ties to the lower number."""
    if j != k and to != i and to != k:
        return False
    u_j = uniform(key, ROW_FRICTION, j, n_agents)
    return u_j < u_i or (u_j == u_i and j < i)


@kernel
def _step_over(block_list, n_bl, blocked, blocked_cost, moved, state, cell, occ, credit_m, dyn,
               free_at_s, headway_s, time_s, key, swap_p, n_agents, marking, stamp, width,
               clock, link_ptr, link_to):
    """Stepping over the overcome: one who stayed, blocked by a casualty in the cell it wants
    most (its swap partner, :func:`_choose_cells_py`), takes that cell with probability
    ``swap_p``, and the casualty is left in the cell it came from, as if stepped over. A person
    lying in a corridor does not wall it off for the living, staff and responders. Of several
    who would step over one casualty, the lowest-numbered does: decided from the state before
    any of these moves (first pass), then made (second), so the outcome does not depend on
    the order of the list. Returns the moves made (two a step over: both change cells, and
    both are marked in ``moved``)."""
    wins = np.zeros(n_bl, dtype=np.bool_)
    for k_ord in range(n_bl):
        i = block_list[k_ord]
        b = blocked[i]
        if b < 0 or moved[i] or state[i] != MOVING or occ[b] < 0 or \
                state[occ[b]] != CASUALTY or uniform(key, ROW_FRICTION, i, n_agents) >= swap_p:
            continue
        first = True
        for dr in range(-1, 2):  # a rival for the same casualty stands next to it
            for dc in range(-1, 2):
                j = occ[b + dr * width + dc]
                if 0 <= j < i and blocked[j] == b and not moved[j] and state[j] == MOVING and \
                        uniform(key, ROW_FRICTION, j, n_agents) < swap_p:
                    first = False
        for k in range(link_ptr[b], link_ptr[b + 1]):  # or at the other end of a stair link
            j = occ[link_to[k]]
            if 0 <= j < i and blocked[j] == b and not moved[j] and state[j] == MOVING and \
                    uniform(key, ROW_FRICTION, j, n_agents) < swap_p:
                first = False
        wins[k_ord] = first
    n = 0
    for k_ord in range(n_bl):
        if not wins[k_ord]:
            continue
        i = block_list[k_ord]
        b = blocked[i]
        k, ci = take_cell(occ, cell, credit_m, dyn, free_at_s, headway_s, i, b,
                          blocked_cost[i], time_s)
        if marking:
            mark_around(stamp, ci, width, clock)
            mark_around(stamp, b, width, clock)
        moved[i] = True
        moved[k] = True
        n += 2
    return n


_resolve, _resolve_serial = serial_and_parallel(_resolve_py)
_NO_HIST = np.zeros((0, 0), dtype=np.int64)
_NO_SLOTS = np.zeros(0, dtype=np.int32)
_NO_TARGETS = np.zeros(0, dtype=np.int16)


def step_movement(agents, grid, fields, key, params, scratch):
    """Advance every moving occupant by one time step. Returns the number of moves.

    ``agents``: mapping of per-occupant arrays — ``cell`` int32 (-1 outside the building),
    ``state`` uint8, ``speed_ms`` float32 (m/s), ``credit_m`` float64 (m), ``field_row`` int32
    (row of ``fields`` the occupant follows, -1 for none), ``exit_used`` int16, ``out_time_s``
    float64. Updated in place.
    ``grid``: ``passable`` uint8, ``nbr_mask`` uint8 (:func:`neighbour_mask` of ``passable``;
    made here if missing, and the caller must refresh it when ``passable`` changes),
    ``downhill`` uint8 (:func:`downhill_directions` of ``fields`` and ``nbr_mask``; made here
    if missing, and likewise the caller's to refresh), ``occ`` int32, ``free_at_s`` float64
    (when the cell next accepts somebody: the time of its last entry plus its headway),
    ``headway_s`` float32 (s), ``factor`` float64, ``exit_of_cell`` int16, ``dyn`` float32,
    links, ``width``, ``cell_m``. ``fields``: (n_rows, n_cells) float32
    static fields in effective metres.
    ``key``: the step's random key (:func:`.streams.step_key`); the numbers drawn from it are
    rows ``ROW_CHOICE``, ``ROW_CONFLICT`` and ``ROW_FRICTION`` of :func:`.streams.fill_uniform`.
    ``params``: ``dt_s``, ``time_s``, ``k_s``, ``k_d``, ``mu``, ``swap`` (the probability
    of proposing an exchange, default 0); ``step_over`` (default False: set it while
    casualties lie on the grid, and one blocked by a casualty steps over them with
    probability ``swap``); ``clock``
    (the step's number) and ``settle_after`` (default ``NEVER_SETTLE``): an occupant whose
    choice was settled in a jam at a step after ``settle_after`` and after the last change
    round its cell (``grid['stamp']``) is not chosen for again: the caller must raise
    ``settle_after`` to the step's number whenever the fields, walls, speed factors, speeds or
    states change other than by this step, and mark cells round an occupant whose ``field_row``
    changed (:func:`mark_around`) if ``scratch['settled_total'][0]`` (after the last step: how
    many hold a settled choice) is not 0. ``grid['stamp']`` int32 (n_cells,) (made here if
    missing): per cell, the last step at which a cell in its 3 x 3 block changed hands (marked
    by this step's moves and swaps while at least one occupant holds a settled choice for every
    two claims; with fewer, the step's moves are not marked and ``scratch['settle_floor']``
    (made here if missing) is set to the step's number: the choices settled until then are made
    afresh, as if ``settle_after`` were raised).
    ``scratch``: preallocated ``desired`` int32 (n,), ``cost_m`` float64 (n,), ``desired_d``
    and ``blocked_d`` float32 (n,), ``moved`` bool
    (n,) (after the step: who moved, among those visited), ``claim_count`` int32 (n_cells,)
    zeroed, ``claim_best`` int32 (n_cells,), ``claim_key`` float32 (n_cells,); per-thread
    rows ``cand_buf`` int64 and ``expo_buf`` float64, each (numba.config.NUMBA_NUM_THREADS,
    at least 10); the lists of claimants and of possible swappers, ``claim_list`` and
    ``block_list`` int32 (n,), with their counts by chunk, ``claim_n`` and ``block_n`` int64
    (one slot per chunk), ``settled_n`` int64 (one slot per chunk) and ``settled_total``
    int64 (1,), ``swap_ok`` uint8 (n,) zeroed (and left so) and ``swap_cost`` float64 (n,)
    — see :func:`make_scratch`; optionally ``order`` int64, the
    occupants to visit and in what order: any order of any set that holds every occupant not
    yet out gives the same result (the model leaves out those who are out).
    ``scratch['out_by_exit']`` (made on the first step: int64, a row per thread and a column
    per exit) accumulates, step after step, those who went out by each exit: its sum over rows.
    ``scratch['live']`` (optional): exit choice's queue histogram as kept by
    :func:`~.choice.choose_exits`; while it is valid, moves, swaps and those who go out are
    counted in it (by ``agents['target']`` and the field, on the occupant's row, at the cell
    it enters: noted by the choice of cell in ``desired_d`` and ``blocked_d``).
    """
    start_threads()  # (the kernels call get_thread_id(); scratch may come from elsewhere)
    a, g, p, s = agents, grid, params, scratch
    key = np.uint64(key)
    n = a["cell"].shape[0]
    if not 0.0 <= p["mu"] <= 1.0:
        raise ValueError(f"friction mu must lie in [0, 1], got {p['mu']}")
    order = s.get("order")
    if order is None:
        order = np.arange(n, dtype=np.int64)
    if "nbr_mask" not in g:
        g["nbr_mask"] = neighbour_mask(g["passable"], g["width"])
    if "min_move_m" not in g:
        g["min_move_m"] = cheapest_move_m(g)
    if "downhill" not in g:
        g["downhill"] = downhill_directions(fields, g["nbr_mask"], g["width"], g["cell_m"])
    if g["downhill"].shape != fields.shape:
        raise ValueError(f"grid['downhill'] has shape {g['downhill'].shape}, the fields "
                         f"{fields.shape}: refresh it when fields change")
    if "out_by_exit" not in s:
        s["out_by_exit"] = np.zeros((numba.config.NUMBA_NUM_THREADS,
                                     max(1, int(g["exit_of_cell"].max()) + 1)), dtype=np.int64)
    if "stamp" not in g:
        g["stamp"] = np.full(g["occ"].shape[0], -1, dtype=np.int32)
    stamp = g["stamp"]
    clock = int(p.get("clock", 0))
    if "settle_floor" not in s:
        s["settle_floor"] = np.full(1, -1, dtype=np.int64)
    # (Choices settled at or before the last step that did not mark the cells round its moves
    # are made afresh: see the resolve pass.)
    settle_after = max(int(p.get("settle_after", NEVER_SETTLE)), int(s["settle_floor"][0]))
    n_chunks = s["claim_n"].shape[0]
    if s["block_n"].shape[0] != n_chunks or s["settled_n"].shape[0] != n_chunks:
        raise ValueError("scratch claim_n, block_n and settled_n need one slot per chunk each")
    live = s.get("live")
    live_args = (_NO_TARGETS, 1.0, 0, _NO_HIST, _NO_SLOTS)
    if live is not None and live.get("valid"):
        live_args = (a["target"], live["bin_m"], live["n_bins"], live["hist"], live["slot"])
    n_visit = order.shape[0]
    step_over = bool(p.get("step_over", False))
    choose = _choose_cells_serial if n_visit < SERIAL_BELOW else _choose_cells
    choose(order, a["cell"], a["state"], a["speed_ms"], a["credit_m"], a["field_row"], fields,
           g["dyn"], g["nbr_mask"], g["passable"], g["occ"], g["free_at_s"], g["factor"],
           g["link_ptr"], g["link_to"], g["link_len_m"], key, g["width"],
           g["cell_m"], p["dt_s"], p["time_s"], p["k_s"], p["k_d"], g["min_move_m"], _POW2,
           s["cand_buf"], s["expo_buf"], s["desired"], s["cost_m"],
           s["blocked"], s["blocked_cost"], g["downhill"], s["claim_list"], s["claim_n"],
           s["block_list"], s["block_n"], s["moved"], stamp, s["settled_at"], clock,
           settle_after, s["settled_n"], s["desired_d"], s["blocked_d"], step_over)
    resolve = _resolve if n_visit >= SERIAL_BELOW and numba.get_num_threads() > 1 \
        else _resolve_serial
    return resolve(n_visit, s["claim_list"], s["claim_n"], s["block_list"], s["block_n"],
                   s["desired"], a["credit_m"], s["cost_m"], key, p["mu"],
                   s["claim_count"], s["claim_best"], s["claim_key"], a["cell"], a["state"],
                   p["time_s"], p["dt_s"], g["exit_of_cell"], g["occ"], g["free_at_s"],
                   g["headway_s"], g["dyn"], a["exit_used"], a["out_time_s"], s["moved"],
                   s["blocked"], s["blocked_cost"], float(p.get("swap", 0.0)), s["out_by_exit"],
                   stamp, g["width"], clock, s["settled_n"], s["settled_total"],
                   s["settle_floor"], s["desired_d"], s["blocked_d"], *live_args, step_over,
                   fields, a["field_row"], g["factor"], g["cell_m"], s["swap_ok"],
                   s["swap_cost"], g["link_ptr"], g["link_to"], g["link_len_m"])


def _activate_py(order, state, start_s, cell, needs_choice, choice_time_s, choice_cell,
                 phase_of, phase, time_s):
    remaining = 0
    for k in prange(order.shape[0]):  # (each writes only its own slots)
        i = order[k]
        if state[i] == WAITING and start_s[i] <= time_s:
            state[i] = MOVING
            needs_choice[i] = True
            choice_time_s[i] = time_s
            choice_cell[i] = cell[i]
        elif state[i] == MOVING and phase_of[i] == phase:
            needs_choice[i] = True
        if state[i] == WAITING or state[i] == MOVING:
            remaining += 1
    return remaining


_activate, _activate_serial = serial_and_parallel(_activate_py)


def activate(agents, phase_of, phase: int, time_s: float, order=None) -> int:
    """Start occupants whose pre-movement time has passed (they choose an exit), flag those
    whose turn it is to reconsider their exit (``phase_of == phase``). Returns how many are
    still inside (waiting or moving). ``order``: optionally, the agents to look at, holding at
    least every one waiting or moving (as in :func:`step_movement`)."""
    a = agents
    if order is None:
        order = np.arange(a["state"].shape[0], dtype=np.int64)
    run = _activate_serial if order.shape[0] < SERIAL_BELOW else _activate
    return run(order, a["state"], a["start_s"], a["cell"], a["needs_choice"],
                     a["choice_time_s"], a["choice_cell"], phase_of, int(phase), float(time_s))


def cheapest_move_m(grid) -> float:
    """The least any move can cost: a straight step (or the shortest link) charged at the
    zig-zag discount, in a cell no faster than the flat."""
    shortest = grid["cell_m"]
    if grid["link_len_m"].size:
        shortest = min(shortest, float(grid["link_len_m"].min()))
    return ZIGZAG_DISCOUNT * shortest * (1.0 - 1e-9)


def _thread_rows(threads, dtype):
    """(threads, 16) zeros of an 8-byte ``dtype``, each row starting on a 64-byte cache line:
    a thread's 10 slots then share no line with another thread's, and threads writing their
    own rows do not take lines from each other (false sharing)."""
    width = 16  # 128 bytes a row
    raw = np.zeros(threads * width + 8, dtype=dtype)
    start = (-raw.ctypes.data % 64) // 8
    return raw[start:start + threads * width].reshape(threads, width)


def make_scratch(n_occupants, n_cells):
    """Preallocated work arrays for :func:`step_movement`."""
    start_threads()  # (the kernels call get_thread_id())
    threads = numba.config.NUMBA_NUM_THREADS
    return {
        # 32-bit where that is exact (cells and occupants fit, the keys are float32 draws):
        # a smaller working set stays in cache.
        "desired": np.full(n_occupants, -1, dtype=np.int32),
        "cost_m": np.zeros(n_occupants, dtype=np.float64),
        "moved": np.zeros(n_occupants, dtype=np.bool_),
        "settled_at": np.full(n_occupants, -1, dtype=np.int32),
        "blocked": np.full(n_occupants, -1, dtype=np.int32),
        "blocked_cost": np.zeros(n_occupants, dtype=np.float64),
        # The field at the cell wanted, and at the swap partner's (for exit choice's queue
        # histogram, if kept: read here, where the field's cache line is at hand).
        "desired_d": np.zeros(n_occupants, dtype=np.float32),
        "blocked_d": np.zeros(n_occupants, dtype=np.float32),
        # Exchanges: 1 a valid proposal, 2 a winning one (0 between steps), and what the
        # partner pays for its move.
        "swap_ok": np.zeros(n_occupants, dtype=np.uint8),
        "swap_cost": np.zeros(n_occupants, dtype=np.float64),
        "claim_count": np.zeros(n_cells, dtype=np.int32),
        "claim_best": np.full(n_cells, -1, dtype=np.int32),
        "claim_key": np.zeros(n_cells, dtype=np.float32),
        # Who claims a cell, and who may swap, listed by chunks of the visiting order.
        "claim_list": np.empty(n_occupants, dtype=np.int32),
        "block_list": np.empty(n_occupants, dtype=np.int32),
        "claim_n": np.zeros(CHUNKS_PER_THREAD * threads, dtype=np.int64),
        "block_n": np.zeros(CHUNKS_PER_THREAD * threads, dtype=np.int64),
        # Per chunk, those holding a settled choice after the step's (see step_movement);
        # their total, after the step.
        "settled_n": np.zeros(CHUNKS_PER_THREAD * threads, dtype=np.int64),
        "settled_total": np.zeros(1, dtype=np.int64),
        # The last step whose moves were not marked in ``stamp`` (see the resolve pass).
        "settle_floor": np.full(1, -1, dtype=np.int64),
        "cand_buf": _thread_rows(threads, np.int64),
        "expo_buf": _thread_rows(threads, np.float64),
    }


@kernel
def census(state, n):
    """(inside, evacuated) among the first ``n`` agents (the occupants): inside counts those
    who can still leave or be carried, not casualties."""
    inside = 0
    out = 0
    for i in range(n):
        s = state[i]
        if s == WAITING or s == MOVING or s == CARRIED:
            inside += 1
        elif s == EVACUATED:
            out += 1
    return inside, out


def _census_of_py(state, order, n, out_by_exit, out_totals):
    inside = 0
    not_out = 0
    for k in prange(order.shape[0]):
        i = order[k]
        if i >= n:
            continue
        s = state[i]
        if s == WAITING or s == MOVING or s == CARRIED:
            inside += 1
        if s != EVACUATED:
            not_out += 1
    by_exits = 0
    for e in range(out_totals.shape[0]):
        total = 0
        if e < out_by_exit.shape[1]:
            for r in range(out_by_exit.shape[0]):
                total += out_by_exit[r, e]
        out_totals[e] = total
        by_exits += total
    return inside, n - not_out, by_exits


_census_of, _census_of_serial = serial_and_parallel(_census_of_py)
_NO_EXITS = np.zeros((0, 0), dtype=np.int64)
_NO_TOTALS = np.zeros(0, dtype=np.int64)


def census_of(state, order, n: int, out_by_exit=None, out_totals=None):
    """:func:`census` walking only ``order``, which must hold every one of the first ``n``
    agents not yet evacuated (as the step's visiting order does: leaving is final); those
    left out are counted as evacuated. Returns (inside, evacuated).

    With ``out_by_exit`` (the movement step's count by thread and exit, see
    :func:`step_movement`) and ``out_totals`` (int64, one slot per exit; exits the count has
    no column for get 0), it also sums the count over threads into ``out_totals`` and
    returns (inside, evacuated, out by any exit):
    in the same call, as the model's reporters need all of them every step (summing with
    NumPy there cost 15-20 µs a step, with its code out of the cache after a step)."""
    run = _census_of_serial if order.shape[0] < SERIAL_BELOW else _census_of
    if out_by_exit is None:
        inside, out, _ = run(state, order, n, _NO_EXITS, _NO_TOTALS)
        return int(inside), int(out)
    inside, out, by_exits = run(state, order, n, out_by_exit, out_totals)
    return int(inside), int(out), int(by_exits)
