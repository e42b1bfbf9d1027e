"""The building graph: rooms (spaces) as nodes; doors, exits and stair flights as edges.

A *space* is a connected set of walkable cells on one floor that contains no door, exit or
stair-flight cell (4-connectivity), i.e. a room or a corridor. Spaces take the name of the
region whose marker they contain; otherwise ``floor/area-N``. The node ``outside`` stands for
everything beyond the exits. Edges carry ``kind`` (door, exit, stair), ``name``, ``width_m`` and
``length_m`` (centre of one space, through the opening, to the centre of the other; for stairs,
the flight's length along the slope).

networkx works here at build time only; it never runs inside a time step.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from .building import FLOOR, STAIR, Building, cell_positions

OUTSIDE_NODE = "outside"


@dataclass(frozen=True)
class Space:
    node: str
    floor: int
    cells: np.ndarray
    centre_m: tuple[float, float]


def find_spaces(b: Building) -> tuple[list[Space], np.ndarray]:
    """Spaces of the building and a (n_cells,) int32 map cell -> space index (-1 elsewhere)."""
    inner = np.isin(b.kind, (FLOOR, STAIR))
    space_of = np.full(b.n_cells, -1, dtype=np.int32)
    spaces: list[Space] = []
    counters: dict[int, int] = {}
    rooms = [(r.name, set(int(c) for c in r.cells)) for r in b.regions if r.symbol]
    w = b.width
    for start in np.flatnonzero(inner):
        if space_of[start] >= 0:
            continue
        idx = len(spaces)
        comp = [int(start)]
        space_of[start] = idx
        k = 0
        while k < len(comp):
            c = comp[k]
            k += 1
            for j in (c - 1, c + 1, c - w, c + w):
                if inner[j] and space_of[j] < 0:
                    space_of[j] = idx
                    comp.append(j)
        cells = np.array(sorted(comp), dtype=np.int32)
        floor = int(b.floor_of[cells[0]])
        names = [nm for nm, cs in rooms if comp[0] in cs]
        if names:
            base = names[0]
        else:
            counters[floor] = counters.get(floor, 0) + 1
            base = f"{b.floors[floor].name}/area-{counters[floor]}"
        node = base
        n_same = sum(1 for s in spaces if s.node == base or s.node.startswith(base + "#"))
        if n_same:
            node = f"{base}#{n_same + 1}"
        _, x, y = cell_positions(b, cells)
        spaces.append(Space(node, floor, cells, (float(x.mean()), float(y.mean()))))
    return spaces, space_of


def build_graph(b: Building) -> nx.MultiGraph:
    """The building graph (see module docstring)."""
    spaces, space_of = find_spaces(b)
    g = nx.MultiGraph(name=b.name)
    for s in spaces:
        g.add_node(s.node, floor=b.floors[s.floor].name, cells=len(s.cells),
                   area_m2=len(s.cells) * b.cell_m ** 2, centre_m=s.centre_m)
    g.add_node(OUTSIDE_NODE, floor="", cells=0, area_m2=0.0, centre_m=(np.nan, np.nan))
    w = b.width

    def touching(cells) -> list[int]:
        out = set()
        for c in cells:
            for j in (c - 1, c + 1, c - w, c + w):
                if space_of[j] >= 0:
                    out.add(int(space_of[j]))
        return sorted(out)

    def centre(cells):
        _, x, y = cell_positions(b, np.asarray(cells))
        return np.array([x.mean(), y.mean()])

    for d in b.doors:
        sides = touching(d.cells)
        mid = centre(d.cells)
        for i in range(len(sides)):
            for j in range(i + 1, len(sides)):
                a, c = spaces[sides[i]], spaces[sides[j]]
                length = float(np.linalg.norm(mid - a.centre_m) + np.linalg.norm(mid - c.centre_m))
                g.add_edge(a.node, c.node, key=d.name, kind="door", name=d.name,
                           width_m=d.width_m, length_m=length, state=d.state)
    for e in b.exits:
        mid = centre(e.cells)
        for s_idx in touching(e.cells):
            s = spaces[s_idx]
            g.add_edge(s.node, OUTSIDE_NODE, key=e.name, kind="exit", name=e.name,
                       width_m=e.width_m, length_m=float(np.linalg.norm(mid - s.centre_m)))
    for fl in b.flights:
        ends = []
        for floor in (fl.lower_floor, fl.upper_floor):
            stair = next(s for s in b.stairs if s.name == fl.stair)
            cells = [c for c in np.flatnonzero((b.kind == STAIR) & (b.floor_of == floor))
                     if _cell_symbol(b, c) == stair.symbol]
            ends.append(int(space_of[cells[0]]))
        lanes_w = fl.lanes * b.cell_m
        g.add_edge(spaces[ends[0]].node, spaces[ends[1]].node,
                   key=f"{fl.stair}:{b.floors[fl.lower_floor].name}-{b.floors[fl.upper_floor].name}",
                   kind="stair", name=fl.stair, width_m=lanes_w, length_m=fl.length_m)
    return g


def _cell_symbol(b: Building, c: int) -> str:
    f = b.floors[b.floor_of[c]]
    r = c // b.width - f.block_row - 1
    col = c % b.width - 1
    return f.lines[r][col]


def check_graph(g: nx.MultiGraph) -> tuple[list[str], list[str]]:
    """Problems (errors) and warnings about the building graph.

    Errors: spaces with no path to ``outside``. Warnings: exits that are the only way out of
    some spaces, and spaces that are dead ends (one opening only) with more than 20 m².
    """
    errors, warnings = [], []
    reach = nx.node_connected_component(g, OUTSIDE_NODE)
    for node in sorted(set(g.nodes) - reach):
        errors.append(f"'{node}' has no way out: no chain of doors, stairs and exits leads "
                      "outside")
    exits = [(u, v, k) for u, v, k, kind in g.edges(keys=True, data="kind") if kind == "exit"]
    for u, v, k in exits:
        h = g.copy()
        h.remove_edge(u, v, key=k)
        cut_off = sorted(set(h.nodes) - nx.node_connected_component(h, OUTSIDE_NODE) -
                         (set(g.nodes) - reach))
        if cut_off:
            shown = ", ".join(cut_off[:6]) + (f" and {len(cut_off) - 6} more" if len(cut_off) > 6
                                              else "")
            warnings.append(f"exit '{k}' is the only way out of {len(cut_off)} area(s): {shown}")
    return errors, warnings


def describe_graph(g: nx.MultiGraph) -> str:
    """A readable listing of the graph: rooms, then openings."""
    lines = [f"{g.number_of_nodes() - 1} areas, {g.number_of_edges()} openings"]
    by_floor: dict[str, list[str]] = {}
    for node, data in g.nodes(data=True):
        if node == OUTSIDE_NODE:
            continue
        by_floor.setdefault(data["floor"], []).append(f"{node} ({data['area_m2']:.0f} m²)")
    for floor, items in by_floor.items():
        lines.append(f"  floor {floor}: " + ", ".join(items))
    for kind in ("exit", "door", "stair"):
        edges = [(u, v, d) for u, v, d in g.edges(data=True) if d["kind"] == kind]
        if not edges:
            continue
        lines.append(f"  {kind}s:")
        for u, v, d in sorted(edges, key=lambda e: e[2]["name"]):
            extra = f", {d['state']}" if kind == "door" and d.get("state") != "open" else ""
            lines.append(f"    {d['name']}: {u} <-> {v}  (width {d['width_m']:.2f} m, "
                         f"length {d['length_m']:.1f} m{extra})")
    return "\n".join(lines)
