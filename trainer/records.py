"""Reading run records for replay, without the simulation (format ``drillsim.record/1``)."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SUPPORTED = ("drillsim.record/1",)
REQUIRED = ("frame_time_s", "frame_cell", "frame_state", "cell_floor", "cell_xy_m",
            "occupant_profile")

# Occupant states in records.
WAITING, MOVING, EVACUATED, CASUALTY, CARRIED = 0, 1, 2, 3, 4
OPTIONAL = ("actor_frame_cell", "actor_frame_state", "frame_smoke_k", "smoke_frame",
            "cell_burning_s")


class ReplayError(Exception):
    """A record cannot be replayed; the message says which file and why."""


@dataclass
class Replay:
    """A run record loaded for replay."""

    path: str
    meta: dict
    time_s: np.ndarray  # (F,)
    cell: np.ndarray  # (F, N) int32, -1 when out
    state: np.ndarray  # (F, N) uint8
    cell_floor: np.ndarray  # (C,)
    cell_xy: np.ndarray  # (C, 2) metres
    profile: np.ndarray  # (N,)
    actor_cell: np.ndarray | None = None  # (F, A) the drill's actors, -1 when outside
    smoke_k: np.ndarray | None = None  # (S, C) extinction coefficient per cell, 1/m
    smoke_frame: np.ndarray | None = None  # (S,) the frame of each smoke row
    burning_s: np.ndarray | None = None  # (C,) when each cell caught fire (inf: never)

    @property
    def has_smoke(self) -> bool:
        return self.smoke_k is not None

    @property
    def actors(self) -> list[dict]:
        return self.meta.get("actors", [])

    def actors_at(self, frame: int):
        """(member indices, floor, x, y) of the actors inside at ``frame``."""
        if self.actor_cell is None:
            empty = np.zeros(0)
            return empty.astype(int), empty.astype(int), empty, empty
        cells = self.actor_cell[frame]
        idx = np.flatnonzero(cells >= 0)
        c = cells[idx]
        return idx, self.cell_floor[c], self.cell_xy[c, 0], self.cell_xy[c, 1]

    def smoke_grid(self, frame: int, floor: int) -> np.ndarray | None:
        """K (1/m) on the map cells of ``floor``, shape (rows, cols); None without smoke."""
        if self.smoke_k is None:
            return None
        fl = self.floors[floor]
        on, row, col = self._floor_cells(floor)
        k = frame
        if self.smoke_frame is not None:  # smoke kept for some frames only: the last before
            k = max(0, int(np.searchsorted(self.smoke_frame, frame, side="right")) - 1)
        grid = np.zeros((fl["rows"], fl["cols"]), dtype=np.float32)
        grid[row, col] = self.smoke_k[k, on].astype(np.float32)
        return grid

    def _floor_cells(self, floor: int):
        """(flat cells, their map rows, their map columns) of ``floor``'s map."""
        fl = self.floors[floor]
        rows, cols = fl["rows"], fl["cols"]
        cell = self.meta["building"]["cell_m"]
        on = np.flatnonzero(self.cell_floor == floor)
        col = np.floor(self.cell_xy[on, 0] / cell).astype(int)
        row = rows - 1 - np.floor(self.cell_xy[on, 1] / cell).astype(int)
        ok = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
        return on[ok], row[ok], col[ok]

    def burning_grid(self, time_s: float, floor: int) -> np.ndarray | None:
        """Whether each map cell of ``floor`` is on fire at ``time_s``, shape (rows, cols);
        None if the record holds no fire (no hazard, or written before fires were kept)."""
        if self.burning_s is None or not np.isfinite(self.burning_s).any():
            return None
        fl = self.floors[floor]
        on, row, col = self._floor_cells(floor)
        grid = np.zeros((fl["rows"], fl["cols"]), dtype=bool)
        grid[row, col] = self.burning_s[on] <= time_s + 1e-6
        return grid

    @property
    def n_frames(self) -> int:
        return len(self.time_s)

    @property
    def n_occupants(self) -> int:
        return self.cell.shape[1]

    @property
    def duration_s(self) -> float:
        return float(self.time_s[-1]) if len(self.time_s) else 0.0

    @property
    def all_out_s(self) -> float:
        """When the last occupant who could leave was out: the run's "all_out" event (in
        records before that event was logged as it happened, the run's end)."""
        for ev in self.meta.get("events", []):
            if ev["kind"] == "all_out":
                return float(ev["time_s"])
        return self.duration_s

    @property
    def people_out_s(self) -> float:
        """When the last person was out of the building: on foot (:attr:`all_out_s`) or
        carried out overcome by responders, whichever is later (a drill whose brigade carries
        out the overcome goes on for minutes after the rest are out)."""
        rescued = [float(ev["time_s"]) for ev in self.meta.get("events", [])
                   if ev["kind"] == "casualty_carried_out"]
        return max([self.all_out_s, *rescued])

    @property
    def floors(self) -> list[dict]:
        return self.meta["building"]["floors"]

    def frame_at(self, time_s: float) -> int:
        """The last frame at or before ``time_s``."""
        k = int(np.searchsorted(self.time_s, time_s + 1e-9, side="right")) - 1
        return min(max(k, 0), self.n_frames - 1)

    def occupants_at(self, frame: int):
        """(indices, floor, x, y, state) of the occupants inside at ``frame``."""
        cells = self.cell[frame]
        idx = np.flatnonzero(cells >= 0)
        c = cells[idx]
        return idx, self.cell_floor[c], self.cell_xy[c, 0], self.cell_xy[c, 1], \
            self.state[frame, idx]

    def counts_at(self, frame: int) -> dict[str, int]:
        s = self.state[frame]
        return {"inside": int(np.count_nonzero((s == WAITING) | (s == MOVING) | (s == CARRIED))),
                "out": int(np.count_nonzero(s == EVACUATED)),
                "casualties": int(np.count_nonzero(s == CASUALTY))}

    def exit_locked_at(self, time_s: float) -> dict[str, bool]:
        """Whether each exit is locked at ``time_s``, from its start state and the events."""
        state = {e["name"]: bool(e["locked_at_start"]) for e in self.meta["building"]["exits"]}
        for ev in self.meta.get("events", []):
            if ev["time_s"] > time_s:
                break
            kind = ev.get("action") if ev["kind"] == "action" else ev["kind"]
            if kind in ("lock", "unlock") and ev.get("target") in state:
                state[ev["target"]] = kind == "lock"
        return state

    def staff_mask(self) -> np.ndarray:
        names = self.meta.get("profiles", [])
        staff = [i for i, n in enumerate(names) if n == "staff"]
        return np.isin(self.profile, staff)

    @property
    def variant_name(self) -> str:
        """What the run's variant goes by: in a run of ``compare`` or ``criticality``, the
        comparison's name for it ("without south_gate": the variant with an exit locked,
        which the variant's own name does not say); otherwise the variant."""
        batch = (self.meta.get("summary") or {}).get("batch") or {}
        return str(batch.get("label") or self.meta.get("variant", "?"))

    @property
    def label(self) -> str:
        m = self.meta
        return f"{m.get('scenario', '?')} [{self.variant_name}] seed {m.get('seed', '?')}"


def _is_int(a: np.ndarray) -> bool:
    return np.issubdtype(a.dtype, np.integer)


def _is_real(a: np.ndarray) -> bool:
    return np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)


def record_problems(meta, arrays: dict) -> list[str]:
    """What makes a record's parts disagree (a record written by another program, or edited):
    each a sentence naming the entry, what was found and what was expected; [] if none. The
    simulation's reader uses it too. Checks shapes, kinds of number and ranges of indices, and
    the parts of ``meta`` that readers rely on (the building's floors, cell size and exits)."""
    if not isinstance(meta, dict):
        return [f"meta: got a JSON {type(meta).__name__}, expected an object"]
    out = []
    b = meta.get("building")
    if not isinstance(b, dict):
        out.append("meta.building: missing or not an object")
    else:
        cell = b.get("cell_m")
        if isinstance(cell, bool) or not isinstance(cell, (int, float)) or not cell > 0:
            out.append(f"meta.building.cell_m: got {cell!r}, expected a size in metres > 0")
        floors = b.get("floors")
        if not isinstance(floors, list) or not floors or not all(
                isinstance(f, dict) and isinstance(f.get("name"), str)
                and all(isinstance(f.get(k), int) and f[k] >= 0 for k in ("rows", "cols"))
                and isinstance(f.get("map"), list) for f in floors):
            out.append("meta.building.floors: expected a list of floors, each with a name, "
                       "rows, cols and map")
        exits = b.get("exits", [])
        if not isinstance(exits, list) or not all(
                isinstance(e, dict) and isinstance(e.get("name"), str) for e in exits):
            out.append("meta.building.exits: expected a list of exits, each with a name")
    for key in ("profiles", "events", "actors"):
        if key in meta and not isinstance(meta[key], list):
            out.append(f"meta.{key}: got {type(meta[key]).__name__}, expected a list")

    def shape(key: str, want: tuple, real: bool = True, integer: bool = False) -> bool:
        """Whether ``arrays[key]`` (if there) has the shape ``want`` (None: any length) and
        kind of number; says what is wrong if not."""
        a = arrays.get(key)
        if a is None:
            return False
        ok = a.ndim == len(want) and all(w is None or n == w for n, w in zip(a.shape, want))
        kind_ok = _is_int(a) if integer else (_is_real(a) if real else True)
        if not (ok and kind_ok):
            dims = " x ".join("any" if w is None else str(w) for w in want) or "a scalar"
            kind = "whole numbers" if integer else "numbers"
            out.append(f"{key}: got {a.dtype} of shape {a.shape}, expected {kind} of shape "
                       f"({dims})")
            return False
        return True

    if not shape("frame_time_s", (None,)):
        return out  # (the rest is sized by the frames)
    n_frames = arrays["frame_time_s"].shape[0]
    t = arrays["frame_time_s"].astype(np.float64)
    if not (np.isfinite(t).all() and (np.diff(t) >= 0).all()):
        out.append("frame_time_s: expected finite times in order")
    n_cells = arrays["cell_floor"].shape[0] if shape("cell_floor", (None,), integer=True) \
        else None
    if n_cells is not None:
        n_floors = len(b["floors"]) if isinstance(b, dict) and isinstance(
            b.get("floors"), list) else None
        cf = arrays["cell_floor"]
        if shape("cell_xy_m", (n_cells, 2)) and \
                not np.isfinite(arrays["cell_xy_m"][cf >= 0]).all():
            out.append("cell_xy_m: expected finite positions for the cells on a floor")
        if n_floors is not None and cf.size and (cf.min() < -1 or cf.max() >= n_floors):
            out.append(f"cell_floor: holds floor {int(cf.min() if cf.min() < -1 else cf.max())}"
                       f", expected -1 (on no floor) to {n_floors - 1} (the floors of "
                       "meta.building)")
    n_occ = None
    for cells, states in (("frame_cell", "frame_state"),
                          ("actor_frame_cell", "actor_frame_state")):
        if not shape(cells, (n_frames, None), integer=True):
            continue  # (missing, which the callers check for the required, or said wrong)
        c = arrays[cells]
        if cells == "frame_cell":
            n_occ = c.shape[1]
        if n_cells is not None and c.size and (c.min() < -1 or c.max() >= n_cells):
            out.append(f"{cells}: holds cell {int(c.min() if c.min() < -1 else c.max())}, "
                       f"expected -1 (outside) to {n_cells - 1}")
        if states in arrays and shape(states, c.shape, integer=True):
            st = arrays[states]
            if st.size and (st.min() < 0 or st.max() > CARRIED):
                out.append(f"{states}: expected states 0 to {CARRIED}")
    if n_occ is not None:
        for key in ("occupant_profile", "occupant_speed_ms", "exit_used", "out_time_s", "fed"):
            shape(key, (n_occ,), integer=key in ("occupant_profile", "exit_used"))
        prof = arrays.get("occupant_profile")
        names = meta.get("profiles")
        if prof is not None and prof.shape == (n_occ,) and _is_int(prof) and prof.size and \
                isinstance(names, list) and (prof.min() < 0 or prof.max() >= len(names)):
            out.append(f"occupant_profile: expected indices 0 to {len(names) - 1} into "
                       "meta.profiles")
    if n_cells is not None:
        shape("cell_burning_s", (n_cells,))
        if shape("frame_smoke_k", (None, n_cells)):
            n_smoke = arrays["frame_smoke_k"].shape[0]
            if "smoke_frame" in arrays and shape("smoke_frame", (n_smoke,), integer=True):
                sf = arrays["smoke_frame"]
                if sf.size and (sf.min() < 0 or sf.max() >= n_frames
                                or (np.diff(sf) <= 0).any()):
                    out.append(f"smoke_frame: expected frames 0 to {n_frames - 1} in order")
            elif "smoke_frame" not in arrays and n_smoke != n_frames:
                out.append(f"frame_smoke_k: {n_smoke} rows for {n_frames} frames, and no "
                           "smoke_frame to say which")
    return out


def _not_a_record(path: Path) -> str:
    """Why ``path`` is plainly no run record (a record is a zip archive: NumPy's .npz), or "".
    (NumPy would otherwise try the file as a pickle and speak of pickled data.)"""
    with open(path, "rb") as f:
        if f.read(4) == b"PK\x03\x04":
            return ""
    return ("not a run record: expected the record.npz that 'drillsim run' writes, or the "
            "run's folder" + (" (this is the run's summary)" if path.name == "summary.json"
                              else ""))


def runs_inside(folder: Path, wanted: str = "one or two") -> str:
    """What to give instead of a folder that holds runs rather than being one: a comparison's
    or a criticality study's (``runs/VARIANT/seed-N``), or the demo's (``runs/demo/NAME``).
    "" if it holds none. (``drillsim export``, which takes one run, uses it too.)"""
    runs = sorted(folder.glob("runs/*/seed-*/record.npz")) or sorted(folder.glob("*/record.npz"))
    if not runs:
        return ""
    kind = "a comparison's folder" if (folder / "comparison.json").exists() else \
        "a folder of runs"
    shown = [r.parent for r in runs[:2]]
    try:  # a comparison: its first two variants' first runs, in its order (reference first)
        listed = json.loads((folder / "comparison.json").read_text())["runs"]
        first = listed[0]["seed"]
        picks = [folder / "runs" / Path(r["summary"]).parent.parent.name / f"seed-{first}"
                 for r in listed if r["seed"] == first]
        if len(picks) > 1 and all((q / "record.npz").exists() for q in picks[:2]):
            shown = picks[:2]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        pass
    shown = shown[:1] if wanted == "one" else shown
    return (f"{kind}, not a run: it holds {len(runs)} run(s); give {wanted} of them, "
            f"e.g. {' '.join(str(s) for s in shown)}")


def load_replay(path: str | Path) -> Replay:
    """Read a run record (a ``record.npz`` file, or a folder holding one)."""
    path = Path(path)
    if path.is_dir() and not (path / "record.npz").exists():
        hint = runs_inside(path)
        if hint:
            raise ReplayError(f"{path}: {hint}")
    if path.is_dir():
        path = path / "record.npz"
    if path.is_file() and _not_a_record(path):
        raise ReplayError(f"{path}: " + _not_a_record(path))
    try:
        with np.load(path, allow_pickle=False) as data:
            if "meta" not in data.files:
                raise ReplayError(f"{path}: not a drillsim run record (no 'meta' entry)")
            meta = json.loads(str(data["meta"]))
            if not isinstance(meta, dict):
                raise ReplayError(f"{path}: not a drillsim run record (its 'meta' is not a "
                                  "JSON object)")
            fmt = meta.get("format")
            if fmt not in SUPPORTED:
                raise ReplayError(f"{path}: record format {fmt!r} is not supported; the "
                                  f"trainer reads {', '.join(SUPPORTED)}")
            missing = [k for k in REQUIRED if k not in data.files]
            if missing:
                raise ReplayError(f"{path}: incomplete record, missing {', '.join(missing)}")
            arrays = {k: data[k] for k in REQUIRED + OPTIONAL if k in data.files}
    except FileNotFoundError:
        raise ReplayError(f"{path}: file not found") from None
    except ReplayError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise ReplayError(f"{path}: not a readable run record ({exc.__class__.__name__}: "
                          f"{exc})") from None
    problems = record_problems(meta, arrays)
    if problems:
        raise ReplayError(f"{path}: the record's parts disagree:\n" +
                          "\n".join(f"  - {p}" for p in problems))
    if arrays["frame_time_s"].shape[0] == 0:
        raise ReplayError(f"{path}: the record has no frames")
    return Replay(str(path), meta, arrays["frame_time_s"], arrays["frame_cell"],
                  arrays["frame_state"], arrays["cell_floor"], arrays["cell_xy_m"],
                  arrays["occupant_profile"], arrays.get("actor_frame_cell"),
                  arrays.get("frame_smoke_k"), arrays.get("smoke_frame"),
                  arrays.get("cell_burning_s"))
