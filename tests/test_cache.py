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
