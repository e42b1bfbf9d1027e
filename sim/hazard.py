"""Fire and smoke, training grade: t² fires, smoke spread, visibility, slower walking in
smoke, fractional effective dose (FED), detectors, and tenability per region (ASET against
RSET). This module reads and checks the scenario's hazard parts; :mod:`sim.hazardrun` plays
them out in a running model.

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
  incapacitated (a casualty, stays put, but may be stepped over) at FED 1, *harmed* at 0.3.
* **Smoke as a cue**: an occupant no alarm has reached starts its pre-movement time when the
  smoke where it stands reaches ``notice_extinction_per_m`` (0.1 m⁻¹, the level counted as
  "in smoke"; checked every second). Bedridden people are not started by it.
* **Updates**: smoke spreads every time step; the conditions derived from it are refreshed
  every second, and the route fields every ``route_update_s``.
* **Tenability of a region**: untenable once its mean visibility is below 10 m, its mean
  temperature above 60 °C, or its mean FED rate would give 0.3 within 5 minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    "notice_extinction_per_m": (0.0, 10.0, 0.1),
}


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
    # Smoke is a cue: an occupant no alarm has reached yet starts its pre-movement when the
    # smoke where it stands reaches this (the same level as "in smoke"); 0: only alarms do.
    notice_extinction_per_m: float = 0.1


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
