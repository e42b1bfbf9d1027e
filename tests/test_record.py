"""Run records: round trip, version check, atomic writing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

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


CORRUPTIONS = {  # what was done to a good record -> what both readers must say
    "meta_not_an_object": (lambda m, a: "list", "its 'meta' is not a JSON object"),
    "no_building": (lambda m, a: m.pop("building"), "meta.building: missing or not an object"),
    "frames_cut": (lambda m, a: a.update(frame_state=a["frame_state"][:2]),
                   "frame_state: got uint8 of shape (2, "),
    "cell_off_the_grid": (lambda m, a: a["frame_cell"].__setitem__((0, 0), 10**6),
                          "frame_cell: holds cell 1000000, expected -1 (outside) to "),
    "profile_unknown": (lambda m, a: a["occupant_profile"].__setitem__(0, 99),
                        "occupant_profile: expected indices 0 to "),
    "cells_as_text": (lambda m, a: a.update(frame_cell=a["frame_cell"].astype(str)),
                      "frame_cell: got <U"),
    "times_as_text": (lambda m, a: a.update(frame_time_s=a["frame_time_s"].astype(str)),
                      "frame_time_s: got <U32 of shape"),
    "actors_of_fewer_frames": (lambda m, a: a.update(actor_frame_cell=a["actor_frame_cell"][1:]),
                               "actor_frame_cell: got int32 of shape"),
    "smoke_frames_out_of_order": (lambda m, a: a["smoke_frame"].__setitem__(0, 10**6),
                                  "smoke_frame: expected frames 0 to"),
    "fire_of_five_cells": (lambda m, a: a.update(cell_burning_s=a["cell_burning_s"][:5]),
                           "cell_burning_s: got float32 of shape (5,)"),
}


@pytest.mark.parametrize("what", sorted(CORRUPTIONS))
def test_a_record_whose_parts_disagree_is_refused_by_both_readers(tmp_path, finished, what):
    """A record from another program, or edited, is refused with what is wrong, by the
    simulation's reader (so ``drillsim export`` and ``animate`` exit with 2) and the trainer's,
    instead of failing somewhere in drawing or exporting it."""
    from sim.cli import main
    from trainer.records import ReplayError, load_replay, record_problems

    m, summary = finished
    meta, arrays = build_record(m, summary)
    assert record_problems(json.loads(json.dumps(meta)), arrays) == []
    assert {"actor_frame_cell", "smoke_frame", "cell_burning_s"} <= arrays.keys()
    corrupt, said = CORRUPTIONS[what]
    arrays = {k: np.array(v) for k, v in arrays.items()}
    if corrupt(meta, arrays) == "list":
        meta = [meta]
    path = tmp_path / "record.npz"
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)
    with pytest.raises(RecordError) as info:
        read_record(path)
    assert said in str(info.value) and str(info.value).startswith(str(path))
    with pytest.raises(ReplayError) as info:
        load_replay(path)
    assert said in str(info.value) and str(info.value).startswith(str(path))
    assert main(["export", str(path), "--format", "csv", "--out", str(tmp_path / "x")]) == 2


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


_DTYPES = ["int8", "int16", "int32", "int64", "uint8", "float16", "float32", "float64", "bool",
           "U3"]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.data())
def test_any_array_replaced_by_any_other_is_refused_or_drawn(finished, data):
    """Whatever one of a record's arrays is replaced by (any kind of number or text, any shape,
    the right one included), the check says what is wrong without failing itself; and when it
    finds nothing wrong, the trainer loads the record and draws any frame of it."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    from trainer.app import TrainerApp
    from trainer.records import Replay, record_problems

    m, summary = finished
    meta, arrays = build_record(m, summary)
    meta = json.loads(json.dumps(meta))
    key = data.draw(st.sampled_from(sorted(arrays)))
    good = arrays[key]
    dims = data.draw(st.lists(st.sampled_from(sorted({0, 1, 2, *good.shape})),
                              min_size=max(0, good.ndim - 1), max_size=good.ndim + 1))
    assume(np.prod(dims) <= 4 * max(good.size, 1))  # (not gigabytes)
    dtype = data.draw(st.sampled_from(_DTYPES + [str(good.dtype)] * 3))
    values = data.draw(st.sampled_from(["zeros", "minus ones", "large", "copy"]))
    new = {"zeros": np.zeros, "minus ones": lambda s, dtype: np.full(s, -1).astype(dtype),
           "large": lambda s, dtype: np.full(s, 10**4).astype(dtype)}.get(values)
    if values == "copy" and np.prod(dims) == good.size:
        with np.errstate(invalid="ignore"):  # (inf as a whole number)
            arrays[key] = good.reshape(dims).astype(dtype)
    else:
        arrays[key] = (new or np.zeros)(tuple(dims), dtype=dtype)
    problems = record_problems(meta, arrays)
    assert isinstance(problems, list) and all(isinstance(p, str) and p for p in problems)
    if not problems:
        rep = Replay("x", meta, arrays["frame_time_s"], arrays["frame_cell"],
                     arrays["frame_state"], arrays["cell_floor"], arrays["cell_xy_m"],
                     arrays["occupant_profile"], arrays.get("actor_frame_cell"),
                     arrays.get("frame_smoke_k"), arrays.get("smoke_frame"),
                     arrays.get("cell_burning_s"))
        app = TrainerApp([rep], headless=True)
        app.layers.update(trails=True, density=True, smoke=True)
        app.playback.seek(data.draw(st.floats(0.0, 1.0)) * app.playback.duration_s)
        app.draw()
