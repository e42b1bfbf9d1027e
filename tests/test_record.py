"""Run records: round trip, version check, atomic writing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sim.errors import RecordError
from sim.model import EvacuationModel
from sim.record import build_record, read_record, write_atomic_text, write_record
from sim.run import summarise
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def finished():
    sc = load_scenario(ROOT / "scenarios" / "nursing_home.toml", "rear_locked")
    m = EvacuationModel(sc, 2, record_every_s=2.0).run()
    return m, summarise(m, 0.0)


def test_record_round_trip(tmp_path, finished):
    m, summary = finished
    meta, arrays = build_record(m, summary)
    path = write_record(tmp_path / "record.npz", meta, arrays)
    rec = read_record(path)
    assert rec.meta["format"] == "drillsim.record/1"
    assert rec.meta["seed"] == 2 and rec.meta["variant"] == "rear_locked"
    assert rec.meta["summary"] == json.loads(json.dumps(summary))
    assert rec.n_occupants == m.n_occupants
    assert rec.n_frames == len(m.frames)
    # Frames come every whole number of steps nearest the 2 s asked for, as the record says.
    interval = rec.meta["frame_interval_s"]
    assert abs(interval - 2.0) <= rec.meta["dt_s"] / 2
    assert np.allclose(np.diff(rec.frame_time_s)[:-1], interval)
    # Positions from the record match the model's own cell positions.
    f, x, y = rec.positions(0)
    cells = m.frames[0].cell[:m.n_occupants]  # the actors' tracks are kept apart
    mf, mx, my = m.building.cell_position(cells[cells >= 0])
    assert np.array_equal(f, mf) and np.allclose(x, mx) and np.allclose(y, my)
    # The last frame has everyone out; the exits say which was locked.
    assert np.all(rec.frame_state[-1] == 2)
    rear = next(e for e in rec.meta["building"]["exits"] if e["name"] == "rear")
    assert rear["locked_at_start"] is True


def test_reader_names_found_and_supported_versions(tmp_path, finished):
    m, summary = finished
    meta, arrays = build_record(m, summary)
    meta["format"] = "drillsim.record/99"
    path = write_record(tmp_path / "future.npz", meta, arrays)
    with pytest.raises(RecordError, match=r"'drillsim.record/99' is not supported; this "
                                          r"drillsim reads drillsim.record/1"):
        read_record(path)


def test_reader_rejects_garbage_and_missing_files(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(RecordError, match="not a run record: expected the record.npz that "
                                          "'drillsim run' writes, or the run's folder$"):
        read_record(junk)
    summary = tmp_path / "summary.json"
    summary.write_text("{}")
    with pytest.raises(RecordError, match=r"run's folder \(this is the run's summary\)"):
        read_record(summary)
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(b"PK\x03\x04" + b"\0" * 40)  # (a zip's start, then nothing)
    with pytest.raises(RecordError, match="not a readable run record"):
        read_record(damaged)
    with pytest.raises(RecordError, match="file not found"):
        read_record(tmp_path / "none.npz")


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.json"
    write_atomic_text(target, "first")

    class Boom(Exception):
        pass

    from sim.record import write_atomic_bytes

    def failing(handle):
        handle.write(b"half")
        raise Boom

    with pytest.raises(Boom):
        write_atomic_bytes(target, failing)
    assert target.read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_atomic_writes_are_readable_by_others(tmp_path):
    import stat

    target = tmp_path / "shared.json"
    write_atomic_text(target, "{}")
    mode = stat.S_IMODE(target.stat().st_mode)
    assert mode & stat.S_IRUSR and mode & stat.S_IRGRP


def test_smoke_is_thinned_in_time_when_a_record_would_be_huge(monkeypatch):
    from sim import record
    from tests.test_hazard import fire_scenario
    m = EvacuationModel(fire_scenario(time_limit_s=60), 1, make_handles=False).run()
    summary = summarise(m, 0.0)
    _, full = record.build_record(m, summary)
    assert full["frame_smoke_k"].shape[0] == len(m.frames)
    monkeypatch.setattr(record, "SMOKE_VALUES", m.building.n_cells * 10)
    _, thin = record.build_record(m, summary)
    rows = thin["smoke_frame"]
    assert thin["frame_smoke_k"].shape[0] == rows.size <= 10
    assert rows[0] == 0 and np.all(np.diff(rows) == rows[1] - rows[0])
    assert np.array_equal(thin["frame_smoke_k"], full["frame_smoke_k"][rows])
