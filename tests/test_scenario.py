"""Scenario files: shipped scenarios load in every variant; bad input is reported clearly."""

from __future__ import annotations

from math import inf, nan
from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.scenario import list_variants, load_scenario, resolve_scenario_path

from worlds import building_doc, make_scenario, room_with_exit

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "scenarios").glob("*.toml"))
ROOM = building_doc(room_with_exit(10, 3), {"door": "X"}, regions={"room": {"symbol": "r"}})


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_scenarios_load_in_every_variant(path):
    variants = list_variants(path)
    assert len(variants) >= 3  # base plus at least a baseline and a locked-exit variant
    for v in variants:
        sc = load_scenario(path, v)
        assert sc.occupants > 0 and sc.variant == v
    assert any(load_scenario(path, v).locked for v in variants)


def test_variant_overrides_and_merges():
    sc = load_scenario(ROOT / "scenarios" / "hall.toml", "two_locked", seed=7)
    assert sc.locked == ("north_west", "north_east") and sc.seed == 7
    assert load_scenario(ROOT / "scenarios" / "hall.toml").locked == ()
    sc = make_scenario(ROOM, [{"count": 5, "region": "room"}], "slow",
                       model={"k_s": 5.0, "friction": 0.2},
                       variants={"slow": {"model": {"friction": 0.5}}})
    assert sc.params.k_s == 5.0 and sc.params.friction == 0.5


def test_run_summary_says_what_the_variant_is():
    from sim.model import EvacuationModel
    from sim.run import format_summary, summarise

    variants = {"locked": {"description": "The door is locked.", "locked": ["door"]},
                "open": {"description": "The door is open."}}
    text = {}
    for v in (None, "locked"):
        sc = make_scenario(ROOM, [{"count": 2, "region": "room"}], v, variants=variants)
        m = EvacuationModel(sc, 1, make_handles=False)
        m.run(max_steps=2)
        text[v] = format_summary(summarise(m, 0.0)).splitlines()
    assert sc.variant_description == "The door is locked."
    assert text["locked"][1].strip().startswith("variant locked,")
    assert text["locked"][2].strip() == "The door is locked."
    assert text[None][2].strip() == "the scenario as written; its variants: locked, open"
    # A scenario without variants adds no line.
    sc = make_scenario(ROOM, [{"count": 2, "region": "room"}])
    m = EvacuationModel(sc, 1, make_handles=False)
    m.run(max_steps=2)
    assert format_summary(summarise(m, 0.0)).splitlines()[2].strip().startswith("evacuated")


def test_run_summary_lists_the_timed_changes():
    from sim.model import EvacuationModel
    from sim.run import format_summary, summarise

    sc = make_scenario(ROOM, [{"count": 2, "region": "room"}],
                       changes=[{"time_s": 3, "action": "lock", "target": "door"},
                                {"time_s": 90, "action": "unlock", "target": "door"}])
    m = EvacuationModel(sc, 1, make_handles=False)
    m.run(max_steps=40)
    text = format_summary(summarise(m, 0.0))
    assert "  timed changes: door locked at 3 s\n" in text  # (the unlock did not come yet)
    plain = make_scenario(ROOM, [{"count": 2, "region": "room"}])
    m = EvacuationModel(plain, 1, make_handles=False)
    m.run(max_steps=40)
    assert "timed changes" not in format_summary(summarise(m, 0.0))


def test_large_counts_are_printed_with_thousands_separators():
    # The temple fair's summary read "seed 1, 100000 occupants" under a title that says
    # "100,000 visitors", and "north_west_gate  12552 out".
    from sim.model import EvacuationModel
    from sim.run import format_summary, summarise

    m = EvacuationModel(make_scenario(ROOM, [{"count": 2, "region": "room"}]), 1,
                        make_handles=False)
    m.run(max_steps=2)
    s = summarise(m, 0.0)
    s = dict(s, occupants=100_000, evacuated=99_000, inside=1_000, casualties=1_200,
             steps=8_207, exits={"door": dict(s["exits"]["door"], evacuated=12_552)})
    text = format_summary(s)
    assert "seed 1, 100,000 occupants" in text
    assert "evacuated 99,000, still inside 1,000, casualties 1,200\n" in text
    assert "door                  12,552 out" in text
    # (The demo's hall printed "1124 steps of 0.15 s" under "evacuated 1,000".)
    assert "  8,207 steps of 0.15 s in" in text
    smoky = format_summary(dict(s, harmed=2_500, peak_fed=1.5, regions={},
                                occupant_seconds_in_smoke=123_456.0))
    assert ("smoke: 1,200 incapacitated (FED >= 1), 2,500 harmed (FED >= 0.3), peak FED "
            "1.500, 123,456 occupant-seconds in smoke") in smoky


def test_builtin_scenario_by_name():
    assert resolve_scenario_path("hall").name == "hall.toml"
    with pytest.raises(ScenarioError, match=r"no built-in scenario of that name \(did you "
                                            r"mean 'hall'\?\)"):
        resolve_scenario_path("halll")


def test_a_building_named_without_a_path_may_sit_beside_the_scenario(tmp_path):
    # A user's folder with plan.toml and drill.toml, "building = 'plan'": it looked only in
    # ../buildings/ and among the built-in buildings.
    (tmp_path / "mine").mkdir()
    plan = (ROOT / "buildings" / "restaurant.toml").read_text()
    (tmp_path / "mine" / "plan.toml").write_text(plan.replace('name = "restaurant"',
                                                              'name = "plan"', 1))
    drill = tmp_path / "mine" / "drill.toml"
    drill.write_text('schema = "drillsim.scenario/1"\nname = "d"\nbuilding = "plan"\n'
                     '[[occupants]]\ncount = 5\nregion = "dining_hall"\n')
    assert load_scenario(drill).building.name == "plan"
    # Another scenario of that name is not taken for the building; a building that does not
    # parse is, so that the error says what is wrong with it.
    (tmp_path / "mine" / "hall.toml").write_text((ROOT / "scenarios" / "hall.toml").read_text(
        encoding="utf-8"), encoding="utf-8")
    drill.write_text(drill.read_text().replace('"plan"', '"hall"'))
    with pytest.raises(ScenarioError, match="'hall' not found"):
        load_scenario(drill)
    (tmp_path / "mine" / "plan.toml").write_text("schema = ")
    drill.write_text(drill.read_text().replace('"hall"', '"plan"'))
    with pytest.raises(ScenarioError, match="plan.toml': not valid TOML"):
        load_scenario(drill)


def error_of(occupants, **top) -> str:
    with pytest.raises(ScenarioError) as info:
        make_scenario(ROOM, occupants, top.pop("_variant", None), **top)
    return str(info.value)


def test_unknown_keys_get_suggestions():
    msg = error_of([{"count": 5, "region": "room", "profle": "adult"}], time_limt_s=10)
    assert "time_limt_s: unknown key (did you mean 'time_limit_s'?)" in msg
    assert "occupants[0].profle: unknown key (did you mean 'profile'?)" in msg


def test_names_must_exist_in_the_building():
    msg = error_of([{"count": 5, "region": "rom"}], locked=["dor"])
    assert "occupants[0].region: got 'rom' (did you mean 'room'?)" in msg
    assert "'dor' is not an exit or named door (did you mean 'door'?)" in msg


def test_empty_names_and_numbers_that_are_not_finite_are_refused():
    # Found by mutating the library's scenarios: an empty region passed the check (only a
    # name that was there was looked up) and the run then failed placing people; an infinite
    # time limit failed counting its steps.
    msg = error_of([{"count": 5, "region": ""}, {"count": 5, "region": "room", "speed_ms": nan}],
                   time_limit_s=inf, alarm_s=-inf, locked=[" "])
    assert "occupants[0].region: got '', expected non-empty text" in msg
    assert "occupants[1].speed_ms: got nan, expected a finite number" in msg
    assert "time_limit_s: got inf, expected a finite number" in msg
    assert "alarm_s: got -inf, expected a finite number" in msg
    assert "' ' is not an exit or named door" in msg
    # A description may be empty; a time limit of more than a day is a slip.
    msg = error_of([{"count": 5, "region": "room"}], description="", time_limit_s=1e9)
    assert "description" not in msg
    assert "time_limit_s: got 1e+09, expected a number > 0 and <= 86400" in msg


def test_unknown_variant_lists_the_variants():
    msg = error_of([{"count": 5, "region": "room"}], _variant="lockd",
                   variants={"locked": {"locked": ["door"]}})
    assert "--variant: got 'lockd' (did you mean 'locked'?); this scenario has: base, locked" in msg
    # An empty name is not base ('--variant "$V"' with V unset): it is refused too.
    msg = error_of([{"count": 5, "region": "room"}], _variant="",
                   variants={"locked": {"locked": ["door"]}})
    assert "--variant: got ''; this scenario has: base, locked" in msg


def test_bad_distributions_and_values():
    msg = error_of([{"count": 5, "region": "room", "premove_s": {"dist": "uniform", "low": 9}},
                    {"count": -1, "region": "room"},
                    {"count": 5, "region": "room", "speed_ms": {"dist": "gauss"}},
                    {"count": 5, "region": "room", "speed_ms": 3.5}])
    assert "occupants[0].premove_s.high: missing required key" in msg
    assert "occupants[1].count: got -1, expected a whole number >= 0" in msg
    assert "occupants[2].speed_ms.dist: got 'gauss'" in msg
    assert "occupants[3].speed_ms: draws up to 3.5 m/s, expected at most" in msg
    msg = error_of([{"count": 5, "region": "room", "speed_ms": {"dist": "normal", "mean": 1,
                                                                 "sd": 0.2, "high": 0.5}},
                    {"count": 5, "region": "room", "premove_s": {
                        "dist": "lognormal", "mu": 3, "sigma": 1, "low": 60, "high": 30}}])
    assert "occupants[0].speed_ms: low 0.6 (the profile's, as none is given) is above high " \
        "0.5" in msg
    assert "occupants[1].premove_s: low 60 is above high 30" in msg


def test_speeds_too_fast_for_the_grid_say_which_time_step_fits():
    # 0.25 m cells with the default dt_s = 0.15: the adult profile's speeds (up to 2 m/s) cover
    # more than 0.92 of a cell a step. The message says the profile's defaults are to blame,
    # and a dt_s that fits; with it, the scenario loads.
    small = building_doc(room_with_exit(10, 3), {"door": "X"},
                         regions={"room": {"symbol": "r"}}, cell_m=0.25)
    with pytest.raises(ScenarioError) as info:
        make_scenario(small, [{"count": 5, "region": "room"}])
    assert "occupants[0].speed_ms: (profile 'adult', by default) draws up to 2 m/s, expected " \
           "at most 1.53 m/s with dt_s = 0.15 and cells of 0.25 m (set dt_s = 0.11 or less" \
           in str(info.value)
    assert make_scenario(small, [{"count": 5, "region": "room"}], dt_s=0.11).occupants == 5
    # No time step of 0.01 s or more fits 40 m/s: only the speeds can change.
    with pytest.raises(ScenarioError) as info:
        make_scenario(small, [{"count": 5, "region": "room", "speed_ms": 40}])
    assert "occupants[0].speed_ms: draws up to 40 m/s, expected at most 1.53 m/s with " \
           "dt_s = 0.15 and cells of 0.25 m (give a speed_ms with a lower 'high')" \
           in str(info.value)


def test_a_speed_that_may_be_zero_is_refused_for_people_who_walk():
    # speed_ms = 0 loaded, and those people stood where they started until the time limit.
    msg = error_of([{"count": 5, "region": "room", "speed_ms": 0},
                    {"count": 5, "region": "room",
                     "speed_ms": {"dist": "uniform", "low": 0, "high": 1.2}},
                    {"count": 5, "region": "room",
                     "speed_ms": {"dist": "normal", "mean": 1.2, "sd": 0.3, "low": 0}}])
    for k in range(3):
        assert f"occupants[{k}].speed_ms: draws speeds down to 0 m/s, expected speeds above 0" \
            in msg
    assert "profile 'bedridden'" in msg
    ok = [{"count": 5, "region": "room", "speed_ms": 0.3},
          {"count": 2, "region": "room", "profile": "bedridden", "speed_ms": 0}]
    assert make_scenario(building_doc(room_with_exit(10, 3), {"door": "X"},
                                      regions={"room": {"symbol": "r"}}), ok).occupants == 7


@pytest.mark.parametrize("name", ["nursing/home", "a\\b", "night: drill", "", " ", "a\tb"])
def test_a_name_that_cannot_name_a_folder_is_refused(name):
    msg = error_of([{"count": 5, "region": "room"}], name=name)
    assert f"name: got {name!r}, expected a short name without /" in msg


def test_a_variant_name_that_cannot_name_a_folder_is_refused():
    msg = error_of([{"count": 5, "region": "room"}], variants={"two/locked": {}, "ok": {}},
                   _variant="ok")
    assert "variants: got a variant named 'two/locked', expected a short name" in msg


def test_names_in_any_script_are_fine():
    sc = make_scenario(ROOM, [{"count": 5, "region": "room"}], name="养老院 night-drill_2.1")
    assert sc.name == "养老院 night-drill_2.1"


def test_too_many_occupants_for_the_region():
    msg = error_of([{"count": 500, "region": "room"}])
    assert "500 occupants do not fit in region 'room'" in msg


def test_changes_are_validated():
    msg = error_of([{"count": 5, "region": "room"}],
                   changes=[{"time_s": 5, "action": "unlcok", "target": "door"},
                            {"time_s": 5, "action": "open", "target": "door"}])
    assert "changes[0].action: got 'unlcok' (did you mean 'unlock'?)" in msg
    assert "'door' is not a named door; exits are locked or unlocked, not opened" in msg


def test_visitors_need_an_entrance():
    msg = error_of([{"count": 5, "region": "room", "profile": "visitor"}])
    assert "occupants[0].entrance: profile 'visitor' knows only its entrance" in msg


def test_building_errors_surface_in_the_scenario(tmp_path):
    (tmp_path / "b.toml").write_text('schema = "drillsim.building/1"\nname = "b"\n'
                                     'floors = [{name = "g", map = "#?#"}]\n')
    (tmp_path / "s.toml").write_text('schema = "drillsim.scenario/1"\nname = "s"\n'
                                     'building = "b.toml"\n'
                                     'occupants = [{count = 1, region = "x"}]\n')
    with pytest.raises(ScenarioError, match=r"building '.*b.toml': floor 'g', map line 1, "
                                            r"column 2: unknown symbol '\?'"):
        load_scenario(tmp_path / "s.toml")
    (tmp_path / "s2.toml").write_text('schema = "drillsim.scenario/1"\nname = "s"\n'
                                      'building = "nowhere"\n'
                                      'occupants = [{count = 1, region = "x"}]\n')
    with pytest.raises(ScenarioError, match="building: 'nowhere' not found") as info:
        load_scenario(tmp_path / "s2.toml")
    # Nothing close: the built-in buildings are listed; something close: the closest named.
    assert "the built-in buildings: bathhouse, " in str(info.value)
    assert "rimea9_hall" in str(info.value)
    (tmp_path / "s3.toml").write_text('schema = "drillsim.scenario/1"\nname = "s"\n'
                                      'building = "rimea9_hal"\n'
                                      'occupants = [{count = 1, region = "x"}]\n')
    with pytest.raises(ScenarioError, match=r"\(did you mean 'rimea9_hall'\?\)"):
        load_scenario(tmp_path / "s3.toml")


def test_bare_building_names_never_resolve_to_the_scenario_itself(tmp_path):
    """A scenario named like its building, outside the repository layout (as when installed):
    the bare name must find the built-in building, not the scenario file beside it."""
    import shutil

    shutil.copy(ROOT / "scenarios" / "nursing_home.toml", tmp_path / "nursing_home.toml")
    sc = load_scenario(tmp_path / "nursing_home.toml", "rear_locked")
    assert sc.building.name == "nursing_home" and len(sc.building.exits) == 3


def test_a_base_variant_table_may_describe_base_but_not_change_it(tmp_path):
    from sim.compare import default_variants

    top = {"variants": {"base": {"locked": ["door"], "description": "As built."},
                        "locked": {"locked": ["door"]}}}
    msg = error_of([{"count": 5, "region": "room"}], **top)
    assert "variants.base.locked: 'base' is the scenario as written, so its table takes only " \
           "a description" in msg
    msg = error_of([{"count": 5, "region": "room"}], _variant="locked", **top)
    assert "variants.base.locked" in msg  # whichever variant is loaded
    # Described only: base is listed once, carries the description, and is compared.
    path = tmp_path / "s.toml"
    path.write_text((ROOT / "scenarios" / "hall.toml").read_text(encoding="utf-8")
                    + '\n[variants.base]\ndescription = "All four exits as drawn."\n',
                    encoding="utf-8")
    names = list_variants(path)
    assert names.count("base") == 1 and names[0] == "base"
    assert load_scenario(path).variant_description == "All four exits as drawn."
    assert default_variants(path) == names
    assert "base" not in default_variants(ROOT / "scenarios" / "hall.toml")


def test_groups_that_fit_alone_but_not_together_are_refused():
    free = len(make_scenario(ROOM, [{"count": 1, "region": "room"}]).building.region("room").cells)
    half = free // 2 + 1
    msg = error_of([{"count": half, "region": "room"},
                    {"count": half, "region": "room", "profile": "elderly"}])
    assert (f"occupants: {2 * half} occupants in region 'room' ([0] {half} + [1] {half}) do not "
            f"fit in its {free} free cells of 0.4 m") in msg
    # Exactly full is fine.
    sc = make_scenario(ROOM, [{"count": half, "region": "room"},
                              {"count": free - half, "region": "room"}])
    assert sc.occupants == free


def test_a_scenario_with_nobody_in_it_is_refused():
    msg = error_of([{"count": 0, "region": "room"}, {"count": 0, "region": "room"}])
    assert "occupants: every group has count = 0: expected at least one occupant" in msg
    # A count that is not a valid number is reported as such, not also as a count of 0.
    for bad in (-5, 1e9, "ten"):
        msg = error_of([{"count": bad, "region": "room"}])
        assert "occupants[0].count: got" in msg and "count = 0" not in msg


def test_top_level_values_are_named_once_where_they_were_set():
    msg = error_of([{"count": 5, "region": "room"}], time_limit_s="fast", dt_s=0)
    lines = msg.splitlines()
    assert "  - time_limit_s: got 'fast', expected a number" in lines
    assert "  - dt_s: got 0, expected a number >= 0.01 and <= 1" in lines
    # Set by the variant loaded: the variant's table is named, the key once.
    msg = error_of([{"count": 5, "region": "room"}], _variant="quick",
                   variants={"quick": {"alarm_s": -1, "seed": "one"}})
    lines = msg.splitlines()
    assert "  - variants.quick.alarm_s: got -1, expected a number >= 0" in lines
    assert "  - variants.quick.seed: got 'one', expected a whole number" in lines
    assert make_scenario(ROOM, [{"count": 0, "region": "room"},
                                {"count": 1, "region": "room"}]).occupants == 1


def test_a_scenario_without_a_building_is_told_so_once(tmp_path):
    path = tmp_path / "nobuilding.toml"
    path.write_text('schema = "drillsim.scenario/1"\nname = "x"\n'
                    '[[occupants]]\ncount = 3\nregion = "room"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.problems == ["building: missing required key"]
