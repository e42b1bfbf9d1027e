"""The verification cases. Numbers and criteria: ``reference/verification.md`` (sections cited
per case); geometry: ``scenarios/verification/``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..batch import occupancy_maps
from ..building import FLIGHT, FLOOR, DOOR, STAIR
from ..engine import Engine
from ..kernels.movement import WAITING
from ..scenario import _library_dir, load_scenario
from . import Outcome

SEEDS = (1, 2, 3)


def folder() -> Path:
    return _library_dir("scenario") / "verification"


def scenario(name: str, variant: str | None = None, seed: int | None = None):
    return load_scenario(folder() / f"{name}.toml", variant, seed)


def run(name: str, variant: str | None = None, seed: int = 1, **kw) -> Engine:
    return Engine(scenario(name, variant), seed, **kw).run()


def _fmt_list(values, unit="s") -> str:
    return ", ".join(f"{v:.1f}" for v in values) + f" {unit}"


# --------------------------------------------------------------------------- RiMEA

def rimea01() -> Outcome:
    times = [run("rimea01_corridor", seed=s).agents_state["out_time_s"][0] for s in SEEDS]
    ok = all(26 <= t <= 34 for t in times)
    return Outcome("RiMEA 1", "Walking speed in a corridor", "RiMEA 3.0 test 1 (§1.2)",
                   "one person, 40 m x 2 m corridor, 1.33 m/s: travel time 26-34 s",
                   f"{np.mean(times):.1f} s ({_fmt_list(times)}; seeds {SEEDS})",
                   "pass" if ok else "fail", data={"times": times})


def imo01() -> Outcome:
    times = [run("rimea01_corridor", "imo1", seed=s).agents_state["out_time_s"][0] for s in SEEDS]
    ok = all(40 / 1.05 <= t <= 40 / 0.95 for t in times)
    return Outcome("IMO 1 / NIST 2.1", "Maintaining set walking speed in a corridor",
                   "MSC.1/Circ.1238 test 1; NIST TN 1822 Verif.2.1 (§3, §2)",
                   "one person, 40 m corridor, 1.0 m/s: 40 s (speed within 1.0 +/- 0.05 m/s)",
                   f"{np.mean(times):.1f} s ({_fmt_list(times)})", "pass" if ok else "fail",
                   data={"times": times})


def _stairs(name: str, label: str, source: str) -> Outcome:
    sc = scenario(name)
    m = Engine(sc, 1)
    kind = m.building.kind
    on_flight = []
    while m.running:
        m.step()
        c = m.agents_state["cell"][0]
        on_flight.append(c >= 0 and kind[c] == FLIGHT)
    steps = np.flatnonzero(on_flight)
    v = float(m.agents_state["speed_ms"][0])
    stair = m.building.stairs[0]
    b = m.building
    expected = stair.length_m / (v * stair.speed_factor)
    # On the flight: the steps spent on its cells (which end with the link onto the landing),
    # plus the link from the landing onto its first cell, walked at the stair speed.
    first = b.flights[0].cells[0]
    link_in = float(b.link_len_m[b.link_ptr[first]:b.link_ptr[first + 1]].min())
    measured = (steps[-1] - steps[0] + 1) * m.dt_s + link_in / (v * stair.speed_factor)
    ok = abs(measured / expected - 1) <= 0.05
    return Outcome(label, f"Walking speed {'up' if 'up' in name else 'down'} stairs", source,
                   f"one person, stair 2 m wide, {stair.length_m:g} m along the slope, stair "
                   f"speed {v * stair.speed_factor:.2f} m/s: time = length / speed, +/- 5 %",
                   f"{measured:.1f} s on the flight against {expected:.1f} s expected",
                   "pass" if ok else "fail",
                   notes="drillsim's stairs are as fast up as down (one speed factor per stair).",
                   data={"measured": measured, "expected": expected})


def rimea02() -> Outcome:
    return _stairs("rimea02_stairs_up", "RiMEA 2", "RiMEA 3.0 test 2 (§1.2)")


def rimea03() -> Outcome:
    return _stairs("rimea03_stairs_down", "RiMEA 3", "RiMEA 3.0 test 3 (§1.2)")


def weidmann_speed(rho: np.ndarray) -> np.ndarray:
    """Weidmann (1993) in Kladek's form: v0 1.34 m/s, gamma 1.913 P/m², rho_max 5.4 P/m²."""
    rho = np.asarray(rho, float)
    with np.errstate(divide="ignore"):
        v = 1.34 * (1 - np.exp(-1.913 * (1 / rho - 1 / 5.4)))
    return np.clip(v, 0, None)


def _fd_point(building: str, rho: float) -> tuple[float, float, int]:
    """Mean density and speed in the measuring area between 10 and 70 s."""
    from ..building import load_building
    from ..scenario import build_scenario

    path = folder() / f"{building}.building.toml"
    b = load_building(path)
    up = b.region("upstream")
    area = len(up.cells) * b.cell_m ** 2
    count = int(round(rho * area))
    doc = {"schema": "drillsim.scenario/1", "name": "fd", "building": "-", "time_limit_s": 70,
           "record_every_s": 0.9,
           "occupants": [{"count": count, "region": "upstream",
                          "speed_ms": {"dist": "uniform", "low": 1.2, "high": 1.4}}]}
    sc = build_scenario(doc, path, building=b)
    m = Engine(sc, 1).run()
    measure = set(int(c) for c in b.region("measure").cells)
    m_area = len(measure) * b.cell_m ** 2
    _, x, y = b.cell_position(np.arange(b.n_cells))
    dens, speeds = [], []
    frames = [f for f in m.frames if 10.0 <= f.time_s <= 70.0]
    for f0, f1 in zip(frames[:-1], frames[1:]):
        inside = np.array([c in measure for c in f0.cell]) & (f0.cell >= 0)
        dens.append(inside.sum() / m_area)
        ok = inside & (f1.cell >= 0)
        if ok.any():
            d = np.hypot(x[f1.cell[ok]] - x[f0.cell[ok]], y[f1.cell[ok]] - y[f0.cell[ok]])
            speeds.extend(d / (f1.time_s - f0.time_s))
    return float(np.mean(dens)), float(np.mean(speeds)) if speeds else 0.0, count


def rimea04(figure_dir: Path | None = None) -> Outcome:
    rhos = [0.5, 1, 2, 3, 4, 5, 6]
    points = [_fd_point("v_fd_corridor", r) for r in rhos]
    single = [_fd_point("v_fd_single_file", r) for r in (0.5, 1, 2)]
    rho_m = np.array([p[0] for p in points])
    v_m = np.array([p[1] for p in points])
    v_w = weidmann_speed(rho_m)
    dev = np.abs(v_m - v_w)
    fig = None
    if figure_dir is not None:
        fig = _plot_fd(rho_m, v_m, figure_dir)
    rows = "; ".join(f"{r:.2f} P/m²: {v:.2f} m/s (Weidmann {w:.2f})"
                     for r, v, w in zip(rho_m, v_m, v_w))
    return Outcome("RiMEA 4", "Fundamental diagram (corridor)", "RiMEA 3.0 test 4; Weidmann "
                   "1993 (§1.2, §4.1)", "no pass band: compare speed against density with "
                   "Weidmann's curve, measured 10-70 s in a 2 m x 2 m area",
                   rows + f". Largest deviation {dev.max():.2f} m/s. Single file (0.4 m wide): "
                   + "; ".join(f"{p[0] * 0.4:.2f} P/m: {p[1]:.2f} m/s" for p in single),
                   "documented",
                   notes="Corridor 400 m x 10 m (RiMEA: 1000 m) with the first 300 m filled; "
                         "speeds U(1.2, 1.4) m/s. The capacity cap (1.6 P/(m s)) makes the "
                         "flow flat where Weidmann's falls, and 0.4 m cells cap density at "
                         "6.25 P/m².",
                   figure=fig, data={"rho": rho_m.tolist(), "v": v_m.tolist()})


def _plot_fd(rho, v, out: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.6), layout="constrained")
    r = np.linspace(0.05, 5.4, 200)
    a1.plot(r, weidmann_speed(r), color="#444", label="Weidmann 1993")
    a1.plot(rho, v, "o", color="#d1361f", label="drillsim")
    a1.set_xlabel("density (P/m²)")
    a1.set_ylabel("speed (m/s)")
    a1.legend()
    a1.grid(alpha=0.3)
    a2.plot(r, r * weidmann_speed(r), color="#444", label="Weidmann 1993")
    a2.plot(rho, rho * v, "o", color="#d1361f", label="drillsim")
    a2.set_xlabel("density (P/m²)")
    a2.set_ylabel("specific flow (P/(m s))")
    a2.grid(alpha=0.3)
    path = out / "fundamental_diagram.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path.name


def rimea05() -> Outcome:
    sc = scenario("rimea05_premovement")
    m = Engine(sc, 1)
    start = m.agents_state["start_s"].copy()
    began = np.full(m.n_occupants, np.nan)
    while m.running:
        before = m.agents_state["state"] == WAITING
        m.step()
        now = (m.agents_state["state"] != WAITING) & before
        began[now] = m.time_s - m.dt_s  # activated at the start of that step
    err = began - start
    ok = bool(np.all((err >= -1e-9) & (err < m.dt_s + 1e-9)))
    return Outcome("RiMEA 5", "Pre-movement time", "RiMEA 3.0 test 5; IMO 5 (§1.2)",
                   "10 persons, pre-movement U(10, 100) s: each starts at its time",
                   f"largest delay between the drawn time and the start: {np.nanmax(err):.2f} s "
                   f"(one step is {m.dt_s} s)", "pass" if ok else "fail")


def rimea06() -> Outcome:
    m = run("rimea06_corner")
    kinds = np.concatenate([m.building.kind[f.cell[f.cell >= 0]] for f in m.frames])
    inside_walls = int(np.count_nonzero(~np.isin(kinds, (FLOOR, DOOR, STAIR, FLIGHT))))
    ok = inside_walls == 0 and m.count_inside() == 0
    return Outcome("RiMEA 6", "Movement around a corner", "RiMEA 3.0 test 6; IMO 6; NIST 2.3",
                   "20 persons round a left-hand corner: nobody passes through walls, all leave",
                   f"{inside_walls} recorded positions outside the walkable area; "
                   f"{m.n_occupants - m.count_inside()} of 20 out in {m.time_s:.0f} s",
                   "pass" if ok else "fail")


def _measured_speeds(variant: str):
    m = run("rimea07_demographics", variant)
    # Each walker goes straight east: 40 m from the west column to the exit cells.
    assigned = m.agents_state["speed_ms"].astype(float)
    measured = 40.0 / m.agents_state["out_time_s"]
    return assigned, measured


def rimea07() -> Outcome:
    bands = {"under_30": (0.58, 1.61), "30_to_50": (1.41, 1.54), "over_50": (0.68, 1.41),
             "impaired": (0.46, 0.76)}
    lines, ok = [], True
    for variant, (lo, hi) in bands.items():
        assigned, measured = _measured_speeds(variant)
        rel = np.abs(measured / assigned - 1)
        within = np.all((measured >= lo * 0.95) & (measured <= hi * 1.05))
        ok &= bool(within and np.all(measured >= 0.46 * 0.95) and np.all(measured <= 1.61 * 1.05))
        lines.append(f"{variant}: {measured.min():.2f}-{measured.max():.2f} m/s (band {lo}-{hi}; "
                     f"largest error against the assigned speed {rel.max() * 100:.1f} %)")
    return Outcome("RiMEA 7", "Demographic parameters", "RiMEA 3.0 test 7; IMO 7 (§1.1, §1.2)",
                   "4 groups x 50 with speeds from the RiMEA table: measured speeds "
                   "(distance / time) inside the table's bands, overall 0.46-1.61 m/s",
                   "; ".join(lines), "pass" if ok else "fail",
                   notes="Measured over 40 m from a standing start; bands allow 5 % for the "
                         "grid and the time step.")


def nist24() -> Outcome:
    assigned, measured = _measured_speeds("nist24")
    d = _ks_two_sample(assigned, measured)
    crit = 1.36 * math.sqrt(2 / len(assigned))
    return Outcome("NIST 2.4", "Assigned demographics", "NIST TN 1822 Verif.2.4 (§2)",
                   "speeds drawn from N(1.2, 0.2) m/s: the represented (measured) distribution "
                   "matches the assigned one (two-sample KS, alpha 0.05)",
                   f"KS distance {d:.3f} against the critical {crit:.3f}; measured mean "
                   f"{measured.mean():.2f} m/s, sd {measured.std():.2f}",
                   "pass" if d < crit else "fail", notes="50 walkers (NIST: 100).")


def _ks_two_sample(a, b) -> float:
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, grid, side="right") / a.size
                               - np.searchsorted(b, grid, side="right") / b.size)))


def rimea08() -> Outcome:
    rows = []
    for v in ("v050", "v075", "v100", "v125", "spread_050_100", "spread_025_125"):
        rows.append((v, run("rimea08_parameters", v).time_s))
    same = [t for v, t in rows[:4]]
    ok = all(a > b for a, b in zip(same, same[1:]))
    return Outcome("RiMEA 8", "Parameter analysis (three-floor office)", "RiMEA 3.0 test 8 (§1.2)",
                   "no pass criterion: document how the total time changes with speed; it must "
                   "fall as everybody walks faster",
                   "; ".join(f"{v}: {t:.0f} s" for v, t in rows),
                   "documented" if ok else "fail",
                   notes="144 people in the office_3f building, no pre-movement.")


def rimea09() -> Outcome:
    path = _library_dir("scenario") / "hall.toml"
    ratios = []
    for s in SEEDS:
        t4 = Engine(load_scenario(path, "all_open"), s).run().time_s
        t2 = Engine(load_scenario(path, "two_locked"), s).run().time_s
        ratios.append(t2 / t4)
    ok = all(1.6 <= r <= 2.4 for r in ratios)
    return Outcome("RiMEA 9", "Crowd leaving a large public room; two exits locked",
                   "RiMEA 3.0 test 9; IMO 9 (§1.2)",
                   "1000 persons, 30 m x 20 m, four 1 m doors; with two locked about twice "
                   "as long (JuPedSim accepted 1.6-2.4)",
                   f"ratio {np.mean(ratios):.2f} ({', '.join(f'{r:.2f}' for r in ratios)})",
                   "pass" if ok else "fail",
                   notes="1 m doors drawn as 3 cells, declared 1.0 m. The locked doors look "
                         "usable: people find out on arrival and tell others.")


def rimea10() -> Outcome:
    sc = scenario("rimea10_allocation")
    m = Engine(sc, 1).run()
    names = [e.name for e in m.building.exits]
    used = m.agents_state["exit_used"]
    wrong = 0
    for gi, g in enumerate(sc.groups):
        want = names.index(g.knows[0])
        wrong += int(np.count_nonzero(used[:m.n_occupants][m.group_of == gi] != want))
    return Outcome("RiMEA 10 / NIST 3.1", "Allocation of escape routes",
                   "RiMEA 3.0 test 10; IMO 10; NIST TN 1822 Verif.3.1 (§1.2, §2)",
                   "23 persons in 12 rooms, each assigned the main or the secondary exit: all "
                   "use their assigned exit", f"{m.n_occupants - wrong} of {m.n_occupants} "
                   "used their assigned exit", "pass" if wrong == 0 else "fail",
                   notes="Assigned through 'knows'; exits in sight do not override it "
                         "(sight_m = 0). Corridor 0.8 m (2 cells), doors 0.8 m.")


def rimea11() -> Outcome:
    m = run("rimea11_exit_choice")
    c = m.exit_counts()
    ok = c["exit2"] > 0 and c["exit1"] > c["exit2"]
    return Outcome("RiMEA 11", "Choice of escape route", "RiMEA 3.0 test 11 (§1.2)",
                   "1000 persons packed on the left; most use the nearer exit 1, some exit 2",
                   f"exit 1: {c['exit1']}, exit 2: {c['exit2']}", "documented" if ok else "fail")


def rimea12() -> Outcome:
    m = Engine(scenario("rimea12_bottleneck"), 1, record_every_s=0.3).run()
    b = m.building
    _, x, _ = b.cell_position(np.arange(b.n_cells))
    corridor_x = 10.8  # the corridor begins where room 1 ends
    entered = np.full(m.n_occupants, np.inf)
    for f in m.frames:
        ok = f.cell >= 0
        past = np.zeros(m.n_occupants, dtype=bool)
        past[ok] = x[f.cell[ok]] > corridor_x
        entered[past & ~np.isfinite(entered)] = f.time_s
    out = m.agents_state["out_time_s"]

    def flow(t):
        t = np.sort(t[np.isfinite(t)])
        i0, i1 = int(0.1 * t.size), int(0.9 * t.size)
        return (i1 - i0) / (t[i1] - t[i0])

    f_in, f_out = flow(entered), flow(out)
    _, peak = occupancy_maps(m)
    p1 = float(peak[b.region("room1").cells].max())
    q2 = float(np.mean(peak[b.region("room2").cells] >= 3.0))
    ok = f_out >= 0.9 * f_in and p1 >= 3.0
    return Outcome("RiMEA 12", "Effect of a bottleneck", "RiMEA 3.0 test 12 (§1.2)",
                   "150 persons: congestion in room 1, not at the exit of room 2; the exit "
                   "passes what the corridor lets through (JuPedSim: flows compared)",
                   f"flow into the corridor {f_in:.2f} P/s, out of the exit {f_out:.2f} P/s; "
                   f"peak density {p1:.1f} P/m² in room 1; {q2:.0%} of room 2 ever above "
                   "3 P/m²", "documented" if ok else "fail",
                   notes="Corridor and exit both 3 cells (1.2 m) wide (RiMEA: 1 m each).")


def rimea13() -> Outcome:
    m = Engine(scenario("rimea13_stairs_congestion"), 1, record_every_s=1.0).run()
    b = m.building
    foot = set(int(c) for c in b.region("foot").cells)
    room = set(int(c) for c in b.region("room").cells)
    counts = np.array([sum(int(c) in foot for c in f.cell if c >= 0) for f in m.frames])
    in_room = np.array([sum(int(c) in room for c in f.cell if c >= 0) for f in m.frames])
    t = np.array([f.time_s for f in m.frames])
    first = np.flatnonzero(counts > 0)[0]
    emptied = np.flatnonzero(in_room == 0)[0]
    mid = (first + emptied) // 2
    early, late = counts[first:mid].mean(), counts[mid:emptied].mean()
    ok = late > early
    return Outcome("RiMEA 13", "Congestion in front of stairs", "RiMEA 3.0 test 13; IMO 11 (§1.2)",
                   "150 persons: the queue at the foot of the stair grows with time "
                   "(stair flow below corridor flow)",
                   f"people in the last 2 m before the stair: {early:.1f} on average while the "
                   f"room empties ({t[first]:.0f}-{t[mid]:.0f} s), then {late:.1f} "
                   f"({t[mid]:.0f}-{t[emptied]:.0f} s)", "documented" if ok else "fail",
                   notes="Stair capacity falls with the stair speed: 0.5 x 1.6 = 0.8 P/(m s).")


def rimea14() -> Outcome:
    m = Engine(scenario("rimea14_route_choice"), 1).run()
    went_down = np.zeros(m.n_occupants, dtype=bool)
    floor_of = m.building.floor_of
    for f in m.frames:
        ok = f.cell >= 0
        went_down[ok] |= floor_of[f.cell[ok]] == 0
    return Outcome("RiMEA 14", "Choice of route over floors", "RiMEA 3.0 test 14 (§1.2)",
                   "documentation only: do people take the shorter route via another floor?",
                   f"{int(went_down.sum())} of {m.n_occupants} went down the stairs and along "
                   f"the ground floor; the rest stayed upstairs; all out in {m.time_s:.0f} s",
                   "documented", notes="Routes are chosen by effective walking distance (a "
                   "stair metre costs 1/speed factor metres).")


def rimea15() -> Outcome:
    t = {k: run(f"rimea15_{k}").time_s for k in ("short", "corner", "long")}
    q = {k: run(f"rimea15_{k}", "quickest").time_s for k in ("short", "corner", "long")}
    ok = t["short"] <= t["corner"] <= t["long"]
    ok_q = q["short"] <= q["corner"] <= q["long"]
    return Outcome("RiMEA 15", "Large crowd around a corner", "RiMEA 3.0 test 15 (§1.2)",
                   "500 persons, 20 m wide: t(44 m) <= t(corner) <= t(75.4 m)",
                   f"44 m: {t['short']:.1f} s, corner: {t['corner']:.1f} s, 75.4 m: "
                   f"{t['long']:.1f} s; as quickest paths ({'pass' if ok_q else 'fail'}): "
                   f"{q['short']:.1f}, {q['corner']:.1f}, {q['long']:.1f} s",
                   "pass" if ok else "fail",
                   notes="With shortest routes (the default), every start point's route passes "
                         "the inner corner: the crowd converges there and walks up the second "
                         "arm in a stream a metre or two wide along the inner wall, of a "
                         "corridor 20 m wide. It is the fields, not the strength of their "
                         "pull: with k_S = 2, 3, 5 and 10 the corner case takes 252, 231, 223 "
                         "and 227 s (seed 1). Fields that keep people off walls are not enough "
                         "(tried, not adopted: routes costing up to 1.5-4 times as much within "
                         "1-8 m of a wall gave the corner 146-192 s against 130-161 s for "
                         "75.4 m straight, and slowed the straight corridors by up to 37 %). "
                         "With routes as quickest paths (`quickest_paths_s = 1`: the fields "
                         "marched afresh every second with the walking speed the crowd's "
                         "density allows) the crowd uses the corridor's width. The last out is "
                         "then in each case the slowest walker (0.63 m/s in seed 1), whose "
                         "route round the corner from the back of the start area is about as "
                         "long as the 75.4 m corridor: the corner comes within about a second "
                         "of it, on either side by the seed (seeds 1-3: 130.8 against 130.0 s, "
                         "120.0 against 121.3 s, 117.4 against 117.3 s). The status is the "
                         "default model's.", data={"shortest": t, "quickest": q})


# --------------------------------------------------------------------------- IMO, NIST

def imo04() -> Outcome:
    flows = []
    for s in SEEDS:
        out = np.sort(run("imo04_door_flow", seed=s).agents_state["out_time_s"])
        flows.append((out.size - 1) / (out[-1] - out[0]))
    ok = all(f <= 1.33 for f in flows)
    return Outcome("IMO 4", "Exit flow rate", "MSC.1/Circ.1238 test 4 (§3)",
                   "100 persons, 8 m x 5 m room, 1 m exit: flow over the whole period "
                   "<= 1.33 P/s", f"{np.mean(flows):.2f} P/s ({', '.join(f'{f:.2f}' for f in flows)})",
                   "pass" if ok else "fail",
                   notes="drillsim's door flow is calibrated to about 1.45 P/(m s) (see 'Door "
                         "flow': between SFPE 1.3 and bottleneck experiments ~1.9); IMO's 1.33 "
                         "is a design value. A lower max_specific_flow in a scenario would pass "
                         "this test at the cost of that calibration; it was not tuned to pass.")


def imo08() -> Outcome:
    t = {}
    for k in (0, 10, 50, 100):
        times = []
        for seed in SEEDS:
            group = run(f"imo08_counterflow_{k}", seed=seed).agents_state["out_time_s"][:100]
            times.append(float(group.max()) if np.all(np.isfinite(group)) else math.inf)
        t[k] = float(np.mean(times))
    values = [t[k] for k in (0, 10, 50, 100)]
    # Times that rise because the counter-flow deadlocks do not count as a pass.
    ok = all(math.isfinite(v) for v in values) and \
        all(a <= b for a, b in zip(values, values[1:])) and values[-1] > values[0]
    return Outcome("IMO 8 / NIST 2.8", "Counter-flow: two rooms joined by a corridor",
                   "MSC.1/Circ.1238 test 8; NIST TN 1822 Verif.2.8 (§3, §2)",
                   "100 persons from room 1 to room 2 against 0, 10, 50, 100 the other way: "
                   "their time increases with the counter-flow",
                   ", ".join(f"{k} against: {('%.0f s' % v) if math.isfinite(v) else 'not all out'}"
                             for k, v in t.items()), "pass" if ok else "fail",
                   notes="Time until the last of the 100 leaves by the far wall of room 2, mean "
                         "of 3 seeds. People heading different ways pass each other by "
                         "exchanging cells (proposed with probability 0.5 per step); without "
                         "exchanges the streams lock solid in the corridor.")


def nist11() -> Outcome:
    lines, ok = [], True
    for variant, cdf in (("base", lambda x: np.clip((x - 10) / 90, 0, 1)),
                         ("lognormal", lambda x: _lognorm_cdf(x, 4.586, 0.967))):
        starts = []
        for s in range(1, 6):
            m = Engine(scenario("nist11_premovement", variant), s)
            starts.extend(m.agents_state["start_s"].tolist())
        x = np.sort(starts)
        n = x.size
        f = cdf(x)
        d = float(max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n)))
        crit = 1.36 / math.sqrt(n)
        ok &= d < crit
        lines.append(f"{'uniform' if variant == 'base' else variant}: KS {d:.3f} (critical {crit:.3f})")
    return Outcome("NIST 1.1", "Pre-evacuation time distributions", "NIST TN 1822 Verif.1.1 (§2)",
                   "start times fit the assigned distribution (KS test, alpha 0.05)",
                   "; ".join(lines), "pass" if ok else "fail",
                   notes="10 occupants x 5 seeds per distribution; RiMEA 5 checks that each "
                         "starts at its drawn time. Gamma and Weibull are not offered.")


def _lognorm_cdf(x, mu, sigma):
    from math import erf, log, sqrt

    return np.array([0.5 * (1 + erf((log(v) - mu) / (sigma * sqrt(2)))) if v > 0 else 0.0
                     for v in x])


def nist210() -> Outcome:
    control = [run("nist210_impaired", "control", seed=s).time_s for s in SEEDS]
    impaired = [run("nist210_impaired", "impaired", seed=s).time_s for s in SEEDS]
    # (not NIST's criterion: the same number of people, one of them slow)
    same = [run("nist210_impaired", "control_25", seed=s).time_s for s in SEEDS]
    ok = all(i > c for i, c in zip(impaired, control))
    return Outcome("NIST 2.10", "People with movement disabilities", "NIST TN 1822 Verif.2.10 (§2)",
                   "24 occupants plus one slower one: the evacuation takes longer than the "
                   "control without the impaired occupant",
                   f"control {_fmt_list(control)}; with the impaired occupant "
                   f"{_fmt_list(impaired)} (25 able occupants: {_fmt_list(same)})",
                   "pass" if ok else "fail", notes="The impaired occupant walks at 0.5 m/s but "
                   "takes one cell like everyone (NIST's is also larger) and does not slow "
                   "those behind beyond the door queue. Against 25 able occupants (the slower "
                   "one replaced by an able one, which NIST does not ask) the total does not "
                   "always grow: when the slower one starts near the door it is out before "
                   "the queue clears.")


def nist33() -> Outcome:
    def share(variant):
        vals = []
        for s in SEEDS:
            c = run("nist33_affiliation", variant, seed=s).exit_counts()
            vals.append(c["exit2"] / (c["exit1"] + c["exit2"]))
        return float(np.mean(vals))
    base, familiar = share("base"), share("familiar")
    ok = familiar > base
    return Outcome("NIST 3.3", "Affiliation (familiar exits)", "NIST TN 1822 Verif.3.3 (§2)",
                   "occupants prefer a familiar exit: knowing only exit 2 raises its use",
                   f"exit 2 share {base:.0%} when all know both, {familiar:.0%} when a quarter "
                   "know only exit 2", "pass" if ok else "fail")


def nist41() -> Outcome:
    m = run("nist41_exit_closes")
    used = m.building.exits[m.agents_state["exit_used"][0]].name
    found = any(e["kind"] == "found_locked" for e in m.events)
    ok = used == "exit2"
    return Outcome("NIST 4.1", "Dynamic availability of exits", "NIST TN 1822 Verif.4.1 (§2)",
                   "an occupant heading for exit 1; exit 1 becomes unavailable at t = 1 s: it "
                   "leaves by exit 2", f"left by {used} at {m.time_s:.1f} s"
                   + (" after finding exit 1 locked" if found else ""), "pass" if ok else "fail",
                   notes="The occupant learns of the closure on arriving at exit 1 (drillsim's "
                         "discovery rule), then turns back.")


def _door_flow(name: str) -> tuple[float, float]:
    flows = []
    for s in (1, 2):
        m = run(name, seed=s)
        t = np.sort(m.agents_state["out_time_s"])
        n = t.size
        i0, i1 = int(0.1 * n), int(0.9 * n)
        flows.append((i1 - i0) / (t[i1] - t[i0]))
    width = m.building.exits[0].width_m
    return width, float(np.mean(flows))


def nist52() -> Outcome:
    width, flow = _door_flow("doorflow_12dm")
    cap = scenario("doorflow_12dm").params.max_specific_flow
    ok = flow / width <= cap
    return Outcome("NIST 5.2", "Maximum flow rates", "NIST TN 1822 Verif.5.2 (§2)",
                   "the flow does not exceed the model's stated maximum (reading A: a cap set "
                   f"and checked; drillsim's is {cap} P/(m s))",
                   f"{flow / width:.2f} P/(m s) through {width:.1f} m", "pass" if ok else "fail")


def doorflow(figure_dir: Path | None = None) -> Outcome:
    rows = [_door_flow(f"doorflow_{k:02d}dm") for k in (8, 12, 16, 20, 24)]
    widths = np.array([w for w, _ in rows])
    flows = np.array([f for _, f in rows])
    spec = flows / widths
    ok = bool(np.all((spec >= 1.3) & (spec <= 2.0)) and np.all(np.diff(flows) > 0))
    fig = _plot_doorflow(widths, flows, figure_dir) if figure_dir is not None else None
    return Outcome("Door flow", "Flow through a door against its width",
                   "SFPE (§4.2); Seyfried et al. 2009, Liao et al. 2014 (§4.3)",
                   "specific flow 1.3-2.0 P/(m s) (SFPE 1.3; experiments ~1.9 at 0.8-1.2 m), "
                   "flow rising with width", "; ".join(f"{w:.1f} m: {f:.2f} P/s = {f / w:.2f} "
                                                       "P/(m s)" for w, f in rows),
                   "pass" if ok else "fail", figure=fig,
                   notes=f"Deviation from J = 1.9 b: {np.mean(np.abs(spec - 1.9)):.2f} P/(m s) "
                         f"on average; from SFPE 1.3: {np.mean(spec - 1.3):+.2f}. 250 people "
                         "pressing, flow between 10 % and 90 % out.",
                   data={"width": widths.tolist(), "flow": flows.tolist()})


def _plot_doorflow(widths, flows, out: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.8), layout="constrained")
    w = np.linspace(0.6, 2.6, 10)
    ax.plot(w, 1.3 * w, "--", color="#777", label="SFPE design 1.3 P/(m s)")
    ax.plot(w, 1.9 * w, ":", color="#777", label="experiments ~1.9 P/(m s)")
    ax.plot(widths, flows, "o-", color="#1f6fd1", label="drillsim")
    ax.set_xlabel("door width (m)")
    ax.set_ylabel("flow (persons/s)")
    ax.legend()
    ax.grid(alpha=0.3)
    path = out / "door_flow.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path.name


def not_available(id_: str, title: str, source: str, criterion: str) -> Outcome:
    return Outcome(id_, title, source, criterion, "—", "not available",
                   notes="Needs the fire and smoke model (issue 4), which drillsim does not "
                         "have yet.")


def nist25() -> Outcome:
    """Walking speed at constant K follows Frantzich & Nilsson (sim.hazard, §4.5)."""
    from ..kernels.smoke import FN_SLOPE
    expected_v = 1.25 * (1.0 + FN_SLOPE * 1.0)
    times = [float(run("nist25_smoke_speed", seed=s).agents_state["out_time_s"][0])
             for s in SEEDS]
    clear = float(run("nist25_smoke_speed", "clear", seed=1).agents_state["out_time_s"][0])
    speeds = [100.0 / t for t in times]
    ok = all(abs(v / expected_v - 1.0) <= 0.03 for v in speeds) and clear < min(times)
    return Outcome("NIST 2.5", "Reduced visibility vs walking speed",
                   "NIST TN 1822 Verif.2.5 (§2, §4.5)",
                   "one person, 100 m corridor, 1.25 m/s clear, K = 1 /m: speed follows the "
                   f"declared relation (Frantzich & Nilsson: {expected_v:.3f} m/s) within 3 %",
                   f"{np.mean(speeds):.3f} m/s ({_fmt_list(times)}; clear air {clear:.1f} s)",
                   "pass" if ok else "fail", data={"times": times, "clear": clear},
                   notes="The smoke is a fixed atmosphere ([[atmosphere]], K = 1 /m over the "
                         "corridor). drillsim declares Frantzich & Nilsson (2003), v = v0 "
                         "(1 - 0.0807 K), never below 0.1 v0 (docs/hazards.md).")


def nist26() -> Outcome:
    """Time to FED = 1 at constant gases against the hand calculation (§4.6)."""
    # The hand calculation, from the per-minute forms in §4.6 (independent of the kernel):
    # FED_CO = 2.764e-5 [CO]^1.036 /min, V_CO2 = exp(0.1930 %CO2 + 2.0004) / 7.1,
    # FED_O2 = 1 / exp(8.13 - 0.54 (20.9 - %O2)) /min.
    per_min = 2.764e-5 * 5000.0 ** 1.036 * math.exp(0.1930 * 2.0 + 2.0004) / 7.1 \
        + 1.0 / math.exp(8.13 - 0.54 * (20.9 - 18.0))
    rate = per_min / 60.0
    expected = 1.0 / rate
    m = run("nist26_fed", seed=1)
    got = float(m.agents_state["fed_time_s"][0])
    ok = abs(got - expected) <= m.dt_s + 1e-9
    return Outcome("NIST 2.6", "Occupant incapacitation (FED)",
                   "NIST TN 1822 Verif.2.6 (§2, §4.6)",
                   "CO 5000 ppm, CO2 2 %, O2 18 %: time to FED = 1 equals the hand calculation "
                   f"1 / ({rate:.4e} /s) = {expected:.1f} s within one step ({m.dt_s} s)",
                   f"{got:.2f} s", "pass" if ok else "fail",
                   data={"expected_s": expected, "measured_s": got},
                   notes="The gases are a fixed atmosphere over the room; the expected time is "
                         "computed from the per-minute forms of the equations (Purser, as in "
                         "FDS+Evac), independently of the kernel that accumulates the dose.")


CASES = [rimea01, imo01, rimea02, rimea03, rimea04, rimea05, rimea06, rimea07, nist24, rimea08,
         rimea09, rimea10, rimea11, rimea12, rimea13, rimea14, rimea15, imo04, imo08, nist11,
         nist210, nist33, nist41, nist52, doorflow, nist25, nist26]
SLOW = {rimea04}
WITH_FIGURE = {rimea04, doorflow}
