"""Running a scenario: build the model, step it to the end, summarise, write the outputs."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from .kernels.movement import CASUALTY, EVACUATED
from .engine import Engine
from .record import build_record, write_atomic_text, write_record
from .scenario import Scenario

SUMMARY_SCHEMA = "drillsim.summary/1"


def summarise(model: Engine, wall_s: float) -> dict:
    """The run summary (``drillsim.summary/1``) of a finished model."""
    b, sc = model.building, model.scenario
    n = model.n_occupants
    a = {k: v[:n] for k, v in model.agents_state.items()}
    state = a["state"]
    out = np.sort(a["out_time_s"][state == EVACUATED])
    inside = model.count_inside()
    casualties = int(np.count_nonzero(state == CASUALTY))
    everyone_out = inside == 0 and casualties == 0 and model.n_occupants > 0
    counts = model.exit_counts()
    affected = a["lost_s"] > 0
    rescues = [e for e in model.events if e["kind"] == "casualty_carried_out"]
    left_inside = int(np.count_nonzero((state == CASUALTY) & ((a["cell"] >= 0)
                                                              | (a["carrier"] >= 0))))

    def pct(q):
        return round(float(np.percentile(out, q)), 2) if out.size else None

    summary = {
        "schema": SUMMARY_SCHEMA,
        "scenario": sc.name,
        "title": sc.title,
        "variant": sc.variant,
        "variant_description": sc.variant_description,
        "variants": list(sc.variants),
        "seed": model.seed_value,
        "building": b.name,
        "occupants": model.n_occupants,
        "evacuated": int(out.size),
        "casualties": casualties,
        # (of them, those responders carried out: out of the building, still casualties)
        "casualties_carried_out": len(rescues),
        # (those still lying in the building, or being carried, when the run ended)
        "casualties_left_inside": left_inside,
        # when the last of them was carried out, if responders carried out every casualty
        # who lay inside (null if nobody was, or anyone was left)
        "last_casualty_carried_out_s": round(rescues[-1]["time_s"], 2)
        if rescues and left_inside == 0 else None,
        "inside": inside,
        "evacuation_time_s": round(float(out[-1]), 2) if everyone_out else None,
        "first_out_s": round(float(out[0]), 2) if out.size else None,
        # the last of those who got out (differs from evacuation_time_s when someone did not)
        "last_out_s": round(float(out[-1]), 2) if out.size else None,
        "out_time_percentiles_s": {"50": pct(50), "90": pct(90), "95": pct(95)},
        "simulated_s": round(model.time_s, 3),
        "steps": model.n_steps,
        "dt_s": model.dt_s,
        "wall_s": round(wall_s, 3),
        "exits": {e.name: {"evacuated": counts[e.name],
                           "locked_at_start": bool(model.locked_at_start[e.index]),
                           "locked_at_end": bool(model.exit_locked[e.index]),
                           "width_m": e.width_m,
                           "locked_discoveries": int(model.discoveries[e.index])}
                  for e in b.exits},
        "locked_exit_discoveries": int(model.discoveries.sum()),
        "told_of_locked_exits": int(model.told),
        "locked_door_discoveries": int(model.door_discoveries.sum()),
        "time_lost_to_locked_exits_s": {
            "total": round(float(a["lost_s"].sum()), 1),
            "occupants": int(np.count_nonzero(affected)),
            "mean": round(float(a["lost_s"][affected].mean()), 1) if affected.any() else 0.0,
        },
        "profiles": _profiles(model, a),
        "regions": _regions(model),
    }
    if model.hazard is not None:
        hz = model.hazard
        inside_ever = a["fed"] > 0
        summary.update({
            "harmed": int(np.count_nonzero(a["fed"] >= 0.3)),
            "peak_fed": round(float(a["fed"].max()), 4) if n else 0.0,
            "occupant_seconds_in_smoke": round(float(a["smoke_s"].sum()), 1),
            "occupants_exposed": int(np.count_nonzero(inside_ever)),
            "noticed_smoke": model.noticed_smoke,  # started by the smoke, before any alarm
            "caught_by_fire": model.caught_by_fire,  # (among the casualties)
            "fled_fire": model.fled_fire,  # started at once by the flames beside them
            "fires": {fs.fire.name: {"ignition_s": None if fs.start_s is None
                                     else round(fs.start_s, 2),
                                     "suppressed_s": None if fs.suppressed_s is None
                                     else round(fs.suppressed_s, 2)}
                      for fs in hz.fires},
            "peak_hrr_kw": round(hz.peak_hrr_kw, 1),
            "detectors": {d.name: (round(hz.detector_fired[d.name], 2)
                                   if d.name in hz.detector_fired else None)
                          for d in hz.spec.detectors},
        })
    if model.drill is not None:
        summary["actors"] = [{"name": x.name, "title": x.title, "role": x.role, "count": x.count,
                              "start": x.start, "station": x.station}
                             for x in model.drill.d.actors]
        summary["timeline"] = model.drill.timeline()
        summary["kpis"] = model.drill.kpis(summary)
    summary["events"] = model.events
    return summary


def _profiles(model, a) -> dict:
    """Per occupant profile: how many, how many out, when the last of them was out."""
    out = {}
    for k, name in enumerate(model.profile_names):
        mine = model.profile_of == k
        done = a["out_time_s"][mine & (a["state"] == EVACUATED)]
        total = int(np.count_nonzero(mine))
        out[name] = {"occupants": total, "evacuated": int(done.size),
                     "all_out_s": round(float(done.max()), 2) if done.size == total and total
                     else None}
    return out


def _regions(model) -> dict:
    """Per region: when it was cleared of occupants (RSET) and, with a fire, when it became
    untenable (ASET). ``cleared_s`` is null if someone was still there at the end."""
    last = model.region_last_occupied
    step = model.record_every_steps * model.dt_s
    # Occupancy is seen at the recorded frames: a region was cleared after the last frame
    # that had someone in it, by the next. Where everyone got out, every region was clear by
    # the time the last of them left (not a frame later: "cleared 3 min 05 s" beside "last
    # out 3 min 04 s" read as a contradiction).
    n = model.n_occupants
    a = model.agents_state
    end = model.time_s
    if n and bool((a["state"][:n] == EVACUATED).all()):
        end = min(end, float(a["out_time_s"][:n].max()))
    out = {}
    for r in model.building.regions:
        t = last.get(r.name)
        cleared = 0.0 if t is None else (None if t >= model.time_s - 1e-9
                                         else round(min(t + step, end), 2))
        entry = {"cleared_s": cleared}
        if model.hazard is not None:
            u = model.hazard.untenable_s.get(r.name)
            entry["untenable_s"] = None if u is None else round(u, 2)
        out[r.name] = entry
    return out


def warm_up(scenarios: list[Scenario], steps: int = 3) -> None:
    """Run a few steps of each scenario, untimed and unrecorded, so that the kernels their
    runs call are loaded from Numba's cache (or compiled) before any run is timed. It changes
    nothing in later runs: each builds its own engine."""
    for sc in scenarios:
        Engine(sc, sc.seed).run(max_steps=steps)


def run_scenario(scenario: Scenario, seed: int | None = None, out_dir: str | Path | None = None,
                 *, record: bool = True, record_every_s: float | None = None,
                 progress: bool = False) -> dict:
    """Run one scenario variant to the end. Writes ``summary.json`` (and ``record.npz`` when
    ``record``) into ``out_dir`` if given. Returns the summary. ``progress``: a bar of the
    simulated time on stderr while it runs, if stderr is a terminal (the same run either way)."""
    t0 = time.perf_counter()
    model = Engine(scenario, seed, record_every_s=record_every_s)
    if progress:
        _run_with_progress(model, scenario)
    else:
        model.run()
    wall = time.perf_counter() - t0
    summary = summarise(model, wall)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        if record:
            meta, arrays = build_record(model, summary)
            write_record(out / "record.npz", meta, arrays)
        write_atomic_text(out / "summary.json", json.dumps(summary, indent=2,
                                                           ensure_ascii=False) + "\n")
    return summary


def _run_with_progress(model: Engine, scenario: Scenario) -> None:
    from tqdm import tqdm

    # disable=None: no bar unless stderr is a terminal (logs and pipes stay clean); it goes
    # when the run ends, before the summary is printed.
    with tqdm(total=round(scenario.time_limit_s), desc=f"{scenario.name} [{scenario.variant}]",
              unit="s", bar_format="{desc}: {n:.0f} s simulated (limit {total} s){postfix} "
              "[{elapsed}]", disable=None, leave=False, dynamic_ncols=True) as bar:
        while model.running:
            model.run(max_steps=model.n_steps + 100)
            out = model.step_census()[1]
            bar.set_postfix_str(f"{out:,} of {model.n_occupants:,} out", refresh=False)
            bar.update(min(model.time_s, scenario.time_limit_s) - bar.n)


def format_duration(seconds: float | None) -> str:
    """'2 min 56 s' style; 'not everyone got out' for None."""
    if seconds is None or not math.isfinite(seconds):
        return "not everyone got out"
    seconds = round(seconds)
    minutes, sec = divmod(int(seconds), 60)
    return f"{minutes} min {sec:02d} s" if minutes else f"{sec} s"


def seconds_apart(later: float, earlier: float) -> int:
    """``later - earlier`` in whole seconds, as the two times are shown (each rounded as
    :func:`format_duration` rounds it), so that the difference a sentence gives is the one a
    reader works out from the times beside it: "5 min 35 s instead of 2 min 49 s: 2 min 46 s
    later", not "2 min 47 s" (335.2 - 168.6 = 166.6 s). Comparisons' headlines, rankings and
    reports all give this figure. (A headline said "at the same time (4 min 40 s against
    4 min 41 s)" above a ranking line "-1 s".)"""
    return round(later) - round(earlier)


def chronological(timeline: list[dict]) -> list[dict]:
    """A drill's timeline rows in the order things happened: by the time each was done (or,
    not done, triggered), then as the script lists them; rows that never started come last,
    in the script's order. (The script's order is kept in the run's record and summary.)"""
    def when(k_row):
        k, row = k_row
        t = row["actual_s"] if row["actual_s"] is not None else row.get("triggered_s")
        return (t is None, t if t is not None else 0.0, k)
    return [row for _, row in sorted(enumerate(timeline), key=when)]


def _variant_lines(s: dict) -> list[str]:
    """What the run's variant is: its description, or, for the scenario as written, the
    variants there are (the title names what the drill is about, which a variant may be)."""
    others = [v for v in s.get("variants", ()) if v != s["variant"]]
    if s.get("variant_description"):
        return [f"    {s['variant_description']}"]
    if s["variant"] == "base" and others:
        return [f"    the scenario as written; its variants: {', '.join(others)}"]
    return []


def _kpi_figure(value: float, unit: str) -> str:
    """A KPI's value as printed: seconds to a tenth, as "last out: ... (309.4 s)" gives them
    (not "309.45 s" a few lines below "309.4 s" for the same time); counts as they are."""
    return f"{round(value, 1):g}" if unit == "s" else f"{value:g}"


# A scenario's timed changes ([[changes]]) as the event log names them, and in words.
CHANGE_WORDS = {"lock": "{} locked", "unlock": "{} unlocked", "open": "{} opened",
                "close": "{} closed", "add_clutter": "clutter in {}",
                "clear_clutter": "clutter cleared from {}",
                # (an unlock that a study's held lock refused: see ``held_locked``)
                "stays_locked": "{} stays locked (taken away in this study)"}


def _lock_changes(events: list[dict], exit_name: str, locked: bool) -> list[tuple[str, float]]:
    """When the exit (``locked`` at the start) was unlocked or locked during the run, in
    order: ("unlocked", t)..., from the drill's actions and the scenario's timed changes.
    An unlock of an exit that was open (a guard sent to unlock it "if locked") is none."""
    out = []
    for e in events:
        kind = e["action"] if e["kind"] == "action" else e["kind"]
        if kind in ("lock", "unlock") and e.get("target") == exit_name and \
                (kind == "lock") != locked:
            locked = kind == "lock"
            out.append((kind + "ed", e["time_s"]))
    return out


def _carried_out(s: dict) -> str:
    """" (1 carried out by fire_brigade at 9 min 40 s)": casualties responders brought out."""
    rescues = [e for e in s.get("events", []) if e["kind"] == "casualty_carried_out"]
    if not rescues:
        return ""
    who = sorted({e["actor"] for e in rescues})
    when = format_duration(rescues[0]["time_s"]) if len(rescues) == 1 else \
        f"{format_duration(rescues[0]['time_s'])} to {format_duration(rescues[-1]['time_s'])}"
    return f" ({len(rescues):,} carried out by {', '.join(who)} at {when})"


def format_summary(s: dict) -> str:
    """A readable summary of one run."""
    lines = [f"{s['title']}",
             f"  variant {s['variant']}, seed {s['seed']}, {s['occupants']:,} occupants",
             *_variant_lines(s),
             f"  evacuated {s['evacuated']:,}, still inside {s['inside']:,}, casualties "
             f"{s['casualties']:,}" + _carried_out(s),
             f"  last out: {format_duration(s['evacuation_time_s'])}"
             + (f" ({s['evacuation_time_s']:.1f} s)" if s["evacuation_time_s"] is not None else
                f" (simulated {s['simulated_s']:.0f} s)"),
             f"  half out by {format_duration(s['out_time_percentiles_s']['50'])}, 95 % by "
             f"{format_duration(s['out_time_percentiles_s']['95'])}",
             "  exits:"]
    for name, e in s["exits"].items():
        flag = "  LOCKED" if e["locked_at_start"] else ""
        moves = _lock_changes(s.get("events", []), name, e["locked_at_start"])
        if moves:  # (unlocked, or locked, during the run: by the script or a timed change)
            flag += ("," if flag else " ") + ", ".join(
                f" {word} at {format_duration(t)}" for word, t in moves)
        found = f", found locked by {e['locked_discoveries']}" if e["locked_discoveries"] else ""
        lines.append(f"    {name:<20} {e['evacuated']:>7,} out{flag}{found}")
    changes = [e for e in s.get("events", []) if e["kind"] in CHANGE_WORDS and "planned_s" in e]
    if changes:  # (the scenario's [[changes]]: what the results above went through)
        lines.append("  timed changes: " + ", ".join(
            f"{CHANGE_WORDS[e['kind']].format(e['target'])} at {format_duration(e['time_s'])}"
            for e in changes))
    if s["locked_exit_discoveries"] or s["told_of_locked_exits"]:
        lost = s["time_lost_to_locked_exits_s"]
        found, told = s["locked_exit_discoveries"], s["told_of_locked_exits"]
        lines.append(f"  {found:,} occupant{'s' if found != 1 else ''} walked up to a locked "
                     f"exit, {told:,} more {'was' if told == 1 else 'were'} told; "
                     f"{lost['occupants']:,} lost {lost['mean']:.0f} s "
                     f"{'each on average ' if lost['occupants'] != 1 else ''}heading for it")
    if "harmed" in s:
        caught = s.get("caught_by_fire", 0)
        lines.append(f"  smoke: {s['casualties'] - caught:,} incapacitated (FED >= 1), "
                     f"{s['harmed']:,} harmed (FED >= 0.3), peak FED {s['peak_fed']:.3f}, "
                     f"{s['occupant_seconds_in_smoke']:,.0f} occupant-seconds in smoke")
        if caught:
            lines.append(f"    {caught:,} caught by the fire where they stood")
        if s.get("fled_fire"):
            lines.append(f"    {s['fled_fire']:,} still waiting beside the flames left at once")
        if s.get("noticed_smoke"):
            lines.append(f"    {s['noticed_smoke']:,} started to leave on noticing smoke, before "
                         "any alarm reached them")
        late = [(name, r) for name, r in s["regions"].items()
                if r.get("untenable_s") is not None]
        for name, r in late:
            cleared = r["cleared_s"]
            untenable = f"    {name:<20} untenable at {format_duration(r['untenable_s'])}, "
            if cleared == 0.0:  # (nobody was ever there: see _regions)
                lines.append(untenable + "nobody there")
                continue
            if cleared is None:  # (with nobody inside who could leave, those left are
                # casualties: "still occupied" read as if someone there might yet get out)
                lines.append(untenable + "not cleared  (" + (
                    "casualties there" if s["inside"] == 0 else "still occupied") + ")")
                continue
            verdict = "cleared first" if cleared <= r["untenable_s"] else "cleared too late"
            lines.append(untenable + f"cleared {format_duration(cleared)}  ({verdict})")
    if s.get("actors"):  # (who the timeline's names are)
        lines.append("  actors:")
        for x in s["actors"]:
            where = f"from {x['station']} (off site)" if x["start"] == "offsite" else \
                f"in {x['start']}"
            title = f"{x['title']}: " if x.get("title") else ""
            lines.append(f"    {x['name']:<20} {title}{x['role'].replace('_', ' ')}, "
                         f"{x['count']:,} {where}")
    if s.get("timeline"):
        lines.append("  drill timeline (planned / actual), in the order things happened:")
        for row in chronological(s["timeline"]):
            planned = "-" if row["planned_s"] is None else f"{row['planned_s']:.0f} s"
            actual = "never" if row["actual_s"] is None else f"{row['actual_s']:.0f} s"
            who = row["actor"] or "-"
            lines.append(f"    {planned:>7} / {actual:>7}  {who:<16} {row['action']} "
                         f"{row['target']}  [{row['trigger']}]"
                         + (f"  ({row['note']})" if row.get("note") else ""))
    if s.get("kpis"):
        lines.append("  KPIs:")
        for k in s["kpis"]:
            unit = k["unit"]
            value = "never" if k["value"] is None else f"{_kpi_figure(k['value'], unit)}" \
                + (f" {unit}" if unit else "")
            lines.append(f"    {'MET   ' if k['met'] else 'MISSED'} {k['name']}: {value} "
                         f"(target <= {k['target']:g}{' ' + unit if unit else ''})")
    lines.append(f"  {s['steps']:,} steps of {s['dt_s']} s in {s['wall_s']:.2f} s wall time")
    return "\n".join(lines)
