"""Timing whole runs of a scenario, for users who benchmark: ``drillsim bench``.

A first, untimed run of the first seed loads the kernels from Numba's cache (about 0.3 s)
or compiles them (the first run after install: tens of seconds); its time is reported apart,
as the benchmarks report compile time apart. The timed runs follow, one seed each. Each run
ends with a fingerprint of its result (every occupant's final cell, state, exit and time out,
the steps and the simulated time): the warm-up and the timed run of the same seed must agree,
which shows that the same scenario and seed give the same run.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numba
import numpy as np

from .engine import Engine
from .errors import DrillsimError
from .record import write_atomic_text
from .scenario import Scenario

FORMAT = "drillsim.bench/1"
# The agent arrays whose final values make a run's fingerprint (all are set by the step).
_FINGERPRINTED = ("cell", "state", "exit_used", "out_time_s", "lost_s")


def machine_description() -> str:
    """The processor, architecture, cores and Python version: the figures depend on them.
    (Linux names the processor in /proc/cpuinfo; ``platform.processor()`` is often empty
    there.)"""
    name = platform.processor() or "unknown processor"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{name}, {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}")


def fingerprint(engine: Engine) -> str:
    """A short hash of a finished run's result: equal for runs that ended the same, bit for
    bit."""
    h = hashlib.sha256()
    h.update(f"{engine.n_steps} {engine.time_s!r}".encode())
    for name in _FINGERPRINTED:
        h.update(np.ascontiguousarray(engine.agents_state[name]).tobytes())
    return h.hexdigest()[:16]


def timed_run(scenario: Scenario, seed: int) -> dict:
    """One run from building the engine to its end: wall time, simulated time, speed."""
    t0 = time.perf_counter()
    engine = Engine(scenario, seed)
    engine.run()
    wall = time.perf_counter() - t0
    return {"seed": seed, "wall_s": wall, "simulated_s": engine.time_s,
            "steps": engine.n_steps, "occupant_updates": engine.occupant_steps,
            "simulated_per_wall": engine.time_s / wall,
            "occupant_updates_per_s": engine.occupant_steps / wall,
            "fingerprint": fingerprint(engine)}


def _summary(runs: list[dict]) -> dict:
    walls = [r["wall_s"] for r in runs]
    return {"runs": len(runs), "wall_s_median": statistics.median(walls),
            "wall_s_min": min(walls), "wall_s_max": max(walls),
            "simulated_per_wall_median": statistics.median(
                r["simulated_per_wall"] for r in runs),
            "occupant_updates_per_s_median": statistics.median(
                r["occupant_updates_per_s"] for r in runs)}


def check_arguments(seeds: int, threads: int | None) -> None:
    """Raise :class:`DrillsimError` for a count of seeds or threads that cannot be run."""
    if seeds < 1:
        raise DrillsimError(f"--seeds takes a whole number >= 1, got {seeds}")
    most = numba.config.NUMBA_NUM_THREADS
    if threads is not None and not 1 <= threads <= most:
        raise DrillsimError(f"--threads takes a whole number from 1 to {most} (the cores "
                            f"Numba may use here), got {threads}")


def bench(scenario: Scenario, seeds: int, *, warmup: bool = True, threads: int | None = None,
          json_path: str | Path | None = None, on_run=None) -> dict:
    """Time ``seeds`` runs of ``scenario`` (seeds ``scenario.seed``, ``+1``, ...), after an
    untimed warm-up run of the first seed unless ``warmup`` is False.

    ``threads``: the Numba threads the kernels may use (1: one core; default: as set, all
    cores unless ``NUMBA_NUM_THREADS`` says otherwise); restored afterwards. ``json_path``:
    the results are written there (atomically) after every run, so an interrupted bench keeps
    the runs that finished (and first before any, so that a path that cannot be written is
    refused at once). ``on_run(kind, result)`` is called after the warm-up
    (``kind == "warmup"``) and after each timed run (``"run"``). Returns the results: the
    scenario, machine, threads, the warm-up, the runs, their summary, and ``reproducible``
    (whether the warm-up and the timed run of the same seed gave the same fingerprint; None
    without a warm-up)."""
    check_arguments(seeds, threads)
    before = numba.get_num_threads()
    if threads is not None:
        numba.set_num_threads(threads)
    result = {"format": FORMAT, "scenario": scenario.name, "variant": scenario.variant,
              "occupants": scenario.occupants, "cells": scenario.building.n_cells,
              "machine": machine_description(), "threads": numba.get_num_threads(),
              "warmup": None, "runs": [], "summary": None, "reproducible": None}

    def save() -> None:
        if json_path is None:
            return
        try:
            write_atomic_text(Path(json_path), json.dumps(result, indent=1) + "\n")
        except OSError as exc:
            raise DrillsimError(f"cannot write the results to {json_path}: "
                                f"{exc.strerror or exc}") from exc

    try:
        save()  # (a path that cannot be written fails now, not after the runs)
        if warmup:
            result["warmup"] = timed_run(scenario, scenario.seed)
            save()
            if on_run is not None:
                on_run("warmup", result["warmup"])
        for k in range(seeds):
            run = timed_run(scenario, scenario.seed + k)
            result["runs"].append(run)
            result["summary"] = _summary(result["runs"])
            if k == 0 and warmup:
                result["reproducible"] = run["fingerprint"] == result["warmup"]["fingerprint"]
            save()
            if on_run is not None:
                on_run("run", run)
    finally:
        numba.set_num_threads(before)
    return result
