"""Compiled kernels load from Numba's on-disk cache in a new process, and the results are
identical whether a process compiled the kernels or loaded them (reproducible on every run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_cold_and_warm_cache_processes_agree(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    summaries = []
    for k in range(2):  # the first compiles and writes the cache, the second loads it
        r = subprocess.run([sys.executable, "-m", "sim.cli", "run", "nursing_home", "--variant",
                            "rear_locked", "--seed", "4", "--json", "--no-record", "--out",
                            str(tmp_path / f"run{k}")], capture_output=True, text=True,
                           env=env, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        summaries.append(json.loads(r.stdout))
    assert any((tmp_path / "cache").rglob("*.nbc"))
    for s in summaries:
        s.pop("wall_s")
    assert summaries[0] == summaries[1]


FIRST_KERNEL_IS_EXIT_CHOICE = """
import numpy as np
from sim.kernels.choice import choose_exits
from sim.kernels.movement import MOVING
n = 5
a = {"cell": np.arange(n, dtype=np.int32), "state": np.full(n, MOVING, np.uint8),
     "speed_ms": np.ones(n, np.float32), "target": np.full(n, -1, np.int16),
     "belief": np.zeros(n, np.int32), "known": np.zeros(n, np.uint64),
     "known_locked": np.zeros(n, np.uint64), "field_row": np.full(n, -1, np.int32),
     "needs_choice": np.ones(n, bool), "discovered": np.zeros(n, bool),
     "choice_time_s": np.zeros(n), "choice_cell": np.arange(n, dtype=np.int32),
     "lost_s": np.zeros(n)}
fields = np.array([[4.0, 3.0, 2.0, 1.0, 0.0], [0.0, 1.0, 2.0, 3.0, 4.0]], np.float32)
params = {"bin_m": 0.4, "sight_m": 10.0, "hysteresis": 0.1, "time_s": 0.0,
          "max_distance_m": 4.0}
choose_exits(a, fields, np.array([[0, 1]], np.int32), np.ones(2), params)
print(",".join(str(t) for t in a["target"]))
"""


def test_a_process_whose_first_kernel_is_exit_choice_loads_it_from_the_cache(tmp_path):
    # The serial exit choice calls numba.get_thread_id(); loaded from the cache before
    # Numba's threading layer had started, it crashed the process (a segmentation fault).
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    outs = []
    for _ in range(2):  # the first compiles and writes the cache, the second loads it
        r = subprocess.run([sys.executable, "-c", FIRST_KERNEL_IS_EXIT_CHOICE],
                           capture_output=True, text=True, env=env, timeout=300)
        assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
        outs.append(r.stdout.strip())
    assert outs[0] == outs[1] == "1,1,0,0,0"  # each to the nearer exit (a tie: the first)
