"""Fire and smoke, training grade: t² fires, smoke spread, visibility, slower walking in smoke,
fractional effective dose (FED), detectors, and tenability per region (ASET against RSET).

**What this is not**: a CFD or zone fire model, or anything fit for engineering approval. It
is a documented, tested approximation whose job is to show, in the same run as the
evacuation, how time and locked exits turn into exposure. docs/hazards.md states its limits.

The model (parameters in ``[hazard]``, defaults below; reference/verification.md sections):

* **Fire** (§4.7): heat release ``Q = α (t − t₀)²`` up to ``max_kw``, α from the NFPA class
  (slow 0.00293, medium 0.01172, fast 0.0469, ultrafast 0.1876 kW/s²) or given. The burning
  area ``Q / hrrpua`` grows from the fire's origin through its region and is impassable;
  someone standing in it is a casualty. ``suppress`` makes Q decay exponentially
  (``extinguish``, time constant ``decay_s``) or holds it (``control``).
* **Smoke** (:mod:`sim.kernels.smoke`): fuel burned at ``Q / ΔH_c`` kg/s; its products spread by
  gradient diffusion through open cells and doors (closed doors leak), are lost through open
  exits, and are mixed over the ceiling height.
* **From smoke to conditions**: extinction coefficient ``K = K_m · y_soot · y`` (K_m = 8700 m²/kg,
  the usual mass specific extinction coefficient for flaming fires); visibility ``C / K`` with
  C = 3 (reflecting signs, Jin, §4.5); CO, CO₂ and the O₂ deficit from the yields; temperature
  rise ``(1 − loss) ΔH_c y / (ρ c_p)``, with ``loss = 0.7`` of the heat lost to walls and by
  radiation (an assumption of the kind zone models make).
* **Walking speed** (§4.5): Frantzich & Nilsson (2003), ``v = v₀ (1 − 0.0807 K)`` (α = 0.706
  m/s, β = −0.057 m²/s), never below 0.1 v₀ (the floor FDS+Evac uses with these α, β).
* **Route choice**: the route fields treat a cell where visibility is below 10 m as five times
  as long (an assumption), so occupants take another route when one exists.
* **Dose** (§4.6): FED per second ``FED_CO · V_CO2 + FED_O2`` plus heat ``1/t_tol(T)``;
  incapacitated (a casualty, stays put) at FED 1, *harmed* at 0.3.
* **Updates**: smoke spreads every time step; the conditions derived from it are refreshed
  every second, and the route fields every ``route_update_s``.
* **Tenability of a region**: untenable once its mean visibility is below 10 m, its mean
  temperature above 60 °C, or its mean FED rate would give 0.3 within 5 minutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .building import DOOR, EXIT, FLIGHT, FLOOR, STAIR
from .kernels import smoke as K
from .validation import Problems, describe, did_you_mean

NFPA_ALPHA = {"slow": 0.00293, "medium": 0.01172, "fast": 0.0469, "ultrafast": 0.1876}
HAZARD_LIMITS = {
    "ceiling_m": (2.0, 20.0, 3.0),
    "diffusivity_m2_s": (0.01, 20.0, 1.0),
    "door_leakage": (0.0, 1.0, 0.01),
    "heat_of_combustion_mj_kg": (5.0, 50.0, 20.0),
    "soot_yield": (0.0, 0.5, 0.05),
    "co_yield": (0.0, 0.5, 0.02),
    "co2_yield": (0.0, 5.0, 1.5),
    "specific_extinction_m2_kg": (1000.0, 20000.0, 8700.0),
    "visibility_constant": (1.0, 10.0, 3.0),
    "heat_loss_fraction": (0.0, 0.99, 0.7),
    "hrrpua_kw_m2": (50.0, 5000.0, 250.0),
    "speed_floor": (0.0, 1.0, 0.1),
    "route_update_s": (0.5, 600.0, 5.0),
    "in_smoke_extinction_per_m": (0.0, 10.0, 0.1),
}
O2_KG_PER_MJ = 1.0 / 13.1  # oxygen consumed per MJ released (Huggett)
RHO_CP_KJ_M3K = 1.204  # air at 20 °C: 1.2 kg/m³ x 1.005 kJ/(kg K)
CO_KG_M3, CO2_KG_M3, O2_KG_M3 = 1.165, 1.83, 1.331  # pure gas densities at 20 °C
UNTENABLE_VISIBILITY_M = 10.0
UNTENABLE_TEMP_C = 60.0
UNTENABLE_FED_RATE = 0.3 / 300.0


@dataclass(frozen=True)
class HazardParams:
    ceiling_m: float = 3.0
    diffusivity_m2_s: float = 1.0
    # A closed door's gaps (a few mm around a 0.9 m x 2.1 m leaf, ~0.02 m²) against the ~1.9 m²
    # of the open doorway: about 1 % (an order-of-magnitude assumption).
    door_leakage: float = 0.01
    heat_of_combustion_mj_kg: float = 20.0
    soot_yield: float = 0.05
    co_yield: float = 0.02
    co2_yield: float = 1.5
    specific_extinction_m2_kg: float = 8700.0
    visibility_constant: float = 3.0
    heat_loss_fraction: float = 0.7
    hrrpua_kw_m2: float = 250.0
    speed_floor: float = 0.1
    route_update_s: float = 5.0
    in_smoke_extinction_per_m: float = 0.1


@dataclass(frozen=True)
class Fire:
    name: str
    region: str
    origin: tuple[float, float] | None  # (x_m, y_m) on the region's floor; None: the middle
    alpha_kw_s2: float
    max_kw: float
    start_s: float | None  # None: started by an ``ignite`` action
    decay_s: float


@dataclass(frozen=True)
class Detector:
    name: str
    region: str
    threshold_per_m: float


@dataclass(frozen=True)
class Atmosphere:
    """Fixed conditions in a region (for verification tests and for training set-ups)."""

    region: str
    extinction_per_m: float = -1.0
    co_ppm: float = -1.0
    co2_pct: float = -1.0
    o2_pct: float = -1.0
    temperature_c: float = -1.0


@dataclass(frozen=True)
class HazardSpec:
    params: HazardParams
    fires: tuple[Fire, ...]
    detectors: tuple[Detector, ...]
    atmospheres: tuple[Atmosphere, ...]


def parse_hazard(merged: dict, where_of: dict, regions: list[str], p: Problems,
                 ignited: set[str]) -> HazardSpec | None:
    """Validate ``[hazard]``, ``[[fires]]``, ``[[detectors]]`` and ``[[atmosphere]]``."""
    fires_raw = p.table_list(merged, "fires", where_of.get("fires", "fires"))
    det_raw = p.table_list(merged, "detectors", where_of.get("detectors", "detectors"))
    atm_raw = p.table_list(merged, "atmosphere", where_of.get("atmosphere", "atmosphere"))
    raw = merged.get("hazard", {})
    hwhere = where_of.get("hazard", "hazard")
    if not isinstance(raw, dict):
        p.add(hwhere, f"got {describe(raw)}, expected a table")
        raw = {}
    p.check_keys(raw, hwhere, HAZARD_LIMITS)
    values = {}
    for key, (lo, hi, default) in HAZARD_LIMITS.items():
        values[key] = p.number(raw, key, hwhere, default, minimum=lo, maximum=hi)
    params = HazardParams(**values)

    def region_ok(name, where):
        if name and name not in regions:
            p.add(where, f"'{name}' is not a region{did_you_mean(name, regions)}; regions: "
                  + ", ".join(regions))

    fires, names = [], set()
    for k, f in enumerate(fires_raw):
        where = f"{where_of.get('fires', 'fires')}[{k}]"
        p.check_keys(f, where, {"name", "region", "origin_m", "growth", "alpha_kw_s2", "max_kw",
                                "start_s", "decay_s", "note"}, required=("name", "region"))
        name = p.string(f, "name", where, "")
        if name in names:
            p.add(f"{where}.name", f"two fires are named '{name}'")
        names.add(name)
        region = p.string(f, "region", where, "")
        region_ok(region, f"{where}.region")
        if ("growth" in f) == ("alpha_kw_s2" in f):
            p.add(where, "expected exactly one of growth = \"slow\"|\"medium\"|\"fast\"|"
                  "\"ultrafast\" (NFPA t² classes) or alpha_kw_s2 = <kW/s²>")
            alpha = NFPA_ALPHA["medium"]
        elif "growth" in f:
            g = p.string(f, "growth", where, "medium", choices=list(NFPA_ALPHA))
            alpha = NFPA_ALPHA.get(g, NFPA_ALPHA["medium"])
        else:
            alpha = p.number(f, "alpha_kw_s2", where, 0.01, minimum=0.0, exclusive_min=True,
                             maximum=10.0)
        max_kw = p.number(f, "max_kw", where, 2000.0, minimum=0.0, exclusive_min=True,
                          maximum=1e6)
        origin = f.get("origin_m")
        if origin is not None and not (isinstance(origin, list) and len(origin) == 2 and
                                       all(isinstance(v, (int, float)) for v in origin)):
            p.add(f"{where}.origin_m", f"got {describe(origin)}, expected [x, y] in metres")
            origin = None
        if "start_s" in f:
            start = p.number(f, "start_s", where, 0.0, minimum=0.0)
        else:
            start = None if name in ignited else 0.0
        decay = p.number(f, "decay_s", where, 60.0, minimum=1.0)
        fires.append(Fire(name, region, tuple(origin) if origin else None, float(alpha),
                          float(max_kw), start, float(decay)))
    detectors = []
    for k, d in enumerate(det_raw):
        where = f"{where_of.get('detectors', 'detectors')}[{k}]"
        p.check_keys(d, where, {"name", "region", "threshold_per_m"}, required=("name",
                                                                                 "region"))
        region = p.string(d, "region", where, "")
        region_ok(region, f"{where}.region")
        detectors.append(Detector(p.string(d, "name", where, ""), region,
                                  p.number(d, "threshold_per_m", where, 0.1, minimum=0.0,
                                           exclusive_min=True)))
    atmospheres = []
    for k, a in enumerate(atm_raw):
        where = f"{where_of.get('atmosphere', 'atmosphere')}[{k}]"
        keys = ("extinction_per_m", "co_ppm", "co2_pct", "o2_pct", "temperature_c")
        p.check_keys(a, where, ("region",) + keys, required=("region",))
        region = p.string(a, "region", where, "")
        region_ok(region, f"{where}.region")
        vals = {key: p.number(a, key, where, -1.0, minimum=0.0,
                              maximum=21.0 if key == "o2_pct" else None)
                for key in keys if key in a}
        atmospheres.append(Atmosphere(region, **vals))
    if not (fires or atmospheres or detectors):
        return None
    return HazardSpec(params, tuple(fires), tuple(detectors), tuple(atmospheres))


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
            if m.exit_locked[e.index]:
                g[e.cells] = pr.door_leakage
        self.g, self.sink = g, sink

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
                self.burning[fs.cells[fs.burning:area_cells]] = True
                fs.burning = area_cells
                burning_changed = True
            src = fs.cells[:fs.burning]
            self.source[src] += q / 1000.0 / pr.heat_of_combustion_mj_kg / len(src)
        K.spread(self.y, self._scratch, self.g, self.sink, self.source, self.volume_m3, b.width,
                 dt, b.cell_m, pr.diffusivity_m2_s, b.link_ptr, b.link_to, b.link_len_m,
                 self.n_sub)
        self._steps += 1
        if self._steps % self.conditions_every == 0:
            self._conditions()
        if burning_changed:
            m.burning_changed(self.burning)
        for d in self.spec.detectors:
            if d.name not in self.detector_fired and \
                    self.out["k"][self.detector_cells[d.name]] >= d.threshold_per_m:
                self.detector_fired[d.name] = t + dt
                m.log(t + dt, "detector", detector=d.name)
        if t + dt - self._last_route_update >= pr.route_update_s - 1e-9:
            self._last_route_update = t + dt
            if np.any(self.out["k"] > 0.0) or burning_changed:
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
        for name, cells in self.region_cells.items():
            if name in self.untenable_s:
                continue
            k = float(self.out["k"][cells].mean())
            vis = self.spec.params.visibility_constant / k if k > 0 else math.inf
            if vis < UNTENABLE_VISIBILITY_M or \
                    float(self.out["temp"][cells].mean()) > UNTENABLE_TEMP_C or \
                    float(self.out["fed_rate"][cells].mean()) > UNTENABLE_FED_RATE:
                self.untenable_s[name] = t

    def smoke_reached(self, region: str, threshold: float, t: float) -> float | None:
        key = (region, threshold)
        if key not in self.smoke_first:
            if float(self.out["k"][self.region_cells[region]].max()) >= threshold:
                self.smoke_first[key] = t
        return self.smoke_first.get(key)

    def smoke_frame(self) -> np.ndarray:
        return self.out["k"].astype(np.float16)
