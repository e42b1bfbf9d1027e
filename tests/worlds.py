"""Tiny fixture worlds built in memory (no files): corridors, rooms with one exit."""

from __future__ import annotations

from pathlib import Path

from sim.building import build_building
from sim.scenario import build_scenario


def pad(rows: list[str]) -> list[str]:
    """Surround a map with outside cells so exits in the outer wall open onto the outside."""
    width = max(len(r) for r in rows)
    return [" " * (width + 2)] + [" " + r.ljust(width) + " " for r in rows] + [" " * (width + 2)]


def building_doc(rows: list[str], exits: dict[str, str], **extra) -> dict:
    """A one-floor building document; ``exits`` maps exit name to symbol."""
    doc = {"schema": "drillsim.building/1", "name": extra.pop("name", "test"), "cell_m": 0.4,
           "floors": [{"name": "ground", "map": "\n".join(pad(rows))}],
           "exits": {name: {"symbol": sym} for name, sym in exits.items()}}
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(doc.get(key), dict):
            doc[key] = {**doc[key], **value}
        else:
            doc[key] = value
    return doc


def corridor_rows(length_cells: int, width_cells: int) -> list[str]:
    """A corridor with exit 'X' across its east end."""
    rows = ["#" * (length_cells + 2)]
    for r in range(width_cells):
        rows.append("#" + "." * length_cells + "X")
    rows.append("#" * (length_cells + 2))
    return rows


def room_with_exit(side_cells: int, door_cells: int) -> list[str]:
    """A square room, region marker 'r' in its north-west corner, one exit 'X' centred in its
    east wall. Declare ``regions={"room": {"symbol": "r"}}``."""
    rows = ["#" * (side_cells + 2)]
    top = (side_cells - door_cells) // 2
    for r in range(side_cells):
        end = "X" if top <= r < top + door_cells else "#"
        rows.append("#" + ("r" if r == 0 else ".") + "." * (side_cells - 1) + end)
    rows.append("#" * (side_cells + 2))
    return rows


def one_lane_stair() -> dict:
    """Two floors joined by a one-lane stair (S, 3 m along the slope): the exit E at the
    ground floor's east end; regions ``landing`` (the ground floor's stair cell, where the
    flight's lower end is linked) and ``upper`` (the first floor's corridor)."""
    doc = building_doc(["#######", "#S....E", "#######"], {"east": "E"},
                       stairs={"stair": {"symbol": "S", "length_m": 3.0, "width_m": 0.4}},
                       regions={"landing": {"rect_m": [0.8, 0, 1.2, 2], "floor": "ground"},
                                "upper": {"rect_m": [1.4, 0, 2.6, 2], "floor": "first"}})
    doc["floors"].append({"name": "first",
                          "map": "\n".join(pad(["#######", "#S....#", "#######"]))})
    return doc


def make_scenario(building: dict, occupants: list[dict], variant: str | None = None, **top):
    """A validated scenario over an in-memory building document."""
    b = build_building(building, "<test building>")
    doc = {"schema": "drillsim.scenario/1", "name": top.pop("name", "test"),
           "building": "in-memory", "occupants": occupants, **top}
    return build_scenario(doc, Path("<test scenario>"), variant, building=b)


def serial_and_parallel_runs(monkeypatch, run) -> list:
    """``run()`` twice: on one thread with every kernel serial, then on all threads with every
    kernel's parallel twin forced (each module's ``SERIAL_BELOW`` at 0)."""
    import numba

    from sim.kernels import choice, fields, movement, streams

    runs = []
    before = numba.get_num_threads()
    for threshold, threads in ((10**9, 1), (0, numba.config.NUMBA_NUM_THREADS)):
        for mod in (choice, fields, movement, streams):
            monkeypatch.setattr(mod, "SERIAL_BELOW", threshold)
        numba.set_num_threads(threads)
        try:
            runs.append(run())
        finally:
            numba.set_num_threads(before)
    return runs
