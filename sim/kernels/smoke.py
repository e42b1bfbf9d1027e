"""Smoke spread and its effects on people: kernels over the flat cell arrays.

The smoke state is one field ``y``: the mass of fuel burned whose products are in a cell's
air, per cubic metre (kg/m³), well mixed over the ceiling height (no clear layer: a
conservative simplification). Soot, CO, CO₂, the O₂ deficit and the temperature rise are all
proportional to it through the fuel's yields (see :mod:`sim.hazard`).

Spread is gradient diffusion with an effective diffusivity ``D`` over the cells smoke can pass
(conductance ``g``: 1 in open cells and doorways, a leakage fraction at closed doors and
locked exits, 0 in walls), through stair links too. Open exits are sinks: their cells hold no
smoke, so what reaches them is lost to the outside. Per sub-step of length ``h``, cell ``c``
changes by ``Σ_j g_cj D h / (Δx L_cj) (y_j − y_c)`` with ``g_cj = min(g_c, g_j)``, ``L_cj`` the
distance between the cells (``Δx`` between grid neighbours, the link length on stairs); the
exchange is pairwise and symmetric, so smoke is conserved apart from sources and exits.

Stability (explicit FTCS, and no new extrema): the coefficients of each cell must sum to at
most 1, ``Σ_j D h / (Δx L_cj) ≤ 1`` — on the open grid ``4 D h / Δx² ≤ 1``. :func:`substeps`
picks the number of sub-steps per model step that keeps the largest sum at or below 0.9.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from .jit import kernel, serial_and_parallel

# Frantzich & Nilsson (2003): v/v0 = 1 + (beta/alpha) K, alpha = 0.706 m/s, beta = -0.057 m²/s
# (reference/verification.md §4.5).
FN_SLOPE = -0.057 / 0.706

# The kinds of cell for smoke (see diffusion_faces).
WALL, SINK, OPEN = np.uint8(0), np.uint8(1), np.uint8(2)


def _diffuse_open_py(y, out, east, south, kind, source, width, coef_axial, src_per_step):
    # Inner cells over shifted views, branch-free: ``east[c]`` / ``south[c]`` is the
    # conductance of the face between c and c + 1 / c + width (0 where either side is a wall),
    # so a wall neighbour adds an exact zero and the sum equals the per-cell rule of
    # :func:`_diffuse_special` bit for bit.
    # (Signed offsets such as ``y[c - 1]`` make Numba check each index for being negative,
    # which stops the loop vectorising.)
    n = y.shape[0]
    lo = width + 1
    hi = n - width - 1
    here = y[lo:hi]
    west_y = y[lo - 1:hi - 1]
    east_y = y[lo + 1:hi + 1]
    north_y = y[lo - width:hi - width]
    south_y = y[lo + width:hi + width]
    g_w = east[lo - 1:hi - 1]
    g_e = east[lo:hi]
    g_n = south[lo - width:hi - width]
    g_s = south[lo:hi]
    k = kind[lo:hi]
    src = source[lo:hi]
    o = out[lo:hi]
    for c in prange(hi - lo):
        yc = here[c]
        acc = g_w[c] * (west_y[c] - yc)
        acc += g_e[c] * (east_y[c] - yc)
        acc += g_n[c] * (north_y[c] - yc)
        acc += g_s[c] * (south_y[c] - yc)
        acc *= coef_axial
        new = yc + acc + src[c] * src_per_step
        o[c] = new if k[c] == OPEN else (yc if k[c] == WALL else 0.0)


_diffuse_open, _diffuse_open_serial = serial_and_parallel(_diffuse_open_py)


@kernel
def _diffuse_special(y, out, special, g, sink, source, width, coef_axial, link_ptr, link_to,
                     link_coef, src_per_step):
    """The cells :func:`_diffuse_open_py` leaves out (the grid's border, cells with stair
    links), one by one, by the rule as the module docstring writes it."""
    n = y.shape[0]
    for k in range(special.shape[0]):
        c = special[k]
        gc = g[c]
        if gc <= 0.0:
            out[c] = y[c]
            continue
        if sink[c]:
            out[c] = 0.0
            continue
        yc = y[c]
        acc = 0.0
        for j in (c - 1, c + 1, c - width, c + width):
            if 0 <= j < n:
                gj = g[j]
                if gj > 0.0:
                    acc += min(gc, gj) * (y[j] - yc)
        acc *= coef_axial
        for m in range(link_ptr[c], link_ptr[c + 1]):
            j = link_to[m]
            gj = g[j]
            if gj > 0.0:
                acc += min(gc, gj) * link_coef[m] * (y[j] - yc)
        out[c] = yc + acc + source[c] * src_per_step


def diffusion_faces(g, sink, width, link_ptr):
    """What :func:`spread` needs from the conductances, computed once per change of doors:
    ``(east, south, kind, special)`` — face conductances ``min(g_c, g_j)`` to the east and
    south neighbour (0 unless both are open to smoke), the kind of each cell (``WALL``,
    ``SINK``, ``OPEN``), and the cells updated one by one (the grid's border and the cells
    with stair links)."""
    g = np.asarray(g, dtype=np.float64)
    n = g.shape[0]
    open_ = g > 0.0
    east = np.zeros(n)
    both = open_[:-1] & open_[1:]
    east[:-1][both] = np.minimum(g[:-1], g[1:])[both]
    south = np.zeros(n)
    both = open_[:-width] & open_[width:]
    south[:-width][both] = np.minimum(g[:-width], g[width:])[both]
    kind = np.where(open_, np.where(np.asarray(sink, dtype=bool), SINK, OPEN), WALL)
    border = np.r_[0:min(n, width + 1), max(0, n - width - 1):n]
    linked = np.flatnonzero(np.diff(np.asarray(link_ptr)) > 0)
    special = np.unique(np.concatenate([border, linked])).astype(np.int64)
    return east, south, kind.astype(np.uint8), special


def substeps(diffusivity, dt_s, cell_m, link_ptr, link_len_m):
    """Sub-steps per model step for a stable explicit update (module docstring)."""
    axial = 4.0 * diffusivity * dt_s / (cell_m * cell_m)
    worst = axial
    if link_len_m.size:
        per_link = diffusivity * dt_s / (cell_m * link_len_m)
        counts = np.diff(link_ptr)
        sums = np.zeros(counts.shape[0])
        owner = np.repeat(np.arange(counts.shape[0]), counts)
        np.add.at(sums, owner, per_link)
        worst = axial + float(sums.max())
    return max(1, int(math.ceil(worst / 0.9)))


def spread(y, scratch, g, sink, source_kg_s, volume_m3, width, dt_s, cell_m, diffusivity,
           link_ptr, link_to, link_len_m, n_sub, faces=None):
    """Advance the smoke field ``y`` by one model step of ``dt_s`` (in place).

    ``source_kg_s``: fuel burned per second in each cell (kg/s); ``volume_m3``: one cell's air
    volume; ``faces``: :func:`diffusion_faces` of ``g``, ``sink``, ``width`` and ``link_ptr``
    (computed here if not given: pass it when ``g`` is unchanged between steps). Returns
    ``y`` (the same array)."""
    if faces is None:
        faces = diffusion_faces(g, sink, width, link_ptr)
    east, south, kind, special = faces
    h = dt_s / n_sub
    coef_axial = diffusivity * h / (cell_m * cell_m)
    link_coef = diffusivity * h / (cell_m * link_len_m) if link_len_m.size else link_len_m
    src = h / volume_m3
    if y.shape[0] < SERIAL_BELOW:
        _substeps_serial(y, scratch, east, south, kind, special, g, sink, source_kg_s, width,
                         coef_axial, link_ptr, link_to, link_coef, src, n_sub)
        return y
    a, b = y, scratch
    for _ in range(n_sub):
        _diffuse_open(a, b, east, south, kind, source_kg_s, width, coef_axial, src)
        _diffuse_special(a, b, special, g, sink, source_kg_s, width, coef_axial, link_ptr,
                         link_to, link_coef, src)
        a, b = b, a
    if a is not y:
        y[:] = a
    return y


SERIAL_BELOW = 50_000  # cells: below this, the sub-steps run on one thread, in one call


@kernel
def _substeps_serial(y, scratch, east, south, kind, special, g, sink, source, width,
                     coef_axial, link_ptr, link_to, link_coef, src, n_sub):
    """A model step's sub-steps of :func:`spread` on one thread, in one call: called one by
    one from Python, each sub-step's two kernels cost 2-3 us to call, several times their work
    in a small building."""
    a, b = y, scratch
    for _ in range(n_sub):
        _diffuse_open_serial(a, b, east, south, kind, source, width, coef_axial, src)
        _diffuse_special(a, b, special, g, sink, source, width, coef_axial, link_ptr, link_to,
                         link_coef, src)
        a, b = b, a
    if n_sub % 2 == 1:  # (the last sub-step wrote ``scratch``)
        y[:] = scratch


# --- conditions and dose -------------------------------------------------------------------

def _conditions_py(y, fixed_k, fixed_co, fixed_co2, fixed_o2, fixed_t, soot_k, co_ppm_per,
                   co2_pct_per, o2_pct_per, dtemp_per, speed_floor, fn_slope, k_out,
                   speed_out, fed_rate_out, temp_out):
    n = y.shape[0]
    for c in prange(n):
        yc = y[c]
        if yc < 1e-8 and fixed_k[c] < 0.0 and fixed_co[c] < 0.0 and fixed_co2[c] < 0.0 \
                and fixed_o2[c] < 0.0 and fixed_t[c] < 0.0:
            k_out[c] = 0.0  # clean air (K < 5e-6 /m): the common case, without the powers
            temp_out[c] = 20.0
            speed_out[c] = 1.0
            fed_rate_out[c] = 0.0
            continue
        k = soot_k * yc
        co = co_ppm_per * yc
        co2 = co2_pct_per * yc
        o2 = 20.9 - o2_pct_per * yc
        temp = 20.0 + dtemp_per * yc
        if fixed_k[c] >= 0.0:
            k = fixed_k[c]
        if fixed_co[c] >= 0.0:
            co = fixed_co[c]
        if fixed_co2[c] >= 0.0:
            co2 = fixed_co2[c]
        if fixed_o2[c] >= 0.0:
            o2 = fixed_o2[c]
        if fixed_t[c] >= 0.0:
            temp = fixed_t[c]
        if o2 < 0.0:
            o2 = 0.0
        k_out[c] = k
        temp_out[c] = temp
        # Frantzich & Nilsson (2003): v = v0 (1 + (beta/alpha) K), floor as FDS+Evac.
        f = 1.0 + fn_slope * k
        speed_out[c] = f if f > speed_floor else speed_floor
        fed_rate_out[c] = fed_rate(co, co2, o2, temp)
    return 0


_conditions, _conditions_serial = serial_and_parallel(_conditions_py)


@kernel
def fed_rate(co_ppm, co2_pct, o2_pct, temp_c):
    """FED accumulated per second (Purser; FDS+Evac's per-second forms, verification.md §4.6):
    ``FED_CO · V_CO2 + FED_O2`` plus heat ``1/t_tol(T)`` (clothed person, t in minutes)."""
    fco = 4.607e-7 * co_ppm ** 1.036 if co_ppm > 0.0 else 0.0
    vco2 = math.exp(0.1930 * co2_pct + 2.0004) / 7.1 if co2_pct > 0.0 else 1.0
    if vco2 < 1.0:
        vco2 = 1.0
    fo2 = 1.0 / (60.0 * math.exp(8.13 - 0.54 * (20.9 - o2_pct))) if o2_pct < 20.9 else 0.0
    heat = 0.0
    if temp_c > 25.0:
        t_tol_min = 2e31 * temp_c ** -16.963 + 4e8 * temp_c ** -3.7561
        heat = 1.0 / (60.0 * t_tol_min)
    return fco * vco2 + fo2 + heat


# Cells: below this, the conditions are computed on one thread. The powers and exponentials
# of a smoky cell cost about 50 ns, so two threads pay from a few thousand cells (within runs:
# the residential tower, 18,720 cells, 475-730 -> 280-320 us a call; the nursing home, 3,990,
# 230-240 -> 160 us). (The threshold was 50,000 while the fields' kernel left the worker
# threads slow for libm: see ``_march_each_py``.)
CONDITIONS_SERIAL_BELOW = 2_000


def conditions(y, fixed, p, out):
    """Extinction coefficient K (1/m), walking-speed factor, FED rate (1/s) and temperature
    (°C) of every cell from the smoke field and the fixed atmospheres (``-1`` = not fixed)."""
    run = _conditions if y.shape[0] >= CONDITIONS_SERIAL_BELOW else _conditions_serial
    run(y, fixed["k"], fixed["co"], fixed["co2"], fixed["o2"], fixed["t"], p["soot_k"],
        p["co_ppm_per"], p["co2_pct_per"], p["o2_pct_per"], p["dtemp_per"], p["speed_floor"],
        p["fn_slope"], out["k"], out["speed"], out["fed_rate"], out["temp"])


@kernel
def dose(cell, state, fed, smoke_s, out_cell_k, fed_rate_, dt_s, smoke_k, first, last,
         casualty_code, inside_a, inside_b, fed_time_s, time_s):
    """Accumulate FED and time in smoke for occupants ``first``..``last-1`` inside the building
    (states ``inside_a`` or ``inside_b``); those reaching FED 1 become casualties where they
    stand. Returns how many were incapacitated this step."""
    hit = 0
    for i in range(first, last):
        s = state[i]
        c = cell[i]
        if c < 0 or (s != inside_a and s != inside_b):
            continue
        fed[i] += fed_rate_[c] * dt_s
        if out_cell_k[c] >= smoke_k:
            smoke_s[i] += dt_s
        if fed[i] >= 1.0:
            state[i] = casualty_code
            fed_time_s[i] = time_s + dt_s
            hit += 1
    return hit
