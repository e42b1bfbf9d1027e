"""Bad input gets a clear error, never a crash: the library's scenario and building files,
each with a few of its values changed at random (deleted, of the wrong type, empty, not finite,
out of any sensible range; map characters replaced), either load and run, or are refused with
an :class:`~sim.errors.InputError` that names the file, as ``drillsim`` then exits with code 2.

``FOUND`` below is what this found when first run over the library."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from sim.building import build_building
from sim.engine import Engine
from sim.errors import InputError, ScenarioError
from sim.run import summarise
from sim.scenario import build_scenario, list_variants
from sim.validation import read_toml

ROOT = Path(__file__).resolve().parent.parent
# (The temple fair, of 100,000 people, takes seconds to load and step: the others cover its keys.)
SCENARIOS = sorted(p.stem for p in (ROOT / "scenarios").glob("*.toml") if p.stem != "temple_fair")
BUILDING_OF = {"hall": "rimea9_hall", "office": "office_3f"}
ODD = ["", " ", "x", -1, 0, 0.5, 1e9, float("nan"), float("inf"), -float("inf"), True, [], {},
       [1, 2], {"a": 1}]
STEPS = 30


def leaf_paths(value, path=()):
    """Every key path into a parsed TOML document, the document itself left out."""
    if path:
        yield path
    items = value.items() if isinstance(value, dict) else \
        enumerate(value) if isinstance(value, list) else ()
    for key, sub in items:
        yield from leaf_paths(sub, path + (key,))


def scalars(value):
    """Every text and number in a parsed document (to swap one for another of the same kind)."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for sub in value:
            yield from scalars(sub)
    elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
        yield value


@st.composite
def mutated(draw, doc: dict) -> tuple[dict, list[str]]:
    """``doc`` with one to three values changed; also what was changed, for the report. Most
    changes keep the value's kind (a name swapped for another name of the file, a number
    scaled, a row dropped or doubled, a map character replaced), so that many mutants still
    load and the run itself is put to the test; the rest delete a value or put an odd one."""
    doc = copy.deepcopy(doc)
    said = []
    for _ in range(draw(st.integers(1, 3))):
        paths = list(leaf_paths(doc))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        old = parent[path[-1]]
        how = draw(st.sampled_from(["delete", "odd"] + ["same kind"] * 4))
        if how == "delete":
            del parent[path[-1]]
            said.append(f"{path}: deleted")
            continue
        if how == "odd":
            new = copy.deepcopy(draw(st.sampled_from(ODD)))
        elif isinstance(old, bool):
            new = not old
        elif isinstance(old, (int, float)):
            new = old * draw(st.sampled_from([-1, 0, 0.5, 2, 1000, 1e-3]))
            new = type(old)(new) if isinstance(old, int) and abs(new) < 2**62 else new
        elif isinstance(old, str) and "\n" in old and len(old) > 40:  # a map (or a description)
            lines = old.split("\n")
            for _ in range(draw(st.integers(1, 6))):
                k = draw(st.integers(0, len(lines) - 1))
                col = draw(st.integers(0, len(lines[k])))
                ch = draw(st.sampled_from(sorted(set(old) - {"\n"}) + list("#.o~+ Xz")))
                lines[k] = lines[k][:col] + ch + lines[k][col + 1:]
            new = "\n".join(lines)
        elif isinstance(old, str):
            new = draw(st.sampled_from(sorted({x for x in scalars(doc) if isinstance(x, str)
                                               and len(x) < 40})))
        elif isinstance(old, list) and old:
            k = draw(st.integers(0, len(old) - 1))
            new = old[:k] + old[k + 1:] if draw(st.booleans()) else old + [copy.deepcopy(old[k])]
        else:
            new = copy.deepcopy(draw(st.sampled_from(ODD)))
        parent[path[-1]] = new
        said.append(f"{path}: {new!r}"[:120])
    return doc, said


def load_and_run(name: str, scenario_doc: dict, variant_pick: int,
                 building_doc: dict | None = None):
    """Load (and if it loads, run a few steps of and summarise) the document as the CLI would,
    as if it were the library's file ``name``; an InputError must name the file it is about."""
    path = ROOT / "scenarios" / f"{name}.toml"
    building = None
    try:
        if building_doc is not None:
            building = build_building(building_doc, "mutated.toml")
        variants = scenario_doc.get("variants")
        names = ["base"] + sorted(variants) if isinstance(variants, dict) else ["base"]
        sc = build_scenario(scenario_doc, path, names[variant_pick % len(names)],
                            building=building)
    except InputError as exc:
        source = "mutated.toml" if building_doc is not None and building is None else str(path)
        assert exc.source == source and str(exc).startswith(source)
        assert exc.problems and all(p.strip() for p in exc.problems)
        return None
    m = Engine(sc, sc.seed)
    m.run(max_steps=STEPS)
    summarise(m, 0.0)
    return m


def _scenario(name: str) -> dict:
    return read_toml(ROOT / "scenarios" / f"{name}.toml", ScenarioError)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from(SCENARIOS), st.integers(0, 50))
def test_mutated_scenarios_load_and_run_or_are_refused_clearly(data, name, pick):
    bad, said = data.draw(mutated(_scenario(name)))
    note(f"{name}: {said}")
    load_and_run(name, bad, pick)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from(SCENARIOS), st.integers(0, 50))
def test_mutated_buildings_load_and_run_or_are_refused_clearly(data, name, pick):
    doc = read_toml(ROOT / "buildings" / f"{BUILDING_OF.get(name, name)}.toml", ScenarioError)
    bad, said = data.draw(mutated(doc))
    note(f"{BUILDING_OF.get(name, name)}: {said}")
    load_and_run(name, _scenario(name), pick, bad)


def _kpi_without_action(doc):
    del doc["kpis"][1]["action"]


# What the mutations found when first run over the library: each crashed the run, or (the
# speed) was taken as given, before its check was added. A sigma of -0.0 is zero, and runs.
FOUND = {
    "an empty region": ("hall", lambda d: d["occupants"][0].update(region=""), True),
    "an infinite time limit": (
        "restaurant", lambda d: d.update(time_limit_s=float("inf")), True),
    "a KPI of an action that names none": ("market_fair", _kpi_without_action, True),
    "a speed that is not a number": (
        "nursing_home", lambda d: d["occupants"][0].update(speed_ms=float("nan")), True),
    "an action on a fire with an empty name": (
        "bathhouse", lambda d: d["timeline"][6].update(target=""), True),
    "a crew of 2**63 - 1": ("bathhouse", lambda d: d["actors"][0].update(count=2**63 - 1), True),
    "a sigma of -0.0": (
        "residential_tower", lambda d: d["occupants"][4]["premove_s"].update(sigma=-0.0), False),
}


@pytest.mark.parametrize("what", sorted(FOUND))
def test_what_the_mutations_found_is_refused_or_runs(what):
    name, edit, refused = FOUND[what]
    doc = _scenario(name)
    edit(doc)
    m = load_and_run(name, doc, 0)
    assert (m is None) == refused
    if not refused:
        assert m.n_steps == STEPS


def test_the_library_itself_loads_and_runs_through_the_same_path():
    """(So that a refusal above is the mutation's doing, not the file's.)"""
    for name in SCENARIOS:
        for k in range(len(list_variants(ROOT / "scenarios" / f"{name}.toml"))):
            m = load_and_run(name, _scenario(name), k)
            assert m is not None and m.n_steps == STEPS, (name, k)
