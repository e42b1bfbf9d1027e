"""Scenario files: who is in which building, what is locked or cluttered, what changes when.

A scenario file (TOML, ``schema = "drillsim.scenario/1"``) names a building, occupant groups,
exits and doors locked at the start, clutter, timed changes, the seed and time limit, model
parameter overrides, and named *variants* that override any of these. Loading parses,
validates against the building (names must exist; unknown keys get a "did you mean") and
freezes the result into a :class:`Scenario` for one variant. See README.md, "Scenario files".
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .building import Building, load_building
from .drill import Drill, Names, parse_drill, row_id
from .errors import BuildingError, ScenarioError
from .hazard import HazardSpec, parse_hazard
from .profiles import PROFILES, Distribution
from .validation import Problems, check_schema, describe, did_you_mean, read_toml

SCHEMA = "drillsim.scenario/1"
BASE_VARIANT = "base"
MAX_TIME_LIMIT_S = 86_400.0  # a day: no drill runs longer
FOLDER_SAFE = "a short name without / \\ : * ? \" < > |"


def folder_safe(name: str) -> bool:
    """Whether ``name`` can name a folder on any system (scenario and variant names do)."""
    return bool(name.strip()) and name.isprintable() and \
        not any(ch in name for ch in '/\\:*?"<>|')


ACTIONS = ("lock", "unlock", "open", "close", "add_clutter", "clear_clutter")
TOP_KEYS = {"schema", "name", "title", "description", "building", "seed", "time_limit_s",
            "dt_s", "alarm_s", "record_every_s", "model", "occupants", "locked", "clutter",
            "changes", "variants", "sources", "teaches",
            # drill scripts (sim.drill) and hazards (sim.hazard)
            "actors", "timeline", "site", "blocked_roads", "kpis",
            "hazard", "fires", "detectors", "atmosphere"}
OVERRIDABLE = TOP_KEYS - {"schema", "name", "building", "variants"}
# A variant may change the drill's lists row by row instead of giving them whole: drop rows
# (timeline actions by id, actors and KPIs by name) and set rows (a row of the same id or
# name replaces the top-level one where it stands; a new one goes after the others).
ROW_EDITS = {"timeline": "id", "actors": "name", "kpis": "name"}
VARIANT_ONLY = {f"{verb}_{key}" for key in ROW_EDITS for verb in ("drop", "set")}


@dataclass(frozen=True)
class ModelParams:
    """Parameters of the movement model; defaults and sources in README.md, "The model"."""

    k_s: float = 10.0  # static-field sensitivity, per cell of distance
    k_d: float = 1.0  # dynamic-field sensitivity (chraibi default, verification.md §4.4)
    decay: float = 0.3  # dynamic-field decay per step (δ, §4.4)
    diffusion: float = 0.1  # dynamic-field diffusion per step (α, §4.4)
    friction: float = 0.3  # μ, Kirchner et al. 2003 range 0.3–0.6 for clogging (§4.4)
    swap_probability: float = 0.5  # an exchange of cells proposed per step (assumption)
    max_specific_flow: float = 1.6  # persons/(m·s) through any cross-section (README)
    sight_m: float = 10.0  # exits closer than this (walking) become known
    tell_radius_m: float = 2.0  # who hears of a locked exit from one who found it
    tell_probability: float = 0.5
    hysteresis: float = 0.2  # switch exit only if the estimate improves by this fraction
    rechoice_s: float = 2.0  # how often each occupant reconsiders its exit
    closed_door_factor: float = 0.5  # a closed door slows passing (opening it)
    # Routes as quickest paths: every so many seconds the route fields are marched again with
    # the walking speed the crowd allows (Weidmann's speed-density relation over 2 m x 2 m);
    # 0: shortest routes (the default).
    quickest_paths_s: float = 0.0


PARAM_LIMITS = {
    "k_s": (0.0, 50.0), "k_d": (0.0, 20.0), "decay": (0.0, 1.0), "diffusion": (0.0, 1.0),
    "friction": (0.0, 0.99), "swap_probability": (0.0, 1.0), "max_specific_flow": (0.1, 10.0), "sight_m": (0.0, 1e4),
    "tell_radius_m": (0.0, 50.0), "tell_probability": (0.0, 1.0), "hysteresis": (0.0, 0.95),
    "rechoice_s": (0.1, 600.0), "closed_door_factor": (0.05, 1.0),
    "quickest_paths_s": (0.0, 600.0),
}


@dataclass(frozen=True)
class OccupantGroup:
    profile: str
    count: int
    region: str
    speed_ms: Distribution
    premove_s: Distribution
    knows: tuple[str, ...]  # exit names
    knows_locked: bool


@dataclass(frozen=True)
class Clutter:
    region: str
    speed_factor: float


@dataclass(frozen=True)
class Change:
    time_s: float
    action: str
    target: str
    speed_factor: float = 1.0


@dataclass(frozen=True)
class Scenario:
    """One variant of a scenario, validated against its building."""

    path: str
    name: str
    title: str
    description: str
    variant: str
    variants: tuple[str, ...]
    building: Building
    seed: int
    dt_s: float
    time_limit_s: float
    alarm_s: float
    record_every_s: float
    params: ModelParams
    groups: tuple[OccupantGroup, ...]
    locked: tuple[str, ...]
    clutter: tuple[Clutter, ...]
    changes: tuple[Change, ...] = field(default=())
    drill: Drill = field(default_factory=Drill)
    hazard: HazardSpec | None = None
    access_nodes: tuple[tuple[str, str], ...] = ()  # (exit, road node) where responders arrive
    teaches: str = ""
    sources: tuple[str, ...] = ()
    variant_description: str = ""  # the chosen variant's own description (base: [variants.base])
    # Exits (or doors) a study takes away (``drillsim criticality``): locked from the start,
    # and nothing in the run unlocks them, not the drill's keys nor a timed change.
    held_locked: tuple[str, ...] = ()

    @property
    def occupants(self) -> int:
        return sum(g.count for g in self.groups)

    @property
    def fires(self):
        return self.hazard.fires if self.hazard is not None else ()


def _library_dir(kind: str) -> Path:
    """The folder of shipped buildings or scenarios.

    Installed, they are the packages ``sim._buildings`` / ``sim._scenarios``; run from a
    source checkout (``sim`` imported from the repository), the folders beside ``sim/``.
    """
    package = {"building": "sim._buildings", "scenario": "sim._scenarios"}[kind]
    try:
        return Path(str(resources.files(package)))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / f"{kind}s"


def builtin_path(kind: str, name: str) -> Path | None:
    """Path of a building or scenario shipped with drillsim, or None."""
    stem = name[:-5] if name.endswith(".toml") else name
    candidate = _library_dir(kind) / f"{stem}.toml"
    return candidate if candidate.is_file() else None


def builtin_names(kind: str) -> list[str]:
    folder = _library_dir(kind)
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []


def resolve_scenario_path(name: str | Path) -> Path:
    """A scenario given as a path, or as the name of a built-in scenario."""
    path = Path(name)
    if path.exists() or path.suffix == ".toml" or "/" in str(name):
        return path
    found = builtin_path("scenario", str(name))
    if found is None:
        raise ScenarioError(str(name), [f"no such file, and no built-in scenario of that name"
                                        f"{did_you_mean(str(name), builtin_names('scenario'))}; "
                                        "built-in: " + ", ".join(builtin_names("scenario"))])
    return found


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _edit_rows(merged: dict, where_of: dict, over: dict, here: str, key: str, id_key: str,
               p: Problems) -> None:
    """Apply a variant's ``drop_<key>`` and ``[[set_<key>]]`` to the top-level list ``key``
    (``timeline``, ``actors`` or ``kpis``), so that a variant that drops one action and adds
    another need not copy the whole timeline. Every row keeps the place it was written in,
    for errors (``where_of[key + "[]"]``), and the dropped names are kept to explain a
    reference to one (``where_of["dropped " + key]``)."""
    drop, sets = over.get(f"drop_{key}"), over.get(f"set_{key}")
    if drop is None and sets is None:
        return
    if key in over:
        p.add(f"{here}.{key}", f"give either {key} (the whole list) or drop_{key} / set_{key} "
              f"(changes to the top-level {key}), not both")
        return
    rows = merged.get(key, [])
    if not isinstance(rows, list):
        return  # (the parser reports the top-level list)
    noun = {"timeline": "action", "actors": "actor", "kpis": "KPI"}[key]
    locs = [f"{key}[{k}]" for k in range(len(rows))]
    ids = [row_id(key, r) for r in rows]
    dropped: list[str] = []
    if drop is not None:
        if not isinstance(drop, list) or not all(isinstance(x, str) for x in drop):
            p.add(f"{here}.drop_{key}", f"got {describe(drop)}, expected a list of {noun} "
                  f"{id_key}s")
        else:
            known = [x for x in ids if x is not None]
            for x in drop:
                if x not in known:
                    p.add(f"{here}.drop_{key}", f"'{x}' is not the {id_key} of {_a(noun)} in "
                          f"the top-level {key}{did_you_mean(x, known)}")
            dropped = [x for x in drop if x in known]
            keep = [k for k, x in enumerate(ids) if x not in dropped]
            rows, locs, ids = [rows[k] for k in keep], [locs[k] for k in keep], \
                [ids[k] for k in keep]
    if sets is not None:
        if not isinstance(sets, list) or not all(isinstance(r, dict) for r in sets):
            p.add(f"{here}.set_{key}", f"got {describe(sets)}, expected [[{here}.set_{key}]] "
                  "tables")
            sets = []
        rows = list(rows)
        for j, row in enumerate(sets):
            where = f"{here}.set_{key}[{j}]"
            rid = row.get(id_key)
            if not isinstance(rid, str) or not rid:
                got = "missing" if rid is None else f"got {describe(rid)}"
                p.add(f"{where}.{id_key}", f"{got}: expected the {id_key} of the {noun} it "
                      "replaces, or of a new one")
                continue
            if rid in dropped:
                p.add(f"{where}.{id_key}", f"'{rid}' is also in drop_{key}; leave it out there "
                      "to replace the row")
                continue
            if rid in ids:  # replaces the row where it stands
                k = ids.index(rid)
                rows[k], locs[k] = copy.deepcopy(row), where
            else:
                rows.append(copy.deepcopy(row))
                locs.append(where)
                ids.append(rid)
    merged[key] = rows
    where_of[key] = f"{key} (as {here} changes it)"
    where_of[f"{key}[]"] = locs
    where_of[f"dropped {key}"] = (dropped, f"{here}.drop_{key}")


def list_variants(path: str | Path) -> list[str]:
    doc = read_toml(Path(path), ScenarioError)
    variants = doc.get("variants", {})
    return [BASE_VARIANT] + [v for v in (variants if isinstance(variants, dict) else ())
                             if v != BASE_VARIANT]


def declares_base(path: str | Path) -> bool:
    """Whether the file describes its ``base`` variant in a ``[variants.base]`` table (so that
    a comparison of its variants includes it)."""
    variants = read_toml(Path(path), ScenarioError).get("variants", {})
    return isinstance(variants, dict) and BASE_VARIANT in variants


def load_scenario(path: str | Path, variant: str | None = None,
                  seed: int | None = None) -> Scenario:
    """Parse and validate a scenario file for one variant (default: ``base``)."""
    path = Path(path)
    doc = read_toml(path, ScenarioError)
    return build_scenario(doc, path, variant, seed)


def build_scenario(doc: dict, path: Path, variant: str | None = None,
                   seed: int | None = None, building: Building | None = None) -> Scenario:
    """Validate a parsed scenario document. ``building`` replaces the file's ``building``
    reference when given (for worlds built in memory)."""
    source = str(path)
    p = Problems(source, ScenarioError)
    check_schema(doc, SCHEMA, p)
    p.check_keys(doc, "", TOP_KEYS, required=("name", "building", "occupants"))
    variants_tab = p.table(doc, "variants", "")
    # (None: base. An empty name is not: '--variant "$V"' with V unset would run base unsaid.)
    variant = BASE_VARIANT if variant is None else variant
    names = [BASE_VARIANT] + [v for v in variants_tab if v != BASE_VARIANT]
    # ``base`` is the scenario as written: its table may describe it, not change it (an
    # override there would be silently dropped, as the top level is what ``base`` runs).
    base_tab = variants_tab.get(BASE_VARIANT)
    if base_tab is not None:
        if not isinstance(base_tab, dict):
            p.add(f"variants.{BASE_VARIANT}", f"got {describe(base_tab)}, expected a table")
        else:
            for key in sorted(set(base_tab) - {"description", "title"}):
                p.add(f"variants.{BASE_VARIANT}.{key}",
                      f"'{BASE_VARIANT}' is the scenario as written, so its table takes only "
                      f"a description; set {key} at the top level, or give this variant "
                      "another name")
    if variant not in names:
        p.add("--variant", f"got '{variant}'{did_you_mean(variant, names)}; this scenario has: "
              + ", ".join(names))
        p.raise_if_any()
    merged = {k: v for k, v in doc.items() if k != "variants"}
    where_of = {k: k for k in merged}
    if variant != BASE_VARIANT:
        over = variants_tab[variant]
        if not isinstance(over, dict):
            p.add(f"variants.{variant}", f"got {describe(over)}, expected a table")
            over = {}
        p.check_keys(over, f"variants.{variant}", OVERRIDABLE | VARIANT_ONLY)
        for key, value in over.items():
            if key in ("description", "title") or key in VARIANT_ONLY:
                continue
            if key == "model" and isinstance(value, dict) and isinstance(merged.get("model"), dict):
                merged["model"] = {**merged["model"], **value}
            else:
                merged[key] = copy.deepcopy(value)
            where_of[key] = f"variants.{variant}.{key}"
        for key, id_key in ROW_EDITS.items():
            _edit_rows(merged, where_of, over, f"variants.{variant}", key, id_key, p)
    # The other variants must at least use known keys (checked whichever variant is loaded).
    for other, over in variants_tab.items():
        if other not in (variant, BASE_VARIANT) and isinstance(over, dict):
            p.check_keys(over, f"variants.{other}", OVERRIDABLE | VARIANT_ONLY)
        if not folder_safe(other):
            p.add("variants", f"got a variant named {other!r}, expected {FOLDER_SAFE} (it names "
                  "the output folders; the description is for display)")

    if building is None:
        building = _load_building_ref(merged.get("building"), path, p)
    if building is None:
        p.raise_if_any()  # the rest is checked against the building

    name = p.string(merged, "name", "", allow_empty=True)  # (folder_safe says why not)
    if isinstance(name, str) and not folder_safe(name):
        p.add("name", f"got {name!r}, expected {FOLDER_SAFE} (it names the output folders; "
              "the title is for display)")
    title = p.string(merged, "title", "", name)
    description = p.string(merged, "description", "", "", allow_empty=True)
    variant_description = ""
    own = variants_tab.get(variant)
    if isinstance(own, dict) and isinstance(own.get("description"), str):
        variant_description = own["description"].strip()
        description = (description + "\nVariant: " + variant_description).strip()

    def table_of(key: str) -> str:
        """The path of the table a top-level key was read from: the file's top level (""), or
        the variant's table that set it (the checks below add the key itself)."""
        return where_of.get(key, key)[:-len(key)].rstrip(".")

    file_seed = p.integer(merged, "seed", table_of("seed"), 1, minimum=0)
    dt_s = p.number(merged, "dt_s", table_of("dt_s"), 0.15, minimum=0.01, maximum=1.0)
    time_limit = p.number(merged, "time_limit_s", table_of("time_limit_s"), 1800.0,
                          minimum=0.0, exclusive_min=True, maximum=MAX_TIME_LIMIT_S)
    alarm_s = p.number(merged, "alarm_s", table_of("alarm_s"), 0.0, minimum=0.0)
    record_every = p.number(merged, "record_every_s", table_of("record_every_s"), 1.0,
                            minimum=0.0, exclusive_min=True)
    params = _params(merged.get("model", {}), where_of.get("model", "model"), p)

    exits = [e.name for e in building.exits]
    doors = [d.name for d in building.doors if d.is_named]
    regions = [r.name for r in building.regions]
    max_speed = 0.92 * building.cell_m / dt_s if dt_s else 2.0

    groups = []
    occ = merged.get("occupants", [])
    occ_where = where_of.get("occupants", "occupants")
    if not isinstance(occ, list) or not occ or not all(isinstance(g, dict) for g in occ):
        p.add(occ_where, f"got {describe(occ)}, expected one or more [[occupants]] tables")
        occ = []
    counts_read = []  # per group: whether its count was read (else it is reported)
    for k, g in enumerate(occ):
        where = f"{occ_where}[{k}]"
        p.check_keys(g, where, {"profile", "count", "region", "speed_ms", "premove_s", "knows",
                                "entrance"}, required=("count", "region"))
        prof_name = p.string(g, "profile", where, "adult", choices=list(PROFILES))
        prof = PROFILES.get(prof_name, PROFILES["adult"])
        reported = len(p.items)
        count = p.integer(g, "count", where, 0, minimum=0)
        counts_read.append("count" in g and len(p.items) == reported)
        region = p.string(g, "region", where, "")
        if region and region not in regions:
            p.add(f"{where}.region", f"got '{region}'{did_you_mean(region, regions)}; the "
                  f"building '{building.name}' has regions: " + (", ".join(regions) or "none"))
        speed = _distribution(g, "speed_ms", where, prof.speed_ms, p)
        if speed.upper > max_speed:
            # The fastest walker may cover at most 0.92 of a cell a step: dt_s small enough.
            fit_dt = math.floor(0.92 * building.cell_m / speed.upper * 100.0) / 100.0
            whose = "draws" if "speed_ms" in g else f"(profile '{prof_name}', by default) draws"
            fix = f"set dt_s = {fit_dt:g} or less, or" if fit_dt >= 0.01 else "give"
            p.add(f"{where}.speed_ms", f"{whose} up to {speed.upper:g} m/s, expected at most "
                  f"{max_speed:.2f} m/s with dt_s = {dt_s:g} and cells of {building.cell_m:g} m "
                  f"({fix} a speed_ms with a lower 'high')")
        if "speed_ms" in g and not prof.needs_assist and speed.lower <= 0.0:
            # (Such a person never walks: the run would go on to its time limit with them
            # standing where they started.)
            p.add(f"{where}.speed_ms", f"draws speeds down to {speed.lower:g} m/s, expected "
                  "speeds above 0 (give a 'low' above 0; for people who cannot walk, use the "
                  "profile 'bedridden', whom a drill's 'assist' action carries out)")
        premove = _distribution(g, "premove_s", where, prof.premove_s, p)
        knows_raw = g.get("knows", prof.knows)
        entrance = g.get("entrance")
        knows: tuple[str, ...] = ()
        if knows_raw == "all":
            knows = tuple(exits)
        elif knows_raw == "entrance":
            if entrance is None:
                p.add(f"{where}.entrance", f"profile '{prof_name}' knows only its entrance: name "
                      "the exit they came in by, e.g. entrance = \"" + (exits[0] if exits else "")
                      + "\"")
            elif entrance not in exits:
                p.add(f"{where}.entrance", f"got '{entrance}'{did_you_mean(entrance, exits)}; "
                      "exits: " + ", ".join(exits))
            else:
                knows = (entrance,)
        elif isinstance(knows_raw, list) and all(isinstance(x, str) for x in knows_raw):
            for x in knows_raw:
                if x not in exits:
                    p.add(f"{where}.knows", f"'{x}' is not an exit{did_you_mean(x, exits)}; "
                          "exits: " + ", ".join(exits))
            knows = tuple(x for x in knows_raw if x in exits)
        else:
            p.add(f"{where}.knows", f"got {describe(knows_raw)}, expected \"all\", \"entrance\" "
                  "or a list of exit names")
        if count and region in regions:
            free = len(building.region(region).cells)
            if count > free:
                p.add(f"{where}.count", f"{count} occupants do not fit in region '{region}' "
                      f"({free} free cells of {building.cell_m:g} m)")
        groups.append(OccupantGroup(prof_name, int(count or 0), region, speed, premove, knows,
                                    prof.knows_locked))
    # Groups that each fit may not fit together; and a scenario needs somebody to evacuate.
    by_region: dict[str, list[int]] = {}
    for k, g in enumerate(groups):
        if g.count and g.region in regions:
            by_region.setdefault(g.region, []).append(k)
    for region, ks in by_region.items():
        total = sum(groups[k].count for k in ks)
        free = len(building.region(region).cells)
        if len(ks) > 1 and total > free and all(groups[k].count <= free for k in ks):
            p.add(occ_where, f"{total} occupants in region '{region}' ("
                  + " + ".join(f"[{k}] {groups[k].count}" for k in ks)
                  + f") do not fit in its {free} free cells of {building.cell_m:g} m")
    if groups and len(groups) == len(occ) and all(counts_read) and \
            not any(g.count for g in groups):
        p.add(occ_where, "every group has count = 0: expected at least one occupant")

    locked_raw = merged.get("locked", [])
    lwhere = where_of.get("locked", "locked")
    if not isinstance(locked_raw, list) or not all(isinstance(x, str) for x in locked_raw):
        p.add(lwhere, f"got {describe(locked_raw)}, expected a list of exit or door names")
        locked_raw = []
    for x in locked_raw:
        if x not in exits and x not in doors:
            p.add(lwhere, f"'{x}' is not an exit or named door{did_you_mean(x, exits + doors)}")

    clutter = []
    cl_raw = merged.get("clutter", [])
    cwhere = where_of.get("clutter", "clutter")
    if not isinstance(cl_raw, list) or not all(isinstance(x, dict) for x in cl_raw):
        p.add(cwhere, f"got {describe(cl_raw)}, expected [[clutter]] tables")
        cl_raw = []
    for k, c in enumerate(cl_raw):
        where = f"{cwhere}[{k}]"
        p.check_keys(c, where, {"region", "speed_factor"}, required=("region",))
        reg = p.string(c, "region", where, "")
        if reg and reg not in regions:
            p.add(f"{where}.region", f"got '{reg}'{did_you_mean(reg, regions)}; regions: "
                  + ", ".join(regions))
        factor = p.number(c, "speed_factor", where, building.clutter_factor, minimum=0.05,
                          maximum=1.0)
        clutter.append(Clutter(reg, factor))

    changes = []
    ch_raw = merged.get("changes", [])
    chwhere = where_of.get("changes", "changes")
    if not isinstance(ch_raw, list) or not all(isinstance(x, dict) for x in ch_raw):
        p.add(chwhere, f"got {describe(ch_raw)}, expected [[changes]] tables")
        ch_raw = []
    for k, c in enumerate(ch_raw):
        where = f"{chwhere}[{k}]"
        p.check_keys(c, where, {"time_s", "action", "target", "speed_factor"},
                     required=("time_s", "action", "target"))
        t = p.number(c, "time_s", where, 0.0, minimum=0.0)
        action = p.string(c, "action", where, "lock", choices=ACTIONS)
        target = p.string(c, "target", where, "")
        if action in ("lock", "unlock") and target not in exits + doors:
            p.add(f"{where}.target", f"'{target}' is not an exit or named door"
                  f"{did_you_mean(target, exits + doors)}")
        elif action in ("open", "close") and target not in doors:
            p.add(f"{where}.target", f"'{target}' is not a named door{did_you_mean(target, doors)}"
                  + ("; exits are locked or unlocked, not opened or closed" if target in exits
                     else ""))
        elif action in ("add_clutter", "clear_clutter") and target not in regions:
            p.add(f"{where}.target", f"'{target}' is not a region{did_you_mean(target, regions)}")
        factor = p.number(c, "speed_factor", where, building.clutter_factor, minimum=0.05,
                          maximum=1.0)
        changes.append(Change(t, action, target, factor))
    changes.sort(key=lambda c: c.time_s)

    timeline_raw = merged.get("timeline", [])
    ignited = {t.get("target") for t in timeline_raw if isinstance(t, dict)
               and t.get("action") == "ignite"} if isinstance(timeline_raw, list) else set()
    hazard = parse_hazard(merged, where_of, regions, p, ignited)
    known = Names(exits, doors, regions,
                  fires=[f.name for f in hazard.fires] if hazard else [],
                  detectors=[d.name for d in hazard.detectors] if hazard else [],
                  profiles=sorted({g.profile for g in groups}),
                  occupants={pr: sum(g.count for g in groups if g.profile == pr)
                             for pr in {g.profile for g in groups}})
    drill = parse_drill(merged, where_of, known, p, default_speed_ms=PROFILES["staff"].speed_ms.mean,
                        alarm_given="alarm_s" in merged)
    site = merged.get("site", {})
    access = site.get("access", {}) if isinstance(site, dict) else {}
    access_nodes = tuple((str(e), str(node)) for node, e in access.items()) \
        if isinstance(access, dict) else ()
    teaches = merged.get("teaches", "")
    sources = merged.get("sources", [])
    if not isinstance(teaches, str):
        p.add("teaches", f"got {describe(teaches)}, expected text")
        teaches = ""
    if not isinstance(sources, list) or not all(isinstance(x, str) for x in sources):
        p.add("sources", f"got {describe(sources)}, expected a list of texts")
        sources = []

    p.raise_if_any()
    return Scenario(path=source, name=name, title=title, description=description,
                    variant=variant, variants=tuple(names), building=building,
                    seed=int(seed if seed is not None else file_seed), dt_s=dt_s,
                    time_limit_s=time_limit, alarm_s=alarm_s, record_every_s=record_every,
                    params=params, groups=tuple(groups), locked=tuple(locked_raw),
                    clutter=tuple(clutter), changes=tuple(changes), drill=drill, hazard=hazard,
                    access_nodes=access_nodes, teaches=teaches, sources=tuple(sources),
                    variant_description=variant_description)


def _may_be_the_building(path: Path, scenario_path: Path) -> bool:
    """Whether the file ``path`` beside a scenario may be the building it names: not the
    scenario itself (a scenario named like its building, as the library's are), and not
    another scenario. One that cannot be read is taken, so that loading says what is wrong."""
    if not path.is_file() or path.resolve() == scenario_path.resolve():
        return False
    try:
        schema = read_toml(path, BuildingError).get("schema")
    except BuildingError:
        return True
    return not (isinstance(schema, str) and schema.startswith("drillsim.scenario"))


def _load_building_ref(ref, scenario_path: Path, p: Problems) -> Building | None:
    if ref is None:
        return None  # (reported as a missing required key)
    if not isinstance(ref, str) or not ref:
        p.add("building", f"got {describe(ref)}, expected the name of a building file")
        return None
    # A path (ending in .toml or with a folder) is relative to the scenario file; a bare name
    # is a building of the library (buildings/ beside the scenario's folder), or a building
    # file of that name beside the scenario (a user's own folder of both), else built-in.
    candidates = []
    ref_path = Path(ref)
    if ref_path.suffix == ".toml" or "/" in ref:
        candidates.append(scenario_path.parent / ref_path)
    else:
        candidates.append(scenario_path.parent.parent / "buildings" / f"{ref}.toml")
        beside = scenario_path.parent / f"{ref}.toml"
        if _may_be_the_building(beside, scenario_path):
            candidates.append(beside)
        builtin = builtin_path("building", ref)
        if builtin is not None:
            candidates.append(builtin)
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        names = sorted(builtin_names("building"))
        hint = did_you_mean(ref, names) or (f": {', '.join(names)}" if names else "")
        p.add("building", f"'{ref}' not found (looked in {', '.join(str(c) for c in candidates)}"
              f" and the built-in buildings{hint})")
        return None
    try:
        return load_building(found)
    except BuildingError as exc:
        for item in exc.problems:
            p.add(f"building '{found}'", item)
        return None


def _params(raw, where: str, p: Problems) -> ModelParams:
    if not isinstance(raw, dict):
        p.add(where, f"got {describe(raw)}, expected a table")
        return ModelParams()
    p.check_keys(raw, where, PARAM_LIMITS)
    values = {}
    for key, (lo, hi) in PARAM_LIMITS.items():
        if key in raw:
            v = p.number(raw, key, where, None, minimum=lo, maximum=hi)
            if v is not None:
                values[key] = v
    return ModelParams(**values)


def _distribution(g: dict, key: str, where: str, default: Distribution,
                  p: Problems) -> Distribution:
    if key not in g:
        return default
    raw = g[key]
    path = f"{where}.{key}"
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        value = p.number(g, key, where, None, minimum=0.0)
        return default if value is None else Distribution("fixed", value)
    if not isinstance(raw, dict):
        p.add(path, f"got {describe(raw)}, expected a number or a table like "
              "{ dist = \"uniform\", low = 10, high = 100 }")
        return default
    dist = p.string(raw, "dist", path, "", choices=("fixed", "uniform", "normal", "lognormal"))
    needed = {"fixed": ("value",), "uniform": ("low", "high"), "normal": ("mean", "sd"),
              "lognormal": ("mu", "sigma")}.get(dist, ())
    optional = {"normal": ("low", "high"), "lognormal": ("low", "high")}.get(dist, ())
    p.check_keys(raw, path, ("dist",) + needed + optional, required=needed)
    vals = {}
    for k in needed + optional:
        if k in raw:
            v = p.number(raw, k, path, None, minimum=None if k == "mu" else 0.0)
            if v is not None:
                vals[k] = v
    if dist == "fixed" and "value" in vals:
        return Distribution("fixed", value=vals["value"])
    if dist == "uniform" and {"low", "high"} <= vals.keys():
        if vals["low"] > vals["high"]:
            p.add(path, f"low {vals['low']:g} is above high {vals['high']:g}")
            return default
        return Distribution("uniform", low=vals["low"], high=vals["high"])
    low = vals.get("low", default.low if key == "speed_ms" and dist == "normal" else 0.0)
    high = vals.get("high", default.high if key == "speed_ms" and dist == "normal"
                    else float("inf"))
    if dist in ("normal", "lognormal") and low > high:
        said = "" if "low" in vals else " (the profile's, as none is given)"
        p.add(path, f"low {low:g}{said} is above high {high:g}")
        return default
    if dist == "normal" and {"mean", "sd"} <= vals.keys():
        return Distribution("normal", mean=vals["mean"], sd=vals["sd"], low=low, high=high)
    if dist == "lognormal" and {"mu", "sigma"} <= vals.keys():
        return Distribution("lognormal", mu=vals["mu"], sigma=vals["sigma"], low=low, high=high)
    return default
