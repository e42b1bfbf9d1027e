"""The command line: outputs, JSON, exit code 2 and no traceback on bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]


def drillsim(*args, cwd=None):
    """Run the CLI in a subprocess, as a user would."""
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def test_run_json_prints_the_summary_alone(tmp_path):
    out = tmp_path / "x"
    r = drillsim("run", str(ROOT / "scenarios" / "hall.toml"), "--variant", "two_locked",
                 "--seed", "3", "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["schema"] == "drillsim.summary/1"
    assert summary["variant"] == "two_locked" and summary["seed"] == 3
    assert summary["exits"]["north_west"]["locked_at_start"] is True
    assert summary["locked_exit_discoveries"] > 0
    assert json.loads((out / "summary.json").read_text()) == summary
    assert (out / "record.npz").stat().st_size > 0


@pytest.mark.parametrize("name,variant", [("nursing_home", "rear_locked"),
                                          ("office", "east_exit_locked"),
                                          ("hall", "all_open")])
def test_every_shipped_scenario_runs(tmp_path, capsys, name, variant):
    code = main(["run", name, "--variant", variant, "--out", str(tmp_path), "--no-record"])
    text = capsys.readouterr().out
    assert code == 0
    assert "last out:" in text and "exits:" in text
    assert not (tmp_path / "record.npz").exists()


def test_a_variant_named_twice_in_a_comparison_is_an_error(tmp_path, capsys):
    # It ran, pooled both copies' runs under one name ("over 4 runs" with --seeds 2) and
    # compared the variant with itself.
    code = main(["compare", "hall", "--variants", "all_open,two_locked,all_open", "--seeds",
                 "2", "--out", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert code == 2
    assert "--variants: 'all_open' given more than once" in err
    assert not (tmp_path / "c").exists()


def test_a_comparison_writes_to_a_folder_of_its_own_by_default(tmp_path, capsys,
                                                               monkeypatch):
    # --out was required of compare and criticality alone; run has a default folder.
    monkeypatch.chdir(tmp_path)
    code = main(["compare", "hall", "--variants", "all_open,two_locked", "--seeds", "1",
                 "--workers", "1"])
    out = capsys.readouterr().out
    assert code == 0
    folder = Path("runs") / "hall-comparison"
    assert (tmp_path / folder / "report.html").is_file()
    assert f"Report: {folder / 'report.html'}" in out


def test_check_building_prints_the_graph(capsys):
    assert main(["check", str(ROOT / "buildings" / "nursing_home.toml")]) == 0
    out = capsys.readouterr().out
    assert "rear: corridor <-> outside" in out and "OK" in out


def test_check_takes_a_built_in_name_as_run_does(capsys):
    # "drillsim run residential_tower" worked; "drillsim check residential_tower" said "file
    # not found".
    assert main(["check", "residential_tower"]) == 0
    out = capsys.readouterr().out
    assert "[lane_blocked]" in out and "residential_tower.toml" in out
    assert main(["check", "office_3f"]) == 0  # a building: no scenario has its name
    assert "building 'office_3f'" in capsys.readouterr().out
    assert main(["check", "residental_tower"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'residential_tower'" in err and "buildings: bathhouse" in err


def test_check_scenario_lists_variants(capsys):
    assert main(["check", str(ROOT / "scenarios" / "hall.toml")]) == 0
    out = capsys.readouterr().out
    assert "[two_locked]" in out and "locked: north_west, north_east" in out


def test_bad_input_exits_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('schema = "drillsim.building/1"\nname = "b"\n'
                   'floors = [{name = "g", map = "#?#"}]\n')
    for args in (["check", str(bad)], ["run", str(tmp_path / "missing.toml")],
                 ["run", "hall", "--variant", "nope"], ["run", "hal"]):
        r = drillsim(*args)
        assert r.returncode == 2, args
        assert "Traceback" not in r.stderr and r.stderr.startswith("drillsim: error:"), args
    r = drillsim("check", str(bad))
    assert "map line 1, column 2: unknown symbol '?'" in r.stderr


@pytest.mark.parametrize("command", [["run", "hall"], ["demo", "--no-replay"]])
@pytest.mark.parametrize("seed,said", [("-1", "got -1"), ("1.5", "got '1.5'")])
def test_a_seed_that_is_not_a_whole_number_from_0_is_refused(capsys, command, seed, said):
    with pytest.raises(SystemExit) as e:  # (argparse's exit: before anything runs)
        main([*command, "--seed", seed])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --seed: expected a whole number >= 0, {said}" in err
    assert "Traceback" not in err


def test_outputs_that_cannot_be_written_are_refused_before_any_work(tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    record = tmp_path / "run"
    assert main(["run", "hall", "--out", str(record)]) == 0
    capsys.readouterr()
    cases = [
        (["run", "hall", "--out", str(a_file)], f"--out {a_file}: this is a file"),
        (["run", "hall", "--out", str(a_file / "sub")],
         f"--out {a_file / 'sub'}: {a_file} is a file, so nothing can be written in it"),
        (["compare", "hall", "--seeds", "1", "--out", str(a_file)], "this is a file"),
        (["criticality", "hall", "--seeds", "1", "--out", str(a_file)], "this is a file"),
        (["demo", "--no-replay", "--out", str(a_file)], "this is a file"),
        (["verify", "--fast", "--out", str(a_file)], "this is a file"),
        (["replay", str(record), "--frames", str(a_file)], f"--frames {a_file}: this is a"),
        (["export", str(record), "--format", "csv", "--out", str(a_file)], "this is a file"),
        (["export", str(record), "--format", "pedpy", "--out", str(record)],
         f"--out {record}: this is a folder; expected a file name"),
        (["animate", str(record), "--out", str(a_file / "a.gif")],
         f"--out {a_file / 'a.gif'}: {a_file} is a file"),
    ]
    for args, said in cases:
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert err.startswith("drillsim: error: ") and said in err, (args, err)
    assert a_file.read_text() == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "run"]  # nothing made
    # A floor the record does not have: exit code 2 and the floors it has.
    assert main(["animate", str(record), "--floor", "2", "--out", str(tmp_path / "a.gif")]) == 2
    assert "--floor: got '2', expected a floor's name or number: 1 ground" in \
        capsys.readouterr().err
    assert main(["replay", str(record), "--floor", "x", "--frames", str(tmp_path / "f")]) == 2
    assert "--floor: got 'x'" in capsys.readouterr().err
    assert not (tmp_path / "a.gif").exists()


def test_a_file_the_system_refuses_is_an_error_message_not_a_traceback(monkeypatch, capsys):
    import sim.run

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "/somewhere/summary.json")

    monkeypatch.setattr(sim.run, "run_scenario", refused)
    assert main(["run", "hall", "--no-record"]) == 2
    assert capsys.readouterr().err == \
        "drillsim: error: /somewhere/summary.json: Permission denied\n"


@pytest.mark.parametrize("every", ["0", "-2", "x", "inf"])
def test_frame_every_takes_seconds_above_0(capsys, every):
    with pytest.raises(SystemExit) as e:
        main(["run", "hall", "--frame-every", every])
    assert e.value.code == 2
    assert "argument --frame-every: expected seconds > 0" in capsys.readouterr().err


def test_demo_prints_both_runs_and_the_difference(tmp_path):
    r = drillsim("demo", "--out", str(tmp_path / "demo"), "--no-replay", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "To watch both runs side by side: drillsim replay" in r.stdout
    assert "variant all_open" in r.stdout and "variant two_locked" in r.stdout
    assert "With north_west, north_east locked, the last person is out after" in r.stdout
    assert (tmp_path / "demo" / "two_locked" / "summary.json").exists()
    assert "With rear locked" in r.stdout
    assert (tmp_path / "demo" / "nursing_home_comparison" / "report.html").exists()
    # The kernels are loaded before the timed runs; the runs are the same as without it.
    assert r.stdout.index("loading the simulation kernels") < r.stdout.index("running hall")
    from sim.run import run_scenario
    from sim.scenario import load_scenario

    for variant in ("all_open", "two_locked"):
        shown = json.loads((tmp_path / "demo" / variant / "summary.json").read_text())
        alone = run_scenario(load_scenario(ROOT / "scenarios" / "hall.toml", variant, 1))
        shown.pop("wall_s"), alone.pop("wall_s")
        assert shown == json.loads(json.dumps(alone))


def test_bench_reports_speed(capsys):
    assert main(["bench", "nursing_home", "--variant", "rear_open", "--seeds", "2",
                 "--no-warmup"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "occupant-updates/s" in lines[1]
    rows = [line.split() for line in lines[2:4]]
    assert [r[0] for r in rows] == ["1", "2"]
    assert all(float(r[1]) > 0 and float(r[3].replace(",", "")) > 1 for r in rows)
    assert lines[4].startswith("median of 2: ")
    assert not any("run twice" in line for line in lines)  # no warm-up to compare with


def test_a_reader_that_goes_away_ends_the_command_quietly():
    # ``drillsim check ... | head -0``: the pipe is closed before anything is written.
    p = subprocess.Popen([sys.executable, "-m", "sim.cli", "check",
                          str(ROOT / "scenarios" / "hall.toml")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception" not in err


def test_a_run_shows_its_progress_on_a_terminal_and_is_the_same_run(monkeypatch):
    import io

    from sim.run import run_scenario
    from sim.scenario import load_scenario

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    sc = load_scenario(ROOT / "scenarios" / "hall.toml", "two_locked")
    monkeypatch.setattr(sys, "stderr", Terminal())
    shown = run_scenario(sc, progress=True)
    bar = sys.stderr.getvalue()
    assert "hall [two_locked]: " in bar and "s simulated (limit 900 s), " in bar
    assert re.search(r"\), \d[\d,]* of 1,000 out \[", bar)
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a terminal: no bar
    plain = run_scenario(sc, progress=True)
    assert sys.stderr.getvalue() == ""
    shown.pop("wall_s"), plain.pop("wall_s")
    assert shown == plain


def test_the_batch_progress_bar_is_for_terminals_only(monkeypatch):
    import io

    from sim.batch import _progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    for stream, shown in ((Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr(sys, "stderr", stream)
        bar = _progress(4, 1, "comparison", enabled=True)
        bar.update(1)
        bar.close()
        assert ("comparison:" in stream.getvalue()) is shown


def test_criticality_with_doors_says_when_there_is_no_door_to_lock(tmp_path, capsys):
    """The restaurant has no named doors: ``--doors`` locks only exits, and says so."""
    assert main(["criticality", "restaurant", "--doors", "--seeds", "1", "--workers", "1",
                 "--out", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert "without rear" in out and "without door" not in out
    assert "(--doors: the building has no named door that is not locked already; only exits " \
           "were locked)" in out
