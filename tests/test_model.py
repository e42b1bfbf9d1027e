"""The evacuation model: invariants, reproducibility, published checks, exits and changes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import mesa
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sim.building import DOOR, FLIGHT, FLOOR, STAIR
from sim.errors import BuildingError, ScenarioError
from sim.kernels.movement import CARRIED, CASUALTY, EVACUATED, MOVING, WAITING
from sim.model import EvacuationModel, Occupant
from sim.run import run_scenario
from sim.scenario import load_scenario

from worlds import (building_doc, corridor_rows, make_scenario, room_with_exit,
                    serial_and_parallel_runs)

ROOT = Path(__file__).resolve().parents[1]


def check_invariants(m: EvacuationModel) -> None:
    a, g, b = m.agents_state, m.grid, m.building
    state, cell = a["state"], a["cell"]
    inside = (state == WAITING) | (state == MOVING)
    # Everyone is accounted for.
    assert inside.sum() + (state == EVACUATED).sum() + (state == CASUALTY).sum() == m.n_occupants
    # Nobody inside is outside the grid, in a wall, an obstacle, or a locked opening.
    cells = cell[inside]
    assert np.all(cells >= 0) and np.all(cell[~inside] == -1)
    assert np.all(np.isin(b.kind[cells], (FLOOR, DOOR, STAIR, FLIGHT)))
    assert np.all(g["passable"][cells] == 1)
    # No two occupants share a cell, and the occupancy grid agrees with the occupants.
    assert len(np.unique(cells)) == len(cells)
    assert np.array_equal(np.sort(np.flatnonzero(g["occ"] >= 0)), np.sort(cells))
    assert np.all(g["occ"][cells] == np.flatnonzero(inside))


@st.composite
def random_world(draw):
    """A walled room with random obstacles and clutter, one or two exits, some occupants."""
    w = draw(st.integers(4, 14))
    h = draw(st.integers(3, 9))
    inner = draw(st.lists(st.sampled_from("......o~"), min_size=w * h, max_size=w * h))
    grid = [list(inner[r * w:(r + 1) * w]) for r in range(h)]
    east = draw(st.integers(0, h - 1))
    west = draw(st.none() | st.integers(0, h - 1))
    grid[east][-1] = "."
    rows = ["#" * (w + 2)]
    for r in range(h):
        left = "Y" if r == west else "#"
        if r == west:
            grid[r][0] = "."
        rows.append(left + "".join(grid[r]) + ("X" if r == east else "#"))
    rows.append("#" * (w + 2))
    n = draw(st.integers(1, 25))
    locked = draw(st.booleans())
    seed = draw(st.integers(0, 2 ** 16))
    return rows, n, locked, west is not None, seed


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_world(), st.sampled_from([0.0, 0.3]))
def test_invariants_hold_at_every_step(world, quickest_paths_s):
    """... with shortest routes, and with quickest paths marched every other step."""
    rows, n, locked, has_west, seed = world
    exits = {"x": "X", "y": "Y"} if has_west else {"x": "X"}
    doc = building_doc(rows, exits, regions={"all": {"rect_m": [0, 0, 100, 100],
                                                     "floor": "ground"}})
    try:
        sc = make_scenario(doc, [{"count": n, "region": "all",
                                  "premove_s": {"dist": "uniform", "low": 0, "high": 3}}],
                           locked=["x"] if locked and has_west else [],
                           changes=[{"time_s": 2.0, "action": "unlock", "target": "x"}],
                           time_limit_s=30, model={"quickest_paths_s": quickest_paths_s})
    except (BuildingError, ScenarioError):
        assume(False)  # obstacles walled off an area, or too many people for the room
    m = EvacuationModel(sc, seed)
    check_invariants(m)
    while m.running:
        m.step()
        check_invariants(m)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_world(), st.integers(1, 6))
def test_invariants_hold_when_casualties_are_stepped_over(world, n_lying):
    """Some of the crowd lie overcome (made casualties at the start, as smoke would) and the
    rest step over them: nobody is lost or shares a cell, and a casualty only ever moves to
    a neighbouring cell, by the exchange."""
    rows, n, locked, has_west, seed = world
    exits = {"x": "X", "y": "Y"} if has_west else {"x": "X"}
    doc = building_doc(rows, exits, regions={"all": {"rect_m": [0, 0, 100, 100],
                                                     "floor": "ground"}})
    try:
        sc = make_scenario(doc, [{"count": n + n_lying, "region": "all", "premove_s": 0}],
                           time_limit_s=20)
    except (BuildingError, ScenarioError):
        assume(False)
    m = EvacuationModel(sc, seed, make_handles=False)
    a, g, w = m.agents_state, m.grid, m.building.width
    lying = np.arange(n_lying)
    a["state"][lying] = CASUALTY
    m._casualties_on_grid = True  # (as the dose or the fire sets it)

    def check():
        on_grid = np.isin(a["state"], (WAITING, MOVING, CASUALTY))
        cells = a["cell"][on_grid]
        assert on_grid.sum() + (a["state"] == EVACUATED).sum() == m.n_occupants
        assert np.all(cells >= 0) and np.all(g["passable"][cells] == 1)
        assert len(np.unique(cells)) == len(cells)
        assert np.array_equal(np.sort(np.flatnonzero(g["occ"] >= 0)), np.sort(cells))
        assert np.all(g["occ"][cells] == np.flatnonzero(on_grid))
        assert np.all(a["state"][lying] == CASUALTY)

    check()
    while m.running:
        before = a["cell"][lying].copy()
        m.step()
        check()
        dr = np.abs(a["cell"][lying] // w - before // w)
        dc = np.abs(a["cell"][lying] % w - before % w)
        assert np.all((dr <= 1) & (dc <= 1))


def test_same_seed_gives_identical_runs_and_other_seeds_differ():
    sc = load_scenario(ROOT / "scenarios" / "hall.toml", "two_locked")
    runs = [EvacuationModel(sc, s).run(max_steps=400) for s in (5, 5, 6)]
    a, b, c = (r.agents_state for r in runs)
    for key in ("cell", "state", "credit_m", "out_time_s", "known_locked", "lost_s"):
        assert np.array_equal(a[key], b[key]), key
    assert runs[0].events == runs[1].events
    assert not np.array_equal(a["cell"], c["cell"])


def test_a_negative_seed_is_refused_by_the_model_and_the_engine():
    from sim.engine import Engine

    sc = load_scenario(ROOT / "scenarios" / "hall.toml")
    for make in (EvacuationModel, Engine):
        with pytest.raises(ValueError, match="seed must be a whole number >= 0, got -1"):
            make(sc, -1)
    assert EvacuationModel(sc, 0).seed_value == 0  # (0 is a seed like any other)
    for bad in (0.0, -1.0, float("inf")):
        with pytest.raises(ValueError, match="record_every_s must be seconds > 0"):
            Engine(sc, 0, record_every_s=bad)


def one_walker(rows, start_rect, speed=1.33, exits=None):
    doc = building_doc(rows, exits or {"east": "X"},
                       regions={"start": {"rect_m": start_rect, "floor": "ground"}})
    return make_scenario(doc, [{"count": 1, "region": "start", "speed_ms": speed}])


def test_rimea1_one_person_walks_40_m_in_26_to_34_s():
    # Corridor 2 m x 40 m (5 x 100 cells); the walker starts in the first cell, 40 m from the
    # exit cell, at 1.33 m/s: RiMEA 3.0 test 1 allows 26-34 s (nominal 30 s).
    sc = one_walker(corridor_rows(100, 5), [0.9, 1.7, 1.1, 1.9])
    for seed in range(3):
        t = EvacuationModel(sc, seed).run().agents_state["out_time_s"][0]
        assert 26.0 <= t <= 34.0
        assert t == pytest.approx(30.0, rel=0.05)


@pytest.mark.parametrize("start", [(1.0, 1.0), (1.0, 16.2), (16.2, 1.0), (1.0, 24.2)])
def test_free_walking_speed_holds_off_the_grid_axes(start):
    """In an open 32 m square room, time = straight-line distance / speed within 5 %."""
    n = 80
    rows = ["#" * (n + 2)] + ["#" + "." * n + ("X" if r < 2 else "#") for r in range(n)]
    rows.append("#" * (n + 2))
    x, y = start
    sc = one_walker(rows, [x - 0.1, y - 0.1, x + 0.1, y + 0.1], speed=1.2)
    m = EvacuationModel(sc, 0)
    b = m.building
    _, sx, sy = b.cell_position(m.agents_state["cell"][:1])
    _, ex, ey = b.cell_position(b.exits[0].cells)
    expected = np.hypot(ex - sx[0], ey - sy[0]).min() / 1.2
    times = [EvacuationModel(sc, s).run().agents_state["out_time_s"][0] for s in range(3)]
    assert np.mean(times) == pytest.approx(expected, rel=0.05)


def test_occupants_who_know_only_a_locked_exit_turn_back_and_leave_by_another():
    # A 24 m corridor; the group starts in the middle, beyond the 10 m "sight" of either exit.
    rows = ["#" * 62,
            "#" + "." * 60 + "Y",
            "#" + "." * 60 + "#",
            "#" + "." * 60 + "#",
            "X" + "." * 60 + "#",
            "#" * 62]
    doc = building_doc(rows, {"west": "X", "east": "Y"},
                       regions={"start": {"rect_m": [11.6, 0.0, 13.6, 4.0], "floor": "ground"}})
    group = [{"count": 10, "region": "start", "knows": ["east"]}]
    open_ = make_scenario(doc, group)
    locked = make_scenario(doc, group, locked=["east"])
    mo, ml = EvacuationModel(open_, 3).run(), EvacuationModel(locked, 3).run()
    assert mo.exit_counts() == {"west": 0, "east": 10}
    assert ml.exit_counts() == {"west": 10, "east": 0}
    assert ml.discoveries[ml.building.exit_index("east")] >= 1
    assert ml.discoveries.sum() + ml.told == 10  # each learned it, first hand or told
    assert ml.time_s > mo.time_s + 10  # walked to the east end and back
    assert np.all(ml.agents_state["lost_s"] > 0)
    found = [e for e in ml.events if e["kind"] == "found_locked"]
    assert found and found[0]["exit"] == "east"
    # An announcement about another exit ("the north door is closed") does not make the news
    # they pass on about this one uncounted.
    rows[0] = "#Z" + rows[0][2:]
    doc = building_doc(rows, {"west": "X", "east": "Y", "north": "Z"},
                       regions={"start": {"rect_m": [11.6, 0.0, 13.6, 4.0], "floor": "ground"}})
    m = EvacuationModel(make_scenario(doc, group, locked=["east"]), 3)
    m.announce("start", "north", None)
    m.run()
    assert m.exit_counts()["west"] == 10
    assert m.told > 0 and m.discoveries.sum() + m.told == 10


def test_staff_know_which_exits_are_locked():
    rows = ["##############################",
            "#............................Y",
            "X............................#",
            "##############################"]
    doc = building_doc(rows, {"west": "X", "east": "Y"},
                       regions={"start": {"rect_m": [8.0, 0.0, 11.0, 4.0], "floor": "ground"}})
    sc = make_scenario(doc, [{"count": 5, "region": "start", "profile": "staff"}],
                       locked=["east"])
    m = EvacuationModel(sc, 1).run()
    assert m.discoveries.sum() == 0 and m.exit_counts()["west"] == 5


def test_unlocking_mid_run_opens_the_exit_and_clutter_slows():
    rows = corridor_rows(40, 3)
    doc = building_doc(rows, {"east": "X"},
                       regions={"start": {"rect_m": [0.9, 0.9, 2.0, 2.2], "floor": "ground"},
                                "corridor": {"rect_m": [0, 0, 100, 100], "floor": "ground"}})
    group = [{"count": 3, "region": "start", "speed_ms": 1.0}]
    sc = make_scenario(doc, group, locked=["east"],
                       changes=[{"time_s": 60, "action": "unlock", "target": "east"}])
    m = EvacuationModel(sc, 2).run()
    assert m.agents_state["out_time_s"].min() >= 60.0
    assert m.count_inside() == 0
    assert any(e["kind"] == "unlock" and e["time_s"] == pytest.approx(60, abs=0.2)
               for e in m.events)
    free = EvacuationModel(make_scenario(doc, group), 2).run().time_s
    slow = EvacuationModel(make_scenario(doc, group, clutter=[{"region": "corridor",
                                                               "speed_factor": 0.5}]), 2).run()
    assert slow.time_s == pytest.approx(2 * free, rel=0.1)


def door_flow(cells: int, seeds=(0, 1)) -> float:
    doc = building_doc(room_with_exit(25, cells), {"door": "X"}, regions={"room": {"symbol": "r"}})
    sc = make_scenario(doc, [{"count": 250, "region": "room"}])
    flows = []
    for s in seeds:
        t = np.sort(EvacuationModel(sc, s).run().agents_state["out_time_s"])
        flows.append((200 - 25) / (t[200] - t[25]) / (cells * 0.4))
    return float(np.mean(flows))


def test_door_flow_is_realistic_and_rises_with_width():
    # A crowd pressing through a door: specific flow 1.3-2.0 P/(m s) (verification.md
    # §4.2-4.3: SFPE 1.3, bottleneck experiments ~1.9), total flow rising with width.
    narrow, wide = door_flow(2), door_flow(6)  # 0.8 m and 2.4 m
    assert 1.3 <= narrow <= 2.0 and 1.3 <= wide <= 2.0
    assert wide * 2.4 > 2.5 * narrow * 0.8


def test_a_door_drawn_wider_than_declared_passes_its_declared_width():
    doc = building_doc(room_with_exit(25, 3), {"door": "X"}, regions={"room": {"symbol": "r"}})
    doc["exits"]["door"]["width_m"] = 1.0  # drawn 1.2 m
    sc = make_scenario(doc, [{"count": 250, "region": "room"}])
    t = np.sort(EvacuationModel(sc, 0).run().agents_state["out_time_s"])
    flow = (200 - 25) / (t[200] - t[25])
    assert flow == pytest.approx(door_flow(3, seeds=(0,)) * 1.0, rel=0.1)


def test_rimea9_hall_takes_1_6_to_2_4_times_as_long_with_two_exits_locked():
    path = ROOT / "scenarios" / "hall.toml"
    t4 = EvacuationModel(load_scenario(path, "all_open"), 11).run()
    t2 = EvacuationModel(load_scenario(path, "two_locked"), 11).run()
    assert t4.count_inside() == 0 and t2.count_inside() == 0
    assert 1.6 <= t2.time_s / t4.time_s <= 2.4
    assert t2.discoveries.sum() > 0


def test_pre_movement_times_are_respected():
    doc = building_doc(room_with_exit(20, 3), {"door": "X"}, regions={"room": {"symbol": "r"}})
    sc = make_scenario(doc, [{"count": 10, "region": "room",
                              "premove_s": {"dist": "uniform", "low": 10, "high": 100}}])
    m = EvacuationModel(sc, 4)
    start = m.agents_state["start_s"].copy()
    assert np.all((start >= 10) & (start <= 100))
    cells0 = m.agents_state["cell"].copy()
    while m.running:
        m.step()
        waiting = m.time_s <= start - m.dt_s
        assert np.array_equal(m.agents_state["cell"][waiting], cells0[waiting])
    assert np.all(m.agents_state["out_time_s"] > start)


def test_mesa_facade_handles_datacollector_and_batch_run():
    sc = load_scenario(ROOT / "scenarios" / "hall.toml", "all_open")
    m = EvacuationModel(sc, 1)
    assert isinstance(m, mesa.Model) and len(m.agents) == 1000
    h = m.handles[0]
    assert isinstance(h, Occupant) and h.state == "waiting" and h.position is not None
    counted = []
    for _ in range(300):  # 45 s: people are going out by then
        m.step()
        counted.append((m.time_s, *m.census(), tuple(m.exit_counts().values())))
    df = m.datacollector.get_model_vars_dataframe()
    assert len(df) == 300 and df["inside"].iloc[-1] + df["evacuated"].iloc[-1] == 1000
    assert df["evacuated"].iloc[-1] > 0
    assert [tuple(r) for r in df[["time_s", "inside", "evacuated", "exits"]].itertuples(
        index=False)] == counted
    assert h.target_exit in {"north_west", "north_east", "south_west", "south_east"}
    small = make_scenario(building_doc(room_with_exit(8, 2), {"door": "X"},
                                       regions={"room": {"symbol": "r"}}),
                          [{"count": 6, "region": "room"}])
    rows = mesa.batch_run(EvacuationModel, {"scenario": small, "seed": [1, 2]},
                          number_processes=1, max_steps=2000, display_progress=False)
    finals = {}
    for row in rows:
        finals[row["seed"]] = row
    assert set(finals) == {1, 2} and len(rows) == 2  # (the last step of each run)
    assert all(r["evacuated"] == 6 and r["inside"] == 0 for r in rows)
    # The evacuation time, as the summary gives it: None until everyone is out. A drill
    # goes on after that (the brigade arrives), so its run's time_s is not the evacuation's.
    assert df["evacuation_time_s"].isna().all()  # (the hall after 45 s)
    sc = load_scenario(ROOT / "scenarios" / "restaurant.toml", "rear_open")
    rows = mesa.batch_run(EvacuationModel, {"scenario": sc, "seed": [1]}, number_processes=1,
                          max_steps=10_000, display_progress=False, data_collection_period=1)
    evac = [r["evacuation_time_s"] for r in rows]
    first = next(k for k, t in enumerate(evac) if t is not None and t == t)
    assert all(t is None or t != t for t in evac[:first])  # (None, or NaN in a DataFrame)
    assert len(set(evac[first:])) == 1 and rows[first]["evacuated"] == sc.occupants
    assert rows[first - 1]["evacuated"] < sc.occupants
    summary = run_scenario(sc, 1)
    assert evac[-1] == pytest.approx(summary["evacuation_time_s"], abs=0.005)
    assert rows[-1]["time_s"] > evac[-1] + 60


def test_run_scenario_summary_has_the_documented_fields(tmp_path):
    sc = load_scenario(ROOT / "scenarios" / "nursing_home.toml", "rear_locked")
    s = run_scenario(sc, out_dir=tmp_path)
    for key in ("schema", "scenario", "variant", "seed", "occupants", "evacuated",
                "casualties", "inside", "evacuation_time_s", "simulated_s", "steps", "wall_s",
                "exits", "locked_exit_discoveries", "events"):
        assert key in s
    assert s["schema"] == "drillsim.summary/1"
    # Locked at the start; the night staff unlock it in the drill.
    assert s["exits"]["rear"]["locked_at_start"] is True
    assert s["exits"]["rear"]["locked_at_end"] is False
    unlock = next(r for r in s["timeline"] if r["id"] == "unlock_rear")
    assert unlock["actual_s"] is not None and unlock["actor"] == "night_staff"
    assert s["evacuated"] + s["inside"] + s["casualties"] == s["occupants"]
    assert (tmp_path / "summary.json").exists() and (tmp_path / "record.npz").exists()


def two_door_building():
    """West room joined to an east room by a short door 'd' and, round a loop, a long way."""
    rows = ["#####################",
            "#.........#.........#",
            "#.........d.........X",
            "#.........#.........#",
            "#.........#.........#",
            "#####+#########+#####",
            "#...................#",
            "#####################"]
    return building_doc(rows, {"east": "X"}, doors={"d": {"symbol": "d"}},
                        regions={"west": {"rect_m": [0, 1.5, 4.5, 100], "floor": "ground"}})


def test_a_locked_door_is_found_on_arrival_and_occupants_go_round():
    doc = two_door_building()
    group = [{"count": 6, "region": "west", "speed_ms": 1.2}]
    open_ = EvacuationModel(make_scenario(doc, group), 1).run()
    locked = EvacuationModel(make_scenario(doc, group, locked=["d"]), 1).run()
    assert locked.count_inside() == 0
    assert locked.door_discoveries.sum() >= 1
    assert any(e["kind"] == "found_locked" and e.get("door") == "d" for e in locked.events)
    assert locked.time_s > open_.time_s + 3  # walked to the door, then round the loop
    # Occupants who know the door is locked (staff) go round at once.
    staff = EvacuationModel(make_scenario(doc, [{**group[0], "profile": "staff"}],
                                          locked=["d"]), 1).run()
    assert staff.door_discoveries.sum() == 0 and staff.time_s < locked.time_s


def test_doors_closed_mid_run_slow_and_locking_mid_run_blocks():
    doc = two_door_building()
    group = [{"count": 6, "region": "west", "speed_ms": 1.2}]
    base = EvacuationModel(make_scenario(doc, group), 1).run().time_s
    closed = EvacuationModel(make_scenario(doc, group, changes=[
        {"time_s": 0, "action": "close", "target": "d"}]), 1).run()
    assert closed.time_s > base
    m = EvacuationModel(make_scenario(doc, group, changes=[
        {"time_s": 0.5, "action": "lock", "target": "d"}]), 1)
    m.run()
    assert m.count_inside() == 0 and m.door_discoveries.sum() >= 1
    # Reopening restores the short way.
    m2 = EvacuationModel(make_scenario(doc, group), 1)
    m2.close_door("d")
    m2.open_door("d")
    assert np.array_equal(m2.fields, EvacuationModel(make_scenario(doc, group), 1).fields)


def test_head_on_walkers_pass_each_other_only_with_the_swap_rule():
    """Two people meet head-on in a one-cell-wide corridor, each heading for the far exit."""
    rows = ["#" * 32,
            "W" + "." * 30 + "E",
            "#" * 32]
    doc = building_doc(rows, {"west": "W", "east": "E"},
                       regions={"west_end": {"rect_m": [1.0, 0, 1.4, 5], "floor": "ground"},
                                "east_end": {"rect_m": [12.2, 0, 12.6, 5], "floor": "ground"}})
    groups = [{"count": 1, "region": "west_end", "knows": ["east"]},
              {"count": 1, "region": "east_end", "knows": ["west"]}]
    swapping = EvacuationModel(make_scenario(doc, groups, model={"sight_m": 0},
                                             time_limit_s=120), 1).run()
    assert swapping.count_inside() == 0
    assert swapping.exit_counts() == {"west": 1, "east": 1}
    locked = EvacuationModel(make_scenario(doc, groups, time_limit_s=120,
                                           model={"sight_m": 0, "swap_probability": 0.0}), 1).run()
    assert locked.count_inside() == 2  # without swaps they stand nose to nose


@pytest.mark.parametrize("seed", [1, 2])
def test_streams_meeting_at_an_angle_in_an_aisle_do_not_lock_solid(seed):
    """The market fair with its south gate locked too: those who turned back from it meet,
    in an aisle between the stalls, those still heading for it, at an angle (people step
    diagonally). With head-on swaps only, in seed 2, 81 of the 1,500 stood there from minute
    4 to the 15-minute limit; exchanges with a neighbour who gains by them let everyone out."""
    sc = load_scenario(Path(__file__).parents[1] / "scenarios" / "market_fair.toml")
    sc = dataclasses.replace(sc, locked=(*sc.locked, "south_gate"))
    m = EvacuationModel(sc, seed).run()
    assert m.count_inside() == 0 and m.exit_counts()["south_gate"] == 0
    assert m.time_s < 600


@pytest.mark.parametrize("name,variant", [("office", "east_exit_locked_key_away"),
                                          ("residential_tower", "rear_locked")])
def test_parallel_kernels_give_the_same_run_as_serial_ones(monkeypatch, name, variant):
    """Stairs (links), doors, exit choice; in the tower, smoke, casualties and stepping over
    them: every kernel's parallel twin, forced on a small building, reproduces the serial run
    bit for bit. (The exits' static fields are marched in parallel whenever there are several
    and more than one thread: the serial run has one.)"""
    sc = load_scenario(ROOT / "scenarios" / f"{name}.toml", variant)
    runs = serial_and_parallel_runs(
        monkeypatch, lambda: EvacuationModel(sc, 3, make_handles=False).run())
    a, b = runs[0].agents_state, runs[1].agents_state
    assert runs[0].n_steps == runs[1].n_steps
    for key in ("out_time_s", "exit_used", "state", "lost_s", "cell"):
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    n = runs[0].n_occupants
    assert np.all(np.isfinite(a["out_time_s"][:n]) | (a["state"][:n] == CASUALTY))
    if name == "residential_tower":
        assert (a["state"][:n] == CASUALTY).sum() >= 5  # (casualties, to step over)


@pytest.mark.parametrize("name,variant", [("nursing_home", "rear_locked"),
                                          ("office", "east_exit_locked_key_away")])
def test_leaving_out_those_who_are_out_changes_nothing(monkeypatch, name, variant):
    """The step visits only agents not yet out (occupants who left are dropped from the
    visiting order, actors are always in): the same run, bit for bit, as visiting everyone.
    The nursing home has a fire, casualties and residents carried out; the office, a locked
    exit found and told about."""
    from sim.engine import Engine

    sc = load_scenario(ROOT / "scenarios" / f"{name}.toml", variant)
    short = []
    visiting_order = Engine._visiting_order

    def watched(self):
        order = visiting_order(self)
        a = self.agents_state
        out = a["state"][:self.n_occupants] == EVACUATED
        assert not np.isin(np.flatnonzero(out), order).any()
        assert np.isin(np.flatnonzero(~out), order).all()
        assert np.isin(np.arange(self.n_occupants, self.n_agents), order).all()
        short.append(order.size < self.n_agents)
        return order

    monkeypatch.setattr(Engine, "_visiting_order", watched)
    compact = Engine(sc, 4).run()
    monkeypatch.setattr(Engine, "_visiting_order",
                        lambda self: np.argsort(self.agents_state["cell"], kind="stable"))
    everyone = Engine(sc, 4).run()
    assert any(short)  # some were out while the run went on
    assert compact.n_steps == everyone.n_steps
    for key in compact.agents_state:
        np.testing.assert_array_equal(compact.agents_state[key], everyone.agents_state[key],
                                      err_msg=key)
    assert [f.cell.tobytes() for f in compact.frames] == \
        [f.cell.tobytes() for f in everyone.frames]


def test_occupants_are_numbered_by_starting_cell_and_keep_their_group():
    sc = load_scenario(ROOT / "scenarios" / "nursing_home.toml", "rear_locked")
    m = EvacuationModel(sc, 2, make_handles=False)
    n = m.n_occupants
    cells = m.agents_state["cell"][:n]
    assert np.all(np.diff(cells) > 0)  # numbered in cell order (and no two share a cell)
    assert np.array_equal(m.grid["occ"][cells], np.arange(n))
    for gi, g in enumerate(sc.groups):
        mine = m.group_of == gi
        assert mine.sum() == g.count
        assert np.all(m.profile_of[mine] == m.profile_names.index(g.profile))
        assert np.isin(cells[mine], m.building.region(g.region).cells).all()
    # The bedridden (who cannot leave unaided) are those of the bedridden group, wherever
    # their numbers fell.
    bedridden = m.group_of == [g.profile for g in sc.groups].index("bedridden")
    assert np.array_equal(m.needs_assist, bedridden)
    assert np.all(np.isinf(m.agents_state["start_s"][:n][bedridden]))


def test_the_engine_and_the_mesa_facade_give_the_same_run():
    """The command line runs :class:`sim.engine.Engine`; Mesa users get
    :class:`EvacuationModel`. Same scenario and seed: the same run, bit for bit (a drill with
    a locked exit and a fire: exit choice, the drill's actors (placed with the model's
    generator) carrying residents out, and the smoke all take part)."""
    from sim.engine import Engine

    sc = load_scenario(ROOT / "scenarios" / "nursing_home.toml", "rear_locked")
    a = Engine(sc, 4).run()
    b = EvacuationModel(sc, 4, make_handles=False).run()
    assert not isinstance(a, mesa.Model) and isinstance(b, mesa.Model)
    assert a.n_steps == b.n_steps and a.n_steps > 100
    for key in ("cell", "state", "out_time_s", "exit_used", "target", "lost_s"):
        assert np.array_equal(a.agents_state[key], b.agents_state[key]), key
    assert a.events == b.events
    assert {"fire", "picked_up", "assisted_out", "on_scene"} <= {e["kind"] for e in a.events}
    assert np.array_equal(a.hazard.y, b.hazard.y) and a.hazard.y.max() > 0
    assert len(b.datacollector.get_model_vars_dataframe()) == b.n_steps


@pytest.mark.parametrize("name,variant,steps", [
    ("market_fair", "crew_on_site", 927),     # actors sent to new goals (rows rewritten)
    ("restaurant", "rear_blocked", 700),      # a fire: walls burn, smoke reroutes
    ("karaoke", "emergency_locked", 400)])    # an exit unlocked mid-run
def test_the_table_of_downhill_neighbours_follows_every_change_of_fields(monkeypatch, name,
                                                                         variant, steps):
    """The movement step reads, for occupants with no free neighbour, a table of each field's
    downhill neighbours (:func:`downhill_directions`) that the engine keeps: at every step it
    must be what the fields and walls give now."""
    from sim import engine as engine_mod
    from sim.kernels.movement import downhill_directions

    step_movement = engine_mod.step_movement
    checked = []

    def checked_step(agents, grid, fields, key, params, scratch):
        fresh = downhill_directions(fields, grid["nbr_mask"], grid["width"], grid["cell_m"])
        np.testing.assert_array_equal(grid["downhill"], fresh)
        checked.append(fields.shape[0])
        return step_movement(agents, grid, fields, key, params, scratch)

    refreshed = []
    refresh = engine_mod.Engine._refresh_downhill

    def counted(self):
        refreshed.append(self.n_steps)
        refresh(self)

    monkeypatch.setattr(engine_mod, "step_movement", checked_step)
    monkeypatch.setattr(engine_mod.Engine, "_refresh_downhill", counted)
    m = engine_mod.Engine(load_scenario(ROOT / "scenarios" / f"{name}.toml", variant), 3)
    m.run(max_steps=steps)
    assert len(checked) == m.n_steps
    assert any(s > 0 for s in refreshed)  # the fields did change mid-run


@pytest.mark.parametrize("name,variant", [("hall", "two_locked"),
                                          ("nursing_home", "rear_locked")])
def test_the_step_count_by_exit_is_a_full_count_at_every_step(name, variant):
    """The reporters' count of people out by each exit comes from the movement step's own
    count of those who reached an exit (the hall, two exits locked), or from a full count
    where a drill runs (in the nursing home staff carry residents out, and give them their
    exit): at every step, to the end, it equals a count over every occupant."""
    sc = load_scenario(ROOT / "scenarios" / f"{name}.toml", variant)
    m = EvacuationModel(sc, 2, make_handles=False)
    full = []
    carried = np.zeros(m.n_occupants, dtype=bool)
    while m.running:
        m.step()
        full.append(tuple(m.exit_counts().values()))
        carried |= m.agents_state["state"][:m.n_occupants] == CARRIED
    series = list(m.datacollector.get_model_vars_dataframe()["exits"])
    assert series == full
    assert len(full) > 1000 and sum(full[-1]) == m.census()[1] == m.n_occupants
    if m.drill is None:  # every one of them counted by the movement step
        assert m.scratch["out_by_exit"].sum() == m.n_occupants
        assert sorted(full[-1])[:2] == [0, 0]  # the two locked exits
    else:
        assert carried.sum() >= 3 and min(full[-1]) > 0  # carried out, every exit used


# An exit locked, a region cluttered, then both undone, in the hall's first minute.
_MID_RUN_CHANGES = (
    {"time_s": 15.0, "action": "lock", "target": "south_west"},
    {"time_s": 30.0, "action": "add_clutter", "target": "seating", "speed_factor": 0.6},
    {"time_s": 45.0, "action": "unlock", "target": "south_west"},
    {"time_s": 60.0, "action": "clear_clutter", "target": "seating"})


def _hall_with_changes(variant, changes=()):
    from sim.scenario import Change

    sc = load_scenario(ROOT / "scenarios" / "hall.toml", variant)
    return dataclasses.replace(sc, changes=tuple(Change(**c) for c in changes))


@pytest.mark.parametrize("make", [
    lambda: _hall_with_changes("all_open"),
    lambda: _hall_with_changes("all_open", _MID_RUN_CHANGES),
], ids=["all_open", "mid_run_changes"])
@pytest.mark.parametrize("kernels", ["serial", "parallel"])
def test_the_kept_queue_histogram_gives_the_results_of_counting_afresh(make, kernels,
                                                                        monkeypatch):
    """Exit choice's queue histogram, kept up to date by the step's kernels
    (Engine.keep_queue_histogram), is the count over everyone after every step it is kept;
    it is counted afresh while an exit is locked, after the fields change, and after steps
    in which it was not kept (here: switched off for ten steps). Every agent array, frame
    and event is the same as when it is counted at every step."""
    import math

    from sim.engine import Engine
    from sim.kernels import choice, movement

    if kernels == "parallel":  # (the hall's 1000 would get the serial twins)
        for mod in (choice, movement):
            monkeypatch.setattr(mod, "SERIAL_BELOW", 0)
    sc = make()
    runs, kept_steps = [], 0
    for keep in (True, False):
        m = Engine(sc, 5)
        m.keep_queue_histogram = keep
        while m.running:
            if keep:
                m.keep_queue_histogram = not 100 <= m.n_steps < 110
            m.step()
            if keep and m._live["valid"]:
                kept_steps += 1
                a, live = m.agents_state, m._live
                n_bins = int(math.ceil(m._max_distance_m / live["bin_m"])) + 1
                assert n_bins == live["n_bins"]
                n = m.n_agents
                fresh = choice._count_ahead_serial(
                    np.arange(n, dtype=np.int64), a["cell"], a["state"], a["target"],
                    a["field_row"], np.zeros(n, np.bool_), m.fields, m.n_exits,
                    live["bin_m"], n_bins, 1, np.empty(n, np.int64), np.empty(1, np.int64),
                    np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros((0, 0), np.int64),
                    np.zeros(0, np.int32))
                np.testing.assert_array_equal(
                    choice._cum_of(live["hist"], m.n_exits, n_bins), fresh,
                    err_msg=f"step {m.n_steps}")
        runs.append(m)
    kept, counted = runs
    assert kept_steps > 0.5 * kept.n_steps
    assert kept.n_steps == counted.n_steps
    for key in kept.agents_state:
        np.testing.assert_array_equal(kept.agents_state[key], counted.agents_state[key],
                                      err_msg=key)
    for f, g in zip(kept.frames, counted.frames, strict=True):
        np.testing.assert_array_equal(f.cell, g.cell)
    assert kept.events == counted.events


def test_a_change_of_fields_has_the_queue_histogram_counted_afresh():
    """Any write to the fields goes through Engine._fields_changed, which makes exit choice
    count its queue histogram afresh at the next step (the kernels keep it up to date only
    for moves and choices)."""
    from sim.engine import Engine

    m = Engine(_hall_with_changes("all_open"), 5)
    for _ in range(30):
        m.step()
    assert m._live["valid"]
    m.set_field_row(0, m.fields[0].copy())
    assert not m._live["valid"]
    m.step()
    assert m._live["valid"]


@pytest.mark.parametrize("make", [
    lambda: _hall_with_changes("two_locked"),
    lambda: _hall_with_changes("all_open", _MID_RUN_CHANGES),
], ids=["two_locked", "mid_run_changes"])
def test_choices_settled_in_a_jam_give_the_results_of_choosing_afresh(make):
    """An occupant in a jam whose surroundings did not change is not chosen for again
    (Engine.settle_jams). The hall with two exits locked (people find them locked, are told,
    and choose again: their fields change next to others in the jam); with an exit locked,
    a region cluttered, then both undone mid-run: every agent array, frame and event is the
    same as when every choice is made afresh, and many choices were in fact skipped; at some
    steps too few were settled for marking the cells round the moves to pay, and they were
    made afresh (``settle_floor``). (Stair
    links: tests/test_kernels.py.) The distance bins exit choice keeps for those who did not
    move (forgotten when the fields change) are checked the same way."""
    from sim.engine import Engine

    sc = make()
    runs, skipped, visited, unmarked = [], 0, 0, 0
    for settle in (True, False):
        m = Engine(sc, 5)
        assert m.drill is None and m.hazard is None
        m.settle_jams = settle
        if not settle:
            m._bins = None  # and every distance bin for exit choice read afresh
        while m.running:
            if settle and m.n_steps > 0:
                a, o = m.agents_state, m.scratch["order"]
                c = a["cell"][o]
                taken = (a["state"][o] == MOVING) & (a["field_row"][o] >= 0) & \
                    (m.scratch["settled_at"][o] > m._settle_after_now()) & \
                    (m.scratch["settled_at"][o] > m.scratch["settle_floor"][0]) & \
                    (m.scratch["settled_at"][o] > m.grid["stamp"][np.maximum(c, 0)])
                skipped += int(taken.sum())
                visited += len(o)
            m.step()
            # (a step whose moves were not marked round: its settled choices made afresh)
            unmarked += int(m.scratch["settle_floor"][0] == m.n_steps - 1)
        runs.append(m)
    settled, fresh = runs
    assert settled.n_steps == fresh.n_steps
    for key in settled.agents_state:
        np.testing.assert_array_equal(settled.agents_state[key], fresh.agents_state[key],
                                      err_msg=key)
    assert len(settled.frames) == len(fresh.frames)
    for f, g in zip(settled.frames, fresh.frames):
        np.testing.assert_array_equal(f.cell, g.cell)
    assert settled.events == fresh.events
    assert skipped > 0.1 * visited
    assert unmarked > 0
