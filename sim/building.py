"""Building files: text maps on a square grid, loaded, validated and frozen.

A building file (TOML, ``schema = "drillsim.building/1"``) holds one or more floors drawn as
text maps, plus tables naming what the maps' symbols are. The legend (also in README.md):

======  ==========================================================================
``#``   wall
``.``   floor
(space) outside the building (only around or beside it)
``o``   impassable obstacle (furniture, a parked car)
``~``   clutter: passable, walking slowed by ``[clutter] speed_factor``
``+``   an unnamed doorway (always open)
other   a symbol declared in ``[exits.NAME]``, ``[doors.NAME]``, ``[stairs.NAME]`` or
        ``[regions.NAME]`` (a region symbol marks a floor cell in the room it names)
======  ==========================================================================

Coordinates: x to the right, y up, in metres from the bottom-left corner of each floor's map;
cell ``(row, col)`` (row 0 at the top of the map) has its centre at
``((col + 0.5) * cell_m, (rows - row - 0.5) * cell_m)``.

Internally all floors and stair flights are blocks of rows in one stacked grid (see
``sim.kernels.fields``); a stair flight is a strip of cells ``round(width/cell)`` lanes wide
whose length, with its two end links, equals the flight's length along the slope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import BuildingError
from .validation import Problems, check_schema, describe, did_you_mean, read_toml

SCHEMA = "drillsim.building/1"

# Cell kinds in the stacked grid.
OUTSIDE, WALL, FLOOR, OBSTACLE, EXIT, DOOR, STAIR, FLIGHT = range(8)

LEGEND = {"#": "wall", ".": "floor", " ": "outside", "o": "obstacle", "~": "clutter",
          "+": "doorway"}
DOOR_STATES = ("open", "closed", "locked")
# An exit's door: "closed" is a self-closing door to the outside (people push it open as they
# pass; smoke only leaks out through it). Exits are locked in the scenario, not here.
EXIT_STATES = ("open", "closed")
MAX_FLIGHT_M = 200.0  # the longest flight of stairs a file may declare (walking length, m)


@dataclass(frozen=True)
class Floor:
    name: str
    index: int
    rows: int
    cols: int
    lines: tuple[str, ...]
    block_row: int  # first row of this floor's padded block in the stacked grid


@dataclass(frozen=True)
class Exit:
    name: str
    index: int
    symbol: str
    floor: int
    cells: np.ndarray  # flat cell indices, int32
    width_m: float  # the width the exit stands for
    drawn_width_m: float  # cells x cell_m
    state: str = "open"  # EXIT_STATES


@dataclass(frozen=True)
class Door:
    name: str
    index: int
    symbol: str
    floor: int
    cells: np.ndarray
    state: str
    width_m: float
    drawn_width_m: float
    is_named: bool


@dataclass(frozen=True)
class Flight:
    """One flight of a stair between two consecutive floors."""

    stair: str
    lower_floor: int
    upper_floor: int
    cells: np.ndarray  # strip cells, lane-major
    lanes: int
    steps: int
    length_m: float
    speed_factor: float


@dataclass(frozen=True)
class Stair:
    name: str
    symbol: str
    length_m: float
    speed_factor: float
    width_m: float
    floors: tuple[int, ...]


@dataclass(frozen=True)
class Region:
    name: str
    floor: int
    cells: np.ndarray
    symbol: str = ""  # the marker symbol of a room region; "" for a rectangle (a zone)


@dataclass(frozen=True)
class Building:
    """A validated building. Arrays are read-only; indices are flat cells of the stacked grid."""

    path: str
    name: str
    title: str
    cell_m: float
    width: int  # row length of the stacked grid
    height: int
    floors: tuple[Floor, ...]
    exits: tuple[Exit, ...]
    doors: tuple[Door, ...]
    stairs: tuple[Stair, ...]
    flights: tuple[Flight, ...]
    regions: tuple[Region, ...]
    clutter_factor: float
    kind: np.ndarray  # (n_cells,) uint8
    floor_of: np.ndarray  # (n_cells,) int16, -1 for flights and padding
    base_factor: np.ndarray  # (n_cells,) float64 speed factor without clutter
    clutter: np.ndarray  # (n_cells,) bool, drawn clutter
    exit_of_cell: np.ndarray  # (n_cells,) int16
    door_of_cell: np.ndarray  # (n_cells,) int16
    link_ptr: np.ndarray  # (n_cells + 1,) int32
    link_to: np.ndarray  # int32
    link_len_m: np.ndarray  # float64
    flight_of_cell: np.ndarray = field(repr=False, default=None)  # (n_cells,) int16

    @property
    def n_cells(self) -> int:
        return self.kind.shape[0]

    def exit_index(self, name: str) -> int:
        return next(e.index for e in self.exits if e.name == name)

    def door_index(self, name: str) -> int:
        return next(d.index for d in self.doors if d.name == name)

    def region(self, name: str) -> Region:
        return next(r for r in self.regions if r.name == name)

    def cell_position(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(floor, x_m, y_m) of flat cells. Flight cells are placed along their stair.

        A flight cell is drawn on its lower floor, on the line from the lower landing to the
        upper landing footprint, at the fraction of the flight it has climbed.
        """
        return cell_positions(self, np.asarray(cells))

    def walkable(self) -> np.ndarray:
        """Cells an occupant may stand in when every door and exit is open."""
        return np.isin(self.kind, (FLOOR, DOOR, STAIR, FLIGHT))


def cell_positions(b: Building, cells: np.ndarray):
    cells = np.asarray(cells, dtype=np.int64)
    row = cells // b.width
    col = cells % b.width
    floor = b.floor_of[cells].astype(np.int64)
    x = np.full(cells.shape, np.nan)
    y = np.full(cells.shape, np.nan)
    on_floor = floor >= 0
    block = np.array([f.block_row for f in b.floors])
    rows = np.array([f.rows for f in b.floors])
    f_idx = np.where(on_floor, floor, 0)
    local_r = row - block[f_idx] - 1
    x[on_floor] = (col[on_floor] - 1 + 0.5) * b.cell_m
    y[on_floor] = (rows[f_idx][on_floor] - local_r[on_floor] - 0.5) * b.cell_m
    fl = b.flight_of_cell[cells]
    for k, flight in enumerate(b.flights):
        sel = fl == k
        if not np.any(sel):
            continue
        stair = next(s for s in b.stairs if s.name == flight.stair)
        lo = _footprint_centre(b, stair.symbol, flight.lower_floor)
        hi = _footprint_centre(b, stair.symbol, flight.upper_floor)
        step = (col[sel] - 1 + 0.5) / flight.steps
        x[sel] = lo[0] + (hi[0] - lo[0]) * step
        y[sel] = lo[1] + (hi[1] - lo[1]) * step
        floor[sel] = flight.lower_floor
    return floor, x, y


def _footprint_centre(b: Building, symbol: str, floor_index: int) -> tuple[float, float]:
    fl = b.floors[floor_index]
    rs, cs = [], []
    for r, line in enumerate(fl.lines):
        for c, ch in enumerate(line):
            if ch == symbol:
                rs.append(r)
                cs.append(c)
    return ((np.mean(cs) + 0.5) * b.cell_m, (fl.rows - np.mean(rs) - 0.5) * b.cell_m)


# --------------------------------------------------------------------------- loading

def load_building(path: str | Path) -> Building:
    """Parse, validate and freeze a building file. Raises :class:`BuildingError` listing
    every problem found."""
    path = Path(path)
    doc = read_toml(path, BuildingError)
    return build_building(doc, str(path))


def build_building(doc: dict, source: str) -> Building:
    """Validate a parsed building document and build the frozen :class:`Building`."""
    p = Problems(source, BuildingError)
    check_schema(doc, SCHEMA, p)
    p.check_keys(doc, "", {"schema", "name", "title", "cell_m", "floors", "exits", "doors",
                           "stairs", "regions", "clutter"}, required=("name", "floors"))
    name = p.string(doc, "name", "", "unnamed")
    title = p.string(doc, "title", "", name)
    cell_m = p.number(doc, "cell_m", "", 0.4, minimum=0.1, maximum=2.0)
    clutter_tab = p.table(doc, "clutter", "")
    p.check_keys(clutter_tab, "clutter", {"speed_factor"})
    clutter_factor = p.number(clutter_tab, "speed_factor", "clutter", 0.5, minimum=0.05,
                              maximum=1.0)

    floors_raw = doc.get("floors", [])
    if not isinstance(floors_raw, list) or not floors_raw or \
            not all(isinstance(f, dict) for f in floors_raw):
        p.add("floors", f"got {describe(floors_raw)}, expected one or more [[floors]] tables "
              "with name and map")
        floors_raw = []

    # Declared symbols ------------------------------------------------------------------
    symbols: dict[str, tuple[str, str]] = {}  # symbol -> (kind, name)
    names_seen: dict[str, str] = {}

    def declare(kind: str, table_name: str, allowed: set[str], required: tuple[str, ...]):
        tab = p.table(doc, table_name, "")
        out = {}
        for nm, spec in tab.items():
            where = f"{table_name}.{nm}"
            if not isinstance(spec, dict):
                p.add(where, f"got {describe(spec)}, expected a table")
                continue
            p.check_keys(spec, where, allowed, required)
            if nm in names_seen:
                p.add(where, f"duplicate name: '{nm}' is already a {names_seen[nm]}")
            names_seen[nm] = kind
            sym = spec.get("symbol")
            if sym is not None:
                if not isinstance(sym, str) or len(sym) != 1:
                    p.add(f"{where}.symbol", f"got {describe(sym)}, expected one character")
                elif sym in LEGEND:
                    p.add(f"{where}.symbol", f"'{sym}' is reserved for {LEGEND[sym]}; choose "
                          "another character")
                elif sym in symbols:
                    other = symbols[sym]
                    p.add(f"{where}.symbol", f"'{sym}' is already the symbol of {other[0]} "
                          f"'{other[1]}'")
                else:
                    symbols[sym] = (kind, nm)
            out[nm] = spec
        return out

    exits_raw = declare("exit", "exits", {"symbol", "width_m", "state", "title"}, ("symbol",))
    doors_raw = declare("door", "doors", {"symbol", "width_m", "state", "title"}, ("symbol",))
    stairs_raw = declare("stair", "stairs", {"symbol", "length_m", "speed_factor", "width_m",
                                             "title"}, ("symbol", "length_m"))
    regions_raw = declare("region", "regions", {"symbol", "rect_m", "floor", "title"}, ())

    # Floors -------------------------------------------------------------------------------
    floors: list[tuple[str, list[str]]] = []
    floor_names: list[str] = []
    for k, f in enumerate(floors_raw):
        where = f"floors[{k}]"
        p.check_keys(f, where, {"name", "map", "title"}, ("name", "map"))
        fname = p.string(f, "name", where, f"floor{k}")
        if fname in floor_names:
            p.add(f"{where}.name", f"duplicate floor name '{fname}'")
        floor_names.append(fname)
        raw = f.get("map", "")
        if not isinstance(raw, str):
            p.add(f"{where}.map", f"got {describe(raw)}, expected a multi-line string")
            raw = ""
        # Lines of spaces are part of the map (outside); only empty lines at the ends are not.
        lines = raw.replace("\r", "").split("\n")
        while lines and lines[0] == "":
            lines.pop(0)
        while lines and lines[-1] == "":
            lines.pop()
        if not lines:
            p.add(f"{where}.map", "the map is empty")
        else:
            width0 = len(lines[0])
            for r, line in enumerate(lines):
                loc = f"floor '{fname}', map line {r + 1}"
                if len(line) != width0:
                    p.add(loc, f"has {len(line)} characters, expected {width0} like line 1 "
                          "(rows must be equally long; pad with spaces for outside)")
                for c, ch in enumerate(line):
                    if ch not in LEGEND and ch not in symbols:
                        shown = f"'{ch}'" if ch.isprintable() else \
                            repr(ch) + (" (a tab: the map takes spaces)" if ch == "\t" else "")
                        p.add(f"{loc}, column {c + 1}",
                              f"unknown symbol {shown}{did_you_mean(ch, symbols)}; expected "
                              "one of the legend ('#' wall, '.' floor, ' ' outside, "
                              "'o' obstacle, '~' clutter, '+' doorway) or a symbol declared "
                              "in [exits], [doors], [stairs] or [regions]")
        floors.append((fname, lines))
    p.raise_if_any()  # the rest needs well-formed maps

    # Stacked grid ------------------------------------------------------------------------
    cell = float(cell_m)
    stair_specs = {}
    for nm, spec in stairs_raw.items():
        where = f"stairs.{nm}"
        # (A flight between two floors is some 5-15 m of walking; the bound keeps a slip of
        # the finger from asking for a grid of a million cells a row.)
        length = p.number(spec, "length_m", where, 1.0, minimum=0.0, exclusive_min=True,
                          maximum=MAX_FLIGHT_M)
        factor = p.number(spec, "speed_factor", where, 0.6, minimum=0.05, maximum=1.0)
        width_m = p.number(spec, "width_m", where, 0.0, minimum=0.0)
        stair_specs[nm] = (spec["symbol"], length, factor, width_m)

    # Which floors hold each stair, and the flights between consecutive floors.
    flights_plan = []
    stair_floors: dict[str, list[int]] = {}
    for nm, (sym, length, factor, width_m) in stair_specs.items():
        on = [k for k, (_, lines) in enumerate(floors) if any(sym in ln for ln in lines)]
        stair_floors[nm] = on
        if not on:
            p.add(f"stairs.{nm}", f"symbol '{sym}' appears on no floor")
        for k in on:
            if (k - 1) not in on and (k + 1) not in on:
                nxt = [floors[j][0] for j in (k - 1, k + 1) if 0 <= j < len(floors)]
                p.add(f"stairs.{nm}", f"stair '{nm}' on floor '{floors[k][0]}' has no partner "
                      f"on the floor above or below ({', '.join(nxt) or 'there is no other floor'}"
                      f"); draw '{sym}' on the floor it leads to")
        for k in on:
            if k + 1 in on:
                lanes_guess = width_m / cell if width_m else None
                flights_plan.append((nm, k, k + 1, length, factor, lanes_guess))

    width = max([len(lines[0]) for _, lines in floors] + [1]) + 2
    for nm, lo, hi, length, factor, _ in flights_plan:
        steps = max(1, round(length / cell) - 1)
        width = max(width, steps + 2)
    height = sum(len(lines) + 2 for _, lines in floors)
    lanes_of = []
    for nm, lo, hi, length, factor, lanes_guess in flights_plan:
        sym = stair_specs[nm][0]
        fp = [sum(ln.count(sym) for ln in floors[k][1]) for k in (lo, hi)]
        if lanes_guess:
            lanes = max(1, round(lanes_guess))
        else:
            lanes = max(1, min(_footprint_narrow_side(floors[lo][1], sym),
                               _footprint_narrow_side(floors[hi][1], sym)))
        lanes = min(lanes, min(fp))
        lanes_of.append(lanes)
        height += lanes + 2

    n = width * height
    kind = np.zeros(n, dtype=np.uint8)
    floor_of = np.full(n, -1, dtype=np.int16)
    base_factor = np.ones(n, dtype=np.float64)
    clutter = np.zeros(n, dtype=np.bool_)
    exit_of = np.full(n, -1, dtype=np.int16)
    door_of = np.full(n, -1, dtype=np.int16)
    flight_of = np.full(n, -1, dtype=np.int16)
    sym_cells: dict[str, list[list[int]]] = {s: [[] for _ in floors] for s in symbols}
    doorway_cells: list[list[int]] = [[] for _ in floors]

    floor_objs = []
    row0 = 0
    for k, (fname, lines) in enumerate(floors):
        floor_objs.append(Floor(fname, k, len(lines), len(lines[0]), tuple(lines), row0))
        for r, line in enumerate(lines):
            base = (row0 + r + 1) * width + 1
            for c, ch in enumerate(line):
                idx = base + c
                floor_of[idx] = k
                if ch == "#":
                    kind[idx] = WALL
                elif ch == " ":
                    kind[idx] = OUTSIDE
                elif ch == "o":
                    kind[idx] = OBSTACLE
                elif ch == ".":
                    kind[idx] = FLOOR
                elif ch == "~":
                    kind[idx] = FLOOR
                    clutter[idx] = True
                elif ch == "+":
                    kind[idx] = DOOR
                    doorway_cells[k].append(idx)
                else:
                    sk, _ = symbols[ch]
                    kind[idx] = {"exit": EXIT, "door": DOOR, "stair": STAIR,
                                 "region": FLOOR}[sk]
                    sym_cells[ch][k].append(idx)
        row0 += len(lines) + 2

    # Stair flights as strips.
    links: list[tuple[int, int, float]] = []
    flight_objs = []
    for (nm, lo, hi, length, factor, _), lanes in zip(flights_plan, lanes_of):
        steps = max(1, round(length / cell) - 1)
        strip = []
        for lane in range(lanes):
            base = (row0 + lane + 1) * width + 1
            for s in range(steps):
                idx = base + s
                kind[idx] = FLIGHT
                base_factor[idx] = factor
                flight_of[idx] = len(flight_objs)
                strip.append(idx)
        sym = stair_specs[nm][0]
        low = _spread(sorted(sym_cells[sym][lo]), lanes)
        high = _spread(sorted(sym_cells[sym][hi]), lanes)
        for lane in range(lanes):
            first = strip[lane * steps]
            last = strip[lane * steps + steps - 1]
            # The flight's length: link, (steps - 1) cells, link = (steps + 1) * cell; the
            # link lengths absorb the rounding so the total equals length_m exactly.
            link_len = (length - (steps - 1) * cell) / 2.0
            links += [(low[lane], first, link_len), (first, low[lane], link_len),
                      (last, high[lane], link_len), (high[lane], last, link_len)]
        flight_objs.append(Flight(nm, lo, hi, np.array(strip, dtype=np.int32), lanes, steps,
                                  length, factor))
        row0 += lanes + 2

    # Exits, doors, regions ---------------------------------------------------------------
    walkish = {FLOOR, DOOR, STAIR}

    def groups_of(cells: list[int]) -> list[list[int]]:
        cells_set = set(cells)
        seen, out = set(), []
        for c0 in cells:
            if c0 in seen:
                continue
            comp, stack = [], [c0]
            seen.add(c0)
            while stack:
                c = stack.pop()
                comp.append(c)
                for d in (-1, 1, -width, width):
                    if c + d in cells_set and c + d not in seen:
                        seen.add(c + d)
                        stack.append(c + d)
            out.append(sorted(comp))
        return out

    def where_cell(idx: int) -> str:
        f = floor_of[idx]
        r = idx // width - floor_objs[f].block_row - 1
        c = idx % width - 1
        return f"floor '{floor_objs[f].name}', map line {r + 1}, column {c + 1}"

    exits = []
    for nm, spec in exits_raw.items():
        where = f"exits.{nm}"
        sym = spec.get("symbol")
        if sym not in sym_cells:
            continue
        per_floor = [(k, cs) for k, cs in enumerate(sym_cells[sym]) if cs]
        if not per_floor:
            p.add(where, f"symbol '{sym}' appears on no floor")
            continue
        all_cells = [c for _, cs in per_floor for c in cs]
        grp = groups_of(all_cells)
        if len(grp) > 1:
            p.add(where, f"symbol '{sym}' is drawn in {len(grp)} separate places (first at "
                  f"{where_cell(grp[0][0])}, then {where_cell(grp[1][0])}); an exit is one "
                  "opening — declare one exit per opening")
            continue
        for c in all_cells:
            nb = [kind[c + d] for d in (-1, 1, -width, width)]
            if OUTSIDE not in nb or not any(x in walkish for x in nb):
                p.add(where, f"'{sym}' at {where_cell(c)} is not a gap in an outside wall: an "
                      "exit cell needs the outside (a space or the map's edge) on one side "
                      "and floor on the other")
                break
        drawn = len(all_cells) * cell
        width_m = p.number(spec, "width_m", where, drawn, minimum=0.0, exclusive_min=True)
        if spec.get("state") == "locked":
            p.add(f"{where}.state", "got 'locked', expected one of: open, closed; an exit is "
                  "locked in the scenario (locked = [\"%s\"]), not in the building" % nm)
            state = "open"
        else:
            state = p.string(spec, "state", where, "open", choices=EXIT_STATES)
        exits.append(Exit(nm, len(exits), sym, per_floor[0][0],
                          np.array(all_cells, dtype=np.int32), width_m, drawn, state))
    if not exits and not p.items:
        p.add("exits", "the building has no exit; declare at least one [exits.NAME] with a "
              "symbol drawn in an outside wall")
    if len(exits) > 64:
        p.add("exits", f"{len(exits)} exits declared; at most 64 are supported")

    doors = []

    def check_door_gap(cells: list[int], label: str) -> None:
        cs = set(cells)
        for c in cells:
            horiz = all(kind[c + d] in (WALL, OBSTACLE) or (c + d) in cs for d in (-1, 1))
            vert = all(kind[c + d] in (WALL, OBSTACLE) or (c + d) in cs
                       for d in (-width, width))
            across_v = all(kind[c + d] in walkish or kind[c + d] == EXIT
                           for d in (-width, width))
            across_h = all(kind[c + d] in walkish or kind[c + d] == EXIT for d in (-1, 1))
            if not ((horiz and across_v) or (vert and across_h)):
                p.add(label, f"the door at {where_cell(c)} is not in a gap of a wall: a door "
                      "cell needs wall (or more of the same door) on two opposite sides and "
                      "floor on the other two")
                return

    for nm, spec in doors_raw.items():
        where = f"doors.{nm}"
        sym = spec.get("symbol")
        if sym not in sym_cells:
            continue
        all_cells = [c for cs in sym_cells[sym] for c in cs]
        if not all_cells:
            p.add(where, f"symbol '{sym}' appears on no floor")
            continue
        grp = groups_of(all_cells)
        if len(grp) > 1:
            p.add(where, f"symbol '{sym}' is drawn in {len(grp)} separate places (first at "
                  f"{where_cell(grp[0][0])}, then {where_cell(grp[1][0])}); a named door is "
                  "one opening")
            continue
        check_door_gap(all_cells, where)
        state = p.string(spec, "state", where, "open", choices=DOOR_STATES)
        drawn = len(all_cells) * cell
        width_m = p.number(spec, "width_m", where, drawn, minimum=0.0, exclusive_min=True)
        doors.append(Door(nm, len(doors), sym, int(floor_of[all_cells[0]]),
                          np.array(all_cells, dtype=np.int32), state, width_m, drawn, True))
    for k, cells in enumerate(doorway_cells):
        for grp in groups_of(cells):
            r = grp[0] // width - floor_objs[k].block_row - 1
            c = grp[0] % width - 1
            label = f"doorway '+' at floor '{floor_objs[k].name}', map line {r + 1}, column {c + 1}"
            check_door_gap(grp, label)
            doors.append(Door(f"door@{floor_objs[k].name}:{r + 1}:{c + 1}", len(doors), "+", k,
                              np.array(grp, dtype=np.int32), "open", len(grp) * cell,
                              len(grp) * cell, False))
    named_doors = [d for d in doors if d.is_named]
    if len(named_doors) > 64:
        p.add("doors", f"{len(named_doors)} named doors; at most 64 are supported")

    for e in exits:
        exit_of[e.cells] = e.index
    for d in doors:
        door_of[d.cells] = d.index

    regions = []
    for nm, spec in regions_raw.items():
        where = f"regions.{nm}"
        has_sym, has_rect = "symbol" in spec, "rect_m" in spec
        if has_sym == has_rect:
            p.add(where, "expected exactly one of 'symbol' (a marker drawn in each room of the "
                  "region) or 'rect_m' ([x_min, y_min, x_max, y_max] in metres, with 'floor')")
            continue
        if has_sym:
            sym = spec["symbol"]
            if sym not in sym_cells:
                continue
            markers = [c for cs in sym_cells[sym] for c in cs]
            if not markers:
                p.add(where, f"symbol '{sym}' appears on no floor")
                continue
            cells = _rooms_containing(markers, kind, width)
            regions.append(Region(nm, int(floor_of[markers[0]]), np.array(cells, dtype=np.int32),
                                  sym))
        else:
            rect = spec["rect_m"]
            fname = p.string(spec, "floor", where, floor_objs[0].name,
                             choices=[f.name for f in floor_objs])
            if not (isinstance(rect, list) and len(rect) == 4 and
                    all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in rect)
                    and rect[0] < rect[2] and rect[1] < rect[3]):
                p.add(f"{where}.rect_m", f"got {describe(rect)}, expected [x_min, y_min, x_max, "
                      "y_max] in metres with min < max")
                continue
            fl = next((f for f in floor_objs if f.name == fname), floor_objs[0])
            cells = []
            for r in range(fl.rows):
                for c in range(fl.cols):
                    idx = (fl.block_row + r + 1) * width + c + 1
                    x = (c + 0.5) * cell
                    y = (fl.rows - r - 0.5) * cell
                    if rect[0] <= x <= rect[2] and rect[1] <= y <= rect[3] and \
                            kind[idx] in (FLOOR, STAIR):
                        cells.append(idx)
            if not cells:
                p.add(f"{where}.rect_m", f"{rect} holds no floor cell on floor '{fl.name}'")
                continue
            regions.append(Region(nm, fl.index, np.array(cells, dtype=np.int32)))

    # Speed factors.
    base_factor[clutter] = 1.0  # clutter is applied on top, by the model (it can change)

    p.raise_if_any()

    link_ptr, link_to, link_len = _links_csr(links, n)
    b = Building(path=source, name=name, title=title, cell_m=cell, width=width, height=height,
                 floors=tuple(floor_objs), exits=tuple(exits), doors=tuple(doors),
                 stairs=tuple(Stair(nm, s[0], s[1], s[2], s[3] or 0.0,
                                    tuple(stair_floors[nm]))
                              for nm, s in stair_specs.items()),
                 flights=tuple(flight_objs), regions=tuple(regions),
                 clutter_factor=float(clutter_factor), kind=kind, floor_of=floor_of,
                 base_factor=base_factor, clutter=clutter, exit_of_cell=exit_of,
                 door_of_cell=door_of, link_ptr=link_ptr, link_to=link_to,
                 link_len_m=link_len, flight_of_cell=flight_of)
    for arr in (kind, floor_of, base_factor, clutter, exit_of, door_of, link_ptr, link_to,
                link_len, flight_of):
        arr.flags.writeable = False

    # Semantic check: every walkable cell reaches an exit (all doors open).
    unreachable = unreachable_cells(b)
    if unreachable.size:
        for comp in _components(unreachable, b):
            p.add("", f"{len(comp)} walkable cell(s) around {where_cell(comp[0])} cannot "
                  "reach any exit, even with every door open; connect them or wall them off")
        p.raise_if_any()
    return b


def _footprint_narrow_side(lines: list[str], sym: str) -> int:
    rows = [r for r, ln in enumerate(lines) if sym in ln]
    cols = [c for ln in lines for c, ch in enumerate(ln) if ch == sym]
    return min(max(rows) - min(rows) + 1, max(cols) - min(cols) + 1)


def _spread(cells: list[int], k: int) -> list[int]:
    if k == 1:
        return [cells[len(cells) // 2]]
    return [cells[round(i * (len(cells) - 1) / (k - 1))] for i in range(k)]


def _rooms_containing(markers: list[int], kind: np.ndarray, width: int) -> list[int]:
    """All floor-like cells connected to the markers without crossing doors or exits."""
    inner = (FLOOR, STAIR)
    seen = set(markers)
    stack = list(markers)
    while stack:
        c = stack.pop()
        for d in (-1, 1, -width, width):
            j = c + d
            if j not in seen and kind[j] in inner:
                seen.add(j)
                stack.append(j)
    return sorted(seen)


def _links_csr(links: list[tuple[int, int, float]], n: int):
    links = sorted(links)
    ptr = np.zeros(n + 1, dtype=np.int32)
    to = np.array([b for _, b, _ in links], dtype=np.int32)
    length = np.array([l for _, _, l in links], dtype=np.float64)
    for a, _, _ in links:
        ptr[a + 1] += 1
    np.cumsum(ptr, out=ptr)
    return ptr, to, length


def reachable(seeds, open_, width: int, link_ptr, link_to) -> np.ndarray:
    """Cells connected to any of ``seeds`` through ``open_`` cells (axial steps and links),
    the seeds included: a breadth-first search done a whole frontier at a time with NumPy (the
    loaders import no Numba; a Python loop over cells took 0.7 s on the temple fair's 256,036
    cells). Returns a (n_cells,) bool array."""
    open_ = np.asarray(open_, dtype=bool)
    link_ptr = np.asarray(link_ptr, dtype=np.int64)
    link_to = np.asarray(link_to, dtype=np.int64)
    n = open_.shape[0]
    seen = np.zeros(n, dtype=bool)
    frontier = np.unique(np.asarray(seeds, dtype=np.int64))
    seen[frontier] = True
    steps = np.array([-1, 1, -width, width], dtype=np.int64)
    while frontier.size:
        nbrs = (frontier[:, None] + steps).ravel()
        counts = link_ptr[frontier + 1] - link_ptr[frontier]
        if counts.any():
            starts = np.repeat(link_ptr[frontier] - np.cumsum(counts) + counts, counts)
            nbrs = np.concatenate([nbrs, link_to[starts + np.arange(counts.sum())]])
        nbrs = nbrs[(nbrs >= 0) & (nbrs < n)]
        nbrs = np.unique(nbrs[open_[nbrs] & ~seen[nbrs]])
        seen[nbrs] = True
        frontier = nbrs
    return seen


def unreachable_cells(b: Building) -> np.ndarray:
    """Walkable cells from which no exit can be reached with every door open."""
    walkable = b.walkable()
    seeds = np.array([c for e in b.exits for c in e.cells], dtype=np.int64)
    seen = reachable(seeds, walkable | (b.kind == EXIT), b.width, b.link_ptr, b.link_to)
    return np.flatnonzero(walkable & ~seen)


def _components(cells: np.ndarray, b: Building) -> list[list[int]]:
    cs = set(int(c) for c in cells)
    out = []
    while cs:
        c0 = min(cs)
        comp, stack = [], [c0]
        cs.discard(c0)
        while stack:
            c = stack.pop()
            comp.append(c)
            for d in (-1, 1, -b.width, b.width):
                if c + d in cs:
                    cs.discard(c + d)
                    stack.append(c + d)
        out.append(sorted(comp))
    return out
