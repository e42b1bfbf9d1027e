"""A plain-Python reference of drillsim's movement rules: Mesa agents, one ``step()`` each.

It exists to measure what the Numba kernels buy (the speed-up is a ratio measured side by side
in one benchmark run) and to check, in a test, that the engine gives statistically the same
evacuation times. Same rules as ``sim.kernels.movement``: slope-weighted choice over the Moore
neighbourhood and staying, banked walking, headway per cell, parallel update with friction,
the dynamic field. Single-exit worlds only (no exit choice, no discovery): the worlds it runs on
have one exit.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from sim.kernels.fields import compute_static_field
from sim.kernels.movement import ZIGZAG_DISCOUNT


class Walker(mesa.Agent):
    """One occupant: picks a cell (phase 1), then moves if it won it (phase 2)."""

    def __init__(self, model, index: int, cell: int, speed: float):
        super().__init__(model)
        self.index = index
        self.cell = cell
        self.speed = speed
        self.credit = 0.0
        self.want = -1
        self.cost = 0.0
        self.out_time = math.inf

    def choose(self):
        m = self.model
        self.want = -1
        self.credit += self.speed * m.dt
        if self.credit < ZIGZAG_DISCOUNT * m.cell_m:
            return
        c, w, S = self.cell, m.width, m.field
        options = []
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                if dr == 0 and dc == 0:
                    continue
                j = c + dr * w + dc
                if not m.passable[j] or m.occ[j] >= 0:
                    continue
                if m.time - m.last_entry[j] < m.headway[j]:
                    continue
                if dr and dc and not (m.passable[c + dr * w] and m.passable[c + dc]):
                    continue
                if not math.isfinite(S[j]):
                    continue
                length = m.cell_m * (math.sqrt(2) if dr and dc else 1)
                options.append((m.k_s * (S[c] - S[j]) / length + m.k_d * m.dyn[j], j, length))
        options.append((m.k_d * m.dyn[c], -1, 0.0))
        top = max(o[0] for o in options)
        weights = [math.exp(o[0] - top) for o in options]
        pick = m.random.random() * sum(weights)
        acc, chosen = 0.0, len(options) - 1
        for k, wgt in enumerate(weights):
            acc += wgt
            if pick < acc:
                chosen = k
                break
        _, j, length = options[chosen]
        if j < 0:
            self.credit = min(self.credit, m.cell_m * math.sqrt(2))
            return
        gain = S[c] - S[j]
        cost = min(max(gain, ZIGZAG_DISCOUNT * length), length) if gain > 0 else length
        self.cost = cost
        if self.credit >= cost:
            self.want = j


class ReferenceModel(mesa.Model):
    """Evacuation of one room with one exit, agent by agent in Python."""

    def __init__(self, building, cells, speeds, seed: int, dt: float = 0.15, k_s: float = 10.0,
                 k_d: float = 1.0, decay: float = 0.3, diffusion: float = 0.1,
                 friction: float = 0.3, max_specific_flow: float = 1.6):
        super().__init__(seed=seed)
        b = building
        self.width, self.cell_m, self.dt = b.width, b.cell_m, dt
        self.k_s, self.k_d, self.mu = k_s, k_d, friction
        self.decay, self.diffusion = decay, diffusion
        walk = np.isin(b.kind, (2, 5, 6))
        exit_cells = b.exits[0].cells
        self.field = compute_static_field(walk, np.ones(b.n_cells), exit_cells, b.width, b.cell_m,
                                          b.link_ptr, b.link_to, b.link_len_m).tolist()
        self.walkable = walk.tolist()
        self.passable = (walk | (b.exit_of_cell >= 0)).tolist()
        self.is_exit = (b.exit_of_cell >= 0).tolist()
        self.occ = [-1] * b.n_cells
        self.last_entry = [-math.inf] * b.n_cells
        h = 1.0 / (max_specific_flow * b.cell_m)
        self.headway = [h] * b.n_cells
        for e in b.exits:
            for c in e.cells:
                self.headway[int(c)] = h * e.drawn_width_m / e.width_m
        self.dyn = [0.0] * b.n_cells
        self.time = 0.0
        self.walkers = [Walker(self, k, int(c), float(v))
                        for k, (c, v) in enumerate(zip(cells, speeds))]
        for k, wk in enumerate(self.walkers):
            self.occ[wk.cell] = k

    def step(self):
        inside = [w for w in self.walkers if w.cell >= 0]
        for w in inside:
            w.choose()
        claims: dict[int, list[Walker]] = {}
        for w in inside:
            if w.want >= 0:
                claims.setdefault(w.want, []).append(w)
        for j, contenders in claims.items():
            winner = self.random.choice(contenders)
            if len(contenders) > 1 and self.random.random() < self.mu:
                winner = None
            for w in contenders:
                if w is not winner:
                    w.credit = min(w.credit, w.cost)
            if winner is None:
                continue
            self.occ[winner.cell] = -1
            self.dyn[winner.cell] += 1.0
            self.last_entry[j] = self.time
            winner.credit -= winner.cost
            if self.is_exit[j]:
                winner.cell = -1
                winner.out_time = self.time + self.dt
            else:
                self.occ[j] = winner.index
                winner.cell = j
        self._update_dynamic_field()
        self.time += self.dt
        if all(w.cell < 0 for w in self.walkers):
            self.running = False

    def _update_dynamic_field(self):
        w, old = self.width, self.dyn
        new = [0.0] * len(old)
        for c, ok in enumerate(self.walkable):
            if not ok:
                continue
            nb = [old[j] for j in (c - 1, c + 1, c - w, c + w) if self.walkable[j]]
            v = old[c]
            if nb:
                v = (1 - self.diffusion) * v + self.diffusion * sum(nb) / len(nb)
            new[c] = (1 - self.decay) * v
        self.dyn = new

    def run(self, max_time: float = 1e4):
        while self.running and self.time < max_time:
            self.step()
        return max(w.out_time for w in self.walkers)
