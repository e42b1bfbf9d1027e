"""Drill scripts: actors, a timeline of triggered actions, the responders' roads, and KPIs.

These are the parts of a scenario file (``drillsim.scenario/1``) that turn it into the script
of a combined drill (reference/plan.md, task 10). They are parsed and validated here, against
the building and against each other, into frozen values; :mod:`sim.drillrun` plays them out
inside a running model. The file format is documented in docs/drills.md.

* ``[[actors]]`` — named people or teams with a role, where they start (a region of the
  building, or ``"offsite"``), how many (``count``), which keys they hold; off-site actors
  have a ``station`` on the road network, a ``turnout_s`` and the ``access`` exit they enter by.
* ``[[timeline]]`` — actions, each with exactly one trigger: ``at_s`` (absolute), ``after``
  (another action's id: when that action is done) or ``when`` (a condition in the simulation),
  plus an optional ``delay_s``.
* ``[site]`` — a small road network (``[[site.roads]]``) from the fire station to the
  building's access points; ``blocked_roads`` (top level, so a variant can set it alone)
  lists the fire lanes parked cars block.
* ``[[kpis]]`` — a metric, its arguments and a target; each run reports met or missed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .validation import Problems, describe, did_you_mean

ROLES = ("venue_staff", "night_duty", "security", "property_management",
         "residents_committee", "volunteer", "fire_rescue", "police", "medical")
# Who can force a locked door without a key (and how long it takes, an assumption).
FORCIBLE_ENTRY_ROLES = ("fire_rescue",)
FORCE_S = 60.0
# Whose ``assist`` also carries out people overcome by smoke or fire (breathing apparatus).
RESCUE_ROLES = ("fire_rescue",)

# action -> (what the target must be, is ``by`` required, default duration_s at the target)
ACTIONS = {
    "alarm": ("area", False, 0.0),          # starts pre-movement clocks in an area ("all")
    "call": ("offsite_actor", False, 0.0),  # call the brigade / police: they set out
    "unlock": ("portal", False, 10.0),
    "lock": ("portal", False, 10.0),
    "open": ("door", False, 2.0),
    "close": ("door", False, 2.0),
    "clear_clutter": ("region", False, 60.0),
    "announce": ("area", False, 0.0),
    "send": ("place", True, 0.0),
    "sweep": ("region", True, 5.0),         # per room visited
    "assist": ("region", True, 60.0),       # per person fetched: transfer to chair/sheet
    "clear_lane": ("road", False, None),    # default: the road's clear_s
    "ignite": ("fire", False, 0.0),
    "suppress": ("fire", False, 30.0),
}
CONDITIONS = {
    "arrived": ("actor", "place"),
    "on_scene": ("actor",),
    "first_out": ("exit",),
    "out": ("count",),
    "area_empty": ("region",),
    "all_out": (),
    "detector": ("detector",),
    "smoke": ("region",),
}
CONDITION_OPTIONAL = {"out": ("profile",), "smoke": ("extinction_per_m",)}
MAX_ACTOR_COUNT = 1_000  # members of one actor (a crew, a team of volunteers)
KPI_METRICS = {
    "all_out_s": (),            # last occupant out (null if not everyone got out)
    "out_s": ("profile",),      # last occupant of a profile out
    "on_scene_s": ("actor",),   # an off-site actor's arrival
    "action_s": ("action",),    # when an action was done
    "casualties": (),
    "harmed": (),
    "peak_fed": (),
}
ACTION_KEYS = {"id", "action", "target", "by", "at_s", "after", "when", "delay_s",
               "duration_s", "planned_s", "exit_closed", "exit_open", "use_exit", "speed_ms",
               "mode",
               "actor", "place", "exit", "count", "region", "detector", "profile",
               "extinction_per_m", "note"}


@dataclass(frozen=True)
class Actor:
    name: str
    role: str
    count: int
    start: str  # region name or "offsite"
    keys: tuple[str, ...]
    speed_ms: float
    station: str | None = None
    turnout_s: float = 0.0
    access: str | None = None  # exit the actor enters the building by
    title: str = ""
    destination: str | None = None  # road node where an off-site actor is on scene

    @property
    def offsite(self) -> bool:
        return self.start == "offsite"

    def can_open(self, name: str) -> bool:
        return name in self.keys or self.role in FORCIBLE_ENTRY_ROLES


@dataclass(frozen=True)
class Trigger:
    kind: str  # "at", "after" or a condition name
    delay_s: float = 0.0
    at_s: float = 0.0
    after: str = ""
    args: tuple[tuple[str, object], ...] = ()

    def arg(self, key: str, default=None):
        return dict(self.args).get(key, default)

    def describe(self) -> str:
        delay = f" + {self.delay_s:g} s" if self.delay_s else ""
        if self.kind == "at":
            return f"at {self.at_s + self.delay_s:g} s"
        if self.kind == "after":
            return f"after {self.after}{delay}"
        a = dict(self.args)
        text = {
            "arrived": lambda: f"{a.get('actor')} arrives at {a.get('place')}",
            "on_scene": lambda: f"{a.get('actor')} on scene",
            "first_out": lambda: f"first occupant out by {a.get('exit')}",
            "out": lambda: f"{a.get('count')} {a.get('profile', 'occupant')}s out"
            if a.get("profile") else f"{a.get('count')} occupants out",
            "area_empty": lambda: f"{a.get('region')} empty",
            "all_out": lambda: "everyone out",
            "detector": lambda: f"detector {a.get('detector')} fires",
            "smoke": lambda: f"smoke in {a.get('region')}",
        }[self.kind]()
        return f"when {text}{delay}"


@dataclass(frozen=True)
class Action:
    id: str
    action: str
    target: str
    by: str | None
    trigger: Trigger
    duration_s: float
    planned_s: float | None
    options: tuple[tuple[str, object], ...] = ()

    def option(self, key: str, default=None):
        return dict(self.options).get(key, default)


@dataclass(frozen=True)
class Road:
    name: str
    a: str
    b: str
    length_m: float
    speed_kmh: float
    clear_s: float  # time to clear parked cars from it when it is blocked
    when_blocked: str  # "detour": impassable while blocked; "clear": passable after clear_s

    @property
    def travel_s(self) -> float:
        return self.length_m / (self.speed_kmh / 3.6)


@dataclass(frozen=True)
class Kpi:
    name: str
    metric: str
    target: float
    args: tuple[tuple[str, object], ...] = ()

    def arg(self, key: str, default=None):
        return dict(self.args).get(key, default)


@dataclass(frozen=True)
class Drill:
    actors: tuple[Actor, ...] = ()
    actions: tuple[Action, ...] = ()
    roads: tuple[Road, ...] = ()
    blocked_roads: tuple[str, ...] = ()
    kpis: tuple[Kpi, ...] = ()
    scripted_alarm: bool = False  # the timeline raises the alarm (no alarm at alarm_s)

    def actor(self, name: str) -> Actor:
        return next(a for a in self.actors if a.name == name)

    @property
    def empty(self) -> bool:
        return not (self.actors or self.actions or self.kpis)


@dataclass
class Names:
    """What exists, for checking references: the building's and the drill's names."""

    exits: list[str]
    doors: list[str]
    regions: list[str]
    fires: list[str] = field(default_factory=list)
    detectors: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    occupants: dict[str, int] = field(default_factory=dict)  # how many of each profile

    @property
    def portals(self) -> list[str]:
        return self.exits + self.doors

    @property
    def places(self) -> list[str]:
        return self.regions + self.exits + self.doors


def parse_drill(merged: dict, where_of: dict, names: Names, p: Problems, *,
                default_speed_ms: float, alarm_given: bool) -> Drill:
    """Validate the drill parts of a (variant-merged) scenario document."""
    actors = _actors(merged, where_of, names, p, default_speed_ms)
    roads, nodes = _roads(merged, where_of, p)
    blocked = _string_list(merged, "blocked_roads", where_of, p)
    road_names = [r.name for r in roads]
    for x in blocked:
        if x not in road_names:
            p.add(where_of.get("blocked_roads", "blocked_roads"),
                  f"'{x}' is not a road of [site]{did_you_mean(x, road_names)}")
    for a in actors:
        if a.offsite:
            where = f"actors.{a.name}"
            if a.station is None:
                p.add(f"{where}.station", "an off-site actor needs the road node they set out "
                      "from (station)")
            elif nodes and a.station not in nodes:
                p.add(f"{where}.station", f"'{a.station}' is not a node of the road network"
                      f"{did_you_mean(a.station, nodes)}; nodes: " + ", ".join(sorted(nodes)))
            if a.destination is not None and nodes and a.destination not in nodes:
                p.add(f"{where}.destination", f"'{a.destination}' is not a node of the road "
                      f"network{did_you_mean(a.destination, nodes)}")
            if a.access is None:
                if a.destination is None:
                    p.add(f"{where}.access", "an off-site actor needs the exit they enter the "
                          "building by (access), or the road node where they are on scene "
                          "(destination) if they stay outside")
            elif a.access not in names.exits:
                p.add(f"{where}.access", f"'{a.access}' is not an exit"
                      f"{did_you_mean(a.access, names.exits)}")
    site = merged.get("site", {})
    access_nodes = site.get("access", {}) if isinstance(site, dict) else {}
    if isinstance(access_nodes, dict):
        for node, exit_name in access_nodes.items():
            if exit_name not in names.exits:
                p.add(f"site.access.{node}", f"'{exit_name}' is not an exit"
                      f"{did_you_mean(str(exit_name), names.exits)}")
            if nodes and node not in nodes:
                p.add(f"site.access.{node}", f"'{node}' is not a road node"
                      f"{did_you_mean(node, nodes)}")
    else:
        p.add("site.access", f"got {describe(access_nodes)}, expected a table of road node = "
              "exit name")
        access_nodes = {}
    graph = None
    for a in actors:
        node = a.destination
        if a.offsite and a.station and roads and a.access and not a.destination:
            node = next((n for n, e in access_nodes.items() if e == a.access), None)
            if node is None:
                p.add(f"actors.{a.name}.access", f"no road node of [site.access] leads to exit "
                      f"'{a.access}'; add e.g. access = {{ gate = \"{a.access}\" }}")
        if a.offsite and roads and a.station in nodes and node in nodes:
            # With every lane clear, some way must lead there (a blocked lane is the drill's
            # business; a network in two pieces is a mistake in the file).
            if graph is None:
                import networkx as nx

                graph = nx.Graph([(r.a, r.b) for r in roads])
            if not nx.has_path(graph, a.station, node):
                p.add(f"actors.{a.name}.station", f"no road leads from '{a.station}' to "
                      f"'{node}' (where they are on scene), even with every lane clear; "
                      "check the roads' from and to")
    actions = _actions(merged, where_of, names, actors, road_names, p)
    kpis = _kpis(merged, where_of, names, actors, actions, p)
    scripted_alarm = any(x.action == "alarm" for x in actions) and not alarm_given
    return Drill(tuple(actors), tuple(actions), tuple(roads), tuple(blocked), tuple(kpis),
                 scripted_alarm)


def access_node(merged: dict, exit_name: str) -> str | None:
    site = merged.get("site", {})
    for node, e in site.get("access", {}).items():
        if e == exit_name:
            return node
    return None


def row_id(key: str, row) -> str | None:
    """The name a row of ``timeline``, ``actors`` or ``kpis`` goes by: an actor's or a KPI's
    name; an action's id, or the id it gets when it has none (as :func:`_actions` gives it)."""
    if not isinstance(row, dict):
        return None
    if key == "actors":
        return row.get("name") if isinstance(row.get("name"), str) else None
    if key == "kpis":  # (a KPI without a name goes by its metric, as _kpis names it)
        name = row.get("name", row.get("metric"))
        return name if isinstance(name, str) else None
    kind, target = row.get("action"), row.get("target")
    default = kind if target in (None, "", "all") else f"{kind}_{target}"
    rid = row.get("id", default)
    return rid if isinstance(rid, str) else None


def _row_where(where_of: dict, key: str, k: int) -> str:
    """Where row ``k`` of ``key`` was written: the top-level list, a variant's list, or a
    variant's ``set_<key>`` (see ``sim.scenario._edit_rows``)."""
    rows = where_of.get(f"{key}[]")
    return rows[k] if rows is not None and k < len(rows) else \
        f"{where_of.get(key, key)}[{k}]"


def _dropped(where_of: dict, key: str, name: str) -> str:
    """' (the variant drops it: ...)' when ``name`` is a row the variant dropped."""
    names, where = where_of.get(f"dropped {key}", ((), ""))
    return f" ({where} drops it)" if name in names else ""


def _string_list(doc: dict, key: str, where_of: dict, p: Problems) -> list[str]:
    raw = doc.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        p.add(where_of.get(key, key), f"got {describe(raw)}, expected a list of names")
        return []
    return raw


def _actors(doc, where_of, names: Names, p: Problems, default_speed_ms) -> list[Actor]:
    base = where_of.get("actors", "actors")
    raw = p.table_list(doc, "actors", base)
    out, seen = [], set()
    for k, a in enumerate(raw):
        where = _row_where(where_of, "actors", k)
        p.check_keys(a, where, {"name", "role", "count", "start", "keys", "speed_ms",
                                "station", "turnout_s", "access", "destination", "title"},
                     required=("name", "role", "start"))
        name = p.string(a, "name", where, "")
        if name in seen:
            p.add(f"{where}.name", f"'{name}' is already the name of another actor")
        seen.add(name)
        if name in names.places:
            p.add(f"{where}.name", f"'{name}' is also the name of a place in the building; "
                  "give the actor another name")
        role = p.string(a, "role", where, "volunteer", choices=ROLES)
        count = p.integer(a, "count", where, 1, minimum=1, maximum=MAX_ACTOR_COUNT)
        start = p.string(a, "start", where, "offsite")
        if start != "offsite" and start not in names.regions:
            p.add(f"{where}.start", f"got '{start}'{did_you_mean(start, names.regions)}; "
                  "expected a region of the building or \"offsite\"")
        keys = a.get("keys", [])
        if not isinstance(keys, list) or not all(isinstance(x, str) for x in keys):
            p.add(f"{where}.keys", f"got {describe(keys)}, expected a list of exit or door "
                  "names")
            keys = []
        for x in keys:
            if x not in names.portals:
                p.add(f"{where}.keys", f"'{x}' is not an exit or named door"
                      f"{did_you_mean(x, names.portals)}")
        speed = p.number(a, "speed_ms", where, default_speed_ms, minimum=0.1, maximum=2.0)
        station = a.get("station")
        if station is not None and not isinstance(station, str):
            p.add(f"{where}.station", f"got {describe(station)}, expected a road node name")
            station = None
        turnout = p.number(a, "turnout_s", where, 0.0, minimum=0.0)
        access = a.get("access")
        if access is not None and not isinstance(access, str):
            p.add(f"{where}.access", f"got {describe(access)}, expected an exit name")
            access = None
        destination = a.get("destination")
        if destination is not None and not isinstance(destination, str):
            p.add(f"{where}.destination", f"got {describe(destination)}, expected a road node")
            destination = None
        if start != "offsite" and (station is not None or access is not None
                                   or destination is not None):
            p.add(where, "station, access and destination are for off-site actors "
                  "(start = \"offsite\")")
        out.append(Actor(name, role or "volunteer", int(count or 1), start or "offsite",
                         tuple(keys), float(speed), station, float(turnout or 0.0), access,
                         str(a.get("title", "")), destination))
    return out


def _roads(doc, where_of, p: Problems) -> tuple[list[Road], set[str]]:
    site = doc.get("site", {})
    base = where_of.get("site", "site")
    if not isinstance(site, dict):
        p.add(base, f"got {describe(site)}, expected a table")
        return [], set()
    p.check_keys(site, base, {"roads", "access", "note"})
    raw = p.table_list(site, "roads", f"{base}.roads")
    roads, nodes = [], set()
    for k, r in enumerate(raw):
        where = f"{base}.roads[{k}]"
        p.check_keys(r, where, {"name", "from", "to", "length_m", "speed_kmh", "clear_s",
                                "when_blocked", "note"},
                     required=("name", "from", "to", "length_m", "speed_kmh"))
        name = p.string(r, "name", where, "")
        a = p.string(r, "from", where, "")
        b = p.string(r, "to", where, "")
        length = p.number(r, "length_m", where, 1.0, minimum=0.0, exclusive_min=True)
        speed = p.number(r, "speed_kmh", where, 30.0, minimum=0.0, exclusive_min=True,
                         maximum=200.0)
        clear_s = p.number(r, "clear_s", where, 600.0, minimum=0.0)
        mode = p.string(r, "when_blocked", where, "clear", choices=("clear", "detour"))
        nodes |= {a, b}
        roads.append(Road(name, a, b, float(length), float(speed), float(clear_s), mode))
    names = [r.name for r in roads]
    for n in set(names):
        if names.count(n) > 1:
            p.add(f"{base}.roads", f"two roads are named '{n}'")
    return roads, nodes


def _trigger(t: dict, where: str, p: Problems, names: Names, actors: list[Actor]) -> Trigger:
    kinds = [k for k in ("at_s", "after", "when") if k in t]
    delay = p.number(t, "delay_s", where, 0.0, minimum=0.0)
    if len(kinds) != 1:
        p.add(where, "expected exactly one trigger: at_s = <seconds>, after = \"<action id>\" "
              "or when = \"<condition>\"" + (f" (got {', '.join(kinds)})" if kinds else ""))
        return Trigger("at", delay or 0.0, at_s=0.0)
    if kinds[0] == "at_s":
        at = p.number(t, "at_s", where, 0.0, minimum=0.0)
        return Trigger("at", delay or 0.0, at_s=at or 0.0)
    if kinds[0] == "after":
        after = p.string(t, "after", where, "")
        return Trigger("after", delay or 0.0, after=after or "")
    cond = p.string(t, "when", where, "all_out", choices=list(CONDITIONS))
    if cond is None or cond not in CONDITIONS:
        return Trigger("at", delay or 0.0)
    args = {}
    actor_names = [a.name for a in actors]
    for key in CONDITIONS[cond] + CONDITION_OPTIONAL.get(cond, ()):
        required = key in CONDITIONS[cond]
        if key not in t:
            if required:
                p.add(f"{where}.{key}", f"missing: when = \"{cond}\" needs {key}")
            continue
        if key == "count":
            v = p.integer(t, key, where, 1, minimum=1)
        elif key == "extinction_per_m":
            v = p.number(t, key, where, 0.1, minimum=0.0, exclusive_min=True)
        else:
            v = p.string(t, key, where, "")
            choices = {"actor": actor_names, "place": names.places, "exit": names.exits,
                       "region": names.regions, "detector": names.detectors,
                       "profile": names.profiles}[key]
            if v and v not in choices:
                what = {"actor": "an actor", "place": "a region, exit or door",
                        "exit": "an exit", "region": "a region", "detector": "a detector",
                        "profile": "a profile of this scenario's occupants"}[key]
                p.add(f"{where}.{key}", f"'{v}' is not {what}{did_you_mean(v, choices)}"
                      + ("" if choices else " (there are none)"))
        args[key] = v
    if cond == "out" and isinstance(args.get("count"), int) and names.occupants:
        prof = args.get("profile")
        there = sum(names.occupants.values()) if not prof else names.occupants.get(prof)
        if there is not None and args["count"] > there:
            of = f" of profile '{prof}'" if prof else ""
            p.add(f"{where}.count", f"got {args['count']}, but the scenario has {there} "
                  f"occupant{'s' if there != 1 else ''}{of}: this trigger could never fire")
    if cond == "on_scene" and args.get("actor") in actor_names:
        if not next(a for a in actors if a.name == args["actor"]).offsite:
            p.add(f"{where}.actor", f"'{args['actor']}' starts in the building; on_scene is "
                  "for off-site actors")
    return Trigger(cond, delay or 0.0, args=tuple(sorted(args.items())))


def _actions(doc, where_of, names: Names, actors: list[Actor], roads: list[str],
             p: Problems) -> list[Action]:
    base = where_of.get("timeline", "timeline")
    raw = p.table_list(doc, "timeline", base)
    actor_by = {a.name: a for a in actors}
    out: list[Action] = []
    wheres: list[str] = []  # (where each action of ``out`` was written)
    ids: dict[str, str] = {}
    for k, t in enumerate(raw):
        where = _row_where(where_of, "timeline", k)
        p.check_keys(t, where, ACTION_KEYS, required=("action",))
        kind = p.string(t, "action", where, "", choices=list(ACTIONS))
        if not kind:
            continue
        target_kind, by_required, default_duration = ACTIONS[kind]
        target = t.get("target", "all" if target_kind == "area" else None)
        named = isinstance(target, str)
        if not named:
            p.add(f"{where}.target", ("missing" if target is None else f"got {describe(target)}")
                  + f", expected the name of {_what(target_kind)}")
            target = ""
        choices = _choices(target_kind, names, actors, roads)
        if named and target not in choices:  # (an empty name too: it names nothing)
            p.add(f"{where}.target", f"'{target}' is not {_what(target_kind)}"
                  f"{_dropped(where_of, 'actors', target)}{did_you_mean(target, choices)}"
                  + ("; exits are locked or unlocked, not opened or closed"
                     if kind in ("open", "close") and target in names.exits else ""))
        by = t.get("by")
        if by is not None and not isinstance(by, str):
            p.add(f"{where}.by", f"got {describe(by)}, expected an actor name")
            by = None
        if by is not None and by not in actor_by:
            p.add(f"{where}.by", f"'{by}' is not an actor{_dropped(where_of, 'actors', by)}"
                  f"{did_you_mean(by, actor_by)}"
                  + ("" if actor_by else " (the scenario has no [[actors]])"))
        if by_required and by is None:
            p.add(f"{where}.by", f"a '{kind}' action needs an actor to do it (by = \"...\")")
        actor = actor_by.get(by) if by else None
        if actor is not None and kind in ("unlock", "lock") and not actor.can_open(target):
            p.add(f"{where}.by", f"'{by}' holds no key to '{target}' (keys: "
                  f"{', '.join(actor.keys) or 'none'}); give the actor keys = [\"{target}\"]")
        if actor is not None and kind == "call":
            p.add(f"{where}.by", "a call is made by phone: leave out 'by' (the caller's walk "
                  "is not simulated), or send the caller first and trigger the call after that")
        if kind == "call" and target in actor_by and not actor_by[target].offsite:
            p.add(f"{where}.target", f"'{target}' is already in the building; call off-site "
                  "actors")
        trigger = _trigger(t, where, p, names, actors)
        default = default_duration
        if actor is not None and kind in ("unlock", "lock") and target not in actor.keys:
            default = FORCE_S
        # (-1 when left out and the action has no default: a lane's clearing takes the road's
        # clear_s. Given, a duration is never negative.)
        duration = p.number(t, "duration_s", where, default if default is not None else -1.0,
                            minimum=0.0)
        planned = p.number(t, "planned_s", where, None, minimum=0.0) if "planned_s" in t \
            else None
        options = {}
        if kind == "announce":
            for key, allowed in (("exit_closed", names.exits), ("exit_open", names.exits),
                                 ("use_exit", names.exits)):
                if key in t:
                    v = p.string(t, key, where, "")
                    if v and v not in allowed:
                        p.add(f"{where}.{key}", f"'{v}' is not an exit"
                              f"{did_you_mean(v, allowed)}")
                    options[key] = v
            if not options:
                p.add(where, "an announcement needs exit_closed, exit_open and/or use_exit = "
                      "\"<exit>\"")
        elif kind == "assist":
            options["speed_ms"] = p.number(t, "speed_ms", where, 0.5, minimum=0.1, maximum=1.5)
        elif kind == "suppress":
            options["mode"] = p.string(t, "mode", where, "extinguish",
                                       choices=("extinguish", "control"))
        default_id = kind if target in ("", "all", None) else f"{kind}_{target}"
        aid = t.get("id", default_id)
        if not isinstance(aid, str) or not aid:
            p.add(f"{where}.id", f"got {describe(aid)}, expected a name")
            aid = default_id
        if aid in ids:
            p.add(f"{where}.id", f"'{aid}' is also the id of {ids[aid]}; give each action a "
                  "unique id = \"...\"")
        ids[aid] = where
        out.append(Action(aid, kind, target or "", by, trigger, float(duration),
                          None if planned is None else float(planned),
                          tuple(sorted(options.items()))))
        wheres.append(where)
    _check_graph(out, wheres, actors, names, base, p,
                 gone=lambda aid: _dropped(where_of, "timeline", aid))
    return out


def _what(target_kind: str) -> str:
    return {"area": "a region of the building (or \"all\")", "offsite_actor": "an off-site actor",
            "portal": "an exit or named door", "door": "a named door", "region": "a region",
            "place": "a region, exit or door", "road": "a road of [site]",
            "fire": "a fire of [[fires]]"}[target_kind]


def _choices(target_kind, names: Names, actors, roads) -> list[str]:
    return {"area": names.regions + ["all"],
            "offsite_actor": [a.name for a in actors if a.offsite] or
            [a.name for a in actors],
            "portal": names.portals, "door": names.doors, "region": names.regions,
            "place": names.places, "road": roads, "fire": names.fires}[target_kind]


def _check_graph(actions: list[Action], wheres: list[str], actors: list[Actor], names: Names,
                 base: str, p: Problems, gone=lambda aid: "") -> None:
    """References between actions, cycles of ``after``, and actions that can never fire.
    ``wheres[k]`` is where action ``k`` was written; ``gone(id)`` says if a variant dropped it."""
    ids = {a.id: a for a in actions}
    for k, a in enumerate(actions):
        if a.trigger.kind == "after" and a.trigger.after not in ids:
            p.add(f"{wheres[k]}.after", f"'{a.trigger.after}' is not the id of an action"
                  f"{gone(a.trigger.after)}{did_you_mean(a.trigger.after, ids)}")
    # Cycles in "after".
    state: dict[str, int] = {}

    def visit(aid: str, path: list[str]) -> None:
        if state.get(aid) == 2 or aid not in ids:
            return
        if state.get(aid) == 1:
            cycle = path[path.index(aid):] + [aid]
            p.add(base, "trigger cycle: " + " -> ".join(cycle) + " (each waits for the next)")
            return
        state[aid] = 1
        t = ids[aid].trigger
        if t.kind == "after":
            visit(t.after, path + [aid])
        state[aid] = 2

    for a in actions:
        visit(a.id, [])
    # Actions that can never fire: off-site actors nobody calls; conditions nobody can meet.
    called = {a.target for a in actions if a.action == "call"}
    actor_by = {a.name: a for a in actors}
    sent_to = {(a.by, a.target) for a in actions if a.by}
    never: set[str] = set()
    for k, a in enumerate(actions):
        who = actor_by.get(a.by) if a.by else None
        if who is not None and who.offsite and who.name not in called:
            p.add(wheres[k], f"'{a.id}' is done by '{who.name}', who is off-site and never "
                  "called, so it can never happen; add an action = \"call\" with target = "
                  f"\"{who.name}\"")
            never.add(a.id)
        t = a.trigger
        if t.kind == "on_scene" and t.arg("actor") in actor_by and t.arg("actor") not in called:
            p.add(wheres[k], f"'{a.id}' waits for '{t.arg('actor')}' on scene, but nobody "
                  "calls them")
            never.add(a.id)
        if t.kind == "arrived":
            who_t = actor_by.get(t.arg("actor"))
            if who_t is not None and who_t.start != t.arg("place") and \
                    (who_t.name, t.arg("place")) not in sent_to:
                p.add(wheres[k], f"'{a.id}' waits for '{who_t.name}' to arrive at "
                      f"'{t.arg('place')}', but no action sends them there")
                never.add(a.id)
        if t.kind == "detector" and not names.detectors:
            never.add(a.id)
        if t.kind in ("smoke", "detector") and not names.fires:
            p.add(wheres[k], f"'{a.id}' waits for smoke, but the scenario has no "
                  "[[fires]]")
            never.add(a.id)
    # Chains of "after" from an action that can never fire.
    changed = True
    while changed:
        changed = False
        for k, a in enumerate(actions):
            if a.id not in never and a.trigger.kind == "after" and a.trigger.after in never:
                never.add(a.id)
                changed = True
                p.add(wheres[k], f"'{a.id}' comes after '{a.trigger.after}', which can "
                      "never happen")


def _kpis(doc, where_of, names: Names, actors: list[Actor], actions: list[Action],
          p: Problems) -> list[Kpi]:
    base = where_of.get("kpis", "kpis")
    raw = p.table_list(doc, "kpis", base)
    out = []
    for k, t in enumerate(raw):
        where = _row_where(where_of, "kpis", k)
        p.check_keys(t, where, {"name", "metric", "target", "profile", "actor", "action"},
                     required=("metric", "target"))
        metric = p.string(t, "metric", where, "", choices=list(KPI_METRICS))
        target = p.number(t, "target", where, 0.0, minimum=0.0)
        args = {}
        for key in KPI_METRICS.get(metric, ()):
            if key not in t:  # (without it the KPI would be silently missed, or fail the run)
                p.add(f"{where}.{key}", f"missing: metric = \"{metric}\" needs {key}")
            v = p.string(t, key, where, "")
            choices = {"profile": names.profiles, "actor": [a.name for a in actors],
                       "action": [a.id for a in actions]}[key]
            if v and v not in choices:
                dropped = _dropped(where_of, {"actor": "actors", "action": "timeline"}
                                   .get(key, ""), v)
                p.add(f"{where}.{key}", f"'{v}' is not {'a' if key == 'profile' else 'an'} "
                      f"{key} of this scenario{dropped}{did_you_mean(v, choices)}")
            args[key] = v
        name = t.get("name", metric)
        out.append(Kpi(str(name), metric or "all_out_s", float(target or 0.0),
                       tuple(sorted(args.items()))))
    return out
