"""Drill scripts: triggers, actors walking to do things, assisted evacuation, the responders'
roads, KPIs, and validation of every part (sim.drill, sim.drillrun)."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from sim.errors import ScenarioError
from sim.model import EvacuationModel
from sim.run import chronological, format_duration, format_summary, summarise
from tests.worlds import building_doc, make_scenario

ROOT = Path(__file__).resolve().parent.parent

# A ward: a residents' room (r) and a staff room (s) west of a corridor (c), the main exit X at
# the east end of the corridor, and a rear exit R in the corridor's south wall.
WARD = [
    "######################################",
    "#r...........#s.....#................#",
    "#............#......#................#",
    "#............+......+................X",
    "#............+......+................X",
    "#............+......+.......c........X",
    "#............#......#................#",
    "###########################RRR########",
]


def ward(**extra):
    return building_doc(WARD, {"main": "X", "rear": "R"},
                        regions={"room": {"symbol": "r"}, "staff_room": {"symbol": "s"},
                                 "corridor": {"symbol": "c"}}, **extra)


def staff(count=1, keys=("rear",), start="staff_room"):
    return [{"name": "nurse", "role": "night_duty", "start": start, "count": count,
             "keys": list(keys)}]


def drill(occupants=None, **top):
    occupants = occupants or [{"count": 3, "region": "room", "premove_s": 5}]
    return make_scenario(ward(), occupants, **top)


def run(sc, seed=1, max_steps=None):
    m = EvacuationModel(sc, seed, make_handles=False)
    m.run(max_steps)
    return m, summarise(m, 0.0)


def row(summary, action_id):
    return next(r for r in summary["timeline"] if r["id"] == action_id)


# --------------------------------------------------------------------------- triggers

def test_absolute_and_after_triggers_fire_at_their_times():
    sc = drill(actors=staff(), timeline=[
        {"id": "alarm", "action": "alarm", "at_s": 12},
        {"id": "announce", "action": "announce", "target": "all", "use_exit": "main",
         "after": "alarm", "delay_s": 20},
        {"id": "second", "action": "announce", "target": "all", "exit_open": "main",
         "after": "announce", "delay_s": 5}])
    m, s = run(sc)
    assert row(s, "alarm")["actual_s"] == pytest.approx(12, abs=sc.dt_s)
    assert row(s, "announce")["actual_s"] == pytest.approx(32, abs=sc.dt_s)
    assert row(s, "second")["actual_s"] == pytest.approx(37, abs=sc.dt_s)
    assert row(s, "second")["planned_s"] == 37.0  # planned through the chain
    assert row(s, "announce")["trigger"] == "after alarm + 20 s"


def test_told_to_leave_by_a_locked_exit_they_try_the_others_in_the_end():
    # "Leave by main" while main is locked: the rear exit was only ruled out by the
    # announcement, so once they find main locked they leave by the rear instead of waiting
    # at main until the time limit (125 of the restaurant's 128 did, before).
    sc = drill(occupants=[{"count": 6, "region": "corridor", "premove_s": 0}],
               locked=["main"], time_limit_s=300,
               timeline=[{"id": "leave_by_main", "action": "announce", "target": "all",
                          "use_exit": "main", "at_s": 0}])
    m, s = run(sc)
    a, n = m.agents_state, m.n_occupants
    rear, main = (m.building.exit_index(x) for x in ("rear", "main"))
    assert s["evacuated"] == 6 and np.all(a["exit_used"][:n] == rear)
    assert any(e["kind"] == "found_locked" and e.get("exit") == "main" for e in m.events)
    main_bit, rear_bit = np.uint64(1 << main), np.uint64(1 << rear)
    # Those who walked up to main know it is locked; the rear is still only "told not to".
    finders = m.found_first_hand[:n]
    assert finders.any() and np.all(a["known_locked"][:n][finders] & main_bit)
    assert np.all(a["steered"][:n] & rear_bit)
    assert not np.any(a["steered"][:n] & main_bit)


def test_an_exit_found_locked_stays_locked_after_an_announcement_to_use_another():
    from sim.engine import Engine

    e = Engine(drill(occupants=[{"count": 4, "region": "corridor", "premove_s": 0}]), 1)
    a = e.agents_state
    rear, main = (np.uint64(1 << e.building.exit_index(x)) for x in ("rear", "main"))
    a["known_locked"][0] = rear  # occupant 0 found the rear locked itself
    e.announce("all", None, "main")
    assert a["known_locked"][0] == rear and a["steered"][0] == 0  # known, not just told
    assert a["known_locked"][1] == rear and a["steered"][1] == rear  # told to avoid it
    assert not np.any(a["known_locked"][:4] & main)  # the one to use
    e.announce("all", None, None, exit_open="rear")  # "the rear exit is open"
    assert not np.any(a["known_locked"][:4] & rear) and not np.any(a["steered"][:4])
    e.announce("all", None, "main")
    assert np.all(a["steered"][:4] == rear)
    e.announce("all", "rear", None)  # "the rear exit is closed": a fact, for everyone
    assert np.all(a["known_locked"][:4] & rear) and not np.any(a["steered"][:4])


def test_with_every_exit_locked_they_find_out_and_wait_at_the_nearest():
    sc = drill(occupants=[{"count": 4, "region": "corridor", "premove_s": 0}],
               locked=["main", "rear"], time_limit_s=120,
               timeline=[{"id": "leave_by_main", "action": "announce", "target": "all",
                          "use_exit": "main", "at_s": 0}])
    m, s = run(sc)
    a, n = m.agents_state, m.n_occupants
    rear = np.uint64(1 << m.building.exit_index("rear"))
    found = {e.get("exit") for e in m.events if e["kind"] == "found_locked"}
    assert found == {"main", "rear"} and s["evacuated"] == 0
    # Who walked up to the rear knows it is locked now, not only that it was ruled out.
    went = a["steered"][:n] & rear == 0
    assert went.any() and np.all(a["known_locked"][:n][went] & rear)


def test_scripted_alarm_holds_everyone_until_it_sounds():
    sc = drill(timeline=[{"id": "alarm", "action": "alarm", "at_s": 30}])
    m, s = run(sc)
    out = m.agents_state["out_time_s"][:m.n_occupants]
    # premove 5 s after an alarm at 30 s: nobody can be out before 35 s
    assert out.min() > 35.0
    assert s["evacuation_time_s"] is not None


def test_alarm_covers_only_its_area():
    sc = drill(occupants=[{"count": 2, "region": "room", "premove_s": 0},
                          {"count": 2, "region": "corridor", "premove_s": 0}],
               timeline=[{"id": "alarm", "action": "alarm", "target": "corridor", "at_s": 0}],
               time_limit_s=60)
    m, s = run(sc)
    state = m.agents_state["state"][:4]
    region = np.isin(m.agents_state["cell"][:4], m.building.region("room").cells)
    assert s["evacuated"] == 2  # the two in the corridor
    assert np.all(region[state != 2])  # those left are in the room, never alarmed


def test_condition_trigger_on_occupants_out():
    sc = drill(occupants=[{"count": 5, "region": "corridor", "premove_s": 0}],
               timeline=[{"id": "count", "action": "announce", "target": "all",
                          "use_exit": "main", "when": "out", "count": 3}])
    m, s = run(sc)
    third = np.sort(m.agents_state["out_time_s"][:5])[2]
    assert row(s, "count")["actual_s"] == pytest.approx(third, abs=2 * sc.dt_s)
    assert row(s, "count")["planned_s"] is None


# --------------------------------------------------------------------------- actors

def test_guard_walks_to_the_exit_and_it_stays_locked_until_then():
    sc = drill(occupants=[{"count": 1, "region": "room", "premove_s": 1000}],
               locked=["rear"], actors=staff(),
               timeline=[{"id": "unlock", "action": "unlock", "target": "rear", "by": "nurse",
                          "at_s": 1}], time_limit_s=120)
    m = EvacuationModel(sc, 1, make_handles=False)
    rear = m.building.exit_index("rear")
    while m.running and m.drill.status["unlock"].done_s is None:
        assert m.exit_locked[rear] == 1  # locked until the nurse is there and done
        m.step()
    done = m.drill.status["unlock"].done_s
    assert m.exit_locked[rear] == 0
    # The walk: from the staff room to beside the rear exit is at least ~4 m at <= 2 m/s,
    # plus the 10 s it takes to unlock.
    assert done >= 1 + 10 + 2.0
    nurse = m.drill.members[0]
    c = m.agents_state["cell"][nurse.row]
    near = m.drill.goals.place_cells("rear")
    w = m.building.width
    assert any(abs(int(c) - int(x)) in (0, 1, w - 1, w, w + 1) for x in near)


def test_unlocking_an_open_exit_needs_no_walk():
    sc = drill(actors=staff(), timeline=[{"id": "unlock", "action": "unlock",
                                          "target": "rear", "by": "nurse", "at_s": 3}])
    m, s = run(sc)
    assert row(s, "unlock")["actual_s"] == pytest.approx(3, abs=sc.dt_s)
    assert row(s, "unlock")["note"] == "already unlocked"


def test_staff_the_script_leaves_nothing_to_do_leave_when_the_alarm_reaches_them():
    # A restaurant's waiters, given no task in a variant, stood in the smoke of the empty
    # dining hall to the end of the run.
    from sim.kernels.movement import EVACUATED

    sc = drill(occupants=[{"count": 2, "region": "room", "premove_s": 200}], actors=staff() + [
               {"name": "porter", "role": "venue_staff", "start": "staff_room"},
               {"name": "guard", "role": "venue_staff", "start": "corridor"}],
               timeline=[{"id": "alarm", "action": "alarm", "target": "room", "at_s": 20},
                         {"id": "alarm_all", "action": "alarm", "at_s": 60},
                         {"id": "sweep", "action": "sweep", "target": "room", "by": "porter",
                          "at_s": 90}],
               time_limit_s=300)
    m = EvacuationModel(sc, 1, make_handles=False)
    nurse, porter, guard = m.drill.members
    state = m.agents_state["state"]
    start = {mem.actor: int(m.agents_state["cell"][mem.row]) for mem in m.drill.members}
    while m.time_s < 55:
        m.step()
    # The room's alarm has not reached the staff room or the corridor: everyone at their post.
    assert all(int(m.agents_state["cell"][mem.row]) == start[mem.actor]
               for mem in m.drill.members)
    while m.time_s < 85:
        m.step()
    # Everywhere now: nurse and guard have nothing to do, and go; the porter has a task coming.
    assert state[nurse.row] == EVACUATED and state[guard.row] == EVACUATED
    assert state[porter.row] != EVACUATED and porter.state == "idle"
    m.run()  # (the sweep hurries the two out)
    assert m.drill.status["sweep"].done_s is not None and porter.state in ("leaving", "outside")
    assert m.time_s < 200


def test_actor_without_a_key_is_refused():
    with pytest.raises(ScenarioError, match="holds no key to 'rear'"):
        drill(locked=["rear"], actors=staff(keys=()),
              timeline=[{"action": "unlock", "target": "rear", "by": "nurse", "at_s": 0}])


def bedridden_drill(n_staff: int, assist: bool = True):
    timeline = [{"id": "alarm", "action": "alarm", "at_s": 0}]
    if assist:
        timeline.append({"id": "fetch", "action": "assist", "target": "room", "by": "nurse",
                         "after": "alarm", "duration_s": 20, "speed_ms": 0.6})
    return drill(occupants=[{"profile": "bedridden", "count": 4, "region": "room"}],
                 actors=staff(count=n_staff), timeline=timeline, time_limit_s=600)


def test_bedridden_residents_leave_only_with_staff():
    m, s = run(bedridden_drill(1, assist=False))
    assert s["evacuated"] == 0 and s["inside"] == 4  # nobody fetched them
    m, s = run(bedridden_drill(1))
    assert s["evacuated"] == 4
    kinds = [e["kind"] for e in m.events]
    assert kinds.count("picked_up") == 4 and kinds.count("assisted_out") == 4
    # Each was carried out by the nurse: out at the same time as the nurse stepped out.
    assert s["profiles"]["bedridden"]["all_out_s"] == pytest.approx(row(s, "fetch")["actual_s"],
                                                                   abs=30)


def test_more_staff_get_the_bedridden_out_sooner():
    times = {}
    for n in (1, 2, 4):
        _, s = run(bedridden_drill(n))
        times[n] = s["profiles"]["bedridden"]["all_out_s"]
    assert times[1] > times[2] > times[4]
    assert times[1] > 1.5 * times[4]


def test_sweep_hurries_waiting_occupants():
    slow = [{"count": 3, "region": "room", "premove_s": 500}]
    base = dict(occupants=slow, actors=staff(), time_limit_s=900)
    _, lazy = run(drill(**base, timeline=[{"id": "alarm", "action": "alarm", "at_s": 0}]))
    _, swept = run(drill(**base, timeline=[
        {"id": "alarm", "action": "alarm", "at_s": 0},
        {"id": "sweep", "action": "sweep", "target": "room", "by": "nurse", "after": "alarm"}]))
    assert lazy["first_out_s"] > 500
    assert swept["evacuation_time_s"] < 200


# --------------------------------------------------------------------------- roads

ROADS = [
    {"name": "avenue", "from": "station", "to": "junction", "length_m": 2000, "speed_kmh": 40},
    {"name": "fire_lane", "from": "junction", "to": "gate", "length_m": 100, "speed_kmh": 10,
     "clear_s": 300},
    {"name": "back_road", "from": "junction", "to": "gate", "length_m": 1000, "speed_kmh": 20},
]
BRIGADE = {"name": "brigade", "role": "fire_rescue", "start": "offsite", "count": 2,
           "station": "station", "turnout_s": 60, "access": "main"}


def brigade_drill(roads, blocked=(), extra=()):
    return drill(actors=staff() + [BRIGADE], site={"access": {"gate": "main"}, "roads": roads},
                 blocked_roads=list(blocked),
                 timeline=[{"id": "call", "action": "call", "target": "brigade", "at_s": 10},
                           *extra],
                 kpis=[{"name": "on scene", "metric": "on_scene_s", "actor": "brigade",
                        "target": 400}])


def on_scene(sc):
    m, s = run(sc)
    return m.drill.on_scene["brigade"], s


def test_the_brigade_carries_out_those_overcome_who_stay_casualties():
    """Residents overcome in their room (a lethal atmosphere there) lay where they fell to the
    end of the run: the brigade's "assist" fetched only those still waiting. It now carries
    them out too; they stay casualties (not evacuated, at no exit). The night staff's does
    not: the brigade has breathing apparatus."""
    from sim.kernels.movement import CASUALTY

    def overcome(**fetch):
        sc = drill(occupants=[{"profile": "bedridden", "count": 2, "region": "room"}],
                   actors=staff() + [BRIGADE], site={"access": {"gate": "main"}, "roads": ROADS},
                   atmosphere=[{"region": "room", "co_ppm": 8000, "co2_pct": 3.0}],
                   timeline=[{"id": "call", "action": "call", "target": "brigade", "at_s": 0},
                             {"id": "fetch", "action": "assist", "target": "room", **fetch}],
                   time_limit_s=900)
        return run(sc)

    m, s = overcome(by="brigade", when="on_scene", actor="brigade")
    a = m.agents_state
    assert s["casualties"] == 2 and s["evacuated"] == 0 and s["inside"] == 0
    assert s["casualties_carried_out"] == 2
    assert np.all(a["state"][:2] == CASUALTY) and np.all(a["cell"][:2] == -1)
    assert not np.isfinite(a["out_time_s"][:2]).any() and sum(s["exits"][e]["evacuated"]
                                                            for e in s["exits"]) == 0
    kinds = [e["kind"] for e in s["events"]]
    assert kinds.count("casualty_carried_out") == 2 and "assisted_out" not in kinds
    assert [e.get("overcome") for e in s["events"] if e["kind"] == "picked_up"] == [True, True]
    fell = max(e["time_s"] for e in s["events"] if e["kind"] == "incapacitated")
    carried = [e["time_s"] for e in s["events"] if e["kind"] == "casualty_carried_out"]
    assert min(carried) > max(fell, m.drill.on_scene["brigade"])
    assert row(s, "fetch")["actual_s"] == pytest.approx(max(carried), abs=1.0)
    assert s["casualties_left_inside"] == 0
    assert s["last_casualty_carried_out_s"] == pytest.approx(max(carried), abs=0.01)
    assert "casualties 2 (2 carried out by brigade at " in format_summary(s)
    # Nobody is lost while they are carried: casualties at every step (never "inside").
    m2 = EvacuationModel(m.scenario, 1, make_handles=False)
    while m2.running:
        m2.step()
        st = m2.agents_state["state"][:2]
        assert (st == CASUALTY).sum() + m2.count_inside() == 2
    # The night staff's assist leaves them lying there.
    m, s = overcome(by="nurse", at_s=400)
    assert s["casualties"] == 2 and s["casualties_carried_out"] == 0
    assert s["casualties_left_inside"] == 2 and s["last_casualty_carried_out_s"] is None
    assert np.all(m.agents_state["cell"][:2] >= 0)


def three_overcome_in_the_room():
    """A model stepped until three bedridden residents are overcome in a room full of smoke,
    before the brigade (called at once, to fetch them on arrival) is on scene."""
    from sim.kernels.movement import CASUALTY

    sc = drill(occupants=[{"profile": "bedridden", "count": 3, "region": "room"}],
               actors=staff() + [BRIGADE], site={"access": {"gate": "main"}, "roads": ROADS},
               atmosphere=[{"region": "room", "co_ppm": 8000, "co2_pct": 3.0}],
               timeline=[{"id": "call", "action": "call", "target": "brigade", "at_s": 0},
                         {"id": "fetch", "action": "assist", "target": "room", "by": "brigade",
                          "when": "on_scene", "actor": "brigade"}],
               time_limit_s=900)
    m = EvacuationModel(sc, 1, make_handles=False)
    while not np.all(m.agents_state["state"][:3] == CASUALTY):
        m.step()
    assert "brigade" not in m.drill.on_scene
    return m


def test_someone_the_brigade_cannot_reach_is_given_up_and_the_others_are_fetched():
    """An assist whose member could not reach one person (walled off, here by flames all round
    the cell) failed as a whole: the team stopped fetching anyone. Now that one is given up,
    the rest fetched; nobody is fetched out of a burning cell."""
    m = three_overcome_in_the_room()
    a = m.agents_state
    w = m.building.width
    ringed, in_flames = int(a["cell"][0]), int(a["cell"][1])
    fire = np.zeros_like(m.burning)
    fire[[ringed + d for d in (-w - 1, -w, -w + 1, -1, 1, w - 1, w, w + 1)]] = True
    fire[in_flames] = True
    assert not fire[int(a["cell"][2])]  # (the third is left a way in)
    m.burning_changed(fire)
    m.run()
    s = summarise(m, 0.0)
    out = [e["occupant"] for e in s["events"] if e["kind"] == "casualty_carried_out"]
    assert out == [2] and s["casualties"] == 3
    assert a["cell"][0] == ringed and a["cell"][1] == in_flames
    fetch = row(s, "fetch")
    assert fetch["actual_s"] is not None and fetch["note"] == "some targets could not be reached"
    assert [e["goal"] for e in s["events"] if e["kind"] == "gave_up"] == ["person:0"]
    assert "action_failed" not in [e["kind"] for e in s["events"]]


def test_the_brigade_carries_out_someone_overcome_on_the_threshold_of_the_room():
    """A room region stops at its doors, so someone overcome in the doorway lay in no region,
    and the brigade's assist of the room (or of the corridor) never looked there: in the
    tower's lane_clear run of seed 1 one resident lay in a flat's doorway to the end. The
    search takes in the doorways that open off the region; not the room beyond them."""
    from sim.building import DOOR

    m = three_overcome_in_the_room()
    a, b = m.agents_state, m.building
    room = np.zeros(b.n_cells, dtype=bool)
    room[b.region("room").cells] = True
    # The doorway between the room and the staff room (its west side in the room), and the
    # one between the staff room and the corridor.
    inner, outer = (next(d for d in b.doors if d.symbol == "+" and room[d.cells[0] - 1] == want)
                    for want in (True, False))
    for k, c in enumerate((int(inner.cells[1]), int(outer.cells[1]))):
        assert b.kind[c] == DOOR and m.grid["occ"][c] < 0
        m.grid["occ"][int(a["cell"][k])] = -1
        m.grid["occ"][c] = k
        a["cell"][k] = c
    m.run()
    s = summarise(m, 0.0)
    out = sorted(e["occupant"] for e in s["events"] if e["kind"] == "casualty_carried_out")
    assert out == [0, 2] and s["casualties"] == 3  # (not the one beyond the staff room)
    assert a["cell"][1] == int(outer.cells[1])
    assert s["casualties_left_inside"] == 1 and s["last_casualty_carried_out_s"] is None


def test_the_crew_keeps_its_pace_in_smoke_and_the_staff_do_not():
    """Smoke slows walking, but not a fire_rescue crew's (breathing apparatus; an assumption):
    in the tower's wedged-stair runs the crew climbed the smoke-logged stair at the smoke's
    slowest pace and gave up on those overcome on it. The night nurse is slowed like anyone."""
    def times(extinction):
        smoke = [{"region": "corridor", "extinction_per_m": extinction}] if extinction else []
        sc = drill(occupants=[{"count": 1, "region": "room", "premove_s": 100000}],
                   actors=staff() + [BRIGADE], site={"access": {"gate": "main"}, "roads": ROADS},
                   atmosphere=smoke, time_limit_s=600,
                   timeline=[{"id": "call", "action": "call", "target": "brigade", "at_s": 0},
                             {"id": "in", "action": "send", "target": "room", "by": "brigade",
                              "when": "on_scene", "actor": "brigade"},
                             {"id": "out", "action": "send", "target": "main", "by": "nurse",
                              "at_s": 0}])
        m, s = run(sc)
        assert m.smoke_speed.min() == (pytest.approx(0.354, abs=0.01) if extinction else 1.0)
        on_scene = next(e["time_s"] for e in s["events"] if e["kind"] == "on_scene")
        return row(s, "in")["actual_s"] - on_scene, row(s, "out")["actual_s"]

    (crew, nurse), (crew_smoke, nurse_smoke) = times(0.0), times(8.0)
    assert crew_smoke == pytest.approx(crew, rel=0.1)
    assert nurse_smoke > 1.5 * nurse


def test_one_going_up_and_one_coming_down_a_stair_pass_where_the_flight_meets_the_landing():
    """A flight's end and its landing are joined by a stair link, not side by side, and
    exchanges were looked for among neighbours only: in the tower, a crew member climbing the
    stair and another carrying a resident down met there in one lane and stood face to face
    until the climber gave up, 300 s later. Here: a resident coming down stands at the
    flight's foot, a crew member sent upstairs on the landing below."""
    from tests.worlds import one_lane_stair

    crew = {"name": "crew", "role": "fire_rescue", "start": "landing", "count": 1}
    sc = make_scenario(one_lane_stair(), [{"count": 1, "region": "upper", "premove_s": 0}],
                       actors=[crew], time_limit_s=120,
                       timeline=[{"id": "up", "action": "send", "target": "upper",
                                  "by": "crew", "at_s": 0}])
    m = EvacuationModel(sc, 1, make_handles=False)
    m.step()
    a, b, occ = m.agents_state, m.building, m.grid["occ"]
    landing = int(b.region("landing").cells[0])
    foot = int(b.link_to[b.link_ptr[landing]])  # (the flight's lower end)
    member = m.drill.members[0].row
    assert a["cell"][member] == landing and a["state"][0] == 1  # (both under way)
    occ[a["cell"][0]], occ[foot] = -1, 0
    a["cell"][0] = foot
    m.run()
    s = summarise(m, 0.0)
    assert s["evacuated"] == 1 and s["last_out_s"] < 30
    assert row(s, "up")["actual_s"] < 30
    assert "gave_up" not in {e["kind"] for e in s["events"]}


def test_a_search_of_a_stairwell_takes_in_its_flights():
    """A region holds a stair's landings, not the flights between the floors (they belong to
    no floor), where people coming down are overcome in a smoke-logged stair: the brigade's
    assist of the tower's stairwell looks on every flight; that of a flat region on none."""
    from sim.building import DOOR, FLIGHT
    from sim.engine import Engine
    from sim.goals import Goals
    from sim.scenario import load_scenario

    m = Engine(load_scenario(ROOT / "scenarios" / "residential_tower.toml"), 1)
    b, goals = m.building, Goals(m)
    flight = b.kind == FLIGHT
    stair = goals.search_mask("stairwell")
    assert flight.sum() > 300 and stair[flight].all()
    beyond = stair & ~flight & ~goals.region_mask("stairwell")
    assert set(b.kind[beyond]) == {DOOR}  # (and the doors off it, the stair doors)
    assert not goals.search_mask("ground_flats")[flight].any()


def test_brigade_arrival_is_turnout_plus_route_time():
    t, s = on_scene(brigade_drill(ROADS))
    expected = 10 + 60 + 2000 / (40 / 3.6) + 100 / (10 / 3.6)
    assert t == pytest.approx(expected, abs=0.2)
    assert s["kpis"][0]["met"] is True and s["kpis"][0]["value"] == pytest.approx(t, abs=0.01)
    arrive = row(s, "arrive_brigade")
    assert arrive["planned_s"] == pytest.approx(expected, abs=0.01)
    assert "avenue > fire_lane" in arrive["trigger"]


def test_everyone_out_is_logged_when_it_happens_though_the_drill_goes_on():
    t, s = on_scene(brigade_drill(ROADS))  # (the three are out long before the brigade)
    kinds = [e["kind"] for e in s["events"]]
    assert kinds.count("all_out") == 1 and "time_limit" not in kinds
    all_out = s["events"][kinds.index("all_out")]
    assert all_out["time_s"] == pytest.approx(s["last_out_s"]) and all_out["casualties"] == 0
    assert s["last_out_s"] < t - 60
    assert s["events"][-1] == {"time_s": pytest.approx(s["simulated_s"]), "kind": "drill_done"}
    times = [e["time_s"] for e in s["events"]]
    assert times == sorted(times)
    # With no drill to wait for, the run ends as the last one is out: nothing after it.
    _, plain = run(drill())
    assert plain["events"][-1]["kind"] == "all_out"
    assert plain["events"][-1]["time_s"] == pytest.approx(plain["last_out_s"])
    assert plain["last_out_s"] == pytest.approx(plain["simulated_s"])
    # Everyone out, but the time limit comes before the brigade: not 'drill over'.
    sc = brigade_drill(ROADS)
    sc = dataclasses.replace(sc, time_limit_s=t - 30)
    _, short = run(sc)
    assert short["events"][-1] == {"time_s": pytest.approx(t - 30, abs=sc.dt_s),
                                   "kind": "time_limit", "inside": 0, "drill_unfinished": True}
    assert "drill_done" not in [e["kind"] for e in short["events"]]


def test_an_action_whose_trigger_holds_as_the_last_one_leaves_still_happens():
    """The run ended at the step the last occupant left, and an action the script said
    comes next (when everyone is out; after an action just done) never fired: the tower's
    brigade finished attacking the fire as the last resident left, and the search of the
    upper floors after it was 'never' in half the tower's runs."""
    sc = drill(locked=["rear"], timeline=[
        {"id": "reopen", "action": "unlock", "target": "rear", "when": "all_out"},
        {"id": "then", "action": "lock", "target": "main", "after": "reopen"}])
    _, s = run(sc)
    assert row(s, "reopen")["actual_s"] == pytest.approx(s["last_out_s"], abs=2 * sc.dt_s)
    assert row(s, "then")["actual_s"] == pytest.approx(row(s, "reopen")["actual_s"],
                                                       abs=2 * sc.dt_s)
    assert not s["exits"]["rear"]["locked_at_end"] and s["exits"]["main"]["locked_at_end"]
    assert s["events"][-1]["kind"] == "drill_done"


def test_printed_timeline_is_in_the_order_things_happened():
    # The brigade arrives (about 286 s) before an alarm the script lists earlier (300 s).
    sc = brigade_drill(ROADS, extra=[{"id": "late_alarm", "action": "alarm", "at_s": 300}])
    _, s = run(sc)
    assert [r["id"] for r in s["timeline"]] == ["call", "late_alarm", "arrive_brigade"]
    text = format_summary(s)
    printed = [line for line in text[text.index("drill timeline"):text.index("KPIs")]
               .splitlines()[1:] if line.strip()]
    assert len(printed) == 3
    assert "call brigade" in printed[0]
    assert "arrive main" in printed[1] and "alarm" in printed[2]
    # Something that never happened comes last, in the script's order.
    rows = [{"id": "a", "actual_s": None, "triggered_s": None},
            {"id": "b", "actual_s": 50.0, "triggered_s": 10.0},
            {"id": "c", "actual_s": None, "triggered_s": 20.0},
            {"id": "d", "actual_s": None, "triggered_s": None}]
    assert [r["id"] for r in chronological(rows)] == ["c", "b", "a", "d"]


def test_the_summary_says_who_the_actors_are_with_their_titles():
    # A drill's actors had titles that nothing showed: the timeline named them only.
    brigade = {**BRIGADE, "title": "Fire and rescue, station 3"}
    sc = drill(actors=staff(count=2) + [brigade], site={"access": {"gate": "main"},
                                                        "roads": ROADS},
               timeline=[{"id": "call", "action": "call", "target": "brigade", "at_s": 10}])
    _, s = run(sc)
    assert s["actors"] == [
        {"name": "nurse", "title": "", "role": "night_duty", "count": 2, "start": "staff_room",
         "station": None},
        {"name": "brigade", "title": "Fire and rescue, station 3", "role": "fire_rescue",
         "count": 2, "start": "offsite", "station": "station"}]
    text = format_summary(s)
    block = text[text.index("  actors:"):text.index("drill timeline")].splitlines()
    assert block[1].split() == ["nurse", "night", "duty,", "2", "in", "staff_room"]
    assert block[2].split()[0] == "brigade" and block[2].endswith(
        "Fire and rescue, station 3: fire rescue, 2 from station (off site)")


def test_printed_exits_say_when_a_locked_one_was_unlocked():
    # The karaoke bar's emergency exit read "9 out  LOCKED" though staff had unlocked it at
    # 1 min 35 s, and those nine went out through it.
    sc = drill(actors=staff(), timeline=copy.deepcopy(SCRIPT[:2]), locked=["rear"])
    _, s = run(sc)
    done = row(s, "unlock_rear")["actual_s"]
    assert done is not None and not s["exits"]["rear"]["locked_at_end"]
    line = next(x for x in format_summary(s).splitlines() if x.strip().startswith("rear "))
    assert f" out  LOCKED, unlocked at {format_duration(done)}" in line
    # (one found it and told one: "1 occupants walked up ..., 1 more were told" before)
    assert s["locked_exit_discoveries"] == 1 and s["told_of_locked_exits"] == 1
    assert "  1 occupant walked up to a locked exit, 1 more was told; " in format_summary(s)
    line = next(x for x in format_summary(s).splitlines() if x.strip().startswith("main "))
    assert line.endswith(" out")
    # The script's unlock of an exit that was open changes nothing, and says nothing.
    _, s = run(drill(actors=staff(), timeline=copy.deepcopy(SCRIPT[:2])))
    assert row(s, "unlock_rear")["note"] == "already unlocked"
    line = next(x for x in format_summary(s).splitlines() if x.strip().startswith("rear "))
    assert line.endswith(" out")
    # An exit locked by a timed change says so too.
    sc = drill(changes=[{"time_s": 3, "action": "lock", "target": "main"}])
    _, s = run(sc)
    line = next(x for x in format_summary(s).splitlines() if x.strip().startswith("main "))
    assert line.endswith(" out  locked at 3 s")


def test_an_exit_a_study_takes_away_stays_locked_whoever_comes_to_unlock_it():
    # criticality's "without west_stair_exit" in the office came out 2 s faster than the
    # office as is: the security guard unlocked it after the alarm, as the script says.
    from sim.drillrun import HELD_NOTE

    sc = drill(actors=staff(), timeline=copy.deepcopy(SCRIPT[:2]), locked=["rear"])
    _, free = run(sc)
    assert row(free, "unlock_rear")["actual_s"] is not None
    held = dataclasses.replace(sc, held_locked=("rear",))
    m, s = run(held)
    assert s["exits"]["rear"]["locked_at_end"] and s["exits"]["rear"]["evacuated"] == 0
    r = row(s, "unlock_rear")
    assert r["actual_s"] is None and r["note"] == HELD_NOTE
    failed = [e for e in s["events"] if e["kind"] == "action_failed"]
    assert [e["id"] for e in failed] == ["unlock_rear"] and failed[0]["actor"] == "nurse"
    assert s["evacuated"] == 3  # (by the main exit)
    # A timed change cannot unlock it either; the summary says so.
    sc = drill(locked=["rear"], changes=[{"time_s": 2, "action": "unlock", "target": "rear"}])
    m, s = run(dataclasses.replace(sc, held_locked=("rear",)))
    assert m.is_locked("rear") and s["exits"]["rear"]["locked_at_end"]
    assert "timed changes: rear stays locked (taken away in this study) at 2 s" in \
        format_summary(s)
    _, s = run(sc)
    assert not s["exits"]["rear"]["locked_at_end"]


def test_printed_kpi_times_agree_with_the_printed_last_out():
    # Times are multiples of the step (0.15 s): 309.45 s was printed as "(309.4 s)" on the
    # line "last out" and as "309.45 s" on the KPI's line, for the same time.
    sc = brigade_drill(ROADS)
    _, s = run(sc)
    s = dict(s, evacuation_time_s=309.45, kpis=[
        {"name": "Everyone out within 4 min", "value": 309.45, "unit": "s", "target": 240.0,
         "met": False},
        {"name": "Brigade on scene", "value": 485.0, "unit": "s", "target": 480.0, "met": False},
        {"name": "Nobody harmed", "value": 2, "unit": "", "target": 0, "met": False}])
    text = format_summary(s)
    assert "(309.4 s)" in text
    assert "MISSED Everyone out within 4 min: 309.4 s (target <= 240 s)" in text
    assert "MISSED Brigade on scene: 485 s (target <= 480 s)" in text
    assert "MISSED Nobody harmed: 2 (target <= 0)" in text


def test_blocked_fire_lane_costs_its_clearing_time_or_a_detour():
    free, _ = on_scene(brigade_drill(ROADS))
    # The back road (180 s) is quicker than waiting 300 s for the cars: a detour.
    detour, s = on_scene(brigade_drill(ROADS, blocked=["fire_lane"]))
    assert detour == pytest.approx(free - 36 + 180, abs=0.2)
    assert "back_road" in row(s, "arrive_brigade")["trigger"]
    # Without the back road, the engine waits at the lane while the cars are cleared.
    only_lane = [r for r in ROADS if r["name"] != "back_road"]
    waited, s = on_scene(brigade_drill(only_lane, blocked=["fire_lane"]))
    assert waited == pytest.approx(free + 300, abs=0.2)
    assert s["kpis"][0]["met"] is False
    # Police clearing the lane first cut the wait.
    cleared, _ = on_scene(brigade_drill(only_lane, blocked=["fire_lane"], extra=[
        {"id": "move_cars", "action": "clear_lane", "target": "fire_lane", "at_s": 10,
         "duration_s": 250}]))
    assert free < cleared < waited
    # The engine reaches the lane at 250 s and waits until the cars are gone at 260 s.
    assert cleared == pytest.approx(10 + 250 + 100 / (10 / 3.6), abs=0.3)


def test_detour_lane_is_closed_while_blocked():
    roads = copy.deepcopy(ROADS)
    roads[1]["when_blocked"] = "detour"
    roads[1]["clear_s"] = 10  # would be quick to clear, but a 'detour' lane is not usable
    t, s = on_scene(brigade_drill(roads, blocked=["fire_lane"]))
    assert "back_road" in row(s, "arrive_brigade")["trigger"]


def test_responders_enter_by_their_access_exit_and_do_their_tasks():
    sc = brigade_drill(ROADS, extra=[{"id": "search", "action": "sweep", "target": "room",
                                      "by": "brigade", "when": "on_scene",
                                      "actor": "brigade"}])
    m, s = run(sc)
    arrived = m.drill.on_scene["brigade"]
    assert row(s, "search")["triggered_s"] == pytest.approx(arrived, abs=0.2)
    assert row(s, "search")["actual_s"] > arrived


# --------------------------------------------------------------------------- KPIs, output

def test_kpis_report_met_and_missed_with_their_values():
    sc = drill(kpis=[{"name": "fast", "metric": "all_out_s", "target": 1},
                     {"name": "slow", "metric": "all_out_s", "target": 1000},
                     {"name": "safe", "metric": "casualties", "target": 0}])
    _, s = run(sc)
    k = {x["name"]: x for x in s["kpis"]}
    assert k["fast"]["met"] is False and k["slow"]["met"] is True
    assert k["fast"]["value"] == s["evacuation_time_s"]
    assert k["safe"]["met"] is True and k["safe"]["value"] == 0


def test_an_action_that_never_happens_has_no_actual_time():
    sc = drill(actors=staff(), timeline=[
        {"id": "late", "action": "announce", "target": "all", "use_exit": "main",
         "at_s": 5000}], time_limit_s=100)
    _, s = run(sc)
    assert row(s, "late")["actual_s"] is None and row(s, "late")["planned_s"] == 5000


def test_a_kpi_without_what_its_metric_measures_is_refused():
    # (Found by mutating the library: a KPI "action_s" with no action failed the run at its
    # end, and "on_scene_s" with no actor was reported as missed.)
    got = problems(actors=staff(), kpis=[
        {"name": "gate", "metric": "action_s", "target": 120},
        {"name": "crew", "metric": "on_scene_s", "target": 480},
        {"name": "slow", "metric": "out_s", "target": 600, "profile": ""}])
    assert "kpis[0].action: missing: metric = \"action_s\" needs action" in got
    assert "kpis[1].actor: missing: metric = \"on_scene_s\" needs actor" in got
    assert "kpis[2].profile: got '', expected non-empty text" in got
    assert len(got) == 3


def test_runs_are_reproducible_with_actors():
    sc = bedridden_drill(2)
    a, _ = run(sc, seed=3)
    b, _ = run(sc, seed=3)
    assert np.array_equal(a.agents_state["cell"], b.agents_state["cell"])
    assert np.array_equal(a.agents_state["out_time_s"], b.agents_state["out_time_s"])
    assert a.events == b.events


# --------------------------------------------------------------------------- validation

def problems(**top) -> list[str]:
    with pytest.raises(ScenarioError) as exc:
        drill(**top)
    return exc.value.problems


def test_validation_reports_every_problem_at_once_with_suggestions():
    got = problems(actors=staff() + [{"name": "guard", "role": "securty", "start": "lobby"}],
                   timeline=[
                       {"id": "a", "action": "unlok", "target": "rear", "at_s": 0},
                       {"id": "b", "action": "unlock", "target": "reer", "by": "nurse",
                        "at_s": 0},
                       {"id": "c", "action": "sweep", "target": "room", "by": "nurce",
                        "at_s": 0},
                       {"id": "d", "action": "alarm", "after": "alarn"},
                       {"id": "e", "action": "alarm", "at_s": 0, "when": "all_out"},
                       {"id": "f", "action": "alarm", "at_s": 0, "colour": "red"},
                   ])
    text = "\n".join(got)
    assert "did you mean 'security'" in text
    assert "start: got 'lobby'" in text
    assert "did you mean 'unlock'" in text
    assert "'reer' is not an exit or named door (did you mean 'rear'?)" in text
    assert "'nurce' is not an actor (did you mean 'nurse'?)" in text
    assert "'alarn' is not the id of an action" in text
    assert "expected exactly one trigger" in text
    assert "timeline[5].colour: unknown key" in text
    assert len(got) >= 8


def test_a_missing_target_is_said_to_be_missing():
    got = problems(actors=staff() + [BRIGADE], site={"access": {"gate": "main"},
                                                      "roads": ROADS},
                   timeline=[{"id": "call", "action": "call", "at_s": 0},
                             {"id": "odd", "action": "unlock", "target": 3, "at_s": 0}])
    assert "timeline[0].target: missing, expected the name of an off-site actor" in got
    assert "timeline[1].target: got 3, expected the name of an exit or named door" in got


def test_a_negative_duration_is_refused():
    # "got -60, expected a number >= -1": -1 was the mark of "not given", and -0.5 passed.
    for d in (-60, -1, -0.5):
        got = problems(actors=staff(), timeline=[
            {"id": "a", "action": "alarm", "at_s": 0},
            {"id": "s", "action": "sweep", "target": "room", "by": "nurse", "after": "a",
             "duration_s": d}])
        assert got == [f"timeline[1].duration_s: got {d:g}, expected a number >= 0"], d


def test_trigger_cycles_are_reported():
    got = problems(timeline=[{"id": "x", "action": "alarm", "after": "y"},
                             {"id": "y", "action": "announce", "target": "all",
                              "use_exit": "main", "after": "x"}])
    assert any("trigger cycle: x -> y -> x" in p or "trigger cycle: y -> x -> y" in p
               for p in got)


def test_actions_that_can_never_fire_are_reported():
    got = problems(actors=staff() + [BRIGADE], site={"access": {"gate": "main"},
                                                      "roads": ROADS},
                   timeline=[{"id": "search", "action": "sweep", "target": "room",
                              "by": "brigade", "at_s": 0},
                             {"id": "after_search", "action": "alarm", "after": "search"},
                             {"id": "wait", "action": "alarm", "when": "arrived",
                              "actor": "nurse", "place": "rear"},
                             {"id": "smoke", "action": "alarm", "when": "smoke",
                              "region": "room"}])
    text = "\n".join(got)
    assert "off-site and never called" in text
    assert "'after_search' comes after 'search', which can never happen" in text
    assert "no action sends them there" in text
    assert "no [[fires]]" in text


def test_an_out_count_beyond_the_occupants_is_reported():
    occupants = [{"count": 3, "region": "room", "premove_s": 5},
                 {"count": 2, "region": "room", "profile": "elderly", "premove_s": 5}]

    def out(count, **extra):
        return {"id": "ann", "action": "announce", "target": "all", "use_exit": "main",
                "when": "out", "count": count, **extra}

    text = "\n".join(problems(occupants=occupants, timeline=[out(6), out(3, profile="elderly")]))
    assert "timeline[0].count: got 6, but the scenario has 5 occupants: this trigger could " \
           "never fire" in text
    assert "timeline[1].count: got 3, but the scenario has 2 occupants of profile 'elderly'" \
           in text
    # As many as there are is fine.
    assert drill(occupants, timeline=[out(5)]).drill.actions
    assert drill(occupants, timeline=[out(2, profile="elderly")]).drill.actions


def test_a_road_network_in_two_pieces_is_reported():
    # The avenue ends at a depot: no road joins the station to the gate.
    pieces = [{**ROADS[0], "to": "depot"}, ROADS[1], ROADS[2]]
    text = "\n".join(problems(actors=staff() + [BRIGADE],
                              site={"access": {"gate": "main"}, "roads": pieces},
                              timeline=[{"id": "call", "action": "call", "target": "brigade",
                                         "at_s": 10}]))
    assert "actors.brigade.station: no road leads from 'station' to 'gate' (where they are on " \
           "scene), even with every lane clear" in text
    # A blocked lane is the drill's business, not a mistake: the network is whole.
    assert brigade_drill([ROADS[0], ROADS[1]], blocked=["fire_lane"]).drill.roads


def test_road_and_actor_references_are_checked():
    got = problems(actors=[{**BRIGADE, "station": "statoin", "access": "mian"}],
                   site={"access": {"gate": "main"}, "roads": ROADS},
                   blocked_roads=["fire_lan"],
                   timeline=[{"action": "call", "target": "brigade", "at_s": 0}],
                   kpis=[{"metric": "on_scene_s", "actor": "brigadier", "target": 1},
                         {"metric": "speed", "target": 1}])
    text = "\n".join(got)
    assert "'statoin' is not a node of the road network (did you mean 'station'?)" in text
    assert "'mian' is not an exit (did you mean 'main'?)" in text
    assert "'fire_lan' is not a road of [site] (did you mean 'fire_lane'?)" in text
    assert "'brigadier' is not an actor of this scenario (did you mean 'brigade'?)" in text
    assert "kpis[1].metric" in text


def test_cli_check_exits_2_on_a_bad_drill(tmp_path, capsys):
    from sim.cli import main
    text = (ROOT / "scenarios" / "nursing_home.toml").read_text()
    bad = text.replace('by = "night_staff"\nafter = "alarm"\n\n[[timeline]]\nid = "fetch',
                       'by = "night_stafff"\nafter = "alarm"\n\n[[timeline]]\nid = "fetch', 1)
    assert bad != text
    path = tmp_path / "bad.toml"
    path.write_text(bad)
    (tmp_path.parent / "buildings").mkdir(exist_ok=True)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "'night_stafff' is not an actor (did you mean 'night_staff'?)" in err
    assert "Traceback" not in err


# ------------------------------------------------------------- variants that edit the script

SCRIPT = [{"id": "alarm", "action": "alarm", "at_s": 5},
          {"id": "unlock_rear", "action": "unlock", "target": "rear", "by": "nurse",
           "after": "alarm"},
          {"id": "sweep_room", "action": "sweep", "target": "room", "by": "nurse",
           "after": "alarm", "delay_s": 10}]
GUARD = {"name": "guard", "role": "venue_staff", "start": "corridor"}


def variant_of(edits: dict, name="v"):
    return drill(actors=staff() + [GUARD], timeline=copy.deepcopy(SCRIPT), locked=["rear"],
                 variants={name: edits}, variant=name)


def test_a_variant_drops_and_sets_rows_as_if_it_gave_the_lists_whole():
    # A variant that drops one action had to copy the rest of the timeline (seven rows in the
    # bathhouse's back_locked_no_key, to change two).
    edited = variant_of({"drop_timeline": ["sweep_room"], "drop_actors": ["guard"],
                         "set_timeline": [{"id": "alarm", "action": "alarm", "at_s": 60},
                                          {"id": "call", "action": "alarm", "target": "room",
                                           "after": "unlock_rear"}],
                         "set_actors": [{**staff(count=2)[0]}]})
    whole = variant_of({"actors": staff(count=2),
                        "timeline": [{"id": "alarm", "action": "alarm", "at_s": 60},
                                     SCRIPT[1],
                                     {"id": "call", "action": "alarm", "target": "room",
                                      "after": "unlock_rear"}]})
    # (a replaced row stays where it stood; a new one goes after the others)
    assert [a.id for a in edited.drill.actions] == ["alarm", "unlock_rear", "call"]
    assert edited.drill == whole.drill
    _, a = run(edited, max_steps=600)
    _, b = run(whole, max_steps=600)
    a.pop("wall_s"), b.pop("wall_s")
    assert a == b
    assert row(a, "alarm")["actual_s"] >= 60  # the replaced trigger is the one that ran


def test_a_variant_drops_and_sets_kpis_by_name():
    kpis = [{"name": "All out in 2 min", "metric": "all_out_s", "target": 120},
            {"metric": "casualties", "target": 0}]  # (goes by its metric)
    sc = drill(actors=staff(), timeline=copy.deepcopy(SCRIPT), kpis=kpis, variant="v",
               variants={"v": {"drop_kpis": ["casualties"],
                               "set_kpis": [{"name": "All out in 2 min", "metric": "all_out_s",
                                             "target": 90},
                                            {"name": "Rear open", "metric": "action_s",
                                             "action": "unlock_rear", "target": 30}]}})
    assert [(k.name, k.target) for k in sc.drill.kpis] == [("All out in 2 min", 90.0),
                                                           ("Rear open", 30.0)]
    with pytest.raises(ScenarioError) as exc:
        drill(actors=staff(), timeline=copy.deepcopy(SCRIPT), kpis=kpis, variant="v",
              variants={"v": {"drop_timeline": ["unlock_rear"], "drop_kpis": ["casualtys"],
                              "set_kpis": [{"name": "Rear open", "metric": "action_s",
                                            "action": "unlock_rear", "target": 30}]}})
    text = "\n".join(exc.value.problems)
    assert ("variants.v.drop_kpis: 'casualtys' is not the name of a KPI in the top-level kpis "
            "(did you mean 'casualties'?)") in text
    assert ("variants.v.set_kpis[0].action: 'unlock_rear' is not an action of this scenario "
            "(variants.v.drop_timeline drops it)") in text


def test_check_says_what_a_variant_changes_against_base():
    from sim.variantdiff import variant_changes

    edits = {"drop_timeline": ["sweep_room"], "drop_actors": ["guard"], "locked": [],
             "set_timeline": [{"id": "alarm", "action": "alarm", "at_s": 60},
                              {"id": "call", "action": "alarm", "target": "room",
                               "after": "unlock_rear", "duration_s": 30}],
             "set_actors": [{**staff(count=2)[0]}],
             "clutter": [{"region": "corridor", "speed_factor": 0.5}],
             "model": {"friction": 0.5}}
    base = drill(actors=staff() + [GUARD], timeline=copy.deepcopy(SCRIPT), locked=["rear"],
                 variants={"v": edits, "same": {}}, variant="base")
    v = drill(actors=staff() + [GUARD], timeline=copy.deepcopy(SCRIPT), locked=["rear"],
              variants={"v": edits}, variant="v")
    lines = variant_changes(base, v)
    assert lines == ["model: friction 0.3 -> 0.5",
                     "no longer locks rear",
                     "adds clutter 'corridor' (speed factor 0.5)",
                     "drops actor 'guard'",
                     "actor 'nurse': count 1 -> 2",
                     "drops action 'sweep_room'",
                     "action 'alarm': trigger at 5 s -> at 60 s",
                     "adds action 'call' (alarm room, after unlock_rear, taking 30 s)"]
    assert variant_changes(base, base) == []
    # A row added is described by what it gives, its name aside.
    back = variant_changes(v, base)
    assert back[3:5] == [
        "actor 'nurse': count 2 -> 1",
        "adds actor 'guard' (role venue_staff, count 1, start corridor, speed_ms 1.34, "
        "turnout_s 0)"]
    assert back[-1] == "adds action 'sweep_room' (sweep room by nurse, after alarm + 10 s, " \
        "taking 5 s)"
    same = drill(actors=staff() + [GUARD], timeline=copy.deepcopy(SCRIPT), locked=["rear"],
                 variants={"same": {"description": "As written."}}, variant="same")
    assert variant_changes(base, same) == []


def test_check_prints_each_variants_changes(capsys):
    # The nursing home's four-staff variants copied both actors whole and lost their titles
    # ("Night duty nurses"): a change nobody meant, which this listing showed.
    from sim.cli import main

    assert main(["check", "nursing_home"]) == 0
    out = capsys.readouterr().out
    block = out.split("[rear_locked_4_staff]")[1].split("\n/")[0]
    assert "against base: locks rear\n" in block
    assert "actor 'night_staff': count 2 -> 4" in block
    assert "title" not in block
    assert "[rear_open]" in out and "against base: no change" in out


def test_the_library_variants_that_edit_their_script_drop_and_add_what_they_say():
    from sim.scenario import load_scenario, resolve_scenario_path

    sc = load_scenario(resolve_scenario_path("bathhouse"), "back_locked_no_key")
    base = load_scenario(resolve_scenario_path("bathhouse"), "back_locked")
    ids = [a.id for a in sc.drill.actions]
    assert "unlock_back" not in ids and "force_back_door" in ids
    assert set(ids) - {"force_back_door"} == {a.id for a in base.drill.actions} - {"unlock_back"}
    staff_now, staff_before = sc.drill.actor("staff"), base.drill.actor("staff")
    assert staff_now.keys == () and staff_before.keys == ("back",)
    assert dataclasses.replace(staff_now, keys=("back",)) == staff_before
    late = load_scenario(resolve_scenario_path("office"), "late_alarm").drill
    assert late.actions[0].id == "alarm" and late.actions[0].trigger.kind == "at"


def test_edits_that_cannot_apply_are_reported_where_they_were_written():
    def errors(edits):
        with pytest.raises(ScenarioError) as exc:
            variant_of(edits)
        return "\n".join(exc.value.problems)

    text = errors({"drop_timeline": ["sweep_rom", 3], "drop_actors": ["gaurd"]})
    assert "variants.v.drop_timeline: got ['sweep_rom', 3], expected a list of action ids" \
        in text
    assert ("variants.v.drop_actors: 'gaurd' is not the name of an actor in the top-level "
            "actors (did you mean 'guard'?)") in text
    text = errors({"drop_timeline": ["sweep_rom"]})
    assert ("variants.v.drop_timeline: 'sweep_rom' is not the id of an action in the "
            "top-level timeline (did you mean 'sweep_room'?)") in text
    assert "give either timeline (the whole list) or drop_timeline / set_timeline" in \
        errors({"timeline": SCRIPT[:1], "drop_timeline": ["sweep_room"]})
    text = errors({"drop_timeline": ["alarm"],
                   "set_timeline": [{"action": "alarm", "at_s": 1},
                                    {"id": "alarm", "action": "alarm", "at_s": 1},
                                    {"id": "new", "action": "sweep", "target": "rom",
                                     "by": "guard", "at_s": 1}]})
    assert ("variants.v.set_timeline[0].id: missing: expected the id of the action it "
            "replaces, or of a new one") in text
    assert "variants.v.set_timeline[1].id: 'alarm' is also in drop_timeline" in text
    assert "variants.v.set_timeline[2].target: 'rom' is not" in text
    # Rows left behind that name a dropped row are told where they are and why.
    assert ("timeline[1].after: 'alarm' is not the id of an action (variants.v.drop_timeline "
            "drops it)") in text
    text = errors({"drop_actors": ["nurse"]})
    assert "timeline[1].by: 'nurse' is not an actor (variants.v.drop_actors drops it)" in text
    # The edits belong to variants: at the top level they are unknown keys.
    with pytest.raises(ScenarioError, match="drop_timeline: unknown key"):
        drill(timeline=SCRIPT, actors=staff(), drop_timeline=["alarm"])
