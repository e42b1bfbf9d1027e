"""Reports: figures (matplotlib, object API) and one self-contained HTML file.

Every ``plot_`` function draws on an ``Axes`` it is given and returns it. ``write_report``
saves the figures as PNG beside ``report.html`` and embeds them in it, so the HTML file alone
can be sent on and opened offline.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from .building import DOOR, FLOOR, OBSTACLE, STAIR, WALL  # noqa: E402
from .record import write_atomic_bytes, write_atomic_text  # noqa: E402
from .run import format_duration  # noqa: E402

COLOURS = ["#1f6fd1", "#d1361f", "#2a9d4b", "#b5651d", "#7b3fb5", "#c9a227", "#1fa3a3",
           "#555555"]


def curve(out_times: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """People out by each time in ``grid`` (s) from one run's sorted exit times."""
    finite = out_times[np.isfinite(out_times)]
    return np.searchsorted(np.sort(finite), grid, side="right")


def plot_evacuation_curves(ax, maps: dict, stats: list[dict]):
    """People out over time: the median over runs, with the 5-95 % band. A variant whose
    median curve is another's (nowhere more than half a person apart) would hide under it:
    it is drawn dashed over that one, so that both colours show, and the legend says so."""
    t_max = max(float(np.nanmax(np.where(np.isfinite(m["out_time_s"]), m["out_time_s"], 0)))
                for runs in maps.values() for m in runs)
    # Runs that left people inside went on to their end: show the curves that far (flat).
    t_max = max([t_max] + [st["time_limit_s"] for st in stats if st.get("time_limit_s")])
    grid = np.linspace(0, t_max * 1.02 + 1, 400)
    curves = [np.array([curve(m["out_time_s"], grid) for m in maps[st["label"]]])
              for st in stats]
    medians = [np.median(c, axis=0) for c in curves]
    same_as = coinciding_curves(medians)
    group = {k: [q for q in range(len(stats)) if same_as[q] == k] for k in set(same_as)}
    handles, labels = [], []
    for k, st in enumerate(stats):
        c = COLOURS[k % len(COLOURS)]
        ax.fill_between(grid, np.percentile(curves[k], 5, axis=0),
                        np.percentile(curves[k], 95, axis=0), color=c, alpha=0.18,
                        linewidth=0)
        label = f"{st['label']} " + (f"(median of {st['runs']} runs)" if st["runs"] > 1
                                     else "(1 run)")
        style = {}
        base = same_as[k]
        if base != k:
            label += f", the same as {stats[base]['label']}"
            # Dashes of the group's members in turn along the base's line: each shows.
            members = group[base]
            dash = 5.0
            period = dash * len(members)
            style = {"linestyle": (period - dash * members.index(k), (dash, period - dash))}
        ax.plot(grid, medians[k], color=c, linewidth=2, **style)
        # (the key's own line: a dash shifted along would fall outside the key's short line)
        handles.append(Line2D([], [], color=c, linewidth=2,
                              linestyle="-" if base == k else (0, (3.0, 2.0))))
        labels.append(label)
    ax.axhline(stats[0]["occupants"], color="#999999", linewidth=0.8, linestyle=":")
    ax.set_xlabel("time from the start of the run (s)")  # (a drill's alarm may come later)
    ax.set_ylabel("people out of the building")
    ax.set_title("People out over time (band: 5-95 % of runs)")
    ax.legend(handles, labels, loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def coinciding_curves(medians: list[np.ndarray], tolerance: float = 0.5) -> list[int]:
    """For each curve, the first curve (itself if none earlier) that it nowhere differs from
    by more than ``tolerance`` people: as drawn, such curves lie on one line."""
    same_as: list[int] = []
    for k, m in enumerate(medians):
        bases = [q for q in range(k) if same_as[q] == q
                 and np.max(np.abs(m - medians[q])) <= tolerance]
        same_as.append(bases[0] if bases else k)
    return same_as


def plot_times(ax, stats: list[dict]):
    """Each run's evacuation time as a dot, per variant; unfinished runs marked at the top.
    A run that ended with someone overcome by smoke has no evacuation time: when the last of
    those who walked out left is shown as a ring (in a smoke drill that may be every run)."""
    finished = [t for s in stats for t in s["evacuation_time_s"] if t is not None]
    walked = [t for s in stats for t in s.get("last_out_s_someone_overcome", ())
              if t is not None]
    bounds = [s["lower_bound_s_median"] for s in stats if s.get("lower_bound_s_median")]
    # With no run timed anywhere, the scale is the time simulated (the runs' limit).
    limits = [] if finished or walked else [s["time_limit_s"] for s in stats
                                            if s.get("time_limit_s")]
    top = max(finished + walked + bounds + limits + [1.0])
    lines = 0
    for k, st in enumerate(stats):
        c = COLOURS[k % len(COLOURS)]
        runs = st["evacuation_time_s"]
        rings = st.get("last_out_s_someone_overcome") or [None] * len(runs)
        # (one place a run: its dot or its ring, spread across the variant's column)
        jitter = np.linspace(-0.15, 0.15, len(runs)) if len(runs) > 1 else np.zeros(len(runs))
        timed = [(k + x, t) for x, t in zip(jitter, runs) if t is not None]
        ringed = [(k + x, t) for x, t in zip(jitter, rings) if t is not None]
        if timed:
            ax.scatter(*zip(*timed), color=c, s=18, alpha=0.8)
        if ringed:
            ax.scatter(*zip(*ringed), facecolors="none", edgecolors=c, s=22, linewidths=1.2)
        if st["median_s"] is not None:
            ax.hlines(st["median_s"], k - 0.3, k + 0.3, color=c, linewidth=2)
        if st["p95_s"] is not None:
            ax.hlines(st["p95_s"], k - 0.3, k + 0.3, color=c, linewidth=1, linestyle="--")
        if st["runs_not_everyone_out"]:
            why = "\n".join(_why_not_out(st, ":\n"))
            if len(stats) > 4:  # (narrow columns: a line a word, or they run into each other)
                why = why.replace("someone overcome", "someone\novercome").replace(
                    "not all out", "not all\nout")
            ax.text(k, top * 1.04, why, ha="center", va="bottom", fontsize=8, color=c)
            lines = max(lines, why.count("\n") + 1)
        if st.get("lower_bound_s_median") is not None:
            ax.scatter([k + 0.38], [st["lower_bound_s_median"]], marker="<", color="#444444",
                       s=30, zorder=3)
    ax.set_xticks(range(len(stats)), [s["label"] for s in stats], rotation=15, ha="right",
                  fontsize=8)
    ax.set_ylabel("time the last person is out (s)")
    ax.set_ylim(0, top * (1.06 + 0.06 * max(lines, 2)))  # (room for the notes at the top)
    ax.set_title(_times_title(stats))
    ax.grid(axis="y", alpha=0.3)
    return ax


def _times_title(stats: list[dict]) -> str:
    """The times plot's title, with a key to the marks it has: a variant has no 95th
    percentile when more than one run in twenty did not end with everyone out (the demo's
    nursing home, where someone is overcome in 2 of 10 runs), and no median when half did."""
    key = [what for what, drawn in (
        ("line: median", any(st["median_s"] is not None for st in stats)),
        ("dashed: 95th pct.", any(st["p95_s"] is not None for st in stats)),
        ("○ last walk-out, someone overcome", any(
            t is not None for st in stats for t in st.get("last_out_s_someone_overcome", ()))),
        ("◄ flow bound", any(st.get("lower_bound_s_median") is not None for st in stats)))
        if drawn]
    title = "Evacuation time per run" + (f" ({', '.join(key)})" if key else "")
    return title if len(title) <= 70 else f"Evacuation time per run\n({', '.join(key)})"


def _why_not_out(st: dict, sep: str = ": ") -> list[str]:
    """The runs of a variant (or a ranking entry) that did not end with everyone out, by why:
    people left inside, or someone overcome by smoke (then nobody can be timed as all out)."""
    n = st["runs_not_everyone_out"]
    left = st.get("runs_left_inside", n)
    return ([f"{left} run{'s' if left != 1 else ''}{sep}not all out"] if left else []) + \
        ([f"{n - left} run{'s' if n - left != 1 else ''}{sep}someone overcome"]
         if n - left else [])


def plot_exit_usage(ax, stats: list[dict]):
    """Mean number of people leaving by each exit, per variant; locked exits hatched."""
    exits = list(stats[0]["exit_usage_mean"])
    width = 0.8 / len(stats)
    for k, st in enumerate(stats):
        x = np.arange(len(exits)) + (k - (len(stats) - 1) / 2) * width
        vals = [st["exit_usage_mean"][e] for e in exits]
        bars = ax.bar(x, vals, width, color=COLOURS[k % len(COLOURS)], label=st["label"])
        for bar, e in zip(bars, exits):
            if e in st["locked"]:
                ax.text(bar.get_x() + bar.get_width() / 2, 0, "locked", rotation=90,
                        ha="center", va="bottom", fontsize=7, color="#aa0000")
    ax.set_xticks(range(len(exits)), exits, rotation=15, ha="right", fontsize=8)
    ax.set_ylabel("people (mean over runs)")
    ax.set_title("Which exits people used")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return ax


def plot_drill_timeline(ax, timelines: dict[str, list[dict]], seed: int):
    """The drill as a Gantt chart, one run per variant (the same seed): for every action a bar
    from its trigger to when it was done, the planned time as a hollow diamond, an action that
    never happened as a cross at its trigger. Actions from top to bottom in the order they
    started (the earliest of the runs; the script's order breaking ties), those that never
    started last."""
    ids = []
    start_of: dict[str, float] = {}
    for rows in timelines.values():
        for r in rows:
            if r["id"] not in ids:
                ids.append(r["id"])
            t = r.get("triggered_s")
            t = r["actual_s"] if t is None else t
            if t is not None:
                start_of[r["id"]] = min(start_of.get(r["id"], math.inf), t)
    ids.sort(key=lambda aid: start_of.get(aid, math.inf))  # (stable: ties keep the script's)
    n = len(timelines)
    h = 0.8 / n
    for k, (label, rows) in enumerate(timelines.items()):
        colour = COLOURS[k % len(COLOURS)]
        by_id = {r["id"]: r for r in rows}
        for i, aid in enumerate(ids):
            r = by_id.get(aid)
            if r is None:
                continue
            y = i + (k - (n - 1) / 2) * h
            start, done = r.get("triggered_s"), r["actual_s"]
            if start is not None and done is not None:
                ax.barh(y, max(done - start, 0.5), left=start, height=h * 0.9, color=colour,
                        label=label if i == 0 else None)
                ax.plot(done, y, "o", color=colour, mec="#222", ms=4)  # instant actions too
            elif start is not None:
                ax.plot(start, y, "x", color=colour, ms=7)
            if r["planned_s"] is not None:
                ax.plot(r["planned_s"], y, "D", mfc="none", mec="#333", ms=5)
    ax.set_yticks(range(len(ids)), ids, fontsize=8)
    ax.set_xlim(left=0)
    ax.invert_yaxis()
    ax.set_xlabel("time (s)")
    ax.set_title(f"Drill timeline, seed {seed}: from trigger to done (bar, ● done), "
                 "planned (◇), never done (x)", fontsize=10)
    handles, labels = ax.get_legend_handles_labels()
    if labels:
        ax.legend(fontsize=8, loc="upper right")  # (in start order, the top right is free)
    ax.grid(axis="x", alpha=0.3)
    return ax


def floor_image(building, values: np.ndarray, floor: int) -> tuple[np.ndarray, np.ndarray]:
    """(values, kinds) of ``floor`` as (rows, cols) images; kinds marks walls and exits."""
    fl = building.floors[floor]
    rows, cols = fl.rows, fl.cols
    idx = (fl.block_row + 1 + np.arange(rows))[:, None] * building.width + 1 + np.arange(cols)
    return values[idx], building.kind[idx]


FIRE_COLOUR = "#ff5014"  # the fire's outline and hatching on maps (as the trainer draws it)


def plot_map(ax, building, values: np.ndarray, floor: int, title: str, vmax: float,
             label: str, locked: list[str] = (), fire: np.ndarray | None = None):
    """A per-cell quantity on the plan of ``floor``: walls grey, exits green (red if locked);
    ``fire`` (per cell, True where the fire burned), hatched and outlined in orange-red."""
    img, kinds = floor_image(building, values, floor)
    fl = building.floors[floor]
    extent = (0, fl.cols * building.cell_m, 0, fl.rows * building.cell_m)
    walk = np.isin(kinds, (FLOOR, DOOR, STAIR))
    shown = np.where(walk, img, np.nan)
    im = ax.imshow(shown, cmap="magma_r", vmin=0, vmax=max(vmax, 1e-9), extent=extent,
                   interpolation="nearest")
    overlay = np.zeros(kinds.shape)
    overlay[kinds == WALL] = 1
    overlay[kinds == OBSTACLE] = 2
    exits_img = np.zeros(kinds.shape)
    for e in building.exits:
        if e.floor != floor:
            continue
        sub, _ = floor_image(building, np.isin(np.arange(building.n_cells), e.cells), floor)
        exits_img[sub] = 2 if e.name in locked else 1
    ax.imshow(np.ma.masked_equal(overlay, 0), cmap=ListedColormap(["#6b6e7a", "#8b6b48"]),
              vmin=1, vmax=2, extent=extent, interpolation="nearest")
    ax.imshow(np.ma.masked_equal(exits_img, 0), cmap=ListedColormap(["#22aa44", "#dd1111"]),
              vmin=1, vmax=2, extent=extent, interpolation="nearest")
    if fire is not None and np.any(fire):
        burnt, _ = floor_image(building, np.asarray(fire, dtype=float), floor)
        if burnt.any():
            cell = building.cell_m
            x = (np.arange(fl.cols) + 0.5) * cell
            y = (fl.rows - np.arange(fl.rows) - 0.5) * cell
            with matplotlib.rc_context({"hatch.color": FIRE_COLOUR, "hatch.linewidth": 1.0}):
                ax.contourf(x, y, burnt, levels=[0.5, 1.5], colors="none", hatches=["xxx"])
            ax.contour(x, y, burnt, levels=[0.5], colors=FIRE_COLOUR, linewidths=1.2)
    for e in building.exits:
        if e.floor != floor:
            continue
        _, x, y = building.cell_position(e.cells)
        is_locked = e.name in locked
        ax.annotate(e.name + (" (locked)" if is_locked else ""), (float(x.mean()), float(y.mean())),
                    fontsize=7, color="#dd1111" if is_locked else "#137a2e", ha="center",
                    va="center", xytext=(0, 9 if y.mean() > fl.rows * building.cell_m / 2 else -9),
                    textcoords="offset points",
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8))
    ax.set_title(title, fontsize=9, pad=14)
    ax.set_xlabel("x (m)", fontsize=8)
    ax.set_ylabel("y (m)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.figure.colorbar(im, ax=ax, fraction=0.03, pad=0.02).set_label(label, fontsize=8)
    return ax


def plot_ranking(ax, ranking: list[dict]):
    """Extra time to clear the building when each exit is lost (median and 95th percentile);
    where someone was overcome in a run (no 95th percentile), the median alone while everyone
    was out in the median run, else the extra time of the last of those who got out, in the
    median run, as the command line ranks it. Each bar is labelled with its value; a case with
    no time (people left inside) says so."""
    labels, med, p95, last, alone = [], [], [], [], []
    for r in ranking:
        left = r.get("runs_left_inside", r["runs_not_everyone_out"])
        notes = _why_not_out(r)
        labels.append(r["label"] + ("\n(" + "; ".join(notes) + ")" if notes else ""))
        timed = r["extra_p95_s"] is not None
        median_only = not timed and not left and r["extra_median_s"] is not None
        fallback = not timed and not median_only and not left and \
            r.get("extra_last_out_median_s") is not None
        med.append(r["extra_median_s"] if timed and r["extra_median_s"] is not None
                   else np.nan)
        p95.append(r["extra_p95_s"] if timed else np.nan)
        last.append(r["extra_last_out_median_s"] if fallback else np.nan)
        alone.append(r["extra_median_s"] if median_only else np.nan)
    y = np.arange(len(labels))
    values = np.array([med, p95, last, alone], dtype=float)
    for row, offset, colour, name in (
            (0, -0.2, COLOURS[0], "median"), (1, 0.2, COLOURS[1], "95th percentile"),
            (2, 0.0, COLOURS[2], "the last of those who got out, median run"),
            (3, 0.0, COLOURS[0], "median run (no 95th percentile)")):
        if np.all(np.isnan(values[row])):
            continue  # (a series with no bar gets no legend entry)
        ax.barh(y + offset, values[row], 0.4, color=colour, label=name)
        for k, v in enumerate(values[row]):
            if not np.isnan(v):
                ax.annotate(f"{int(round(v)) or 0:+d} s", (v, k + offset), fontsize=7,
                            va="center", ha="left" if v >= 0 else "right",
                            xytext=(3 if v >= 0 else -3, 0), textcoords="offset points")
    for k, r in enumerate(ranking):
        if np.all(np.isnan(values[:, k])):
            left = r.get("runs_left_inside", r["runs_not_everyone_out"])
            ax.annotate(f"no time: people left inside in {left} of {r.get('runs', left)} runs "
                        f"(up to {r['max_still_inside']})", (0, k), fontsize=8, va="center",
                        color="#aa0000", xytext=(4, 0), textcoords="offset points")
    ax.set_yticks(y, labels, fontsize=8)
    for tick, r in zip(ax.get_yticklabels(), ranking):
        if r["runs_not_everyone_out"]:
            tick.set_color("#aa0000")
    ax.set_ylim(len(labels) - 0.5, -0.5)  # (first at the top, each row whole: bars or not)
    ax.axvline(0, color="#333333", linewidth=0.8)
    # At least 20 s across, with room for the labels: a cost of 0 s is not drawn as 0.05 s.
    lo = min(0.0, np.nanmin(values)) if not np.all(np.isnan(values)) else 0.0
    hi = max(0.0, np.nanmax(values)) if not np.all(np.isnan(values)) else 0.0
    pad = max(20.0, hi - lo) * 0.25
    ax.set_xlim(lo - (pad if lo < 0 else 0.1 * pad), max(hi + pad, lo + 20.0))
    ax.set_xlabel("extra time until everyone is out (s)" if np.all(np.isnan(last))
                  else "extra time (s)")
    ax.set_title("What losing each exit costs")
    if ax.get_legend_handles_labels()[0]:  # (below the axis: never over a bar's label)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3,
                  frameon=False)
    ax.grid(axis="x", alpha=0.3)
    return ax


def density_rows(stats: list[dict], peaks: dict, rows: int = 4) -> list[dict]:
    """The variants whose density maps are drawn: all of them up to ``rows``; beyond that,
    the reference and those whose maps differ most from its (summed over cells), in the
    order of ``stats``. (A locked exit listed fifth is not left out for being fifth.)"""
    if len(stats) <= rows:
        return list(stats)
    ref = peaks[stats[0]["label"]]
    apart = sorted(range(1, len(stats)), key=lambda k: (
        -float(np.abs(peaks[stats[k]["label"]] - ref).sum()), k))
    keep = {0, *apart[:rows - 1]}
    return [st for k, st in enumerate(stats) if k in keep]


def _save(fig, path: Path) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    data = buf.getvalue()
    write_atomic_bytes(path, lambda h: h.write(data))
    return base64.b64encode(data).decode("ascii")


def _fmt(t) -> str:
    return "not everyone out" if t is None else f"{format_duration(t)} ({t:.0f} s)"


def _walked_out(s: dict) -> str:
    """When the last of those who got out left (median over the runs), for the results."""
    t = s.get("last_out_median_s")
    return "—" if t is None else _fmt(t)


def _range(s: dict) -> str:
    """The range of a variant's run times: "not everyone out" once where no run got everyone
    out (not "not everyone out – not everyone out")."""
    if s["min_s"] is None:
        return _fmt(None)
    return f"{_fmt(s['min_s'])} – {_fmt(s['max_s'])}"


def write_report(result: dict, maps: dict, scenario, out: Path) -> Path:
    """Figures as PNG and ``report.html`` (figures embedded) in ``out``."""
    stats = result["variants"]
    figs = []
    fig, ax = plt.subplots(figsize=(8, 4.2))
    figs.append(("curves", "People out over time", _save(plot_evacuation_curves(ax, maps, stats)
                                                          .figure, out / "curves.png")))
    fig, ax = plt.subplots(figsize=(8, 4.2))
    figs.append(("times", "Evacuation time of every run", _save(plot_times(ax, stats).figure,
                                                                out / "times.png")))
    if result["kind"] == "criticality" and result["ranking"]:
        fig, ax = plt.subplots(figsize=(8, 0.6 * len(result["ranking"]) + 1.5))
        figs.append(("ranking", "Exits ranked by what losing them costs",
                     _save(plot_ranking(ax, result["ranking"]).figure, out / "ranking.png")))
    else:
        fig, ax = plt.subplots(figsize=(8, 4.2))
        figs.append(("exits", "Exit usage", _save(plot_exit_usage(ax, stats).figure,
                                                  out / "exits.png")))
    timelines = _first_run_timelines(result)
    if timelines:
        n_ids = len({r["id"] for rows in timelines.values() for r in rows})
        fig, ax = plt.subplots(figsize=(9, 0.45 * n_ids * max(1, len(timelines) / 2) + 1.6),
                               layout="constrained")
        figs.append(("timeline", "Drill timeline",
                     _save(plot_drill_timeline(ax, timelines, result["seeds"][0]).figure,
                           out / "timeline.png")))
    b = scenario.building
    floors = [k for k in range(len(b.floors))]
    peaks = {s["label"]: np.mean([m["peak_density"] for m in maps[s["label"]]], axis=0)
             for s in stats}
    vmax = max(float(np.percentile(v[v > 0], 99)) if np.any(v > 0) else 1.0
               for v in peaks.values())
    shown = density_rows(stats, peaks)
    # Where the fire burned, in any of a variant's runs (runs of older versions kept no map).
    fires = {s["label"]: np.any([m["burning"] for m in maps[s["label"]] if "burning" in m],
                                axis=0) for s in stats}
    # A row as high as its maps need (about 4 inches of map across, a colour bar beside it)
    # plus its title and axis labels: a wide plan in rows 3.6 inches high left half of each
    # blank.
    tallest = max(b.floors[f].rows / b.floors[f].cols for f in floors)
    row_in = min(6.0, max(2.2, 4.0 * tallest + 1.3))
    fig, axes = plt.subplots(len(shown), len(floors), squeeze=False, layout="constrained",
                             figsize=(5.2 * len(floors), row_in * len(shown) + 0.4))
    for r, st in enumerate(shown):
        for c, f in enumerate(floors):
            plot_map(axes[r][c], b, peaks[st["label"]], f,
                     f"{st['label']} — floor {b.floors[f].name}", vmax,
                     "peak persons/m² (mean over runs)", st["locked"], fires[st["label"]])
    left_out = [st["label"] for st in stats if st not in shown]
    any_fire = any(np.any(fires[st["label"]]) for st in shown)
    fig.suptitle("Where the crowd was densest (peak local density)" + (
        "; hatched: where the fire burned" if any_fire else "") + (
        f"; not shown, as nearest to {stats[0]['label']}'s: {', '.join(left_out)}"
        if left_out else ""), fontsize=11)
    figs.append(("density", "Peak density", _save(fig, out / "density.png")))

    head = result["headlines"]
    # Where someone was overcome, nobody can be timed as all out: where that leaves a variant
    # with no median (in a smoke drill it may be every run, and the table a column of "not
    # everyone out"), when the last of those who got out left is given beside it, as the
    # headlines give it.
    walked = any(s["median_s"] is None and s["runs_not_everyone_out"] > s.get(
        "runs_left_inside", 0) for s in stats)
    rows = "".join(
        f"<tr><td>{html.escape(s['label'])}</td><td>{', '.join(s['locked']) or '—'}</td>"
        f"<td>{_fmt(s['median_s'])}</td><td>{_fmt(s['p95_s'])}</td>"
        f"<td>{_range(s)}</td>"
        f"<td>{_not_out(s)}</td>"
        + (f"<td>{_walked_out(s)}</td>" if walked else "")
        + f"<td>{_fmt(s['lower_bound_s_median'])}</td></tr>" for s in stats)
    drill = ""
    if any(s.get("hazard") for s in stats):
        drill += smoke_table(stats)
    if stats[0].get("profile_all_out_median_s"):
        profiles = list(stats[0]["profile_all_out_median_s"])
        # (each kind's own median over the runs: not the figures of one run)
        drill += "<h2>When the last of each kind of occupant was out (median of the runs)" \
                 "</h2><table><tr>" \
                 "<th>variant</th>" + "".join(f"<th>{html.escape(p)}</th>" for p in profiles) + \
                 "</tr>" + "".join(
                     f"<tr><td>{html.escape(s['label'])}</td>" + "".join(
                         f"<td>{_fmt(s['profile_all_out_median_s'].get(p))}</td>"
                         for p in profiles) + "</tr>" for s in stats) + "</table>"
    if stats[0].get("kpis_met"):
        names = list(stats[0]["kpis_met"])
        drill += "<h2>KPIs: runs in which each was met</h2><table><tr><th>variant</th>" + \
                 "".join(f"<th>{html.escape(k)}</th>" for k in names) + "</tr>" + "".join(
                     f"<tr><td>{html.escape(s['label'])}</td>" + "".join(
                         f"<td>{s['kpis_met'].get(k, 0)} of {s['runs']}</td>" for k in names)
                     + "</tr>" for s in stats) + "</table>"
    ranking = ""
    if result["ranking"]:
        overcome = any(r.get("extra_last_out_median_s") is not None and
                       r["runs_not_everyone_out"] for r in result["ranking"])
        ranking = "<h2>Ranking</h2><table><tr><th>lost</th><th>extra time, median</th>" \
                  "<th>extra time, 95th pct.</th>" + (
                      "<th>extra time, the last of those who got out (median)</th>"
                      if overcome else "") + "<th>runs not all out</th></tr>" + "".join(
                      f"<tr><td>{html.escape(r['label'])}</td><td>{_delta(r['extra_median_s'])}"
                      f"</td><td>{_delta(r['extra_p95_s'])}</td>"
                      + (f"<td>{_delta(r.get('extra_last_out_median_s'))}</td>" if overcome
                         else "")
                      + f"<td>{_not_out(r)}</td></tr>"
                      for r in result["ranking"]) + "</table>"
    sentences = "".join(f"<p class='headline'>{html.escape(t)}</p>" for t in head.values())
    images = "".join(f"<figure><img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'>"
                     f"<figcaption>{html.escape(alt)}</figcaption></figure>"
                     for _, alt, data in figs)
    hazard_note = ("Fire and smoke are a training-grade model (t² growth, smoke spread by "
                   "diffusion, walking speed in smoke after Frantzich and Nilsson, Purser's "
                   "fractional effective dose; limits in docs/hazards.md): read the smoke "
                   "figures as comparisons between variants, not as predictions. "
                   if any(st.get("hazard") for st in stats) else "")
    walked_th = "<th>last of those who got out, median</th>" if walked else ""
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(result['title'])} — drillsim {result['kind']}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }}
h1 {{ font-size: 1.5rem; }} h2 {{ font-size: 1.15rem; margin-top: 2rem; }}
.headline {{ font-size: 1.1rem; background: #fff6e0; border-left: 4px solid #e0a000;
             padding: .6rem .9rem; }}
table {{ border-collapse: collapse; width: 100%; font-size: .9rem; }}
td, th {{ border: 1px solid #ccc; padding: .3rem .5rem; text-align: left; }}
th {{ background: #f0f0f0; }}
figure {{ margin: 1.5rem 0; page-break-inside: avoid; }} img {{ max-width: 100%; }}
figcaption, .note {{ color: #555; font-size: .85rem; }}
@media print {{ body {{ margin: 0; }} }}
</style></head><body>
<h1>{html.escape(result['title'])}</h1>
<p class="note">drillsim {result['kind']} of scenario <code>{html.escape(result['scenario'])}</code>,
{len(result['seeds'])} runs per variant (seeds {result['seeds'][0]}–{result['seeds'][-1]}, the
same for every variant), compared with <b>{html.escape(result['reference'])}</b>.</p>
{sentences or '<p>Only one variant: nothing to compare.</p>'}
{variants_table(result.get('variants_described') or {})}
<h2>Results</h2>
<table><tr><th>variant</th><th>locked</th><th>everyone out, median</th><th>95th percentile</th>
<th>range</th><th>runs not all out</th>{walked_th}<th>flow bound</th></tr>{rows}</table>
<p class="note">"Flow bound": the network-flow lower bound (median over runs) — the time the
building would give if everyone knew the best exit, walked at their free speed and only the
exits limited the flow. The gap to the simulated time is what congestion inside the building
and the occupants' behaviour cost. In a drill, an alarm raised by the script counts as raised
at once, people who must be carried are left out, and where staff sweep rooms nobody waits
before moving: the bound then speaks of the building alone.</p>
{drill}
{ranking}
<h2>Figures</h2>
{images}
<h2>How this was computed</h2>
<p class="note">A floor-field cellular automaton (0.4 m cells, 0.15 s steps) with individual
walking speeds, pre-movement times, exit choice by distance and queue, and locked exits that
occupants only discover when they reach them (then they turn back and tell others). Door flow
is capped at about 1.45 persons per metre per second. Each run is random: results are
reported over runs with the same seeds for every variant. A run in which someone did not get
out counts as "not everyone out", never as the time limit. {hazard_note}This is a training
tool, not a design approval.</p>
</body></html>
"""
    path = out / "report.html"
    write_atomic_text(path, page)
    return path


def variants_table(described: dict) -> str:
    """The variants compared: each one's description from the scenario file, and what it
    changes against the scenario as written (:func:`sim.variantdiff.variant_changes`)."""
    if not described:
        return ""
    return ("<h2>The variants</h2><table><tr><th>variant</th><th>what it is</th>"
            "<th>against the scenario as written</th></tr>" + "".join(
                f"<tr><td>{html.escape(label)}</td>"
                f"<td>{html.escape(d['description']) or '—'}</td>"
                f"<td>{'<br>'.join(html.escape(c) for c in d['changes']) or 'as written'}</td>"
                "</tr>" for label, d in described.items()) + "</table>")


def smoke_table(stats: list[dict]) -> str:
    """The report's table of what the smoke did, a row per variant (means over the runs).
    Those caught where the fire spread are casualties too; where any were, they have a column
    of their own and are not counted as overcome by the smoke."""
    fire = any(s.get("runs_caught_by_fire") for s in stats)
    # (where anyone overcome lay inside in some run: when responders had them all out)
    rescue = any("runs_with_casualties_inside" in s for s in stats)
    return ("<h2>Smoke</h2><table><tr><th>variant</th><th>overcome (FED 1), mean</th>"
            + ("<th>caught by the fire, mean</th>" if fire else "")
            + "<th>harmed (FED 0.3), mean</th><th>person-seconds in smoke, mean</th>"
            "<th>highest FED</th>"
            + ("<th>last of those overcome inside carried out (median)</th>" if rescue else "")
            + "</tr>" + "".join(
                f"<tr><td>{html.escape(s['label'])}</td>"
                f"<td>{s['casualties_mean'] - s.get('caught_by_fire_mean', 0.0):.1f}</td>"
                + (f"<td>{s.get('caught_by_fire_mean', 0.0):.1f}</td>" if fire else "")
                + f"<td>{s['harmed_mean']:.1f}</td>"
                f"<td>{s['occupant_seconds_in_smoke_mean']:,.0f}</td>"
                f"<td>{s['peak_fed_max']:.2f}</td>"
                + (f"<td>{_carried_out_by(s)}</td>" if rescue else "")
                + "</tr>" for s in stats) + "</table>")


def _carried_out_by(s: dict) -> str:
    """When responders had everyone overcome inside out of the building (median over the runs
    in which anyone was), for the smoke table."""
    if "runs_with_casualties_inside" not in s:
        return "nobody overcome inside"
    k, n = s["runs_with_casualties_inside"], s["runs"]
    when = "not all, by the end" if s["casualties_out_median_s"] is None else \
        format_duration(s["casualties_out_median_s"])
    return when + (f" ({k} of {n} runs with anyone overcome inside)" if k < n else "")


def _first_run_timelines(result: dict) -> dict[str, list[dict]]:
    """Each variant's drill timeline in its run with the first seed (empty without a drill)."""
    out = {}
    for run in result["runs"]:
        if run["seed"] != result["seeds"][0] or run["label"] in out:
            continue
        summary = json.loads(Path(run["summary"]).read_text())
        if summary.get("timeline"):
            out[run["label"]] = summary["timeline"]
    return out


def _not_out(r: dict) -> str:
    """The runs of a variant or ranking entry that did not end with everyone out, of how
    many, and why: "1 of 3 (someone overcome)"."""
    n = r["runs_not_everyone_out"]
    text = f"{n} of {r['runs']}" if "runs" in r else str(n)
    left = r.get("runs_left_inside", n)
    if n == 0 or left == n and "runs_left_inside" not in r:
        return text
    parts = ([f"{left} with people left inside"] if left else []) + \
        ([f"{n - left} with someone overcome"] if n - left else [])
    return f"{text} ({', '.join(parts)})"


def _delta(x) -> str:
    if x is None:
        return "not everyone out"
    whole = int(round(x))  # (whole seconds already: run.seconds_apart; never "−0 s")
    return f"{'+' if whole >= 0 else '−'}{format_duration(abs(whole))}"
