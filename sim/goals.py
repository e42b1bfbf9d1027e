"""Where the drill's actors go: places in the building and the fields that lead there.

A *goal* is a set of cells and a field (the walking distance to those cells, as the model's
static fields, through the building as it is now: locked doors closed, smoke counted). Goal
fields live in rows of the model's ``fields`` array, so the movement kernel treats an actor
following one exactly as an occupant following its exit's field. Rows of goals nobody follows
any more are reused.
"""

from __future__ import annotations

import numpy as np

from .building import DOOR, EXIT, FLIGHT, FLOOR, STAIR, _components
from .kernels.fields import compute_static_fields


class Goals:
    def __init__(self, model):
        self.m = model
        self.rows: dict[str, int] = {}
        self._cells: dict[str, np.ndarray] = {}
        self._through: dict[str, bool] = {}
        self._free: list[int] = []
        self._arrive: dict[str, np.ndarray] = {}
        self._region_mask: dict[str, np.ndarray] = {}
        self._rooms: dict[str, list[np.ndarray]] = {}
        self._not_exit = model.building.kind != EXIT

    # --- places
    def region_mask(self, name: str) -> np.ndarray:
        """(n_cells,) bool: the cells of a region, or every cell for "all"."""
        if name not in self._region_mask:
            mask = np.zeros(self.m.building.n_cells, dtype=bool)
            if name == "all":
                mask[:] = True
            else:
                mask[self.place_cells(name)] = True
            self._region_mask[name] = mask
        return self._region_mask[name]

    def search_mask(self, name: str) -> np.ndarray:
        """(n_cells,) bool: where a team fetching people in a region looks: the region's
        cells, the doorways and door cells that open off it (a room region stops at its
        doors, and someone overcome on the threshold would otherwise lie in no region), and
        the flights of the stairs in it (a region holds a stair's landings, not the flights
        between them, where someone overcome on the way down would otherwise lie)."""
        key = "search:" + name
        if key not in self._region_mask:
            b = self.m.building
            mask = self.region_mask(name).copy()
            w = b.width
            door, flight = b.kind == DOOR, b.kind == FLIGHT
            ptr, to = b.link_ptr, b.link_to
            stair = np.flatnonzero(mask & (b.kind == STAIR))
            for c in stair[ptr[stair + 1] > ptr[stair]]:  # landings with a flight's end
                ends = to[ptr[c]:ptr[c + 1]]
                mask[ends[flight[ends]]] = True
            while True:  # (through doors more than one cell deep; along whole flights)
                grown = mask | (_beside(mask, w) & door) | (_beside(mask & flight, w) & flight)
                if np.array_equal(grown, mask):
                    break
                mask = grown
            self._region_mask[key] = mask
        return self._region_mask[key]

    def place_cells(self, name: str) -> np.ndarray:
        """Cells one stands on to be 'at' a place: a region's cells; beside an exit or door;
        near a fire (changes as it grows: not kept)."""
        b = self.m.building
        if name in self._cells:
            return self._cells[name]
        if any(r.name == name for r in b.regions):
            cells = b.region(name).cells
        else:
            portal = next((e for e in b.exits if e.name == name), None) or \
                next((d for d in b.doors if d.name == name), None)
            if portal is None:
                return self.fire_front(name)
            w = b.width
            near = set()
            for c in portal.cells:
                for off in (-w - 1, -w, -w + 1, -1, 1, w - 1, w, w + 1):
                    j = int(c + off)
                    if b.kind[j] in (FLOOR, STAIR):
                        near.add(j)
            cells = np.array(sorted(near), dtype=np.int32)
        self._cells[name] = cells
        return cells

    def fire_front(self, name: str) -> np.ndarray:
        """Cells not burning within two cells of the fire's region: where one attacks it."""
        m, b = self.m, self.m.building
        fire = next(f for f in m.scenario.fires if f.name == name)
        mask = np.zeros(b.n_cells, dtype=bool)
        mask[b.region(fire.region).cells] = True
        w = b.width
        for _ in range(2):
            grown = mask.copy()
            for off in (-w, -1, 1, w):
                grown |= np.roll(mask, off)
            mask = grown
        mask &= m.walkable_base & ~m.burning & self._not_exit
        return np.flatnonzero(mask).astype(np.int32)

    def rooms_of(self, region: str) -> list[np.ndarray]:
        """The rooms of a region (its connected parts), each as an array of cells."""
        if region not in self._rooms:
            b = self.m.building
            self._rooms[region] = [np.array(c, dtype=np.int32)
                                   for c in _components(b.region(region).cells, b)]
        return self._rooms[region]

    # --- fields
    def cells(self, key: str) -> np.ndarray:
        return self._cells[key]

    def row(self, key: str, sources: np.ndarray, through: bool = False) -> int:
        """The row of the model's fields leading to ``sources`` (computed when first needed).
        ``through``: the sources may be cells nobody may enter now (a person, an exit): the
        field is 0 there and the follower stops next to them."""
        if key not in self.rows:
            self._cells[key] = sources
            self._through[key] = through
            self.rows[key] = self._store(self._fields([(sources, through)])[0])
        return self.rows[key]

    def exit_row(self, e) -> int:
        return self.row(f"exit:{e.name}", e.cells, through=True)

    def forget(self, key: str) -> None:
        """Drop a goal whose cells have changed (a fire that grew): the next use recomputes."""
        if key in self.rows:
            self._free.append(self.rows.pop(key))
        self._cells.pop(key, None)
        self._arrive.pop(key, None)

    def refresh(self, in_use: set[int]) -> None:
        """The building changed (a door, a lock, smoke): recompute the goals followed now (rows
        in ``in_use``); forget the others (recomputed if needed again)."""
        kept = []
        for key, row in list(self.rows.items()):
            if row in in_use:
                kept.append((key, row))
            else:
                del self.rows[key]
                self._free.append(row)
        if not kept:
            return
        fields = self._fields([(self._cells[key], self._through[key]) for key, _ in kept])
        for (_, row), field_ in zip(kept, fields):
            self.m.set_field_row(row, field_)

    def arrive_mask(self, key: str) -> np.ndarray:
        """Cells where one sent to ``key`` has arrived: its cells and the ring around them (a
        person, or a locked exit, is reached from next to it)."""
        if key not in self._arrive:
            b = self.m.building
            mask = np.zeros(b.n_cells, dtype=bool)
            w = b.width
            for off in (0, -w - 1, -w, -w + 1, -1, 1, w - 1, w, w + 1):
                mask[self._cells[key] + off] = True
            if len(self._arrive) > 64:
                self._arrive.clear()
            self._arrive[key] = mask
        return self._arrive[key]

    def _store(self, field_: np.ndarray) -> int:
        if self._free:
            row = self._free.pop()
            self.m.set_field_row(row, field_)
            return row
        return self.m.add_field_row(field_)

    def _fields(self, goals: list[tuple[np.ndarray, bool]]) -> np.ndarray:
        """The fields to each goal's sources (``(sources, through)``, as :meth:`row` takes
        them), marched together: in parallel, a field a thread."""
        m, b = self.m, self.m.building
        walk = np.empty((len(goals), b.n_cells), dtype=bool)
        walk[:] = m.grid["passable"].astype(bool) & self._not_exit
        sources = []
        for k, (cells, through) in enumerate(goals):
            if through:
                walk[k, cells] = True
            sources.append(cells[walk[k, cells]])
        return compute_static_fields(walk, m.route_factor, sources, b.width, b.cell_m,
                                     b.link_ptr, b.link_to, b.link_len_m)


def _beside(mask: np.ndarray, width: int) -> np.ndarray:
    """Cells with an axial neighbour in ``mask`` (the grid's border is wall: no wrapping)."""
    near = np.zeros_like(mask)
    for off in (-width, -1, 1, width):
        near |= np.roll(mask, off)
    return near
