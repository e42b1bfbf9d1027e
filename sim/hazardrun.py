"""Fire and smoke in a running model: fire growth, smoke spread, conditions, dose, detectors
and tenability (the model is described in :mod:`sim.hazard` and docs/hazards.md)."""

from __future__ import annotations

import math

import numpy as np

from .building import DOOR, EXIT, FLIGHT, FLOOR, STAIR
from .hazard import Fire, HazardSpec
from .kernels import smoke as K
from .kernels.half import to_float16
from .kernels.regions import region_means

O2_KG_PER_MJ = 1.0 / 13.1  # oxygen consumed per MJ released (Huggett)
RHO_CP_KJ_M3K = 1.204  # air at 20 °C: 1.2 kg/m³ x 1.005 kJ/(kg K)
CO_KG_M3, CO2_KG_M3, O2_KG_M3 = 1.165, 1.83, 1.331  # pure gas densities at 20 °C
UNTENABLE_VISIBILITY_M = 10.0
UNTENABLE_TEMP_C = 60.0
UNTENABLE_FED_RATE = 0.3 / 300.0


class FireState:
    def __init__(self, fire: Fire, cells_by_distance: np.ndarray):
        self.fire = fire
        self.start_s = fire.start_s
        self.cells = cells_by_distance
        self.suppressed_s: float | None = None
        self.suppressed_kw = 0.0
        self.mode = "extinguish"
        self.burning = 0
        self.logged = False

    def hrr_kw(self, t: float) -> float:
        if self.start_s is None or t < self.start_s:
            return 0.0
        f = self.fire
        grow = min(f.alpha_kw_s2 * (t - self.start_s) ** 2, f.max_kw)
        if self.suppressed_s is None or t < self.suppressed_s:
            return grow
        if self.mode == "control":
            return self.suppressed_kw
        return self.suppressed_kw * math.exp(-(t - self.suppressed_s) / f.decay_s)


class Hazard:
    """The hazard state of one model run. ``step`` runs after movement each time step."""

    def __init__(self, model, spec: HazardSpec):
        self.m = model
        self.spec = spec
        b = model.building
        pr = spec.params
        n = b.n_cells
        self.y = np.zeros(n)
        self._scratch = np.zeros(n)
        self.source = np.zeros(n)
        self.volume_m3 = b.cell_m * b.cell_m * pr.ceiling_m
        self.n_sub = K.substeps(pr.diffusivity_m2_s, model.dt_s, b.cell_m, b.link_ptr,
                                b.link_len_m)
        self.is_open = np.isin(b.kind, (FLOOR, DOOR, STAIR, FLIGHT, EXIT))
        self.g = np.zeros(n)
        self.sink = np.zeros(n, dtype=np.bool_)
        self.burning = np.zeros(n, dtype=bool)
        hc = pr.heat_of_combustion_mj_kg
        self.cond_params = {
            "soot_k": pr.specific_extinction_m2_kg * pr.soot_yield,
            "co_ppm_per": pr.co_yield / CO_KG_M3 * 1e6,
            "co2_pct_per": pr.co2_yield / CO2_KG_M3 * 100.0,
            "o2_pct_per": hc * O2_KG_PER_MJ / O2_KG_M3 * 100.0,
            "dtemp_per": (1.0 - pr.heat_loss_fraction) * hc * 1000.0 / RHO_CP_KJ_M3K,
            "speed_floor": pr.speed_floor,
            "fn_slope": K.FN_SLOPE,
        }
        self.fixed = {k: np.full(n, -1.0) for k in ("k", "co", "co2", "o2", "t")}
        for atm in spec.atmospheres:
            cells = b.region(atm.region).cells
            for key, v in (("k", atm.extinction_per_m), ("co", atm.co_ppm),
                           ("co2", atm.co2_pct), ("o2", atm.o2_pct), ("t", atm.temperature_c)):
                if v >= 0:
                    self.fixed[key][cells] = v
        self.out = {k: np.zeros(n) for k in ("k", "speed", "fed_rate", "temp")}
        self.fires = [FireState(f, self._cells_by_distance(f)) for f in spec.fires]
        self.detector_cells = {d.name: self._middle(b.region(d.region).cells)
                               for d in spec.detectors}
        self.detector_fired: dict[str, float] = {}
        self.region_cells = {r.name: r.cells for r in b.regions}
        # The same, one region after another, for the means at each frame (update_regions).
        self._region_names = [r.name for r in b.regions]
        self._region_cells = np.concatenate(
            [np.asarray(r.cells, dtype=np.int64) for r in b.regions] or
            [np.zeros(0, dtype=np.int64)])
        self._region_ptr = np.zeros(len(b.regions) + 1, dtype=np.int64)
        self._region_ptr[1:] = np.cumsum([len(r.cells) for r in b.regions])
        self._region_done = np.zeros(len(b.regions), dtype=np.bool_)
        self._region_out = np.empty((len(b.regions), 3))
        self.untenable_s: dict[str, float] = {}
        self.smoke_first: dict[tuple[str, float], float] = {}
        self.peak_hrr_kw = 0.0
        self._last_route_update = -math.inf
        # Conditions (K, speed, FED rate, temperature) are refreshed once a second: they change
        # slowly, and the powers and exponentials per cell cost more than the spread itself.
        self.conditions_every = max(1, round(1.0 / model.dt_s))
        self._steps = 0
        self._conductance()
        self._conditions()

    # --- set-up
    def _middle(self, cells: np.ndarray) -> int:
        _, x, y = self.m.building.cell_position(cells)
        k = int(np.argmin((x - x.mean()) ** 2 + (y - y.mean()) ** 2))
        return int(cells[k])

    def _cells_by_distance(self, f: Fire) -> np.ndarray:
        b = self.m.building
        cells = b.region(f.region).cells
        _, x, y = b.cell_position(cells)
        if f.origin is None:
            ox, oy = x.mean(), y.mean()
        else:
            ox, oy = f.origin
        order = np.argsort((x - ox) ** 2 + (y - oy) ** 2, kind="stable")
        return cells[order]

    def _conductance(self) -> None:
        """Smoke conductance per cell from the current state of doors and exits."""
        m, b, pr = self.m, self.m.building, self.spec.params
        g = self.is_open.astype(np.float64)
        for d in b.doors:
            if m.door_closed[d.index] or m.door_locked[d.index]:
                g[d.cells] = pr.door_leakage
        sink = np.zeros(b.n_cells, dtype=np.bool_)
        for e in b.exits:
            sink[e.cells] = True
            if m.exit_locked[e.index] or e.state == "closed":
                # A locked or self-closing exit door lets smoke out only by leakage, so it
                # does not vent the stair or corridor behind it (in a fire, a stair's stack
                # effect draws air in at its bottom door rather than letting smoke out).
                g[e.cells] = pr.door_leakage
        self.g, self.sink = g, sink
        self.faces = K.diffusion_faces(g, sink, b.width, b.link_ptr)

    def doors_changed(self) -> None:
        self._conductance()

    # --- actions
    def ignite(self, name: str, t: float) -> None:
        fs = next(f for f in self.fires if f.fire.name == name)
        if fs.start_s is None or fs.start_s > t:
            fs.start_s = t

    def suppress(self, name: str, t: float, mode: str) -> None:
        fs = next(f for f in self.fires if f.fire.name == name)
        if fs.suppressed_s is None:
            fs.suppressed_kw = fs.hrr_kw(t)
            fs.suppressed_s = t
            fs.mode = mode
            self.m.log(t, "suppressed", fire=name, hrr_kw=round(fs.suppressed_kw, 1), mode=mode)

    # --- the step
    def step(self, t: float, dt: float) -> None:
        """Advance fire and smoke from t to t + dt; then dose the occupants."""
        m, b, pr = self.m, self.m.building, self.spec.params
        self.source[:] = 0.0
        burning_changed = False
        ignited = []  # (the cells fires start in, this step)
        for fs in self.fires:
            q = fs.hrr_kw(t + 0.5 * dt)
            if q <= 0.0:
                continue
            if not fs.logged:
                fs.logged = True
                m.log(fs.start_s, "fire", fire=fs.fire.name, region=fs.fire.region)
            self.peak_hrr_kw = max(self.peak_hrr_kw, q)
            area_cells = min(len(fs.cells),
                             max(1, int(math.ceil(q / pr.hrrpua_kw_m2 / b.cell_m ** 2))))
            if area_cells > fs.burning:
                if fs.burning == 0:
                    ignited.append(int(fs.cells[0]))
                self.burning[fs.cells[fs.burning:area_cells]] = True
                fs.burning = area_cells
                burning_changed = True
            src = fs.cells[:fs.burning]
            self.source[src] += q / 1000.0 / pr.heat_of_combustion_mj_kg / len(src)
        K.spread(self.y, self._scratch, self.g, self.sink, self.source, self.volume_m3, b.width,
                 dt, b.cell_m, pr.diffusivity_m2_s, b.link_ptr, b.link_to, b.link_len_m,
                 self.n_sub, self.faces)
        self._steps += 1
        if self._steps % self.conditions_every == 0:
            self._conditions()
            if pr.notice_extinction_per_m > 0.0:
                m.notice_smoke(self.out["k"], pr.notice_extinction_per_m, t + dt)
        if burning_changed:
            m.burning_changed(self.burning, ignited)
        for d in self.spec.detectors:
            if d.name not in self.detector_fired and \
                    self.out["k"][self.detector_cells[d.name]] >= d.threshold_per_m:
                self.detector_fired[d.name] = t + dt
                m.log(t + dt, "detector", detector=d.name)
        if t + dt - self._last_route_update >= pr.route_update_s - 1e-9:
            self._last_route_update = t + dt
            if burning_changed or (self.out["k"] > 0.0).any():
                m.smoke_changed(self.out["speed"], self.route_speed())

    def _conditions(self) -> None:
        K.conditions(self.y, self.fixed, self.cond_params, self.out)

    def route_speed(self) -> np.ndarray:
        """Speed factor for route fields: smoke-logged cells count five times as long."""
        pr = self.spec.params
        logged = self.out["k"] > pr.visibility_constant / UNTENABLE_VISIBILITY_M
        return np.where(logged, 0.2 * self.out["speed"], self.out["speed"])

    def dose(self, a, first: int, last: int, t: float, dt: float, casualty, waiting,
             moving) -> int:
        return K.dose(a["cell"], a["state"], a["fed"], a["smoke_s"], self.out["k"],
                      self.out["fed_rate"], dt, self.spec.params.in_smoke_extinction_per_m,
                      first, last, casualty, waiting, moving, a["fed_time_s"], t)

    # --- tenability
    def update_regions(self, t: float) -> None:
        """Note the regions that became untenable: by the means over their cells of the
        visibility, the temperature and the FED rate."""
        if len(self.untenable_s) == len(self._region_names):
            return
        means = region_means(self.out["k"], self.out["temp"], self.out["fed_rate"],
                             self._region_cells, self._region_ptr, self._region_done,
                             self._region_out)
        for r, name in enumerate(self._region_names):
            if self._region_done[r]:
                continue
            k, temp, fed_rate = (float(v) for v in means[r])
            vis = self.spec.params.visibility_constant / k if k > 0 else math.inf
            if vis < UNTENABLE_VISIBILITY_M or temp > UNTENABLE_TEMP_C or \
                    fed_rate > UNTENABLE_FED_RATE:
                self.untenable_s[name] = t
                self._region_done[r] = True

    def smoke_reached(self, region: str, threshold: float, t: float) -> float | None:
        key = (region, threshold)
        if key not in self.smoke_first:
            if float(self.out["k"][self.region_cells[region]].max()) >= threshold:
                self.smoke_first[key] = t
        return self.smoke_first.get(key)

    def smoke_frame(self) -> np.ndarray:
        return to_float16(self.out["k"])
