"""Exports of a run record: trajectories and the evacuation curve as CSV, and trajectories in
the text format PedPy reads (``pedpy.load_trajectory_from_txt``), so results can be checked
with the field's own analysis tools."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from .record import STATE_NAMES, read_record, write_atomic_text

FORMATS = ("csv", "pedpy")


def trajectory_rows(rec):
    """(occupant, frame, time_s, x_m, y_m, floor, state) of every occupant inside, per frame."""
    f_idx, o_idx = np.nonzero(rec.frame_cell >= 0)
    cells = rec.frame_cell[f_idx, o_idx]
    return (o_idx, f_idx, rec.frame_time_s[f_idx], rec.cell_xy_m[cells, 0],
            rec.cell_xy_m[cells, 1], rec.cell_floor[cells], rec.frame_state[f_idx, o_idx])


def export_csv(run: str | Path, out_dir: str | Path) -> list[Path]:
    """``trajectories.csv`` and ``evacuation_curve.csv`` in ``out_dir``."""
    rec = read_record(run)
    out = Path(out_dir)
    occ, frame, t, x, y, floor, state = trajectory_rows(rec)
    buf = io.StringIO()
    np.savetxt(buf, np.column_stack([occ, frame, t, x, y, floor]), delimiter=",",
               fmt=["%d", "%d", "%.3f", "%.3f", "%.3f", "%d"])
    # The state by name (a code means nothing in a spreadsheet); the floor from 0, the first
    # in the building file (its name is in the record).
    names = np.array(STATE_NAMES)[state]
    rows = buf.getvalue().splitlines()
    text = "".join(f"{row},{name}\n" for row, name in zip(rows, names))
    write_atomic_text(out / "trajectories.csv", "occupant,frame,time_s,x_m,y_m,floor,state\n"
                      + text)
    times = np.sort(rec.out_time_s[np.isfinite(rec.out_time_s)])
    curve = io.StringIO()
    curve.write("time_s,evacuated\n")
    for k, tt in enumerate(times, start=1):
        curve.write(f"{tt:.3f},{k}\n")
    write_atomic_text(out / "evacuation_curve.csv", curve.getvalue())
    return [out / "trajectories.csv", out / "evacuation_curve.csv"]


def export_pedpy(run: str | Path, path: str | Path) -> Path:
    """Trajectories as PedPy's text format: ``ID frame x y z`` in metres, with the frame
    rate in the header. ``z`` is the floor number (PedPy analyses one plane: filter by it)."""
    rec = read_record(run)
    occ, frame, _, x, y, floor, _ = trajectory_rows(rec)
    interval = float(rec.meta["frame_interval_s"])
    buf = io.StringIO()
    buf.write(f"# drillsim run record: {rec.meta['scenario']} [{rec.meta['variant']}] seed "
              f"{rec.meta['seed']}\n")
    buf.write(f"# framerate: {1.0 / interval:.6f}\n")
    buf.write("# ID frame x/m y/m z/m (z: floor number)\n")
    order = np.lexsort((frame, occ))
    np.savetxt(buf, np.column_stack([occ[order] + 1, frame[order], x[order], y[order],
                                     floor[order].astype(float)]),
               fmt=["%d", "%d", "%.3f", "%.3f", "%.1f"])
    path = Path(path)
    write_atomic_text(path, buf.getvalue())
    return path
