"""``drillsim bench``: timed runs after an untimed warm-up, a fingerprint of each result (the
same seed twice must give the same one), results kept run by run, bad arguments refused."""

from __future__ import annotations

import json
import re

import numba
import pytest

from sim.bench import bench, check_arguments, fingerprint
from sim.cli import main
from sim.engine import Engine
from sim.errors import DrillsimError
from sim.scenario import load_scenario, resolve_scenario_path


@pytest.fixture(scope="module")
def hall():
    return load_scenario(resolve_scenario_path("hall"), "all_open")


def test_warmup_and_timed_runs_agree_and_are_summarised(hall, tmp_path):
    before = numba.get_num_threads()
    path = tmp_path / "out" / "bench.json"
    seen = []
    result = bench(hall, 2, threads=1, json_path=path,
                   on_run=lambda kind, r: seen.append((kind, r["seed"])))
    assert numba.get_num_threads() == before  # restored
    assert result["threads"] == 1
    assert seen == [("warmup", hall.seed), ("run", hall.seed), ("run", hall.seed + 1)]
    w, (r1, r2) = result["warmup"], result["runs"]
    assert w["fingerprint"] == r1["fingerprint"] and result["reproducible"] is True
    assert r1["fingerprint"] != r2["fingerprint"]  # another seed, another run
    assert (w["steps"], w["simulated_s"]) == (r1["steps"], r1["simulated_s"])
    for r in (w, r1, r2):
        assert r["wall_s"] > 0 and r["steps"] > 0
        assert r["simulated_per_wall"] == pytest.approx(r["simulated_s"] / r["wall_s"])
        assert r["occupant_updates_per_s"] == pytest.approx(r["occupant_updates"] / r["wall_s"])
        # Everyone inside is updated at every step: at least one occupant a step, and at
        # most all of them.
        assert r["steps"] <= r["occupant_updates"] <= r["steps"] * hall.occupants
    s = result["summary"]
    assert s["runs"] == 2 and s["wall_s_min"] <= s["wall_s_median"] <= s["wall_s_max"]
    assert s["wall_s_min"] == min(r1["wall_s"], r2["wall_s"])
    assert json.loads(path.read_text()) == json.loads(json.dumps(result))
    assert [p.name for p in path.parent.iterdir()] == ["bench.json"]  # no temporary left


def test_fingerprint_follows_the_result(hall):
    a = Engine(hall, 5).run()
    b = Engine(hall, 5).run()
    assert fingerprint(a) == fingerprint(b)
    b.agents_state["out_time_s"][0] += 1e-9
    assert fingerprint(a) != fingerprint(b)
    c = Engine(hall, 5).run(max_steps=a.n_steps - 1)
    assert fingerprint(c) != fingerprint(a)


def test_an_interrupted_bench_keeps_the_runs_that_finished(hall, tmp_path):
    path = tmp_path / "bench.json"

    def interrupt(kind, r):
        if kind == "run":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        bench(hall, 3, warmup=False, json_path=path, on_run=interrupt)
    kept = json.loads(path.read_text())
    assert [r["seed"] for r in kept["runs"]] == [hall.seed]
    assert kept["warmup"] is None and kept["reproducible"] is None


@pytest.mark.parametrize("seeds,threads,match", [
    (0, None, "--seeds takes a whole number >= 1, got 0"),
    (2, 0, "--threads takes a whole number from 1 to"),
    (2, numba.config.NUMBA_NUM_THREADS + 1, "--threads takes a whole number from 1 to"),
])
def test_bad_counts_are_refused(seeds, threads, match):
    with pytest.raises(DrillsimError, match=match):
        check_arguments(seeds, threads)


def test_cli_prints_the_table_summary_and_reproducibility(tmp_path, capsys):
    path = tmp_path / "b.json"
    assert main(["bench", "hall", "--variant", "all_open", "--seeds", "2", "--threads", "1",
                 "--json", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("hall [all_open]: 1,000 occupants, ") and "1 thread" in lines[0]
    assert "occupant-updates/s" in lines[1] and "fingerprint" in lines[1]
    rows = [line.split() for line in lines[2:5]]
    assert [r[0] for r in rows] == ["warm-up", "1", "2"]
    assert rows[0][-1] == rows[1][-1] != rows[2][-1]  # the fingerprints
    # (Thousands separated: "2,661.4" simulated seconds a wall second, as the updates are.)
    assert all(float(r[1]) > 0 and float(r[3].replace(",", "")) > 1 for r in rows)
    assert all(re.fullmatch(r"\d{1,3}(,\d{3})*\.\d", r[3]) for r in rows)
    assert lines[5].startswith("median of 2: ")
    assert "seed 1 run twice: the same result, bit for bit" in lines
    saved = json.loads(path.read_text())
    assert [r["fingerprint"] for r in saved["runs"]] == [rows[1][-1], rows[2][-1]]


def test_a_json_path_that_cannot_be_written_is_refused_before_any_run(hall, tmp_path):
    (tmp_path / "a_file").write_text("")
    ran = []
    with pytest.raises(DrillsimError, match="cannot write the results to .*a_file"):
        bench(hall, 1, json_path=tmp_path / "a_file" / "b.json",
              on_run=lambda kind, r: ran.append(kind))
    assert ran == []


def test_cli_refuses_bad_threads_with_exit_code_2(capsys):
    assert main(["bench", "hall", "--threads", "0"]) == 2
    out = capsys.readouterr()
    assert "--threads takes a whole number from 1 to" in out.err
    assert out.out == ""  # refused before anything ran
