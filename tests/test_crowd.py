"""Routes as quickest paths: the crowd's density, the speed it allows, and the fields the
movement step follows when ``quickest_paths_s`` is set."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from sim.building import DOOR, FLIGHT, FLOOR, STAIR, build_building, load_building
from sim.crowd import MIN_FACTOR, CrowdSpeed, weidmann_factor, zones_of
from sim.engine import Engine
from sim.errors import ScenarioError
from sim.kernels.choice import exit_distances
from sim.verification.cases import scenario

from worlds import building_doc, make_scenario, serial_and_parallel_runs

ROOT = Path(__file__).resolve().parents[1]


def test_weidmann_factor_falls_with_density_and_keeps_a_floor():
    rho = np.linspace(0.0, 8.0, 161)
    f = weidmann_factor(rho)
    assert f[0] == 1.0  # nobody there
    assert np.all(np.diff(f) <= 0.0)
    assert np.all((f >= MIN_FACTOR) & (f <= 1.0))
    assert np.all(f[rho >= 5.4] == MIN_FACTOR)  # Weidmann's jam density and beyond
    # Weidmann's speeds at 0.5-4 P/m^2 as tabulated (v0 = 1.34 m/s; the project's verification
    # references, section 4.1): 1.30, 1.06, 0.61, 0.33, 0.16 m/s.
    v = 1.34 * weidmann_factor(np.array([0.5, 1.0, 2.0, 3.0, 4.0]))
    assert v == pytest.approx([1.30, 1.06, 0.61, 0.33, 0.16], abs=0.006)


def _crowd(b) -> tuple[CrowdSpeed, np.ndarray]:
    walkable = np.isin(b.kind, (FLOOR, DOOR, STAIR, FLIGHT))  # (as the engine has it)
    return CrowdSpeed(walkable, zones_of(b), b.width, b.cell_m), walkable


def test_density_is_counted_on_each_floor_alone():
    """A floor packed full makes its own cells slow and no cell of the floor next to it in the
    stacked grid."""
    b = load_building(ROOT / "buildings" / "office_3f.toml")
    crowd, walkable = _crowd(b)
    occupied = walkable & (b.floor_of == 0)
    f = crowd.factor(occupied)
    assert np.all(f[occupied] == MIN_FACTOR)
    others = walkable & (b.floor_of >= 1)
    assert others.any() and np.all(f[others] == 1.0)


def test_density_counts_walkable_floor_only():
    """One person in a 1-cell-wide corridor is a density of one per 5 cells' floor (0.8 m^2),
    not per the 25 cells of the window: the walls round it are not floor."""
    rows = ["#######", "#.....X", "#######"]
    b = build_building(building_doc(rows, {"x": "X"}), "<test building>")
    crowd, walkable = _crowd(b)
    occupied = np.zeros(b.n_cells, dtype=bool)
    middle = np.flatnonzero(b.kind == FLOOR)[2]
    occupied[middle] = True
    f = crowd.factor(occupied)
    assert f[middle] == pytest.approx(weidmann_factor(np.array([1 / (5 * 0.16)]))[0])


def _corner(quickest_paths_s: float, seed: int = 1) -> Engine:
    sc = scenario("rimea15_corner")
    sc = dataclasses.replace(sc, params=dataclasses.replace(
        sc.params, quickest_paths_s=quickest_paths_s))
    return Engine(sc, seed)


def test_quickest_paths_change_the_movement_fields_only():
    """With a crowd standing, the fields the movement step follows count it; exit choice keeps
    the shortest routes (its table of distances and its fields)."""
    e = _corner(1.0)
    shortest = e.fields.copy()
    assert e.move_fields is not e.fields
    assert np.array_equal(e.move_fields, shortest)  # nobody counted yet
    for _ in range(e._quickest_every + 1):  # (marched at the start of the step after)
        e.step()
    assert np.array_equal(e.fields, shortest)
    assert np.array_equal(e._exit_dist, exit_distances(shortest, e.row_of))
    row = e.row_of[0, 0]
    finite = np.isfinite(shortest[row])
    slower = e.move_fields[row][finite] >= shortest[row][finite] - 1e-3
    assert slower.all()  # a crowd only ever makes a route longer
    start = e.building.region("start").cells
    assert np.all(e.move_fields[row, start] > shortest[row, start] + 1.0)


def test_without_quickest_paths_the_movement_follows_the_shortest_routes():
    e = _corner(0.0)
    assert e.move_fields is e.fields and e._crowd is None


def test_quickest_paths_spread_the_crowd_round_the_corner():
    """RiMEA 15's corner: on shortest routes the whole crowd converges on the inner corner
    and walks on along the inner wall; as quickest paths it uses the corridor's width and
    comes out far sooner (the verification report has the figures)."""
    slow, quick = _corner(0.0).run(), _corner(1.0).run()
    assert quick.time_s < 0.75 * slow.time_s


def test_quickest_paths_reproduce_bit_for_bit():
    a, b = _corner(0.5, seed=3), _corner(0.5, seed=3)
    for _ in range(200):
        a.step()
        b.step()
    assert np.array_equal(a.agents_state["cell"], b.agents_state["cell"])
    assert np.array_equal(a.move_fields, b.move_fields)


def test_a_negative_quickest_paths_interval_is_refused():
    doc = building_doc(["#####", "#...X", "#####"], {"x": "X"},
                       regions={"all": {"rect_m": [0, 0, 100, 100], "floor": "ground"}})
    with pytest.raises(ScenarioError, match="quickest_paths_s"):
        make_scenario(doc, [{"count": 1, "region": "all"}], model={"quickest_paths_s": -1})


@pytest.mark.parametrize("name", ["office", "nursing_home"])
def test_quickest_paths_over_floors_and_in_a_drill(name):
    """Floors and stairs (the office), a drill with staff, a fire and rows of goal fields (the
    nursing home): with quickest paths everyone not overcome gets out as on shortest routes,
    and nobody ever shares a cell."""
    from sim.scenario import load_scenario, resolve_scenario_path
    sc = load_scenario(resolve_scenario_path(name))
    quick = Engine(dataclasses.replace(sc, params=dataclasses.replace(
        sc.params, quickest_paths_s=1.0)), 1)
    assert quick.building.flights or quick.drill is not None
    spread = False
    while quick.running:
        quick.step()
        cells = quick.agents_state["cell"]
        inside = cells[cells >= 0]
        assert len(np.unique(inside)) == len(inside)
        spread = spread or not np.array_equal(quick.move_fields, quick.fields)
    assert spread
    plain = Engine(sc, 1).run()
    assert quick.census() == plain.census()


def test_quickest_paths_are_the_same_on_one_thread_and_all(monkeypatch):
    """Quickest paths march every exit's field again each second, in parallel (a field a
    thread) whenever there are several: the hall's four, with every kernel's parallel twin
    forced, give the serial run bit for bit."""
    from sim.scenario import load_scenario, resolve_scenario_path

    sc = load_scenario(resolve_scenario_path("hall"), "two_locked")
    sc = dataclasses.replace(sc, params=dataclasses.replace(sc.params, quickest_paths_s=1.0))
    runs = serial_and_parallel_runs(monkeypatch, lambda: Engine(sc, 2).run())
    a, b = runs[0].agents_state, runs[1].agents_state
    assert runs[0].n_steps == runs[1].n_steps
    for key in ("out_time_s", "exit_used", "cell", "lost_s"):
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    np.testing.assert_array_equal(runs[0].move_fields, runs[1].move_fields)
