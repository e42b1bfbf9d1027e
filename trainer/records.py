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
    if arrays["frame_cell"].ndim != 2 or arrays["frame_time_s"].shape[0] == 0:
        raise ReplayError(f"{path}: the record has no frames")
    return Replay(str(path), meta, arrays["frame_time_s"], arrays["frame_cell"],
                  arrays["frame_state"], arrays["cell_floor"], arrays["cell_xy_m"],
                  arrays["occupant_profile"], arrays.get("actor_frame_cell"),
                  arrays.get("frame_smoke_k"), arrays.get("smoke_frame"),
                  arrays.get("cell_burning_s"))
