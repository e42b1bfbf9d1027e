"""``Engine``: one scenario variant with one seed, over the kernels' arrays.

It is built from a validated :class:`~sim.scenario.Scenario` and a seed. It owns the state
arrays; ``step()`` is a short list of kernel calls. It does not import Mesa: the ``drillsim``
commands run it directly and start in about half the time (importing Mesa imports SciPy,
pandas and networkx: about a second here). :class:`sim.model.EvacuationModel` is the same
engine as a ``mesa.Model``, with occupant handles and a DataCollector; the two give the same
runs bit for bit (tested).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np

from .building import DOOR, EXIT, FLIGHT, FLOOR, STAIR, Building
from .crowd import CrowdSpeed, zones_of
from .kernels.choice import choose_exits, discover_locked, exit_distances
from .kernels.fields import (compute_static_fields, dynamic_field_coefficients,
                             update_dynamic_field)
from .kernels.movement import (CARRIED, CASUALTY, EVACUATED, MOVING, WAITING, activate,
                               NEVER_SETTLE, census, census_of, downhill_directions,
                               make_scratch, neighbour_mask, step_movement)
from .kernels.regions import occupied_regions
from .kernels.streams import step_key
from .profiles import PROFILES
from .scenario import Scenario


@dataclass
class Frame:
    time_s: float
    cell: np.ndarray  # every agent row: occupants, then actors; carried ones at their carrier
    state: np.ndarray
    smoke: np.ndarray | None = None  # extinction coefficient per cell (1/m), float16


class Engine:
    """Floor-field evacuation of one scenario variant with one seed.

    The agent arrays hold the occupants (rows ``0 .. n_occupants-1``) and then the drill's
    actors, one row per member (:mod:`sim.drillrun`). ``hazard`` is the fire and smoke state
    (:mod:`sim.hazard`) or None.

    ``settle_jams`` (default True): an occupant whose choice of cell settled in a jam is not
    chosen for again until its surroundings change (see :func:`step_movement`); the results
    are the same bit for bit either way. Where a drill or a hazard runs it has no effect.
    ``keep_queue_histogram`` (default True): exit choice's count of who heads for each exit
    from how far is kept up to date by the step's kernels as people move and choose, instead
    of counted over everyone at every step (see :func:`choose_exits`); the same results bit
    for bit. It is counted afresh after any change of fields, and at every step where a
    drill or a hazard runs or something is locked (they change occupants outside the
    kernels).
    """

    CARRIED = CARRIED

    def __init__(self, scenario: Scenario, seed: int | None = None, *,
                 record_every_s: float | None = None):
        seed = scenario.seed if seed is None else int(seed)
        if seed < 0:
            raise ValueError(f"the seed must be a whole number >= 0, got {seed}")
        if record_every_s is not None and not 0 < record_every_s < math.inf:
            raise ValueError(f"record_every_s must be seconds > 0, got {record_every_s}")
        self._seed_random(seed)
        self.scenario = scenario
        self.seed_value = seed
        self.building: Building = scenario.building
        self.params = scenario.params
        b, prm = self.building, self.params
        self.dt_s = scenario.dt_s
        self.time_s = 0.0
        self.n_steps = 0
        self.occupant_steps = 0  # occupant-updates done (occupants inside, summed over steps)
        self.events: list[dict] = []
        n_cells = b.n_cells
        self.n_exits = len(b.exits)

        # --- grid state (truth) ---
        self.exit_locked = np.zeros(self.n_exits, dtype=np.uint8)
        self.door_locked = np.zeros(max(1, len(b.doors)), dtype=np.uint8)
        self.door_closed = np.zeros(max(1, len(b.doors)), dtype=np.bool_)
        for d in b.doors:
            self.door_locked[d.index] = d.state == "locked"
            self.door_closed[d.index] = d.state == "closed"
        for name in scenario.locked:
            if name in {e.name for e in b.exits}:
                self.exit_locked[b.exit_index(name)] = 1
            else:
                self.door_locked[b.door_index(name)] = 1
        self.locked_at_start = self.exit_locked.copy()
        self.smoke_speed = np.ones(n_cells, dtype=np.float64)
        self.smoke_route = np.ones(n_cells, dtype=np.float64)
        self.route_factor = np.ones(n_cells, dtype=np.float64)
        self.burning = np.zeros(n_cells, dtype=bool)
        self.burning_since_s = np.full(n_cells, np.inf)  # when each cell caught fire
        self.clutter_factor = np.ones(n_cells, dtype=np.float64)
        self.clutter_factor[b.clutter] = b.clutter_factor
        for patch in scenario.clutter:
            self.clutter_factor[b.region(patch.region).cells] = patch.speed_factor
        self.walkable_base = np.isin(b.kind, (FLOOR, DOOR, STAIR, FLIGHT))
        cell_headway = 1.0 / (prm.max_specific_flow * b.cell_m)
        self.headway_s = np.full(n_cells, cell_headway, dtype=np.float32)
        for portal in list(b.exits) + list(b.doors):
            # An opening drawn wider than it is passes only what its real width passes.
            self.headway_s[portal.cells] = cell_headway * portal.drawn_width_m / portal.width_m
        # On stairs the flow capacity falls with the walking speed (0.55 x 1.6 = 0.88
        # P/(m s); IMO's maximum specific flows: stairs up 0.88, down 1.1, corridors 1.3).
        flight = b.kind == FLIGHT
        self.headway_s[flight] = cell_headway / b.base_factor[flight]
        self.capacity_ps = np.array([prm.max_specific_flow * e.width_m for e in b.exits])
        self.grid = {
            "width": b.width, "cell_m": b.cell_m,
            "passable": np.zeros(n_cells, dtype=np.uint8),
            "factor": np.ones(n_cells, dtype=np.float64),
            "occ": np.full(n_cells, -1, dtype=np.int32),
            "free_at_s": np.full(n_cells, -np.inf, dtype=np.float64),
            "headway_s": self.headway_s,
            "exit_of_cell": np.ascontiguousarray(b.exit_of_cell),
            "door_of_cell": np.ascontiguousarray(b.door_of_cell),
            "dyn": np.zeros(n_cells, dtype=np.float32),
            "stamp": np.full(n_cells, -1, dtype=np.int32),  # see step_movement
            "link_ptr": np.ascontiguousarray(b.link_ptr),
            "link_to": np.ascontiguousarray(b.link_to),
            "link_len_m": np.ascontiguousarray(b.link_len_m),
            "exit_locked": self.exit_locked,
            "door_locked": self.door_locked,
            "adj_exit_mask": _adjacent_exit_mask(b),
            "adj_door_cell": _adjacent_door_cell(b),
        }
        self._dyn_next = np.zeros(n_cells, dtype=np.float32)
        self._dyn_coefficients = dynamic_field_coefficients(self.walkable_base, b.width,
                                                            prm.diffusion, prm.decay)
        self._stale_downhill: set[int] | None = None  # rows whose table is stale (None: all)
        # The last step at which the fields, walls or speed factors changed: choices settled
        # in a jam before it are made again (see step_movement).
        self._settle_after = 0
        self.settle_jams = True  # False: every choice made afresh, with the same results
        self._bins = None  # each occupant's distance bin for exit choice (see choose_exits)
        # Exit choice's queue histogram, kept up to date by the kernels from step to step
        # while only they change the occupants (see choose_exits); counted afresh otherwise.
        self._live: dict = {"valid": False}
        self.keep_queue_histogram = True
        self._refresh_passable()
        self._refresh_factor()

        # --- routes as quickest paths (``quickest_paths_s``): the movement step follows
        # ``move_fields``, the exits' fields marched with the speed the crowd allows, renewed
        # every ``_quickest_every`` steps; everything else (exit choice, the drill's actors,
        # the flow bound) reads ``fields``, the shortest routes. Without it they are one array.
        self._quickest_every = 0 if prm.quickest_paths_s <= 0.0 else \
            max(1, round(prm.quickest_paths_s / self.dt_s))
        self.crowd_factor = np.ones(n_cells, dtype=np.float64)
        self._crowd = None
        if self._quickest_every:
            self._crowd = CrowdSpeed(self.walkable_base, zones_of(b), b.width, b.cell_m)

        # --- beliefs about locked doors: each belief has its own fields ---
        self.belief_masks: list[int] = []
        self.fields = np.zeros((0, n_cells), dtype=np.float32)
        self.move_fields = self.fields
        self.row_of = np.zeros((0, self.n_exits), dtype=np.int32)
        self._belief_index(0)

        # --- occupants, then the drill's actors ---
        # (The drill and hazard modules are imported only when needed: the drill's road
        # network imports networkx, 0.2 s of the start of a run without a drill.)
        self.drill = None
        n_actor_rows = sum(x.count for x in scenario.drill.actors)
        self._place_occupants(n_actor_rows)
        if n_actor_rows or not scenario.drill.empty:
            from .drillrun import DrillRuntime
            self.drill = DrillRuntime(self, scenario.drill, self.n_occupants,
                                      dict(scenario.access_nodes))
            self.drill.place_actors(self.rng)
        self.hazard = None
        self._casualties_on_grid = False  # (then the movement step lets them be stepped over)
        self.noticed_smoke = 0  # occupants whose pre-movement smoke started (notice_smoke)
        self.caught_by_fire = 0  # occupants in a cell the fire spread to (burning_changed)
        self.fled_fire = 0  # occupants the flames beside them set moving (burning_changed)
        self._unaware_left = True  # (until none is left whom no alarm has reached)
        self._cued = np.zeros(self.n_occupants, dtype=bool)  # (whom the smoke started)
        if scenario.hazard is not None:
            from .hazardrun import Hazard
            self.hazard = Hazard(self, scenario.hazard)
            self._clear_fire_origins()
        n = self.n_agents
        self.scratch = make_scratch(n, n_cells)
        self._bins = (np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=np.int32))
        # The time step's random numbers: a counter-based stream keyed by the seed.
        self._stream_key = int(np.random.default_rng(seed).integers(0, 2**63))
        self.events_buf = {"agent": np.zeros(max(16, n), dtype=np.int32),
                           "exit": np.zeros(max(16, n), dtype=np.int16),
                           "door": np.zeros(max(16, n), dtype=np.int16)}
        self.rechoice_every = max(1, round(prm.rechoice_s / self.dt_s))
        self._occupant_phase = np.arange(n) % self.rechoice_every
        self._occupant_phase[self.n_occupants:] = -1  # actors never choose exits
        self.discoveries = np.zeros(self.n_exits, dtype=np.int64)
        self.door_discoveries = np.zeros(max(1, len(b.doors)), dtype=np.int64)
        self.found_first_hand = np.zeros(n, dtype=np.bool_)
        self.heard_from_others = np.zeros(self.n_occupants, dtype=np.bool_)  # (news passed on)
        self._pending = list(scenario.changes)
        self._relay_pending = False
        self._first_found: set[tuple[str, int]] = set()

        self.record_every_steps = max(1, round((record_every_s or scenario.record_every_s)
                                               / self.dt_s))  # (below a step: every step)
        self.frames: list[Frame] = []
        self._census_at: tuple[int, int, int] = (-1, 0, 0)  # (step, inside, evacuated)
        self._all_out_s: float | None = None  # when the last occupant got out
        self._exits_at: tuple[int, tuple[int, ...]] = (-1, ())  # (step, out by each exit)
        self._exit_totals = np.zeros(len(self.building.exits), dtype=np.int64)
        self._by_exits_at = (-1, 0)  # (step, out by any exit: the sum of _exit_totals)
        self._region_names = [r.name for r in b.regions]
        self._region_masks = np.zeros((len(b.regions), n_cells), dtype=bool)
        for k, r in enumerate(b.regions):
            self._region_masks[k, r.cells] = True
        self._region_hit = np.zeros(len(b.regions), dtype=bool)
        self.region_last_occupied: dict[str, float | None] = {r.name: None for r in b.regions}
        self._log(0.0, "start", occupants=self.n_occupants,
                  locked=[e.name for e in b.exits if self.exit_locked[e.index]])
        if scenario.alarm_s == 0 and not scenario.drill.scripted_alarm:
            self._log(0.0, "alarm")
        self._record_frame()

    # ------------------------------------------------------------------ set-up helpers
    def _seed_random(self, seed: int) -> None:
        """``random`` and ``rng`` seeded as ``mesa.Model(seed=seed)`` seeds them (the facade
        lets Mesa do it), and ``running``, as Mesa has it."""
        self.running = True
        self.random = random.Random(seed)
        self.rng = np.random.default_rng(seed)

    def _log(self, time_s: float, kind: str, **data) -> None:
        self.events.append({"time_s": round(float(time_s), 3), "kind": kind, **data})

    log = _log

    def _refresh_passable(self) -> None:
        b = self.building
        passable = self.walkable_base & ~self.burning
        for d in b.doors:
            if self.door_locked[d.index]:
                passable[d.cells] = False
        for e in b.exits:
            passable[e.cells] = not self.exit_locked[e.index]
        self.grid["passable"][:] = passable
        self.grid["nbr_mask"] = neighbour_mask(passable, b.width)
        self._fields_changed()  # (the table of downhill neighbours depends on the walls too)
        # (Kept as a flag for the step: two NumPy .any() calls cost 5 us, 2 % of a
        # 1,000-occupant step.)
        self._anything_locked = bool(self.exit_locked.any() or self.door_locked.any())

    def _refresh_factor(self) -> None:
        b = self.building
        factor = b.base_factor * self.clutter_factor
        for d in b.doors:
            if self.door_closed[d.index]:
                factor[d.cells] *= self.params.closed_door_factor
        for e in b.exits:
            if e.state == "closed":  # a self-closing exit door, pushed open in passing
                factor[e.cells] *= self.params.closed_door_factor
        self.grid["factor"][:] = factor * self.smoke_speed
        self.route_factor[:] = factor * self.smoke_route
        self._settle_after = self.n_steps

    def _fields_changed(self, rows=None) -> None:
        """Rows of ``fields`` (all if None) changed: their table of downhill neighbours
        (``grid['downhill']``, read by the movement step) is recomputed before the next step.
        Every write to ``fields`` goes through a method that calls this. (So do changes to
        the walls.) Choices settled in a jam are made again."""
        self._settle_after = self.n_steps
        self._forget_bins()
        if rows is None:
            self._stale_downhill = None
        elif self._stale_downhill is not None:
            self._stale_downhill.update(int(r) for r in np.ravel(rows))

    def _refresh_downhill(self) -> None:
        b, g = self.building, self.grid
        table = g.get("downhill")
        stale = self._stale_downhill
        fields = self.move_fields
        if stale is None or table is None or table.shape[1] != fields.shape[1]:
            g["downhill"] = downhill_directions(fields, g["nbr_mask"], b.width, b.cell_m)
        else:
            if table.shape[0] != fields.shape[0]:  # rows added: keep the old ones
                grown = np.empty(fields.shape, dtype=np.uint8)
                grown[:table.shape[0]] = table
                stale.update(range(table.shape[0], fields.shape[0]))
                g["downhill"] = table = grown
            downhill_directions(fields, g["nbr_mask"], b.width, b.cell_m,
                                rows=sorted(stale), out=table)
        self._stale_downhill = set()

    def set_field_row(self, row: int, field: np.ndarray) -> None:
        """Overwrite row ``row`` of ``fields`` (an actor's goal that changed)."""
        self.fields[row] = field
        if self.move_fields is not self.fields:
            self.move_fields[row] = field
        self._fields_changed([row])

    def _compute_fields(self, masks: list[int], crowd: bool = False) -> np.ndarray:
        """Static fields of every exit under each belief in ``masks`` (sets of doors believed
        locked): (len(masks) * n_exits, n_cells), belief by belief, exit by exit. Marched
        together, in parallel, a field a thread (:func:`compute_static_fields`). ``crowd``:
        with the speed the crowd allows (``crowd_factor``) as well: quickest paths."""
        b = self.building
        walk = np.empty((len(masks) * self.n_exits, b.n_cells), dtype=bool)
        for k, mask in enumerate(masks):
            w = self.walkable_base & ~self.burning
            w[b.kind == EXIT] = False
            for d in b.doors:
                if mask >> d.index & 1:
                    w[d.cells] = False
            walk[k * self.n_exits:(k + 1) * self.n_exits] = w
        sources = [None] * self.n_exits
        for e in b.exits:
            sources[e.index] = e.cells
        factor = self.route_factor * self.crowd_factor if crowd else self.route_factor
        return compute_static_fields(walk, factor, sources * len(masks),
                                     b.width, b.cell_m, b.link_ptr, b.link_to, b.link_len_m)

    def _belief_index(self, mask: int) -> int:
        if mask in self.belief_masks:
            return self.belief_masks.index(mask)
        fields = self._compute_fields([mask])
        k = len(self.belief_masks)
        self.belief_masks.append(mask)
        first = self.fields.shape[0]
        self.row_of = np.vstack([self.row_of, (first + np.arange(self.n_exits))
                                 .astype(np.int32)])
        self.fields = np.vstack([self.fields, fields])
        if self._quickest_every:
            self.move_fields = np.vstack([self.move_fields, self._compute_fields([mask], True)])
        else:
            self.move_fields = self.fields
        self._fields_changed(self.row_of[k])
        self._update_max_distance()
        return k

    def add_field_row(self, field: np.ndarray) -> int:
        """Append a field (an actor's goal) to ``fields``; returns its row."""
        self.fields = np.vstack([self.fields, field[None, :].astype(np.float32)])
        if self._quickest_every:
            self.move_fields = np.vstack([self.move_fields, field[None, :].astype(np.float32)])
        else:
            self.move_fields = self.fields
        self._fields_changed([self.fields.shape[0] - 1])
        return self.fields.shape[0] - 1

    def _forget_bins(self) -> None:
        """The fields or the distance bins changed: exit choice bins everyone afresh."""
        if self._bins is not None:
            self._bins[0].fill(-1)
        self._live["valid"] = False

    def _update_max_distance(self) -> None:
        """After the exits' fields changed: their largest finite value, and their table by
        cell for exit choice."""
        self._forget_bins()
        self._exit_dist = exit_distances(self.fields, self.row_of)
        rows = self.row_of.ravel()
        part = self.fields[rows]
        finite = part[np.isfinite(part)]
        self._max_distance_m = float(finite.max()) if finite.size else 0.0

    def _recompute_all_fields(self) -> None:
        fields = self._compute_fields(self.belief_masks)
        for k in range(len(self.belief_masks)):
            self.fields[self.row_of[k]] = fields[k * self.n_exits:(k + 1) * self.n_exits]
            self._fields_changed(self.row_of[k])
        if self._quickest_every:
            self._march_quickest()
        if self.drill is not None:
            self.drill.refresh_goals()
        self._update_max_distance()
        a = self.agents_state
        has = a["target"] >= 0
        a["field_row"][has] = self.row_of[a["belief"][has], a["target"][has]]

    def _march_quickest(self) -> None:
        """The movement step's exit fields as quickest paths: marched with the speed the
        crowd allows now (``crowd_factor``, as last counted)."""
        fields = self._compute_fields(self.belief_masks, crowd=True)
        for k in range(len(self.belief_masks)):
            self.move_fields[self.row_of[k]] = fields[k * self.n_exits:(k + 1) * self.n_exits]
            self._fields_changed(self.row_of[k])

    def _update_quickest(self) -> None:
        """Count the crowd afresh and march the quickest paths with it."""
        self._crowd.factor(self.grid["occ"] >= 0, out=self.crowd_factor)
        self._march_quickest()

    def _place_occupants(self, n_actor_rows: int = 0) -> None:
        sc, b, rng = self.scenario, self.building, self.rng
        n_occ = sc.occupants
        n = n_occ + n_actor_rows
        exit_names = [e.name for e in b.exits]
        self.profile_names = sorted({g.profile for g in sc.groups})
        a = {
            "cell": np.full(n, -1, dtype=np.int32),
            "state": np.full(n, WAITING, dtype=np.uint8),
            "speed_ms": np.zeros(n, dtype=np.float32),
            "credit_m": np.zeros(n, dtype=np.float64),
            "start_s": np.zeros(n, dtype=np.float64),
            "target": np.full(n, -1, dtype=np.int16),
            "belief": np.zeros(n, dtype=np.int32),
            "belief_doors": np.zeros(n, dtype=np.uint64),
            "known": np.zeros(n, dtype=np.uint64),
            "known_locked": np.zeros(n, dtype=np.uint64),
            # (of those, the exits only kept away from: an announcement said to leave by another)
            "steered": np.zeros(n, dtype=np.uint64),
            "field_row": np.full(n, -1, dtype=np.int32),
            "needs_choice": np.zeros(n, dtype=np.bool_),
            "discovered": np.zeros(n, dtype=np.bool_),
            "choice_time_s": np.zeros(n, dtype=np.float64),
            "choice_cell": np.zeros(n, dtype=np.int32),
            "lost_s": np.zeros(n, dtype=np.float64),
            "informant": np.full(n, -1, dtype=np.int16),
            "informant_next": np.full(n, -1, dtype=np.int16),
            "exit_used": np.full(n, -1, dtype=np.int16),
            "out_time_s": np.full(n, np.inf, dtype=np.float64),
            "premove_s": np.zeros(n, dtype=np.float64),
            "carrier": np.full(n, -1, dtype=np.int32),
            "fed": np.zeros(n, dtype=np.float64),
            "smoke_s": np.zeros(n, dtype=np.float64),
            "fed_time_s": np.full(n, np.inf, dtype=np.float64),
        }
        self.profile_of = np.zeros(n_occ, dtype=np.int16)
        self.group_of = np.zeros(n_occ, dtype=np.int16)  # index into scenario.groups
        self.needs_assist = np.zeros(n_occ, dtype=bool)
        occ = self.grid["occ"]
        passable = self.grid["passable"].astype(bool)
        staff_mask_exits = 0
        for e in b.exits:
            if self.exit_locked[e.index]:
                staff_mask_exits |= 1 << e.index
        staff_mask_doors = 0
        for d in b.doors:
            if self.door_locked[d.index]:
                staff_mask_doors |= 1 << d.index
        i0 = 0
        for gi, g in enumerate(sc.groups):
            if g.count == 0:
                continue
            cells = b.region(g.region).cells
            free = cells[(occ[cells] < 0) & passable[cells] & (b.kind[cells] != DOOR)]
            if len(free) < g.count:
                from .errors import ScenarioError
                raise ScenarioError(sc.path, [f"region '{g.region}': {g.count} occupants of "
                                              f"profile '{g.profile}' do not fit in its "
                                              f"{len(free)} free cells"])
            chosen = rng.choice(free, size=g.count, replace=False)
            sl = slice(i0, i0 + g.count)
            a["cell"][sl] = chosen
            occ[chosen] = np.arange(i0, i0 + g.count, dtype=np.int32)
            a["speed_ms"][sl] = g.speed_ms.sample(rng, g.count)
            a["premove_s"][sl] = g.premove_s.sample(rng, g.count)
            a["start_s"][sl] = np.inf if sc.drill.scripted_alarm else \
                sc.alarm_s + a["premove_s"][sl]
            if PROFILES[g.profile].needs_assist:
                a["start_s"][sl] = np.inf
                self.needs_assist[sl] = True
            mask = 0
            for nm in g.knows:
                mask |= 1 << exit_names.index(nm)
            a["known"][sl] = np.uint64(mask)
            if g.knows_locked:
                a["known_locked"][sl] = np.uint64(staff_mask_exits)
                a["belief_doors"][sl] = np.uint64(staff_mask_doors)
                a["belief"][sl] = self._belief_index(staff_mask_doors)
            self.profile_of[sl] = self.profile_names.index(g.profile)
            self.group_of[sl] = gi
            i0 += g.count
        # Number the occupants in the order of their cells: the kernels visit occupants by id,
        # and with neighbours in space also neighbours in memory the grid's cells round them
        # are read near-sequentially too (at 100,000 occupants: about a quarter off the whole
        # step, measured side by side). Crowds keep much of this order as they walk.
        by_cell = np.argsort(a["cell"][:n_occ], kind="stable")
        for arr in (*a.values(), self.profile_of, self.group_of, self.needs_assist):
            arr[:n_occ] = arr[:n_occ][by_cell]
        occ[a["cell"][:n_occ]] = np.arange(n_occ, dtype=np.int32)
        self.agents_state = a
        self.n_occupants = n_occ
        self.n_agents = n

    # ------------------------------------------------------------------ changes mid-run
    def lock(self, name: str) -> None:
        """Lock an exit or named door (occupants find out on arrival)."""
        self._set_lock(name, True)

    def unlock(self, name: str) -> bool:
        """Unlock an exit or named door; False (and nothing changes) if the scenario holds it
        locked (``held_locked``: taken away for a study)."""
        if name in self.scenario.held_locked:
            return False
        self._set_lock(name, False)
        return True

    def is_locked(self, name: str) -> bool:
        b = self.building
        if name in {e.name for e in b.exits}:
            return bool(self.exit_locked[b.exit_index(name)])
        return bool(self.door_locked[b.door_index(name)])

    def _set_lock(self, name: str, locked: bool) -> None:
        b = self.building
        if name in {e.name for e in b.exits}:
            self.exit_locked[b.exit_index(name)] = locked
        else:
            self.door_locked[b.door_index(name)] = locked
        self._refresh_passable()
        # Occupants' fields stay (they learn of locks by finding them); actors know.
        if self.drill is not None:
            self.drill.refresh_goals()
        self._doors_changed()

    def _doors_changed(self) -> None:
        if self.hazard is not None:
            self.hazard.doors_changed()  # smoke passes closed and locked doors only by leakage

    def open_door(self, name: str) -> None:
        self.door_closed[self.building.door_index(name)] = False
        self._refresh_factor()
        self._recompute_all_fields()
        self._doors_changed()

    def close_door(self, name: str) -> None:
        self.door_closed[self.building.door_index(name)] = True
        self._refresh_factor()
        self._recompute_all_fields()
        self._doors_changed()

    # --- drill effects on occupants (vectorised over occupants)
    def _in_area(self, area: str) -> np.ndarray:
        """Occupants (not actors) whose cell lies in a region, or everyone for "all"."""
        cells = self.agents_state["cell"][:self.n_occupants]
        if area == "all":
            return cells >= 0
        mask = np.zeros(self.building.n_cells, dtype=bool)
        mask[self.building.region(area).cells] = True
        return (cells >= 0) & mask[cells]

    def raise_alarm(self, area: str, t: float) -> None:
        """Start the pre-movement clocks of occupants in ``area`` who have not heard one."""
        a = self.agents_state
        n = self.n_occupants
        start = a["start_s"][:n]
        hear = self._in_area(area) & np.isinf(start) & ~self.needs_assist
        start[hear] = t + a["premove_s"][:n][hear]
        self._log(t, "alarm", area=area, occupants=int(np.count_nonzero(hear)))

    def notice_smoke(self, extinction: np.ndarray, threshold: float, t: float) -> int:
        """Occupants no alarm has reached (nor a sweep) who stand in smoke of at least
        ``threshold`` (extinction coefficient, 1/m) start their pre-movement clocks at ``t``:
        smoke is a cue of its own. Returns how many; logged as ``noticed_smoke``."""
        if not self._unaware_left:
            return 0
        a = self.agents_state
        n = self.n_occupants
        start = a["start_s"][:n]
        c = a["cell"][:n]
        # Not reached by an alarm: with a scripted alarm, those whose clock no alarm (or
        # sweep) started; with the scenario's ``alarm_s``, everyone until it sounds.
        before_alarm = not self.scenario.drill.scripted_alarm and t < self.scenario.alarm_s
        unaware = (np.isinf(start) | before_alarm) & ~self._cued & ~self.needs_assist & \
            (c >= 0) & (a["state"][:n] == WAITING)
        if not unaware.any():
            self._unaware_left = False  # (clocks, once started, are never stopped)
            return 0
        who = np.flatnonzero(unaware)
        who = who[extinction[c[who]] >= threshold]
        if who.size:
            self._cued[who] = True
            start[who] = np.minimum(start[who], t + a["premove_s"][:n][who])
            self.noticed_smoke += int(who.size)
            self._log(t, "noticed_smoke", occupants=int(who.size))
        return int(who.size)

    def hurry(self, cells: np.ndarray, t: float) -> int:
        """Occupants waiting in ``cells`` start to leave now (a sweep reached them)."""
        a = self.agents_state
        n = self.n_occupants
        mask = np.zeros(self.building.n_cells, dtype=bool)
        mask[cells] = True
        c = a["cell"][:n]
        who = (c >= 0) & mask[np.maximum(c, 0)] & (a["state"][:n] == WAITING) & \
            ~self.needs_assist
        a["start_s"][:n][who] = np.minimum(a["start_s"][:n][who], t)
        return int(np.count_nonzero(who))

    def announce(self, area: str, exit_closed: str | None, use_exit: str | None,
                 exit_open: str | None = None) -> None:
        """Tell occupants in ``area`` that an exit is closed, that one is open, and/or which
        exit to use."""
        a = self.agents_state
        who = np.flatnonzero(self._in_area(area))
        if exit_open:
            bit = np.uint64(1) << np.uint64(self.building.exit_index(exit_open))
            a["known"][who] |= bit
            a["known_locked"][who] &= ~bit
            a["steered"][who] &= ~bit
        if exit_closed:
            bit = np.uint64(1) << np.uint64(self.building.exit_index(exit_closed))
            a["known_locked"][who] |= bit
            a["steered"][who] &= ~bit
        if use_exit:
            # "Leave by X": they head for X and, told not to use the others, treat those as
            # closed (exits they come to see stay in that list). The others are only steered
            # away from: should X turn out locked, with no other way they try them rather
            # than wait at a locked door (see choose_exits).
            bit = np.uint64(1) << np.uint64(self.building.exit_index(use_exit))
            every = np.uint64((1 << self.n_exits) - 1)
            real = a["known_locked"][who] & ~a["steered"][who]
            a["known"][who] = bit
            a["known_locked"][who] = (a["known_locked"][who] | every) & ~bit
            a["steered"][who] = every & ~bit & ~real
        a["needs_choice"][who] = True

    # --- hazard effects on the grid
    def burning_changed(self, burning: np.ndarray, ignited=()) -> None:
        """Cells on fire are impassable; anyone standing in one is a casualty (logged as
        ``caught_by_fire``), but one standing where a fire ignites (``ignited``: the cells
        fires started in this step) steps aside first: a fire does not start under
        somebody's feet (one started later in the run, by ``start_s`` or an ``ignite``
        action, caught whoever walked through its origin at that step). Those still waiting
        in a cell beside the flames (an alarm's pre-movement not over, or no alarm yet) start
        to leave at once (``fled_fire``): nobody finishes a song beside a burning sofa. (A
        visitor of the karaoke bar, alarmed, stood in the next cell until the fire spread to
        theirs.)"""
        self.burning_since_s[burning & ~self.burning] = self.time_s
        self.burning[:] = burning
        a = self.agents_state
        n = self.n_occupants
        for c in ignited:
            k = int(self.grid["occ"][int(c)])
            if 0 <= k < n and a["state"][k] in (WAITING, MOVING):
                self._move_out_of_fire(k, burning)
        c = a["cell"][:n]
        state = a["state"][:n]
        inside = c >= 0
        cell = np.maximum(c, 0)
        caught = inside & burning[cell] & ((state == WAITING) | (state == MOVING))
        t = self.time_s
        if np.any(caught):
            state[caught] = CASUALTY
            a["fed_time_s"][:n][caught] = t
            self._casualties_on_grid = True
            self.caught_by_fire += int(np.count_nonzero(caught))
            self._log(t, "caught_by_fire", occupants=int(np.count_nonzero(caught)))
        beside = burning.copy()
        lit = np.flatnonzero(burning)
        w = self.building.width
        for d in (-w - 1, -w, -w + 1, -1, 1, w - 1, w, w + 1):
            j = lit + d
            beside[j[(j >= 0) & (j < beside.size)]] = True
        start = a["start_s"][:n]
        fled = inside & beside[cell] & (state == WAITING) & ~self.needs_assist & (start > t)
        if np.any(fled):
            start[fled] = t
            self.fled_fire += int(np.count_nonzero(fled))
            self._log(t, "fled_fire", occupants=int(np.count_nonzero(fled)))
        self._step_back_from_fire(burning)
        self._refresh_passable()

    def _clear_fire_origins(self) -> None:
        """Nobody starts where a fire starts. Placed at random, about one run in a hundred of
        the karaoke bar and the bathhouse put someone in the cell where the fire ignites, and
        the fire's first step caught them, before anything happened. Whoever was placed
        there moves to the nearest free cell of the fire's region (or, with none, of the
        building): no random number is drawn, so every other run stays as it was."""
        g, b = self.grid, self.building
        for fs in self.hazard.fires:
            origin = int(fs.cells[0])
            k = int(g["occ"][origin])
            if k < 0:
                continue
            place = g["passable"].astype(bool) & (b.kind != DOOR) & (g["exit_of_cell"] < 0)
            place[origin] = False
            in_region = np.zeros_like(place)
            in_region[fs.cells] = True
            j = -1
            for open_ in (place & in_region, place):
                j = nearest_free_cell(origin, open_, g["occ"], b.width, b.link_ptr, b.link_to,
                                      ~self.walkable_base)
                if j >= 0:
                    break
            if j >= 0:
                g["occ"][origin] = -1
                g["occ"][j] = k
                self.agents_state["cell"][k] = j

    def _step_back_from_fire(self, burning: np.ndarray) -> None:
        """Staff and responders whom the fire reaches are not caught, as occupants are
        (trained and awake, they are not dosed either): each steps back to the nearest free
        cell not on fire (:meth:`_move_out_of_fire`), and ``stepped_back_from_fire`` is
        logged. Before this, the restaurant's cook, placed at the range where its gas fire
        starts (seed 2), stood in the flames until the brigade put them out, six minutes
        later; nobody is placed there now (:meth:`_clear_fire_origins`), but the fire still
        grows into the cook fighting it at its edge (seed 2: at 15 and 25 s). One with no
        such cell stays."""
        n, a = self.n_occupants, self.agents_state
        cell, state = a["cell"][n:], a["state"][n:]
        hit = (cell >= 0) & ((state == WAITING) | (state == MOVING))
        hit &= burning[np.maximum(cell, 0)]
        if not hit.any():
            return
        names = {mem.row: mem.actor for mem in self.drill.members} if self.drill else {}
        for i in n + np.flatnonzero(hit):
            if self._move_out_of_fire(int(i), burning):
                self._log(self.time_s, "stepped_back_from_fire",
                          actor=names.get(int(i), "staff"))

    def _move_out_of_fire(self, i: int, burning: np.ndarray) -> bool:
        """Agent ``i`` moves to the nearest free cell not on fire, reached from where it
        stands without crossing the fire, a wall or an exit (a diagonal step between two
        burning cells is allowed, as round a wall's corner it is not). False if there is
        none (it stays)."""
        g, b, a = self.grid, self.building, self.agents_state
        open_ = g["passable"].astype(bool) & ~burning & (g["exit_of_cell"] < 0)
        c = int(a["cell"][i])
        j = nearest_free_cell(c, open_, g["occ"], b.width, b.link_ptr, b.link_to,
                              ~self.walkable_base)
        if j < 0:
            return False
        g["occ"][c] = -1
        g["occ"][j] = i
        a["cell"][i] = j
        return True

    def smoke_changed(self, speed: np.ndarray, route: np.ndarray) -> None:
        self.smoke_speed[:] = speed
        self.smoke_route[:] = route
        self._refresh_factor()
        self._recompute_all_fields()

    def add_clutter(self, region: str, speed_factor: float) -> None:
        self.clutter_factor[self.building.region(region).cells] = speed_factor
        self._refresh_factor()
        self._recompute_all_fields()

    def clear_clutter(self, region: str) -> None:
        self.clutter_factor[self.building.region(region).cells] = 1.0
        self._refresh_factor()
        self._recompute_all_fields()

    def _apply_due_changes(self) -> None:
        while self._pending and self._pending[0].time_s <= self.time_s + 1e-9:
            ch = self._pending.pop(0)
            if ch.action == "lock":
                self.lock(ch.target)
            elif ch.action == "unlock":
                if not self.unlock(ch.target):
                    self._log(self.time_s, "stays_locked", target=ch.target,
                              planned_s=ch.time_s)
                    continue
            elif ch.action == "open":
                self.open_door(ch.target)
            elif ch.action == "close":
                self.close_door(ch.target)
            elif ch.action == "add_clutter":
                self.add_clutter(ch.target, ch.speed_factor)
            else:
                self.clear_clutter(ch.target)
            self._log(self.time_s, ch.action, target=ch.target, planned_s=ch.time_s)

    # ------------------------------------------------------------------ the time step
    def step(self) -> None:
        a, prm, t = self.agents_state, self.params, self.time_s
        self._apply_due_changes()
        if self.scenario.alarm_s > 0 and t <= self.scenario.alarm_s < t + self.dt_s and \
                not self.scenario.drill.scripted_alarm:
            self._log(self.scenario.alarm_s, "alarm")
        if self.drill is not None:
            self.drill.before_step(t)
        # Start those whose pre-movement is over; each occupant reconsiders its exit every
        # rechoice_s, staggered by id.
        activate(a, self._occupant_phase, self.n_steps % self.rechoice_every, t,
                 self.scratch.get("order"))  # (last step's order: it holds all not yet out)
        if self.n_steps % 20 == 0:
            self.scratch["order"] = self._visiting_order()
        order = self.scratch["order"]
        n = self.n_agents
        key = step_key(self._stream_key, self.n_steps)
        if self._quickest_every and self.n_steps % self._quickest_every == 0 and self.n_steps:
            self._update_quickest()
        # Only the step's kernels change who heads where, from where (no drill, no hazard,
        # nothing locked to find): the queue histogram is kept, not counted afresh. (With
        # quickest paths, the movement step would note where people go on the fields it
        # follows, not on exit choice's.)
        kept = self.keep_queue_histogram and self.drill is None and self.hazard is None and \
            not (self._relay_pending or self._anything_locked or self._quickest_every)
        if self._relay_pending or self._anything_locked:
            self._discover(key)  # (with nothing locked and no news on its way: no change)
        if n > self.n_occupants:
            a["needs_choice"][self.n_occupants:] = False  # actors follow their goals
        if not kept:
            self._live["valid"] = False
        live = self._live if kept else None
        self.scratch["live"] = live
        choose_exits(a, self.fields, self.row_of, self.capacity_ps,
                     {"bin_m": self.building.cell_m, "sight_m": prm.sight_m,
                      "hysteresis": prm.hysteresis, "time_s": t,
                      "max_distance_m": self._max_distance_m, "clock": self.n_steps,
                      "width": self.building.width}, order, self._exit_dist,
                     # (cells need marking only while somebody holds a settled choice)
                     self.grid["stamp"] if self.scratch["settled_total"][0] else None,
                     self._bins, live)
        if self._stale_downhill != set():
            self._refresh_downhill()
        step_movement(a, self.grid, self.move_fields, key,
                      {"dt_s": self.dt_s, "time_s": t, "k_s": prm.k_s, "k_d": prm.k_d,
                       "mu": prm.friction, "swap": prm.swap_probability,
                       "step_over": self._casualties_on_grid,
                       "clock": self.n_steps, "settle_after": self._settle_after_now()},
                      self.scratch)
        update_dynamic_field(self.grid["dyn"], self.walkable_base, self.building.width,
                             prm.diffusion, prm.decay, self._dyn_next, self._dyn_coefficients)
        self.grid["dyn"], self._dyn_next = self._dyn_next, self.grid["dyn"]
        if self.drill is not None:
            self.drill.after_step(t + self.dt_s)
        if self.hazard is not None:
            self.hazard.step(t, self.dt_s)
            hit = self.hazard.dose(a, 0, self.n_occupants, t, self.dt_s, CASUALTY, WAITING,
                                   MOVING)
            if hit:
                self._casualties_on_grid = True  # (from now on they may be stepped over)
                self._log(t + self.dt_s, "incapacitated", occupants=int(hit))
        self.n_steps += 1
        self.time_s = self.n_steps * self.dt_s
        if self.n_steps % self.record_every_steps == 0:
            self._record_frame()
        remaining, evacuated, by_exits = census_of(a["state"], order, self.n_occupants,
                                                   self.scratch["out_by_exit"],
                                                   self._exit_totals)
        self._census_at = (self.n_steps, remaining, evacuated)
        self._by_exits_at = (self.n_steps, by_exits)
        # Everyone out, but the drill still under way (a vehicle on the road, a task started):
        # the run goes on until it is done.
        drill_busy = remaining == 0 and self.drill is not None and self.drill.busy()
        self.occupant_steps += remaining
        if remaining == 0 and self._all_out_s is None:
            # Logged when it happens (the last occupant's out-time), also when the drill goes
            # on after it.
            self._all_out_s = self.time_s
            # (who cannot leave; of them, any caught where the fire spread are said apart)
            caught = {"caught_by_fire": self.caught_by_fire} if self.caught_by_fire else {}
            self._log(self.time_s, "all_out", inside=0,
                      casualties=int(self.n_occupants - evacuated), **caught)
        if (remaining == 0 and not drill_busy) or \
                self.time_s >= self.scenario.time_limit_s - 1e-9:
            self.running = False
            if self.frames[-1].time_s != self.time_s:
                self._record_frame()
            if remaining:
                self._log(self.time_s, "time_limit", inside=int(remaining))
            elif drill_busy:  # (everyone out, but the drill cut short by the time limit)
                self._log(self.time_s, "time_limit", inside=0, drill_unfinished=True)
            elif self._all_out_s < self.time_s:
                self._log(self.time_s, "drill_done")  # (the run went on for the drill)

    def _settle_after_now(self) -> int:
        """``settle_after`` for this step's movement (see :func:`step_movement`): the last
        change of fields, walls or speed factors. Where a drill runs (actors move people and
        change their goals) or a hazard (speeds and states change), no choice is taken as
        settled."""
        if self.drill is not None or self.hazard is not None or not self.settle_jams:
            return NEVER_SETTLE
        return self._settle_after

    def _visiting_order(self) -> np.ndarray:
        """The agents the step's kernels visit (the results do not depend on the order).
        Occupants who are out are left out: leaving is final for them, and late in a large
        run most have left. Actors are always in (they come and go).

        They are visited by id: each occupant's own data is then read in sequence. Ids start
        in the order of the occupants' cells, and this order drifts as they walk; visiting by
        cell instead keeps the grid's reads close together but scatters the occupants' own,
        and measured on the temple fair (36,000-92,000 inside) it was 9-12 % slower."""
        n_occ = self.n_occupants
        order = np.flatnonzero(self.agents_state["state"][:n_occ] != EVACUATED)
        if self.n_agents > n_occ:
            order = np.concatenate([order, np.arange(n_occ, self.n_agents)])
        return order.astype(np.int64, copy=False)

    def _discover(self, key) -> None:
        # (Called only while something is locked or news is on its way: otherwise the kernel
        # would change nothing.)
        a, b = self.agents_state, self.building
        n_ev, _ = discover_locked(a, self.grid, self.move_fields, key,
                                     {"tell_radius": round(self.params.tell_radius_m / b.cell_m),
                                      "tell_p": self.params.tell_probability}, self.events_buf)
        told_now = a["informant"] >= 0  # (told this step: they pass it on in the next)
        self._relay_pending = bool(told_now.any())
        if self._relay_pending:
            self.heard_from_others |= told_now[:self.n_occupants]
        if n_ev == 0:
            return
        agents = self.events_buf["agent"][:n_ev]
        exits = self.events_buf["exit"][:n_ev]
        doors = self.events_buf["door"][:n_ev]
        found_exit = exits >= 0
        self.found_first_hand[agents[found_exit]] = True
        self.discoveries += np.bincount(exits[found_exit], minlength=self.n_exits)
        for e in np.unique(exits[found_exit]):
            if ("exit", int(e)) not in self._first_found:
                self._first_found.add(("exit", int(e)))
                who = int(agents[found_exit][exits[found_exit] == e][0])
                self._log(self.time_s, "found_locked", exit=b.exits[e].name, occupant=who)
        # Doors: each occupant who found or heard of a locked door adopts a belief that
        # includes it (one Python iteration per distinct belief, not per occupant).
        door_ev = ~found_exit
        if np.any(door_ev):
            ag, dr = agents[door_ev], doors[door_ev]
            first_hand = np.zeros(len(ag), dtype=bool)
            first_hand[np.unique(ag, return_index=True)[1]] = True
            for d in np.unique(dr):
                if ("door", int(d)) not in self._first_found:
                    self._first_found.add(("door", int(d)))
                    self._log(self.time_s, "found_locked", door=b.doors[d].name,
                              occupant=int(ag[dr == d][0]))
            new_mask = a["belief_doors"][ag] | (np.uint64(1) << dr.astype(np.uint64))
            for m in np.unique(new_mask):
                k = self._belief_index(int(m))
                who = ag[new_mask == m]
                a["belief"][who] = k
                a["belief_doors"][who] = m
            a["needs_choice"][ag] = True
            self.door_discoveries += np.bincount(dr, minlength=len(self.door_discoveries))

    def _record_frame(self) -> None:
        a = self.agents_state
        cell = a["cell"].copy()
        carried = np.flatnonzero(a["carrier"] >= 0)
        if carried.size:
            cell[carried] = cell[a["carrier"][carried]]
        smoke = self.hazard.smoke_frame() if self.hazard is not None else None
        self.frames.append(Frame(self.time_s, cell, a["state"].copy(), smoke))
        self._track_regions()

    def _track_regions(self) -> None:
        """Per region: when it became untenable (hazard) and when it was last occupied."""
        a = self.agents_state
        hit = occupied_regions(a["cell"], a["state"], self.n_occupants, self._region_masks,
                               self._region_hit)
        for k in np.flatnonzero(hit):
            self.region_last_occupied[self._region_names[k]] = self.time_s
        if self.hazard is not None:
            self.hazard.update_regions(self.time_s)

    # ------------------------------------------------------------------ queries
    @property
    def told(self) -> int:
        """Occupants who heard of a locked exit from others (news passed on, not an
        announcement) and did not walk up to one themselves; those who later heard it was
        unlocked too."""
        n = self.n_occupants
        return int(np.count_nonzero(self.heard_from_others & ~self.found_first_hand[:n]))

    def count_inside(self) -> int:
        """Occupants still in the building and able to leave or be carried (not casualties)."""
        return self.census()[0]

    def census(self) -> tuple[int, int]:
        """(occupants inside, occupants evacuated)."""
        return census(self.agents_state["state"], self.n_occupants)

    def step_census(self) -> tuple[int, int]:
        """:meth:`census` as counted at the end of the last step (for the step's reporters:
        one count, not one per reporter); counted afresh if no step has counted yet."""
        step, inside, evacuated = self._census_at
        if step == self.n_steps:
            return inside, evacuated
        return self.census()

    def exit_counts(self) -> dict[str, int]:
        counts = self._count_exits()
        return {e.name: int(counts[e.index]) for e in self.building.exits}

    def step_exit_counts(self) -> tuple[int, ...]:
        """Occupants out by each exit, in the building's exit order, after the last step:
        from the movement step's own count of those who reached an exit, not a pass over
        everyone. With a drill (actors go out too, staff carry residents out) everyone is
        counted; so is everyone if the count does not add up to the census."""
        step, counts = self._exits_at
        if step == self.n_steps:
            return counts
        # The step's census summed the movement step's count by exit into _exit_totals.
        step_c, evacuated = self._census_at[0], self._census_at[2]
        if self.drill is None and step_c == self.n_steps and \
                self._by_exits_at == (self.n_steps, evacuated):
            counts = tuple(self._exit_totals.tolist())
        else:
            counts = tuple(self._count_exits().tolist())
        self._exits_at = (self.n_steps, counts)
        return counts

    def _count_exits(self) -> np.ndarray:
        used = self.agents_state["exit_used"][:self.n_occupants]
        return np.bincount(used[used >= 0], minlength=self.n_exits)

    def run(self, max_steps: int | None = None) -> "Engine":
        """Step until everyone is out or the time limit is reached."""
        limit = max_steps if max_steps is not None else math.inf
        while self.running and self.n_steps < limit:
            self.step()
        return self


def nearest_free_cell(start: int, open_: np.ndarray, occ: np.ndarray, width: int,
                      link_ptr: np.ndarray, link_to: np.ndarray, walls: np.ndarray) -> int:
    """The free cell (``open_`` and unoccupied in ``occ``) nearest ``start`` in steps
    through open cells (to the eight neighbours, a diagonal not cutting the corner of a wall
    (``walls``: True where the building is solid), or along a stair link; ``start`` itself
    need not be open), the first found in a fixed order among those as near; -1 if none."""
    seen = {start}
    frontier = [start]
    while frontier:
        nxt = []
        for c in frontier:
            around = [c - width, c - 1, c + 1, c + width]
            for dr in (-width, width):
                for dc in (-1, 1):
                    if not walls[c + dr] and not walls[c + dc]:
                        around.append(c + dr + dc)
            around += [int(j) for j in link_to[link_ptr[c]:link_ptr[c + 1]]]
            for j in around:
                if j in seen or not open_[j]:
                    continue
                if occ[j] < 0:
                    return j
                seen.add(j)
                nxt.append(j)
        frontier = nxt
    return -1


def _adjacent_exit_mask(b: Building) -> np.ndarray:
    mask = np.zeros(b.n_cells, dtype=np.uint64)
    w = b.width
    for e in b.exits:
        bit = np.uint64(1) << np.uint64(e.index)
        for c in e.cells:
            for d in (-w - 1, -w, -w + 1, -1, 1, w - 1, w, w + 1):
                mask[c + d] |= bit
    return mask


def _adjacent_door_cell(b: Building) -> np.ndarray:
    out = np.full(b.n_cells, -1, dtype=np.int32)
    w = b.width
    for d in b.doors:
        if not d.is_named:
            continue
        for c in d.cells:
            for off in (-w, -1, 1, w):
                j = c + off
                if b.kind[j] != DOOR and out[j] < 0:
                    out[j] = c
    return out
