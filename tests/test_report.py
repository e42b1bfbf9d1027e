"""The benchmark report's summary over several runs (benchmarks/report.py): the medians and
ranges the README's table is made of. The benchmarks themselves are not run here."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def report():
    path = ROOT / "benchmarks" / "report.py"
    spec = importlib.util.spec_from_file_location("bench_report", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def step(n: int, cells: int, us: float) -> dict:
    return {"occupants": n, "cells": cells, "us_per_occupant": us, "ms": us * n / 1000}


def summary(us_10k: float, fair_s: float, code: str = "abc1234") -> dict:
    return {
        "machine": "test cpu", "numba": "0.68.1", "code": code,
        "step": {"1core": {"10k": step(10_000, 65_536, us_10k),
                           "100k": step(100_000, 498_436, 2 * us_10k)},
                 "2cores": {"10k": step(10_000, 65_536, us_10k / 2)}},
        "speedup_over_reference": {"10k": {"1core": 20.0 / us_10k}},
        "static_field": {"100k": {"cells": 100_000, "ms": 12.0}},
        "runs": {"test_run_temple_fair_100k": {"wall_s": fair_s, "steps": 8211}},
        "startup": {"drillsim_run_hall_warm_s": 1.2,
                    "drillsim_run_hall_warm_range_s": [1.0, 1.5]},
        "flatness_100k_over_10k": 2.0,
    }


def test_aggregate_gives_medians_ranges_and_keeps_the_shape(report):
    runs = [summary(0.2, 18.0), summary(0.09, 40.0), summary(0.15, 20.0, code="def5678")]
    med, rng = report.aggregate(runs)
    assert med["n_runs"] == 3
    assert med["step"]["1core"]["10k"]["us_per_occupant"] == pytest.approx(0.15)
    assert rng["step"]["1core"]["10k"]["us_per_occupant"] == [0.09, 0.2, 3]
    assert med["runs"]["test_run_temple_fair_100k"]["wall_s"] == 20.0
    assert rng["runs"]["test_run_temple_fair_100k"]["wall_s"] == [18.0, 40.0, 3]
    # Integers stay integers; text on which the runs agree is kept, otherwise listed.
    assert med["runs"]["test_run_temple_fair_100k"]["steps"] == 8211
    assert isinstance(med["step"]["1core"]["10k"]["occupants"], int)
    assert med["machine"] == "test cpu"
    assert med["code"] == ["abc1234", "def5678"]
    # The ratio is the median of the runs' own ratios, not a ratio of medians.
    assert med["speedup_over_reference"]["10k"]["1core"] == pytest.approx(20.0 / 0.15)


def test_table_counts_the_runs_that_met_each_target(report):
    runs = [summary(0.2, 18.0), summary(0.09, 40.0), summary(0.15, 20.0)]
    text = report.table(runs)
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines()}
    one_core = rows["full model step, 10,000 occupants, one core, µs per occupant"]
    assert "0.150 (0.090–0.200)" in one_core and "met in 1 of 3 runs" in one_core
    fair = rows["temple fair, 100,000 visitors, to the end, s"]
    assert "20.0 (18.0–40.0)" in fair and "met in 2 of 3 runs" in fair
    assert "met in 0 of 3 runs" in rows["100k cost per occupant over 10k's, one core"]
    # A figure no run measured says so, and claims no verdict.
    missing = rows["static field, 1M cells, ms"]
    assert "not measured" in missing and "met in" not in missing


def test_aggregate_only_summarises_the_runs_an_interrupted_batch_kept(report, tmp_path,
                                                                      monkeypatch):
    results = tmp_path / "benchmarks" / "results"
    monkeypatch.setattr(report, "ROOT", tmp_path)
    monkeypatch.setattr(report, "RESULTS", results)
    assert report.main(["--aggregate-only"]) == 1  # nothing to summarise
    for k, us in ((1, 0.2), (2, 0.1), (10, 0.12)):  # run 3 of 10 was interrupted
        (results / f"run-{k}").mkdir(parents=True)
        (results / f"run-{k}" / "summary.json").write_text(json.dumps(summary(us, 18.0)))
    assert report.main(["--aggregate-only"]) == 0
    written = json.loads((results / "summary.json").read_text())
    assert written["median"]["n_runs"] == 3
    assert written["median"]["step"]["1core"]["10k"]["us_per_occupant"] == pytest.approx(0.12)
    png = tmp_path / "docs" / "benchmarks.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_runs_must_be_positive(report):
    with pytest.raises(SystemExit) as e:
        report.main(["--runs", "0"])
    assert e.value.code == 2
