"""Building files: the shipped buildings load; every class of bad input is reported clearly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.building import EXIT, FLIGHT, build_building, load_building
from sim.errors import BuildingError, DrillsimError
from sim.graph import build_graph, check_graph

from worlds import building_doc, pad

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "buildings").glob("*.toml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_buildings_load_and_check_clean(path):
    b = load_building(path)
    errors, _ = check_graph(build_graph(b))
    assert errors == []
    assert b.exits


def test_hall_matches_rimea9_geometry():
    b = load_building(ROOT / "buildings" / "rimea9_hall.toml")
    assert len(b.exits) == 4
    assert all(e.width_m == 1.0 and e.drawn_width_m == pytest.approx(1.2) for e in b.exits)
    hall = b.region("hall")
    assert len(hall.cells) * b.cell_m ** 2 == pytest.approx(600.0)  # 30 m x 20 m
    seating = b.region("seating")
    assert len(seating.cells) * b.cell_m ** 2 == pytest.approx(26 * 16, rel=0.03)


def test_nursing_home_has_nineteen_rooms_and_three_exits():
    b = load_building(ROOT / "buildings" / "nursing_home.toml")
    g = build_graph(b)
    rooms = [n for n in g.nodes if n.startswith("rooms") or n == "staff_room"]
    assert len(rooms) == 19
    assert {e.name for e in b.exits} == {"main", "east", "rear"}


def test_office_stairs_join_floors_with_the_declared_length():
    b = load_building(ROOT / "buildings" / "office_3f.toml")
    assert len(b.floors) == 3
    assert len(b.flights) == 4  # two stairs, two flights each
    for fl in b.flights:
        assert fl.upper_floor == fl.lower_floor + 1
        # landing -> link -> (steps - 1) cells -> link -> landing == length along the slope
        first = fl.cells[0]
        links = b.link_len_m[b.link_ptr[first]:b.link_ptr[first + 1]]
        assert 2 * links.min() + (fl.steps - 1) * b.cell_m == pytest.approx(fl.length_m)
    assert np.count_nonzero(b.kind == FLIGHT) == sum(f.lanes * f.steps for f in b.flights)
    g = build_graph(b)
    stairs = [d for _, _, d in g.edges(data=True) if d["kind"] == "stair"]
    assert len(stairs) == 4 and all(d["length_m"] == 10.0 for d in stairs)


def bad(rows, exits=None, **extra):
    """The message of the error ``rows`` give; ``exits``: name -> symbol, or -> its table."""
    exits = exits or {"out": "X"}
    doc = building_doc(rows, {k: v for k, v in exits.items() if isinstance(v, str)}, **extra)
    doc["exits"].update({k: v for k, v in exits.items() if isinstance(v, dict)})
    with pytest.raises(BuildingError) as info:
        build_building(doc, "bad.toml")
    return str(info.value)


ROOM = ["#####",
        "#...X",
        "#####"]


def test_error_is_a_drillsim_error_and_a_value_error():
    doc = building_doc(["#####", "#.?.X", "#####"], {"out": "X"})
    with pytest.raises(DrillsimError):
        build_building(doc, "bad.toml")
    with pytest.raises(ValueError):
        build_building(doc, "bad.toml")


def test_unknown_symbol_names_floor_line_and_column():
    msg = bad(["#####",
               "#.?.X",
               "#####"])
    assert "floor 'ground', map line 3, column 4: unknown symbol '?'" in msg
    tab = bad(["#####",
               "#.\t.X",
               "#####"])
    assert "map line 3, column 4: unknown symbol '\\t' (a tab: the map takes spaces)" in tab


def test_ragged_rows_are_reported():
    doc = building_doc(ROOM, {"out": "X"})
    doc["floors"][0]["map"] = "\n".join(["#####", "#...X", "####"])
    with pytest.raises(BuildingError, match=r"map line 3: has 4 characters, expected 5"):
        build_building(doc, "bad.toml")


def test_all_problems_are_reported_at_once():
    msg = bad(["#####",
               "#.?.X",
               "#.!.#",
               "#####"])
    assert "2 problems" in msg and "'?'" in msg and "'!'" in msg


def test_exit_not_in_an_outside_wall():
    msg = bad(["#######",
               "#..X..#",
               "#.....#",
               "######Y"], {"inner": "X", "out": "Y"})
    assert "exits.inner" in msg and "not a gap in an outside wall" in msg


def test_an_exit_is_open_or_a_self_closing_door_and_is_locked_only_in_the_scenario():
    doc = building_doc(ROOM, {"out": "X"})
    assert build_building(doc, "ok.toml").exits[0].state == "open"
    doc["exits"]["out"]["state"] = "closed"
    assert build_building(doc, "ok.toml").exits[0].state == "closed"
    msg = bad(ROOM, exits={"out": {"symbol": "X", "state": "locked"}})
    assert "exits.out.state: got 'locked', expected one of: open, closed" in msg
    assert 'locked in the scenario (locked = ["out"])' in msg
    msg = bad(ROOM, exits={"out": {"symbol": "X", "state": "shut"}})
    assert "exits.out.state: got 'shut'" in msg and "expected one of: open, closed" in msg


def test_door_not_in_a_wall_gap():
    msg = bad(["#######",
               "#..D..X",
               "#.....#",
               "#######"], doors={"d": {"symbol": "D"}})
    assert "doors.d" in msg and "not in a gap of a wall" in msg


def test_a_flight_longer_than_any_stair_is_refused_before_its_grid_is_made():
    # (Found by mutating the library: length_m = 1e9 asked for a grid of 545 GiB.)
    doc = building_doc(["#####", "#S..X", "#####"], {"out": "X"},
                       stairs={"up": {"symbol": "S", "length_m": 1e9}})
    doc["floors"].append({"name": "first", "map": "\n".join(pad(["####", "#S.#", "####"]))})
    with pytest.raises(BuildingError) as info:
        build_building(doc, "bad.toml")
    assert "stairs.up.length_m: got 1e+09, expected a number > 0 and <= 200" in str(info.value)
    doc["stairs"]["up"]["length_m"] = 200
    assert build_building(doc, "ok.toml").flights[0].length_m == 200
    doc["name"] = " "
    with pytest.raises(BuildingError, match="name: got ' ', expected non-empty text"):
        build_building(doc, "bad.toml")


def test_stairs_without_partner():
    doc = building_doc(["#####", "#S..X", "#####"], {"out": "X"},
                       stairs={"up": {"symbol": "S", "length_m": 10}})
    doc["floors"].append({"name": "first", "map": "\n".join(pad(["####", "#..#", "####"]))})
    with pytest.raises(BuildingError, match=r"stair 'up' on floor 'ground' has no partner"):
        build_building(doc, "bad.toml")


def test_duplicate_names_and_symbols():
    msg = bad(ROOM, regions={"out": {"symbol": "r"}})
    assert "duplicate name: 'out' is already a exit" in msg
    msg = bad(["#####", "#...X", "#####"], doors={"d": {"symbol": "X"}})
    assert "'X' is already the symbol of exit 'out'" in msg


def test_unreachable_area_is_named():
    msg = bad(["#########",
               "#...#...X",
               "#...#...#",
               "#########"])
    assert "cannot reach any exit" in msg and "map line 3, column 3" in msg


def test_unknown_key_gets_a_suggestion():
    doc = building_doc(ROOM, {"out": "X"})
    doc["exits"]["out"]["widht_m"] = 1.0
    with pytest.raises(BuildingError) as info:
        build_building(doc, "bad.toml")
    msg = str(info.value)
    assert "exits.out.widht_m: unknown key (did you mean 'width_m'?)" in msg


def test_exit_drawn_twice_is_reported():
    msg = bad(["#####",
               "X...X",
               "#####"])
    assert "drawn in 2 separate places" in msg


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(BuildingError, match="file not found"):
        load_building(tmp_path / "nope.toml")
    p = tmp_path / "broken.toml"
    p.write_text("name = [unclosed\n")
    with pytest.raises(BuildingError, match="not valid TOML"):
        load_building(p)


def test_a_byte_order_mark_is_read_and_another_encoding_is_named(tmp_path):
    text = (ROOT / "buildings" / "nursing_home.toml").read_text(encoding="utf-8")
    with_bom = tmp_path / "bom.toml"  # (as Windows Notepad saves UTF-8)
    with_bom.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert load_building(with_bom).n_cells == load_building(ROOT / "buildings" /
                                                            "nursing_home.toml").n_cells
    gbk = tmp_path / "gbk.toml"
    gbk.write_bytes('name = "x"\ntitle = "养老院"\n'.encode("gbk"))
    with pytest.raises(BuildingError, match=r"line 2: not UTF-8 text \(byte 0x.."
                                            r"\); save the file as UTF-8"):
        load_building(gbk)


def test_wrong_schema():
    doc = building_doc(ROOM, {"out": "X"})
    doc["schema"] = "drillsim.building/9"
    with pytest.raises(BuildingError, match=r'schema: got .drillsim.building/9., expected'):
        build_building(doc, "bad.toml")


def test_only_way_out_is_flagged():
    b = build_building(building_doc(["#########",
                                     "#...+...X",
                                     "#...#...#",
                                     "#########"], {"east": "X"}), "t.toml")
    _, warnings = check_graph(build_graph(b))
    assert any("exit 'east' is the only way out of 2 area(s)" in w for w in warnings)
    # With a second exit from the west room, neither exit is the only way out.
    b = build_building(building_doc(["#########",
                                     "#...+...X",
                                     "#...#...#",
                                     "Y...#####"], {"east": "X", "west": "Y"}), "t.toml")
    assert check_graph(build_graph(b)) == ([], [])


def test_exit_cells_are_exits():
    b = build_building(building_doc(ROOM, {"out": "X"}), "t.toml")
    assert all(b.kind[c] == EXIT for c in b.exits[0].cells)


@pytest.mark.parametrize("seed", range(20))
def test_reachable_cells_are_what_a_graph_search_reaches(seed):
    """The search that finds cells cut off from every exit, against networkx's connected
    components of the same cells, axial steps and links (links run one way in the CSR arrays
    and are added both ways, as buildings store them)."""
    import networkx as nx

    rng = np.random.default_rng(seed)
    h, w = rng.integers(3, 25, 2)
    width = w + 2
    open_ = np.zeros((h + 2, width), bool)
    open_[1:-1, 1:-1] = rng.random((h, w)) < rng.uniform(0.3, 0.9)
    open_ = open_.ravel()
    cells = np.flatnonzero(open_)
    if cells.size < 2:
        open_[[width + 1, width + 2]] = True
        cells = np.flatnonzero(open_)
    pairs = rng.choice(cells, (int(rng.integers(0, 4)), 2))
    links = sorted({(int(a), int(b)) for a, b in pairs} | {(int(b), int(a)) for a, b in pairs})
    link_ptr = np.zeros(open_.size + 1, np.int32)
    for a, _ in links:
        link_ptr[a + 1] += 1
    link_ptr = np.cumsum(link_ptr).astype(np.int32)
    link_to = np.array([b for _, b in links], np.int32)
    seeds = rng.choice(cells, min(3, cells.size), replace=False)

    g = nx.Graph()
    g.add_nodes_from(int(c) for c in cells)
    for c in cells:
        for j in (c + 1, c + width):
            if open_[j]:
                g.add_edge(int(c), int(j))
    g.add_edges_from(links)
    want = set().union(*(nx.node_connected_component(g, int(s)) for s in seeds))
    from sim.building import reachable

    got = reachable(seeds, open_, width, link_ptr, link_to)
    assert set(np.flatnonzero(got).tolist()) == want
