"""Fire and smoke (sim.hazard, sim.kernels.smoke): t² growth, mass balance, stability, doors,
walking in smoke, dose and incapacitation, detectors, tenability, and the summary."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.building import EXIT
from sim.engine import nearest_free_cell
from sim.hazard import NFPA_ALPHA, Fire
from sim.hazardrun import FireState
from sim.kernels import smoke as K
from sim.kernels.movement import CASUALTY
from sim.model import EvacuationModel
from sim.record import build_record
from sim.run import format_summary, summarise
from tests.worlds import building_doc, make_scenario, one_lane_stair
from trainer.draw import describe_event

# Two rooms joined by a named door D; the exit X is in the far room, so smoke must pass the
# door to be lost.
TWO_ROOMS = [
    "#######################",
    "#f.........#g.........#",
    "#..........#..........#",
    "#..........D..........X",
    "#..........D..........X",
    "#..........#..........#",
    "#######################",
]


def two_rooms(door_state="open"):
    return building_doc(TWO_ROOMS, {"east": "X"},
                        doors={"middle": {"symbol": "D", "state": door_state}},
                        regions={"fire_room": {"symbol": "f"}, "far_room": {"symbol": "g"}})


def fire_scenario(door_state="open", occupants=None, **top):
    top.setdefault("fires", [{"name": "fire", "region": "fire_room", "growth": "fast",
                              "max_kw": 500}])
    top.setdefault("time_limit_s", 120)
    occ = occupants or [{"count": 1, "region": "far_room", "premove_s": 100000}]
    return make_scenario(two_rooms(door_state), occ, **top)


def test_t_squared_growth_matches_the_nfpa_classes():
    # reference/verification.md §4.7: time to 1055 kW is 600, 300, 150 and 75 s.
    for cls, t_1055 in (("slow", 600), ("medium", 300), ("fast", 150), ("ultrafast", 75)):
        fs = FireState(Fire("f", "r", None, NFPA_ALPHA[cls], 5000.0, 10.0, 60.0),
                       np.array([0]))
        assert fs.hrr_kw(10.0 + t_1055) == pytest.approx(1055, rel=0.01)
        for t in (0.0, 30.0, 90.0):
            assert fs.hrr_kw(10.0 + t) == pytest.approx(NFPA_ALPHA[cls] * t * t)
        assert fs.hrr_kw(5.0) == 0.0  # not started
        assert fs.hrr_kw(10.0 + 10 * t_1055) == 5000.0  # capped


def test_check_lists_a_fire_a_variant_changes_and_what_its_row_left_out():
    # A variant that gives its fire anew and leaves out the origin moves the fire to the
    # middle of its room: the listing shows it.
    from sim.variantdiff import variant_changes

    fires = [{"name": "fire", "region": "fire_room", "growth": "fast", "max_kw": 500,
              "origin_m": [1.0, 1.0]}]
    faster = {"v": {"fires": [{"name": "fire", "region": "fire_room", "growth": "ultrafast",
                               "max_kw": 500}]}}
    base = fire_scenario(fires=fires, variants=faster)
    v = fire_scenario(fires=fires, variants=faster, variant="v")
    assert variant_changes(base, v) == [
        f"fire 'fire': origin_m (1, 1) -> none; alpha_kw_s2 {NFPA_ALPHA['fast']:g} -> "
        f"{NFPA_ALPHA['ultrafast']:g}"]
    assert variant_changes(v, base)[0].startswith("fire 'fire': origin_m none -> (1, 1); ")


def test_suppression_decays_or_holds_the_fire():
    fire = Fire("f", "r", None, 0.1, 5000.0, 0.0, 30.0)
    fs = FireState(fire, np.array([0]))
    fs.suppressed_kw, fs.suppressed_s, fs.mode = fs.hrr_kw(100.0), 100.0, "extinguish"
    assert fs.hrr_kw(130.0) == pytest.approx(1000.0 * math.exp(-1.0))
    fs.mode = "control"
    assert fs.hrr_kw(500.0) == pytest.approx(1000.0)


def test_smoke_mass_is_conserved_in_a_closed_room_apart_from_the_source():
    # The exit is locked and doors do not leak: nothing leaves; the smoke in the air must be
    # exactly the fuel burned (midpoint rule, as the model integrates the source).
    sc = fire_scenario(locked=["east"], hazard={"door_leakage": 0.0}, time_limit_s=60)
    m = EvacuationModel(sc, 1, make_handles=False)
    hz = m.hazard
    burned = 0.0
    for _ in range(300):
        t = m.time_s
        burned += hz.fires[0].hrr_kw(t + 0.5 * m.dt_s) / 1000.0 / 20.0 * m.dt_s
        m.step()
    in_air = hz.y.sum() * hz.volume_m3
    assert burned > 0.01
    assert in_air == pytest.approx(burned, rel=1e-9)
    assert hz.y.min() >= 0.0


def test_open_exits_lose_smoke():
    closed = EvacuationModel(fire_scenario(locked=["east"], hazard={"door_leakage": 0.0}), 1,
                             make_handles=False).run(400)
    open_ = EvacuationModel(fire_scenario(), 1, make_handles=False).run(400)
    assert open_.hazard.y.sum() < closed.hazard.y.sum()


def test_a_self_closing_exit_door_lets_smoke_out_only_by_leakage_and_slows_passing():
    """An exit declared ``state = "closed"`` (a self-closing door to the outside) is a closed
    door for the smoke: out through it goes what a locked exit lets out, far less than through
    an open one. People pass it, slowed as by a closed door (opening it)."""
    def run(exit_state, **top):
        doc = two_rooms()
        doc["exits"]["east"]["state"] = exit_state
        sc = make_scenario(doc, [{"count": 1, "region": "far_room", "premove_s": 100000}],
                           fires=[{"name": "fire", "region": "fire_room", "growth": "fast",
                                   "max_kw": 500}], time_limit_s=120, **top)
        return EvacuationModel(sc, 1, make_handles=False).run(400)

    open_, closed, locked = run("open"), run("closed"), run("open", locked=["east"])
    assert open_.hazard.y.sum() < 0.9 * closed.hazard.y.sum()
    assert closed.hazard.y.sum() == pytest.approx(locked.hazard.y.sum(), rel=1e-12)
    cells = open_.building.exits[0].cells
    assert (closed.hazard.g[cells] == 0.01).all() and (open_.hazard.g[cells] == 1.0).all()
    factor = closed.params.closed_door_factor
    assert np.allclose(closed.grid["factor"][cells], factor * open_.grid["factor"][cells])
    # and they get out through it
    doc = two_rooms()
    doc["exits"]["east"]["state"] = "closed"
    sc = make_scenario(doc, [{"count": 5, "region": "far_room", "premove_s": 1}],
                       time_limit_s=120)
    assert EvacuationModel(sc, 1, make_handles=False).run().exit_counts() == {"east": 5}


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(0.05, 5.0), st.integers(1, 6))
def test_spread_keeps_smoke_positive_and_bounded(seed, diffusivity, extra_sub):
    """With the sub-steps chosen by ``substeps`` (and more), no cell goes negative or above
    the largest initial value, and without sources or sinks the total is unchanged."""
    rng = np.random.default_rng(seed)
    w, h = 12, 10
    g = np.zeros(w * h)
    for r in range(1, h - 1):
        g[r * w + 1:r * w + w - 1] = rng.choice([0.0, 0.05, 1.0], w - 2, p=[0.1, 0.1, 0.8])
    y = np.where(g > 0, rng.random(w * h), 0.0)
    total, top = y.sum(), y.max()
    empty_ptr = np.zeros(w * h + 1, dtype=np.int32)
    none_i, none_f = np.zeros(0, dtype=np.int32), np.zeros(0)
    n_sub = K.substeps(diffusivity, 0.15, 0.4, empty_ptr, none_f) + extra_sub - 1
    K.spread(y, np.zeros_like(y), g, np.zeros(w * h, dtype=np.bool_), np.zeros(w * h), 1.0, w,
             0.15, 0.4, diffusivity, empty_ptr, none_i, none_f, n_sub)
    assert y.min() >= -1e-15
    assert y.max() <= top + 1e-12
    assert y.sum() == pytest.approx(total, rel=1e-12)


def test_substeps_follow_the_stability_condition():
    ptr = np.zeros(11, dtype=np.int32)
    none = np.zeros(0)
    # 4 D h / dx² <= 0.9 per sub-step
    for d in (0.1, 1.0, 5.0):
        n = K.substeps(d, 0.15, 0.4, ptr, none)
        assert 4 * d * (0.15 / n) / 0.16 <= 0.9 + 1e-12
        assert n == 1 or 4 * d * (0.15 / (n - 1)) / 0.16 > 0.9


def test_a_door_closed_before_the_fire_keeps_the_far_room_tenable_longer():
    def far_room_untenable(door):
        sc = fire_scenario(door, time_limit_s=600,
                           fires=[{"name": "fire", "region": "fire_room", "growth": "fast",
                                   "max_kw": 1000}])
        m = EvacuationModel(sc, 1, make_handles=False).run()
        s = summarise(m, 0.0)
        return s["regions"]["far_room"]["untenable_s"], m

    t_open, m_open = far_room_untenable("open")
    t_closed, m_closed = far_room_untenable("closed")
    assert t_open is not None
    assert t_closed is None or t_closed > 2 * t_open
    far = m_open.building.region("far_room").cells
    assert m_closed.hazard.out["k"][far].mean() < 0.5 * m_open.hazard.out["k"][far].mean()


def test_walking_in_smoke_follows_frantzich_nilsson_with_its_floor():
    y = np.array([0.0, 1e-3, 1e-2, 1.0])
    fixed = {k: np.full(4, -1.0) for k in ("k", "co", "co2", "o2", "t")}
    out = {k: np.zeros(4) for k in ("k", "speed", "fed_rate", "temp")}
    p = {"soot_k": 435.0, "co_ppm_per": 1.0, "co2_pct_per": 0.0, "o2_pct_per": 0.0,
         "dtemp_per": 0.0, "speed_floor": 0.1, "fn_slope": K.FN_SLOPE}
    K.conditions(y, fixed, p, out)
    assert out["k"] == pytest.approx(435.0 * y)
    assert out["speed"][0] == 1.0
    assert out["speed"][1] == pytest.approx(1 - 0.057 / 0.706 * 0.435)
    assert out["speed"][3] == 0.1  # K = 435 /m: the floor


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(200, 6000), st.integers(1, 2))
def test_conditions_are_the_same_on_one_thread_and_on_two(seed, n, threads):
    """Both compilations of the conditions kernel (one thread below
    ``CONDITIONS_SERIAL_BELOW`` cells, the threads above) give the same values bit for bit,
    with smoke from none to lethal and fixed atmospheres in some cells."""
    import numba

    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < 0.6, rng.lognormal(-6.0, 3.0, n), 0.0)
    fixed = {k: np.where(rng.random(n) < 0.1, rng.uniform(0.0, hi, n), -1.0)
             for k, hi in (("k", 5.0), ("co", 9000.0), ("co2", 8.0), ("o2", 21.0), ("t", 200.0))}
    p = {"soot_k": 435.0 * 0.015, "co_ppm_per": 0.04 / 1.165 * 1e6,
         "co2_pct_per": 1.5 / 1.83 * 100.0, "o2_pct_per": 20.0 / 13.1 / 1.331 * 100.0,
         "dtemp_per": 0.7 * 20.0e3 / 1.204, "speed_floor": 0.1, "fn_slope": K.FN_SLOPE}
    outs = []
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        for run in (K._conditions_serial, K._conditions):
            out = {k: np.full(n, np.nan) for k in ("k", "speed", "fed_rate", "temp")}
            run(y, fixed["k"], fixed["co"], fixed["co2"], fixed["o2"], fixed["t"],
                p["soot_k"], p["co_ppm_per"], p["co2_pct_per"], p["o2_pct_per"],
                p["dtemp_per"], p["speed_floor"], p["fn_slope"], out["k"], out["speed"],
                out["fed_rate"], out["temp"])
            outs.append(out)
    finally:
        numba.set_num_threads(before)
    for k in outs[0]:
        assert not np.isnan(outs[0][k]).any()
        np.testing.assert_array_equal(outs[0][k], outs[1][k])
    assert (outs[0]["fed_rate"] > 0).any() and (outs[0]["speed"] < 1).any()


def test_an_incapacitated_occupant_is_a_casualty_and_stays_put():
    sc = make_scenario(two_rooms(), [{"count": 2, "region": "far_room", "premove_s": 100000}],
                       atmosphere=[{"region": "far_room", "co_ppm": 8000, "co2_pct": 3.0}],
                       time_limit_s=400)
    m = EvacuationModel(sc, 1, make_handles=False)
    cells = m.agents_state["cell"][:2].copy()
    m.run()
    a = m.agents_state
    assert np.all(a["state"][:2] == CASUALTY)
    assert np.array_equal(a["cell"][:2], cells)
    s = summarise(m, 0.0)
    assert s["casualties"] == 2 and s["harmed"] == 2 and s["peak_fed"] >= 1.0
    assert s["evacuation_time_s"] is None
    # The Mesa facade's series count them, and with those inside and out make up everyone.
    df = m.datacollector.get_model_vars_dataframe()
    assert df["casualties"].iloc[0] == 0 and df["casualties"].iloc[-1] == 2
    assert ((df["inside"] + df["evacuated"] + df["casualties"]) == 2).all()


def lying_and_walking(doc, lying: str, walking: str, premove_s: float):
    """A run (``run(**model)``) of one occupant overcome in region ``lying`` (a lethal
    atmosphere there) and one in ``walking``, who starts after ``premove_s``."""
    groups = [{"count": 1, "region": lying, "premove_s": 100000},
              {"count": 1, "region": walking, "premove_s": premove_s}]

    def run(**model):
        sc = make_scenario(doc, groups, time_limit_s=400, model=model,
                           atmosphere=[{"region": lying, "co_ppm": 8000, "co2_pct": 3.0}])
        return EvacuationModel(sc, 1, make_handles=False).run()

    return run


def test_a_casualty_in_a_corridor_is_stepped_over():
    """A one-cell-wide corridor: someone overcome by smoke in its middle (a lethal atmosphere in
    one cell), someone else starting later from the west end, heading for the east exit."""
    rows = ["#" * 32, "#" + "." * 30 + "E", "#" * 32]
    doc = building_doc(rows, {"east": "E"},
                       regions={"west_end": {"rect_m": [1.0, 0, 1.4, 5], "floor": "ground"},
                                "middle": {"rect_m": [6.0, 0, 6.4, 5], "floor": "ground"}})
    run = lying_and_walking(doc, "middle", "west_end", 250)
    m = run()
    a = m.agents_state
    lying = int(np.flatnonzero(a["state"][:2] == CASUALTY)[0])
    assert m.count_inside() == 0 and m.exit_counts() == {"east": 1}  # the walker got out
    middle = int(m.building.region("middle").cells[0])
    assert a["cell"][lying] == middle - 1  # left where the walker stood, one cell west
    assert m.grid["occ"][middle - 1] == lying and m.grid["occ"][middle] == -1
    # Without it (stepping over has the swap rule's probability) the corridor is walled off.
    m = run(swap_probability=0.0)
    assert m.count_inside() == 1


def test_a_casualty_at_the_foot_of_a_stair_flight_is_stepped_over():
    """A one-lane stair: its flight's lower end is linked to one landing cell, where someone
    lies overcome (a lethal atmosphere there). Someone coming down later steps over them
    across the link, as over a casualty in a corridor."""
    run = lying_and_walking(one_lane_stair(), "landing", "upper", 200)
    m = run()
    a = m.agents_state
    assert a["state"][0] == CASUALTY and a["fed_time_s"][0] < 200  # overcome before the other
    assert m.exit_counts() == {"east": 1} and m.count_inside() == 0  # starts down the stair
    b = m.building
    landing = int(b.region("landing").cells[0])
    assert b.link_ptr[landing + 1] > b.link_ptr[landing]  # (the flight's end is linked to it)
    assert a["cell"][0] != landing  # left at the flight's end, where the walker stood
    # Without it, the stair is walled off.
    assert run(swap_probability=0.0).count_inside() == 1


def test_detector_fires_and_raises_the_alarm():
    sc = fire_scenario(occupants=[{"count": 3, "region": "far_room", "premove_s": 5}],
                       detectors=[{"name": "d", "region": "fire_room"}],
                       timeline=[{"id": "alarm", "action": "alarm", "when": "detector",
                                  "detector": "d"}], time_limit_s=300)
    m = EvacuationModel(sc, 1, make_handles=False).run()
    s = summarise(m, 0.0)
    fired = s["detectors"]["d"]
    assert fired is not None and fired > 0
    alarm = next(r for r in s["timeline"] if r["id"] == "alarm")
    assert alarm["actual_s"] == pytest.approx(fired, abs=2 * sc.dt_s)
    assert s["first_out_s"] > fired + 5


def test_smoke_starts_those_no_alarm_has_reached_and_only_them():
    # The alarm is scripted for later than the run lasts; the fire room is smoke-logged (a
    # fixed atmosphere), the far room clear. Those in smoke start their pre-movement time at the
    # first check (1 s) and leave; the others wait for the alarm.
    occ = [{"count": 3, "region": "fire_room", "premove_s": 5},
           {"count": 3, "region": "far_room", "premove_s": 5},
           {"count": 1, "region": "fire_room", "profile": "bedridden"}]

    def run(**hazard):
        sc = make_scenario(two_rooms(), occ, time_limit_s=30, hazard=hazard,
                           atmosphere=[{"region": "fire_room", "extinction_per_m": 0.5}],
                           timeline=[{"id": "alarm", "action": "alarm", "at_s": 25}])
        m = EvacuationModel(sc, 1, make_handles=False)
        m.run(max_steps=round(20 / sc.dt_s))
        return m, summarise(m, 0.0)

    m, s = run()
    a = m.agents_state
    # (occupants are numbered in the order of their cells: find the groups by where they were)
    smoky = np.isin(m.frames[0].cell[:7], m.building.region("fire_room").cells) & \
        ~m.needs_assist[:7]
    assert smoky.sum() == 3
    assert np.all(a["start_s"][:7][smoky] == pytest.approx(1.0 + 5.0, abs=m.dt_s))
    assert np.all(a["state"][:7][smoky] != 0)  # moving or out
    assert np.all(np.isinf(a["start_s"][:7][~smoky])) and np.all(a["state"][:7][~smoky] == 0)
    assert s["noticed_smoke"] == 3 and m.noticed_smoke == 3
    ev = [e for e in s["events"] if e["kind"] == "noticed_smoke"]
    assert len(ev) == 1 and ev[0]["occupants"] == 3
    assert ev[0]["time_s"] == pytest.approx(1.0, abs=m.dt_s)  # (conditions: every 7 steps)
    assert "3 started to leave on noticing smoke" in format_summary(s)
    # The same with the scenario's alarm at 25 s instead of a drill's: those in smoke start
    # at once, the others at the alarm.
    sc = make_scenario(two_rooms(), occ[:2], time_limit_s=60, alarm_s=25,
                       atmosphere=[{"region": "fire_room", "extinction_per_m": 0.5}])
    m = EvacuationModel(sc, 1, make_handles=False)
    smoky = np.isin(m.agents_state["cell"][:6], m.building.region("fire_room").cells)
    m.run(max_steps=round(20 / sc.dt_s))
    start = m.agents_state["start_s"][:6]
    assert np.all(start[smoky] == pytest.approx(6.0, abs=m.dt_s))
    assert np.all(start[~smoky] == 30.0) and m.noticed_smoke == 3
    # Thinner smoke than the level, or the rule turned off: nobody starts before the alarm.
    for hazard in ({"notice_extinction_per_m": 0.6}, {"notice_extinction_per_m": 0.0}):
        m, s = run(**hazard)
        assert np.all(np.isinf(m.agents_state["start_s"][:7])) and s["noticed_smoke"] == 0
        assert "noticing smoke" not in format_summary(s)


def test_summary_reports_exposure_and_regions():
    sc = fire_scenario(occupants=[{"count": 5, "region": "far_room", "premove_s": 60}],
                       time_limit_s=600)
    m = EvacuationModel(sc, 1, make_handles=False).run()
    s = summarise(m, 0.0)
    for key in ("harmed", "peak_fed", "occupant_seconds_in_smoke", "regions", "casualties"):
        assert key in s
    assert s["occupant_seconds_in_smoke"] > 0
    assert 0 < s["peak_fed"] < 1
    assert s["regions"]["far_room"]["cleared_s"] == pytest.approx(s["evacuation_time_s"],
                                                                  abs=1.0)
    assert s["regions"]["fire_room"]["untenable_s"] is not None
    assert s["regions"]["fire_room"]["cleared_s"] == 0.0  # nobody was ever there
    printed = {line.split()[0]: line for line in format_summary(s).splitlines()
               if "untenable at" in line}
    assert printed["fire_room"].endswith("nobody there")
    assert "cleared 1 min" in printed["far_room"]  # (untenable at 50 s, left after it)
    # A region someone never left: "still occupied" while anyone inside could still leave;
    # with nobody inside (the residential tower's rear_locked: 18 overcome), casualties.
    held = dict(s, regions=dict(s["regions"], far_room=dict(s["regions"]["far_room"],
                                                            cleared_s=None)))
    for inside, said in ((2, "not cleared  (still occupied)"),
                         (0, "not cleared  (casualties there)")):
        line = next(x for x in format_summary(dict(held, inside=inside)).splitlines()
                    if x.split()[:1] == ["far_room"])
        assert line.endswith(said) and "cleared -" not in line
    # The run ends when everyone is out; the fire has grown as 0.0469 t² until then.
    assert s["peak_hrr_kw"] == pytest.approx(min(500.0, 0.0469 * s["simulated_s"] ** 2),
                                             rel=0.02)


def test_no_region_is_cleared_after_everyone_is_out():
    # Occupancy is seen at the frames (every 1.05 s here): the lobby, where the last people
    # leave by the main exit, was reported cleared up to a frame after the last of them left.
    from sim.run import run_scenario
    from sim.scenario import load_scenario, resolve_scenario_path

    s = run_scenario(load_scenario(resolve_scenario_path("karaoke"), "emergency_locked", 2))
    last = s["evacuation_time_s"]
    cleared = {name: r["cleared_s"] for name, r in s["regions"].items()}
    assert last is not None and s["simulated_s"] > last + 60  # (the drill went on after)
    assert all(0 <= t <= last for t in cleared.values())
    assert last - 1.05 <= cleared["lobby"]


def test_occupants_avoid_a_smoke_logged_route_when_another_exists():
    # A hall 16 m long with an exit at each end; everyone starts in the middle. The last 4 m
    # before the west exit are smoke-logged (a fixed atmosphere, K = 3 /m).
    rows = ["#" * 42] + ["W" + "." * 40 + "E"] * 3 + ["#" * 42]
    doc = building_doc(rows, {"west": "W", "east": "E"},
                       regions={"middle": {"rect_m": [7.0, 0.0, 10.2, 5.0], "floor": "ground"},
                                "west_end": {"rect_m": [0.0, 0.0, 4.4, 5.0],
                                             "floor": "ground"}})
    occ = [{"count": 20, "region": "middle", "premove_s": 0}]
    clear = EvacuationModel(make_scenario(doc, occ, time_limit_s=200), 1,
                            make_handles=False).run()
    smoky = EvacuationModel(make_scenario(doc, occ, time_limit_s=200, atmosphere=[
        {"region": "west_end", "extinction_per_m": 3.0}]), 1, make_handles=False).run()
    assert clear.exit_counts()["west"] >= 6
    assert smoky.exit_counts()["west"] <= clear.exit_counts()["west"] // 3


def _diffuse_reference(y, g, sink, source, width, coef, link_ptr, link_to, link_coef, src):
    """The spread rule, written plainly: pairwise exchange with the smaller conductance."""
    out = y.copy()
    for c in range(y.size):
        if g[c] <= 0:
            continue
        if sink[c]:
            out[c] = 0.0
            continue
        acc = sum(min(g[c], g[j]) * (y[j] - y[c]) for j in (c - 1, c + 1, c - width, c + width)
                  if g[j] > 0) * coef
        acc += sum(min(g[c], g[link_to[k]]) * link_coef[k] * (y[link_to[k]] - y[c])
                   for k in range(link_ptr[c], link_ptr[c + 1]) if g[link_to[k]] > 0)
        out[c] = y[c] + acc + source[c] * src
    return out


def test_spread_kernel_matches_the_plain_rule():
    rng = np.random.default_rng(7)
    w, h = 9, 7
    n = w * h
    g = np.zeros(n)
    for r in range(1, h - 1):
        g[r * w + 1:r * w + w - 1] = rng.choice([0.0, 0.01, 1.0], w - 2, p=[0.2, 0.2, 0.6])
    y = np.where(g > 0, rng.random(n), 0.0)
    sink = np.zeros(n, dtype=np.bool_)
    sink[2 * w + w - 2] = True
    source = np.zeros(n)
    source[3 * w + 3] = 0.5
    # two links, both ways, between cells far apart (a stair flight)
    a_, b_ = 1 * w + 1, 5 * w + 6
    links = sorted([(a_, b_, 0.8), (b_, a_, 0.8)])
    ptr = np.zeros(n + 1, dtype=np.int32)
    for s_, _, _ in links:
        ptr[s_ + 1] += 1
    ptr = np.cumsum(ptr).astype(np.int32)
    to = np.array([t for _, t, _ in links], dtype=np.int32)
    coef_l = np.array([0.05 for _ in links])
    east, south, kind, special = K.diffusion_faces(g, sink, w, ptr)
    assert a_ in special and b_ in special
    for kernel in (K._diffuse_open, K._diffuse_open_serial):
        out = np.zeros(n)
        kernel(y, out, east, south, kind, source, w, 0.2, 0.1)
        K._diffuse_special(y, out, special, g, sink, source, w, 0.2, ptr, to, coef_l, 0.1)
        assert np.allclose(out, _diffuse_reference(y, g, sink, source, w, 0.2, ptr, to,
                                                   coef_l, 0.1), rtol=0, atol=1e-15)


def test_dose_kernel_matches_the_plain_rule():
    rng = np.random.default_rng(3)
    n_cells, n = 50, 40
    cell = rng.integers(-1, n_cells, n).astype(np.int32)
    state = rng.integers(0, 3, n).astype(np.uint8)
    fed = rng.random(n) * 0.99
    fed[:8] = 0.9999  # some of them will reach 1 this step
    smoke_s = np.zeros(n)
    k = rng.random(n_cells) * 0.3
    rate = rng.random(n_cells) * 0.5
    when = np.full(n, np.inf)
    expect_fed, expect_smoke = fed.copy(), smoke_s.copy()
    inside = (cell >= 0) & (state <= 1)
    expect_fed[inside] += rate[cell[inside]] * 0.15
    expect_smoke[inside & (k[np.maximum(cell, 0)] >= 0.1)] += 0.15
    hit = K.dose(cell, state, fed, smoke_s, k, rate, 0.15, 0.1, 0, n, np.uint8(3),
                 np.uint8(0), np.uint8(1), when, 10.0)
    assert np.allclose(fed, expect_fed) and np.allclose(smoke_s, expect_smoke)
    down = inside & (expect_fed >= 1.0)
    assert 0 < hit == down.sum() and np.all(state[down] == 3) and np.all(when[down] == 10.15)
    assert np.all(np.isinf(when[~down]))


@pytest.mark.parametrize("one_call", [True, False], ids=["one_call", "per_sub_step"])
@pytest.mark.parametrize("extra", [0, 1], ids=["odd", "even"])
@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_spread_matches_the_per_cell_rule_bit_for_bit(one_call, extra, seed):
    """The vectorised spread (faces over shifted views, links and border one by one) gives
    exactly what the plain per-cell rule gives, over several steps, with leaky doors, walls,
    exits as sinks, stair links (one per cell, so the sums are in the same order) and a
    fire: with the sub-steps in one call (small grids) and called one by one (large grids,
    taken here by lowering the threshold), and with an odd and an even number of them (the
    last sub-step writes the spare array, or the field)."""
    rng = np.random.default_rng(seed)
    w, h = 11, 9
    n = w * h
    g = np.zeros(n)
    for r in range(1, h - 1):
        g[r * w + 1:r * w + w - 1] = rng.choice([0.0, 0.05, 1.0], w - 2, p=[0.15, 0.15, 0.7])
    sink = (rng.random(n) < 0.05) & (g > 0)
    y = np.where(g > 0, rng.random(n) * 1e-3, 0.0)
    source = np.where((g > 0) & (rng.random(n) < 0.05), 0.02, 0.0)
    inner = np.flatnonzero(g > 0)
    pairs = rng.choice(inner, size=(3, 2), replace=False) if inner.size >= 6 else \
        np.zeros((0, 2), dtype=np.int64)
    links = sorted([(int(a), int(b)) for a, b in pairs] + [(int(b), int(a)) for a, b in pairs])
    link_ptr = np.zeros(n + 1, dtype=np.int32)
    for a, _ in links:
        link_ptr[a + 1:] += 1
    link_to = np.array([b for _, b in links], dtype=np.int32)
    link_len = np.full(len(links), 1.2)
    n_sub = K.substeps(1.0, 0.15, 0.4, link_ptr, link_len) + extra
    expected = y.copy()
    h_s = 0.15 / n_sub
    coef, link_coef, src = 1.0 * h_s / (0.4 * 0.4), 1.0 * h_s / (0.4 * link_len), h_s / 0.48
    for _ in range(3 * n_sub):
        expected = _diffuse_reference(expected, g, sink, source, w, coef, link_ptr, link_to,
                                      link_coef, src)
    got = y.copy()
    faces = K.diffusion_faces(g, sink, w, link_ptr)
    threshold = K.SERIAL_BELOW
    K.SERIAL_BELOW = n + 1 if one_call else 0
    try:
        for _ in range(3):
            K.spread(got, np.zeros(n), g, sink, source, 0.48, w, 0.15, 0.4, 1.0, link_ptr,
                     link_to, link_len, n_sub, faces)
    finally:
        K.SERIAL_BELOW = threshold
    assert np.array_equal(got, expected)
    assert got.sum() > 0


def test_flames_catch_who_stands_where_they_spread_and_move_who_waits_beside_them():
    # A karaoke visitor, alarmed but in their pre-movement, stood beside the sofa fire until
    # it spread to their cell: counted "overcome by smoke" at a peak FED of 0.001.
    sc = fire_scenario(occupants=[{"count": 3, "region": "fire_room", "premove_s": 1000},
                                  {"count": 1, "region": "far_room", "premove_s": 1000}])
    m = EvacuationModel(sc, 1, make_handles=False)
    a, w = m.agents_state, m.building.width
    cells = a["cell"][:4].copy()
    burning = np.zeros(m.building.n_cells, dtype=bool)
    burning[cells[0]] = True  # the fire reaches the first one's cell
    m.time_s = 12.0
    m.burning_changed(burning)
    beside = {int(cells[0]) + d for d in (-w - 1, -w, -w + 1, -1, 1, w - 1, w, w + 1)}
    assert a["state"][0] == CASUALTY and m.caught_by_fire == 1
    for i in (1, 2, 3):  # those beside it go now; the others still wait their 1,000 s
        assert a["start_s"][i] == (12.0 if int(cells[i]) in beside else
                                   pytest.approx(sc.alarm_s + a["premove_s"][i]))
    assert a["start_s"][3] > 12.0  # (the far room: nowhere near)
    fled = sum(int(cells[i]) in beside for i in (1, 2))
    assert m.fled_fire == fled
    kinds = [(e["kind"], e.get("occupants")) for e in m.events]
    assert ("caught_by_fire", 1) in kinds
    assert (("fled_fire", fled) in kinds) == (fled > 0)
    # Again, with the second one beside the fire for certain.
    m2 = EvacuationModel(sc, 1, make_handles=False)
    burning[:] = False
    burning[int(m2.agents_state["cell"][1]) + 1] = True
    m2.time_s = 5.0
    m2.burning_changed(burning)
    assert m2.agents_state["start_s"][1] == 5.0 and m2.fled_fire >= 1
    # The summary keeps them apart from those the smoke overcame.
    s = summarise(m, 0.0)
    assert s["casualties"] == 1 and s["caught_by_fire"] == 1 and s["fled_fire"] == fled
    text = format_summary(s)
    assert "smoke: 0 incapacitated (FED >= 1)" in text
    assert "    1 caught by the fire where they stood" in text
    assert f"    {m2.fled_fire} still waiting beside the flames left at once" in \
        format_summary(summarise(m2, 0.0))
    # The event of everyone out says it too (the trainer's log reads it from there).
    m.run()
    done = [e for e in m.events if e["kind"] == "all_out"]
    assert done and done[0]["casualties"] >= 1 and done[0]["caught_by_fire"] == 1


def test_staff_the_flames_reach_step_back_to_the_nearest_free_cell_not_on_fire():
    # The restaurant's cook, placed at the range where its gas fire starts (seed 2), stood in
    # the flames, unharmed and in a cell nobody may enter, until the brigade put them out.
    sc = fire_scenario(occupants=[{"count": 6, "region": "fire_room", "premove_s": 1000}],
                       actors=[{"name": "guard", "role": "venue_staff", "start": "fire_room"}])
    m = EvacuationModel(sc, 1, make_handles=False)
    a, g, w = m.agents_state, m.grid, m.building.width
    guard = m.n_occupants
    was = int(a["cell"][guard])
    burning = np.zeros(m.building.n_cells, dtype=bool)
    burning[[was, was - 1, was + 1, was - w, was + w]] = True  # its cell and those beside
    m.time_s = 7.5
    m.burning_changed(burning)
    now = int(a["cell"][guard])
    assert now != was and not burning[now] and g["passable"][now] == 1
    assert a["state"][guard] != CASUALTY and g["occ"][now] == guard and g["occ"][was] == -1
    cells = a["cell"][a["cell"] >= 0]
    assert len(np.unique(cells)) == len(cells)  # (nobody shares a cell)
    assert m.building.kind[now] != EXIT
    # As near as the flames allow: no free cell outside them is nearer in steps.
    dist = abs(now // w - was // w) + abs(now % w - was % w)
    assert dist <= 3
    assert {"time_s": 7.5, "kind": "stepped_back_from_fire", "actor": "guard"} in m.events
    assert describe_event(m.events[-1]) == "guard steps back from the flames"


def test_the_nearest_free_cell_is_reached_round_walls_not_through_them():
    rows = ["#######",
            "#S#...#",  # (the free cells beside S lie across a wall)
            "#o#####",
            "#ooo..#",
            "#######"]
    w = len(rows[0])
    flat = "".join(rows)
    walls = np.array([ch == "#" for ch in flat])
    occ = np.array([0 if ch == "o" else -1 for ch in flat], dtype=np.int32)
    none, no_links = np.zeros(len(flat) + 1, dtype=np.int32), np.zeros(0, dtype=np.int32)
    start = flat.index("S")
    assert nearest_free_cell(start, ~walls, occ, w, none, no_links, walls) == 3 * w + 4
    # A stair link from S leads straight to a free cell: one step.
    link_ptr = none.copy()
    link_ptr[start + 1:] = 1
    assert nearest_free_cell(start, ~walls, occ, w, link_ptr,
                             np.array([1 * w + 5], dtype=np.int32), walls) == 1 * w + 5
    # Fire on every side but the diagonals: out by a diagonal, not round a wall's corner.
    fire = ["#######",
            "#..f..#",
            "#.fS#.#",
            "#..f..#",
            "#######"]
    flat = "".join(fire)
    walls = np.array([ch == "#" for ch in flat])
    open_ = np.array([ch == "." for ch in flat])
    occ = np.full(len(flat), -1, dtype=np.int32)
    start = flat.index("S")
    got = nearest_free_cell(start, open_, occ, w, none, no_links, walls)
    assert got in (1 * w + 2, 3 * w + 2)  # (east, the steps would cut the wall's corners)
    occ[:] = 0  # nowhere free
    assert nearest_free_cell(start, open_, occ, w, none, no_links, walls) == -1


def test_the_record_says_when_each_cell_caught_fire():
    sc = fire_scenario()
    m = EvacuationModel(sc, 1, make_handles=False)
    m.run(max_steps=400)  # (60 s: a fast fire of 500 kW, still growing)
    _, arrays = build_record(m, summarise(m, 0.0))
    since = arrays["cell_burning_s"]
    assert since.dtype == np.float32 and since.shape == (m.building.n_cells,)
    assert np.array_equal(np.isfinite(since), m.burning) and m.burning.sum() > 1
    order = m.hazard.fires[0].cells[:m.burning.sum()]  # (the cells in the order they catch)
    assert np.all(np.diff(since[order]) >= 0) and since[order[0]] == 0.0
    assert since[order[-1]] <= m.time_s


def test_nobody_starts_in_the_cell_where_a_fire_ignites():
    # About one run in a hundred of the karaoke bar and the bathhouse placed someone there,
    # and the fire's first step caught them before anything else happened.
    sc = fire_scenario(occupants=[{"count": 40, "region": "fire_room", "premove_s": 30}])
    m = EvacuationModel(sc, 1, make_handles=False)
    a, g, w = m.agents_state, m.grid, m.building.width
    origin = int(m.hazard.fires[0].cells[0])
    assert g["occ"][origin] == -1
    # Put someone there by hand, as the placement might: moved to the nearest free cell of
    # the fire's room, and the rest stay where they are.
    k = int(np.flatnonzero(a["cell"] >= 0)[0])
    g["occ"][a["cell"][k]] = -1
    a["cell"][k] = origin
    g["occ"][origin] = k
    others = a["cell"].copy()
    m._clear_fire_origins()
    now = int(a["cell"][k])
    assert now != origin and g["occ"][origin] == -1 and g["occ"][now] == k
    room = m.hazard.fires[0].cells
    assert now in set(room.tolist())

    def steps(c):  # (from the origin, in an open room)
        return np.maximum(np.abs(c // w - origin // w), np.abs(c % w - origin % w))

    was_free = room[(g["occ"][room] < 0) & (room != origin) & (g["passable"][room] == 1)]
    assert steps(now) == min(steps(now), steps(was_free).min(initial=99))  # the nearest
    rest = np.arange(len(others)) != k
    assert np.array_equal(a["cell"][rest], others[rest])
    m.run(max_steps=10)
    assert m.caught_by_fire == 0


def test_a_fire_started_later_does_not_start_under_somebody_s_feet():
    # A fire started mid-run (start_s, or an ``ignite`` action) caught whoever stood in its
    # origin at that step.
    sc = fire_scenario(occupants=[{"count": 5, "region": "fire_room", "premove_s": 1000}],
                       fires=[{"name": "fire", "region": "fire_room", "growth": "fast",
                               "max_kw": 500, "start_s": 3.0}])
    m = EvacuationModel(sc, 1, make_handles=False)
    a, g, w = m.agents_state, m.grid, m.building.width
    origin = int(m.hazard.fires[0].cells[0])
    if g["occ"][origin] < 0:  # (somebody stands there when it ignites)
        g["occ"][a["cell"][0]] = -1
        a["cell"][0] = origin
        g["occ"][origin] = 0
    k = int(g["occ"][origin])
    while not m.burning.any():
        m.step()
    now = int(a["cell"][k])
    assert m.burning[origin] and now != origin and not m.burning[now]
    assert max(abs(now // w - origin // w), abs(now % w - origin % w)) == 1
    assert m.caught_by_fire == 0 and a["state"][k] != CASUALTY
    assert a["start_s"][k] <= m.time_s  # (beside the flames: leaving at once)
