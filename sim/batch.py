"""Many runs: every chosen variant over the same seeds, in worker processes, resumable.

Each run writes its outputs into ``DIR/runs/<variant>/seed-<N>/``: ``maps.npz`` (where people
spent time, peak local density, sorted exit times, the cells on fire at the end),
``record.npz`` (frames every 2 s) and, last, ``summary.json``,
which marks the run as finished. A rerun with the same arguments finds the finished runs by
their fingerprint (scenario and building file contents, variant, seed, extra locks, drillsim
version and a hash of its source) and runs only the rest: an interrupted batch loses nothing
and repeats nothing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .errors import DrillsimError
from .record import write_atomic_bytes, write_atomic_text

RECORD_EVERY_S = 2.0


@dataclass(frozen=True)
class Job:
    """One run: a scenario variant (plus extra locked exits) with one seed."""

    scenario_path: str
    variant: str
    seed: int
    label: str  # the name this run's variant goes by in the comparison
    out_dir: str
    extra_locked: tuple[str, ...] = ()
    fingerprint: str = ""


class BatchError(DrillsimError, RuntimeError):
    """A batch stopped before all runs finished (the finished ones are kept)."""


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """A hash of the simulation's own source (every ``.py`` file of the ``sim`` package).
    The version number alone did not change when the model did (it has been 0.1.0 through
    every change of the rules), so a comparison rerun after an upgrade would have reused runs
    the old rules made."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for f in sorted(root.rglob("*.py")):
        h.update(f.relative_to(root).as_posix().encode() + b"\0")
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def fingerprint(scenario_path: str, building_path: str, variant: str, seed: int,
                extra_locked: tuple[str, ...]) -> str:
    from . import __version__

    h = hashlib.sha256()
    for p in (scenario_path, building_path):
        h.update(Path(p).read_bytes())
    h.update(json.dumps([variant, seed, list(extra_locked), __version__,
                         code_digest()]).encode())
    return h.hexdigest()[:16]


def make_jobs(scenario_path: str | Path, labels: list[tuple[str, str, tuple[str, ...]]],
              seeds: list[int], out: str | Path) -> list[Job]:
    """Jobs for ``labels`` — (label, variant, extra_locked) — times ``seeds``."""
    from .scenario import load_scenario

    jobs = []
    for label, variant, extra in labels:
        sc = load_scenario(scenario_path, variant)
        for seed in seeds:
            fp = fingerprint(str(scenario_path), sc.building.path, variant, seed, extra)
            d = Path(out) / "runs" / _safe(label) / f"seed-{seed}"
            jobs.append(Job(str(scenario_path), variant, seed, label, str(d), extra, fp))
    return jobs


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def finished_summary(job: Job) -> dict | None:
    """The summary of a finished run of ``job``, or None if it must (re)run."""
    path = Path(job.out_dir) / "summary.json"
    try:
        summary = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if summary.get("batch", {}).get("fingerprint") != job.fingerprint:
        return None
    if not (Path(job.out_dir) / "maps.npz").exists():
        return None
    return summary


def run_job(job: Job) -> dict:
    """Run one job in this process and write its outputs (summary last). Returns the summary."""
    import time

    from .engine import Engine
    from .record import build_record, write_record
    from .run import summarise
    from .scenario import load_scenario

    sc = load_scenario(job.scenario_path, job.variant, job.seed)
    if job.extra_locked:  # (taken away: locked, and nothing in the run unlocks them)
        # (The variant's own description would say otherwise: "The rear exit is open".)
        taken = " and ".join(job.extra_locked)
        sc = replace(sc, locked=tuple(dict.fromkeys(sc.locked + job.extra_locked)),
                     held_locked=tuple(job.extra_locked),
                     variant_description=f"{taken} taken away for this study (locked "
                                         f"throughout); otherwise the scenario as in "
                                         f"'{job.variant}'.")
    from .flowbound import evacuation_lower_bound

    t0 = time.perf_counter()
    model = Engine(sc, job.seed, record_every_s=RECORD_EVERY_S)
    bound = evacuation_lower_bound(model)
    model.run()
    summary = summarise(model, time.perf_counter() - t0)
    summary["lower_bound_s"] = bound
    summary["batch"] = {"label": job.label, "extra_locked": list(job.extra_locked),
                        "fingerprint": job.fingerprint}
    out = Path(job.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    presence, peak = occupancy_maps(model)
    # (Occupants only: the evacuation curves count evacuees, not the staff and responders.)
    out_times = np.sort(model.agents_state["out_time_s"][:model.n_occupants])
    write_atomic_bytes(out / "maps.npz", lambda h: np.savez_compressed(
        h, presence_s_per_m2=presence, peak_density=peak, out_time_s=out_times,
        burning=model.burning))
    meta, arrays = build_record(model, summary)
    write_record(out / "record.npz", meta, arrays)
    write_atomic_text(out / "summary.json", json.dumps(summary, indent=1, ensure_ascii=False))
    return summary


def occupancy_maps(model) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: person-seconds per m² spent there, and the peak local density (P/m², over
    the cell and its 8 neighbours) over the recorded frames. (n_cells,) float32 each."""
    b = model.building
    n = b.n_cells
    area = b.cell_m ** 2
    interval = model.record_every_steps * model.dt_s
    presence = np.zeros(n)
    peak = np.zeros(n)
    w = b.width
    for fr in model.frames:
        cells = fr.cell[fr.cell >= 0]
        counts = np.bincount(cells, minlength=n).astype(float)
        presence += counts * interval
        local = counts.copy()
        for d in (-w - 1, -w, -w + 1, -1, 1, w - 1, w, w + 1):
            local += np.roll(counts, -d)
        np.maximum(peak, local / (9 * area), out=peak)
    return (presence / area).astype(np.float32), peak.astype(np.float32)


def run_jobs(jobs: list[Job], workers: int | None = None, progress: bool = True,
             desc: str = "runs") -> list[dict]:
    """Run every job not already finished; return all summaries in job order.

    Runs in ``workers`` processes (default: all cores; 1 runs in this process). Results do
    not depend on the number of workers or the order runs finish in.
    """
    summaries: list[dict | None] = [finished_summary(j) for j in jobs]
    todo = [k for k, s in enumerate(summaries) if s is None]
    workers = max(1, workers or os.cpu_count() or 1)
    bar = _progress(len(jobs), len(jobs) - len(todo), desc, progress)
    try:
        if workers == 1 or len(todo) <= 1:
            for k in todo:
                summaries[k] = run_job(jobs[k])
                bar.update(1)
        else:
            ctx = multiprocessing.get_context("spawn")
            n_proc = min(workers, len(todo))
            # Each worker gets its share of the cores for Numba's parallel kernels: threads
            # that outnumber cores spin against each other and run many times slower.
            threads = max(1, (os.cpu_count() or 1) // n_proc)
            with ProcessPoolExecutor(max_workers=n_proc, mp_context=ctx,
                                     initializer=_init_worker, initargs=(threads,)) as pool:
                futures = {pool.submit(run_job, jobs[k]): k for k in todo}
                try:
                    for fut in as_completed(futures):
                        summaries[futures[fut]] = fut.result()
                        bar.update(1)
                except BaseException:
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
    except BrokenProcessPool:
        done = sum(s is not None for s in summaries)
        raise BatchError(f"a worker process died; {done} of {len(jobs)} runs finished and are "
                         "kept — run the same command again to finish the rest") from None
    except KeyboardInterrupt:
        done = sum(s is not None for s in summaries)
        raise BatchError(f"interrupted; {done} of {len(jobs)} runs finished and are kept — run "
                         "the same command again to finish the rest") from None
    finally:
        bar.close()
    return summaries  # type: ignore[return-value]


def _init_worker(threads: int) -> None:
    import numba

    numba.set_num_threads(threads)


class _NoBar:
    def update(self, n): ...

    def close(self): ...


def _progress(total: int, done: int, desc: str, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    # disable=None: on a terminal only; a log or a pipe gets no stream of redrawn bars.
    return tqdm(total=total, initial=done, desc=desc, unit="run", dynamic_ncols=True,
                disable=None)
