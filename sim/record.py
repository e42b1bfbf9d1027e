"""Run records: one self-contained, versioned file per run.

Format ``drillsim.record/1``: a NumPy ``.npz`` archive (zip) holding

* ``meta`` — a JSON text (0-d unicode array): format, drillsim version, scenario name, title,
  variant, seed, time step, frame interval, units, the building (name, cell size, floors with
  their text maps, exits, doors, stairs and regions with their map symbols), the occupants'
  profiles, the event log and the run summary. A map cell at (row, col) of a floor with
  ``rows`` rows has its centre at x = (col + 0.5) * cell_m, y = (rows - row - 0.5) * cell_m;
* ``frame_time_s`` (F,) float64; ``frame_cell`` (F, N) int32 (flat cell, -1 once out);
  ``frame_state`` (F, N) uint8 (0 waiting, 1 moving, 2 evacuated, 3 casualty);
* ``cell_floor`` (C,) int16, ``cell_xy_m`` (C, 2) float32 — where each flat cell lies, so a
  reader turns ``frame_cell`` into positions in metres without knowing the grid layout;
* ``occupant_profile`` (N,) int16 (index into ``meta.profiles``), ``occupant_speed_ms`` (N,)
  float32, ``exit_used`` (N,) int16, ``out_time_s`` (N,) float64 (inf when not out);
* with a drill's actors: ``actor_frame_cell`` and ``actor_frame_state`` (F, A), one column per
  member listed in ``meta.actors`` (state 2 = off-site or outside); ``meta.timeline``;
* with a hazard: ``frame_smoke_k`` (S, C) float16, the extinction coefficient per cell (1/m),
  for the frames listed in ``smoke_frame`` (S,) int32 (every frame, or every k-th when cells
  x frames would pass 50 million), ``fed`` (N,) float32, each occupant's dose at the end,
  and ``cell_burning_s`` (C,) float32, when each cell caught fire (inf: never; a burning cell
  burns to the end of the run).

Carried occupants (state 4) are recorded at their carrier's cell.

Readers need only numpy and json; the trainer reads records without importing the simulation.
Files are written to a temporary name and renamed, so a record is either whole or absent.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .errors import RecordError

FORMAT = "drillsim.record/1"
# ``frame_state``'s codes, by code (the engine's states; exports write these names).
STATE_NAMES = ("waiting", "moving", "evacuated", "casualty", "carried")
SMOKE_VALUES = 50_000_000  # at most this many smoke values (cells x frames) in a record
SUPPORTED = (FORMAT,)


def write_atomic_bytes(path: Path, writer) -> None:
    """Call ``writer(handle)`` on a temporary file beside ``path``, then rename it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            writer(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are for sharing
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic_text(path: Path, text: str) -> None:
    write_atomic_bytes(path, lambda h: h.write(text.encode("utf-8")))


def build_record(model, summary: dict) -> tuple[dict, dict]:
    """Meta (JSON-able) and arrays of a finished model's run record."""
    from . import __version__

    b, sc = model.building, model.scenario
    cells = np.arange(b.n_cells)
    floor, x, y = b.cell_position(cells)
    meta = {
        "format": FORMAT,
        "drillsim_version": __version__,
        "scenario": sc.name,
        "title": sc.title,
        "description": sc.description,
        "variant": sc.variant,
        "seed": model.seed_value,
        "dt_s": model.dt_s,
        "frame_interval_s": model.record_every_steps * model.dt_s,
        "units": {"length": "m", "time": "s", "speed": "m/s"},
        "building": {
            "name": b.name,
            "title": b.title,
            "cell_m": b.cell_m,
            "floors": [{"name": f.name, "rows": f.rows, "cols": f.cols, "map": list(f.lines)}
                       for f in b.floors],
            "exits": [{"name": e.name, "symbol": e.symbol, "floor": e.floor,
                       "width_m": e.width_m, "locked_at_start": bool(model.locked_at_start[e.index]),
                       "cells": e.cells.tolist()} for e in b.exits],
            "doors": [{"name": d.name, "symbol": d.symbol, "floor": d.floor, "state": d.state,
                       "width_m": d.width_m, "cells": d.cells.tolist()}
                      for d in b.doors if d.is_named],
            "stairs": [{"name": s.name, "symbol": s.symbol, "floors": list(s.floors),
                        "length_m": s.length_m, "speed_factor": s.speed_factor}
                       for s in b.stairs],
            "regions": [{"name": r.name, "floor": r.floor, "symbol": r.symbol}
                        for r in b.regions],
        },
        "profiles": list(model.profile_names),
        "actors": model.drill.member_rows() if model.drill is not None else [],
        "timeline": model.drill.timeline() if model.drill is not None else [],
        "has_smoke": model.hazard is not None,
        "events": model.events,
        "summary": summary,
    }
    n = model.n_occupants
    a = {k: v[:n] for k, v in model.agents_state.items()}
    cells = np.stack([f.cell for f in model.frames]).astype(np.int32)
    states = np.stack([f.state for f in model.frames]).astype(np.uint8)
    arrays = {
        "frame_time_s": np.array([f.time_s for f in model.frames], dtype=np.float64),
        "frame_cell": np.ascontiguousarray(cells[:, :n]),
        "frame_state": np.ascontiguousarray(states[:, :n]),
        "cell_floor": floor.astype(np.int16),
        "cell_xy_m": np.stack([x, y], axis=1).astype(np.float32),
        "occupant_profile": model.profile_of.astype(np.int16),
        "occupant_speed_ms": a["speed_ms"].astype(np.float32),
        "exit_used": a["exit_used"].astype(np.int16),
        "out_time_s": a["out_time_s"].astype(np.float64),
    }
    if cells.shape[1] > n:
        arrays["actor_frame_cell"] = np.ascontiguousarray(cells[:, n:])
        arrays["actor_frame_state"] = np.ascontiguousarray(states[:, n:])
    if model.hazard is not None:
        # Every frame's smoke, unless that would pass SMOKE_VALUES: then every k-th frame
        # (``smoke_frame`` says which frame each row belongs to).
        n_frames = len(model.frames)
        every = max(1, -(-n_frames * b.n_cells // SMOKE_VALUES))
        keep = list(range(0, n_frames, every))
        arrays["frame_smoke_k"] = np.stack([model.frames[k].smoke for k in keep]) \
            .astype(np.float16)
        arrays["smoke_frame"] = np.array(keep, dtype=np.int32)
        arrays["fed"] = a["fed"].astype(np.float32)
        arrays["cell_burning_s"] = model.burning_since_s.astype(np.float32)
    return meta, arrays


def write_record(path: str | Path, meta: dict, arrays: dict) -> Path:
    """Write a run record atomically. Returns the path."""
    path = Path(path)
    payload = {"meta": np.array(json.dumps(meta, ensure_ascii=False)), **arrays}
    write_atomic_bytes(path, lambda h: np.savez_compressed(h, **payload))
    return path


class RunRecord:
    """A run record read back: ``meta`` (dict) and the arrays as attributes."""

    def __init__(self, meta: dict, arrays: dict):
        self.meta = meta
        self.arrays = arrays
        for key, value in arrays.items():
            setattr(self, key, value)

    @property
    def n_frames(self) -> int:
        return self.frame_time_s.shape[0]

    @property
    def n_occupants(self) -> int:
        return self.frame_cell.shape[1]

    def positions(self, frame: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(floor, x_m, y_m) of the occupants inside at ``frame`` (others omitted)."""
        cells = self.frame_cell[frame]
        cells = cells[cells >= 0]
        return self.cell_floor[cells], self.cell_xy_m[cells, 0], self.cell_xy_m[cells, 1]


REQUIRED_ARRAYS = ("frame_time_s", "frame_cell", "frame_state", "cell_floor", "cell_xy_m",
                   "occupant_profile", "occupant_speed_ms", "exit_used", "out_time_s")


def _not_a_record(path: Path) -> str:
    """Why ``path`` is plainly no run record (a record is a zip archive: NumPy's .npz), or "".
    (NumPy would otherwise try the file as a pickle and speak of pickled data.)"""
    with open(path, "rb") as f:
        if f.read(4) == b"PK\x03\x04":
            return ""
    return ("not a run record: expected the record.npz that 'drillsim run' writes, or the "
            "run's folder" + (" (this is the run's summary)" if path.name == "summary.json"
                              else ""))


def read_record(path: str | Path) -> RunRecord:
    """Read and check a run record. Raises :class:`RecordError` naming what is wrong."""
    from trainer.records import record_problems  # (numpy and json only: shared with replay)

    path = Path(path)
    if path.is_dir() and not (path / "record.npz").exists():
        from trainer.records import runs_inside  # (a comparison's folder: which runs it holds)

        hint = runs_inside(path, "one")
        if hint:
            raise RecordError(str(path), [hint])
    if path.is_dir():
        path = path / "record.npz"
    if path.is_file() and _not_a_record(path):
        raise RecordError(str(path), [_not_a_record(path)])
    try:
        with np.load(path, allow_pickle=False) as data:
            if "meta" not in data.files:
                raise RecordError(str(path), ["not a drillsim run record: no 'meta' entry"])
            meta = json.loads(str(data["meta"]))
            if not isinstance(meta, dict):
                raise RecordError(str(path), ["not a drillsim run record: its 'meta' is not a "
                                              "JSON object"])
            fmt = meta.get("format")
            if fmt not in SUPPORTED:
                raise RecordError(str(path), [f"format {fmt!r} is not supported; this drillsim "
                                              f"reads {', '.join(SUPPORTED)}"])
            missing = [k for k in REQUIRED_ARRAYS if k not in data.files]
            if missing:
                raise RecordError(str(path), ["incomplete record, missing: " + ", ".join(missing)])
            arrays = {k: data[k] for k in data.files if k != "meta"}
            problems = record_problems(meta, arrays)
            if problems:
                raise RecordError(str(path), ["the record's parts disagree: " + p
                                              for p in problems])
    except FileNotFoundError:
        raise RecordError(str(path), ["file not found"]) from None
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, json.JSONDecodeError) as exc:
        if isinstance(exc, RecordError):
            raise
        raise RecordError(str(path), [f"not a readable run record ({exc.__class__.__name__}: "
                                      f"{exc})"]) from None
    return RunRecord(meta, arrays)
