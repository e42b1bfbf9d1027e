"""The trainer, headless (SDL dummy drivers): playback, view, controls, pixels, bad files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"

import pygame  # noqa: E402

from trainer import draw  # noqa: E402
from trainer.app import TrainerApp, main  # noqa: E402
from trainer.playback import SPEEDS, Playback  # noqa: E402
from trainer.records import ReplayError, load_replay  # noqa: E402
from trainer.view import View  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    """Hall runs with all exits open and two locked, written as run records."""
    from sim.run import run_scenario
    from sim.scenario import load_scenario

    out = tmp_path_factory.mktemp("runs")
    paths = {}
    for variant in ("all_open", "two_locked"):
        sc = load_scenario(ROOT / "scenarios" / "hall.toml", variant, seed=2)
        run_scenario(sc, out_dir=out / variant, record_every_s=1.0)
        paths[variant] = out / variant / "record.npz"
    return paths


# ------------------------------------------------------------------ playback (no pygame)

def test_playback_advances_pauses_at_end_and_steps():
    pb = Playback([0.0, 1.0, 2.0, 3.0])
    pb.advance(1.5)
    assert pb.time_s == 1.5 and pb.frame == 1
    pb.faster()
    assert pb.speed == 2.0
    pb.advance(10)
    assert pb.time_s == 3.0 and pb.paused
    pb.step(-2)
    assert pb.frame == 1 and pb.time_s == 1.0 and pb.paused
    pb.advance(5)  # paused: nothing happens
    assert pb.time_s == 1.0
    pb.toggle()
    assert not pb.paused
    for _ in range(20):
        pb.slower()
    assert pb.speed == SPEEDS[0] == 0.25
    for _ in range(20):
        pb.faster()
    assert pb.speed == SPEEDS[-1] == 32.0
    pb.seek_fraction(0.5)
    assert pb.time_s == 1.5
    pb.seek(-4)
    assert pb.time_s == 0.0


def test_view_round_trips_and_zooms_about_a_point():
    v = View((100, 50, 400, 300))
    v.fit(40.0, 20.0)
    sx, sy = v.to_screen(0.0, 0.0)
    assert v.to_world(sx, sy) == pytest.approx((0.0, 0.0))
    # y goes up in the world and down on screen
    assert v.to_screen(0.0, 1.0)[1] < sy
    wx, wy = v.to_world(150, 120)
    v.zoom(2.0, (150, 120))
    assert v.to_world(150, 120) == pytest.approx((wx, wy))
    s0 = v.scale
    v.pan(10, 0)
    assert v.to_world(160, 120)[0] == pytest.approx(wx)
    assert v.scale == s0


# ------------------------------------------------------------------ records

def test_bad_files_give_clear_messages(tmp_path, capsys):
    junk = tmp_path / "junk.npz"
    junk.write_text("nope")
    with pytest.raises(ReplayError, match="not a run record: expected the record.npz that "
                                          "'drillsim run' writes"):
        load_replay(junk)
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(b"PK\x03\x04" + b"\0" * 40)
    with pytest.raises(ReplayError, match="not a readable run record"):
        load_replay(damaged)
    with pytest.raises(ReplayError, match="file not found"):
        load_replay(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", meta=np.array('{"format": "other/3"}'))
    with pytest.raises(ReplayError, match="format 'other/3' is not supported; the trainer "
                                          "reads drillsim.record/1"):
        load_replay(tmp_path / "other.npz")
    assert main([str(junk)], frames_dir=str(tmp_path / "f")) == 2
    err = capsys.readouterr().err
    assert "drillsim replay: error:" in err and "Traceback" not in err


def test_locked_exit_state_follows_the_record(records):
    rep = load_replay(records["two_locked"])
    state = rep.exit_locked_at(10.0)
    assert state == {"north_west": True, "north_east": True, "south_west": False,
                     "south_east": False}


# ------------------------------------------------------------------ the app, headless

def test_controls_drive_the_playback(records):
    app = TrainerApp([load_replay(records["all_open"])], headless=True)
    post = app.handle

    def key(k):
        post(pygame.event.Event(pygame.KEYDOWN, key=k, mod=0, unicode=""))

    key(pygame.K_SPACE)
    assert app.playback.paused
    key(pygame.K_RIGHT)
    key(pygame.K_RIGHT)
    assert app.playback.frame == 2
    key(pygame.K_LEFT)
    assert app.playback.frame == 1
    key(pygame.K_RIGHTBRACKET)
    assert app.playback.speed == 2.0
    key(pygame.K_LEFTBRACKET)
    key(pygame.K_LEFTBRACKET)
    assert app.playback.speed == 0.5
    key(pygame.K_t)
    key(pygame.K_d)
    assert app.layers["trails"] and app.layers["density"]
    key(pygame.K_h)
    assert app.show_help
    # Scrub: click in the middle of the time bar.
    left, top, w, h = app.bar_rect
    post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=(left + w // 2, top + h // 2)))
    post(pygame.event.Event(pygame.MOUSEBUTTONUP, button=1, pos=(left + w // 2, top + h // 2)))
    assert app.playback.time_s == pytest.approx(app.playback.duration_s / 2, rel=0.02)
    # Zoom with the wheel over the plan.
    s0 = app.views[0].scale
    post(pygame.event.Event(pygame.MOUSEWHEEL, x=0, y=2, flipped=False))
    assert app.views[0].scale > s0
    app.draw()  # with every layer on, help shown
    key(pygame.K_ESCAPE)
    assert not app.show_help and app.running
    key(pygame.K_q)
    assert not app.running


def test_frame_shows_locked_exits_and_every_occupant(records):
    rep = load_replay(records["two_locked"])
    app = TrainerApp([rep], headless=True)
    app.playback.seek(20.0)
    app.draw()
    frame = rep.frame_at(20.0)
    inside = rep.counts_at(frame)["inside"]
    assert inside > 0
    view = app.views[0]
    surface = pygame.Surface(app.screen.get_size())
    drawn = draw.draw_occupants(surface, rep, frame, 0, view)
    assert drawn == inside
    # The locked exit's cells are red on screen, the open ones green.
    for e in rep.meta["building"]["exits"]:
        xy = rep.cell_xy[np.asarray(e["cells"])]
        sx, sy = view.to_screen(xy[:, 0], xy[:, 1])
        colours = {tuple(app.screen.get_at((round(x) + 1, round(y) + 1)))[:3]
                   for x, y in zip(sx, sy)}
        want = draw.EXIT_LOCKED if e["locked_at_start"] else draw.EXIT_OPEN
        assert want in colours, (e["name"], colours)
    # Occupants are drawn in the moving colour somewhere on the plan.
    pixels = pygame.surfarray.array3d(app.screen)
    assert np.any(np.all(pixels == draw.STATE_COLOURS[1], axis=-1))


def test_side_by_side_frames_render_to_png(records, tmp_path):
    code = main([str(records["all_open"]), str(records["two_locked"])],
                frames_dir=str(tmp_path / "frames"), every=40)
    assert code == 0
    files = sorted((tmp_path / "frames").glob("frame_*.png"))
    rep = load_replay(records["two_locked"])
    assert len(files) == len(range(0, rep.n_frames, 40))
    img = pygame.image.load(str(files[1]))
    assert img.get_size() == (1280, 760)


@pytest.fixture(scope="module")
def office_record(tmp_path_factory):
    """The office of three floors, all exits open."""
    from sim.run import run_scenario
    from sim.scenario import load_scenario

    out = tmp_path_factory.mktemp("office")
    sc = load_scenario(ROOT / "scenarios" / "office.toml", "all_open")
    run_scenario(sc, out_dir=out, record_every_s=5.0)
    return out / "record.npz"


def test_multi_floor_record_switches_floors(office_record):
    app = TrainerApp([load_replay(office_record)], headless=True)
    app.handle(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_PAGEUP, mod=0, unicode=""))
    assert app.floor == 1
    app.handle(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_3, mod=0, unicode=""))
    assert app.floor == 2
    app.handle(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_9, mod=0, unicode=""))
    assert app.floor == 2  # no ninth floor
    app.playback.seek(30.0)
    app.draw()
    frame = app.replays[0].frame_at(30.0)
    _, floor, _, _, _ = app.replays[0].occupants_at(frame)
    surface = pygame.Surface(app.screen.get_size())
    assert draw.draw_occupants(surface, app.replays[0], frame, 2, app.views[0]) == \
        int(np.count_nonzero(floor == 2))


def test_frames_and_animations_show_the_floor_asked_for(records, tmp_path, monkeypatch,
                                                      capsys):
    from sim.animate import animate
    from sim.errors import DrillsimError
    from sim.run import run_scenario
    from sim.scenario import load_scenario
    from trainer.app import floor_index

    sc = load_scenario(ROOT / "scenarios" / "office.toml", "all_open")
    run_scenario(sc, out_dir=tmp_path / "office", record_every_s=5.0)
    office, hall = load_replay(tmp_path / "office"), load_replay(records["all_open"])
    assert [floor_index([office], f) for f in ("ground", "first", "second", "1", "3")] == \
        [0, 1, 2, 0, 2]
    assert floor_index([hall, office], "second") == 2  # (the run with more floors)
    for bad in ("4", "0", "roof"):
        with pytest.raises(ReplayError, match="expected a floor's name or number: 1 ground, "
                                              "2 first, 3 second"):
            floor_index([office], bad)
    drawn = []
    real = draw.draw_text
    monkeypatch.setattr(draw, "draw_text", lambda surface, font, text, pos, *a:
                        drawn.append(text) or real(surface, font, text, pos, *a))
    assert main([str(tmp_path / "office")], str(tmp_path / "frames"), 10, "first") == 0
    assert drawn and all(t == "floor: first" for t in drawn if "floor:" in t)
    drawn.clear()
    animate([str(tmp_path / "office")], tmp_path / "a.gif", every=10, floor="3")
    assert drawn and all(t.endswith("floor: second") for t in drawn if "floor:" in t)
    assert main([str(tmp_path / "office")], str(tmp_path / "frames"), 10, "roof") == 2
    assert "--floor: got 'roof'" in capsys.readouterr().err
    with pytest.raises(DrillsimError, match="--floor: got 'attic'"):
        animate([str(tmp_path / "office")], tmp_path / "b.gif", floor="attic")


def test_an_animation_ends_soon_after_everyone_is_out_unless_asked_for_the_whole(tmp_path):
    # The restaurant's drill runs to the brigade's arrival (4 min 40 s); everyone is out by
    # about 1 min 30 s. Its animation showed an empty restaurant for two thirds of its length.
    from PIL import Image

    from sim.animate import TAIL_S, animate, end_of_animation
    from sim.run import run_scenario
    from sim.scenario import load_scenario

    assert end_of_animation([80.0, 95.0], 280.0, whole=False) == 95.0 + TAIL_S
    assert end_of_animation([80.0, 275.0], 280.0, whole=False) == 280.0
    assert end_of_animation([80.0, 95.0], 280.0, whole=True) == 280.0
    sc = load_scenario(ROOT / "scenarios" / "restaurant.toml", "rear_open")
    summary = run_scenario(sc, out_dir=tmp_path / "r", record_every_s=5.0)
    rep = load_replay(tmp_path / "r")
    assert rep.all_out_s + TAIL_S < rep.duration_s - 60.0
    said = []
    short = animate([str(tmp_path / "r")], tmp_path / "a.gif", say=said.append)
    whole = animate([str(tmp_path / "r")], tmp_path / "b.gif", whole=True, say=said.append)
    # Every recorded frame up to the first at or after the end (and the end again, which the
    # GIF may merge with it, as it is the same picture).
    kept = int(np.searchsorted(rep.time_s, rep.all_out_s + TAIL_S - 1e-9)) + 1
    with Image.open(short) as a, Image.open(whole) as b:
        assert kept <= a.n_frames <= kept + 1
        assert rep.n_frames <= b.n_frames <= rep.n_frames + 1
        assert b.n_frames > 2 * a.n_frames
    assert len(said) == 1
    assert said[0].startswith("the animation ends 10 s after the last person got out, at 1:")
    assert summary["evacuation_time_s"] == pytest.approx(rep.all_out_s)


def test_an_animation_goes_on_until_the_brigade_has_carried_out_the_overcome(tmp_path):
    # The tower's lesson is how long those overcome on the fire floor wait for the brigade;
    # its animation stopped 10 s after the last resident walked out, with them still lying
    # there (lane_blocked_no_help: at 14 min 11 s, the last carried out at 35 min 10 s; since
    # the crew keeps its pace in smoke, at 26 min 58 s).
    from PIL import Image

    from sim.animate import TAIL_S, animate
    from sim.run import run_scenario
    from sim.scenario import load_scenario

    sc = load_scenario(ROOT / "scenarios" / "residential_tower.toml", "lane_blocked_no_help")
    summary = run_scenario(sc, 1, out_dir=tmp_path / "r", record_every_s=10.0)
    rep = load_replay(tmp_path / "r")
    assert summary["casualties_carried_out"] > 0 and summary["casualties_left_inside"] == 0
    assert rep.people_out_s == pytest.approx(summary["last_casualty_carried_out_s"])
    assert rep.all_out_s + 60.0 < rep.people_out_s < rep.duration_s - TAIL_S
    said = []
    gif = animate([str(tmp_path / "r")], tmp_path / "a.gif", say=said.append)
    kept = int(np.searchsorted(rep.time_s, rep.people_out_s + TAIL_S - 1e-9)) + 1
    with Image.open(gif) as a:
        assert kept <= a.n_frames <= kept + 1
    assert said[0].startswith("the animation ends 10 s after the last person got out or was "
                              "carried out, at 27:")
    # The end banner says when they were carried out, too.
    n = summary["casualties"]
    assert draw.finished_text(rep) == (
        f"all out but {n} overcome at {draw.format_clock(rep.all_out_s)} (carried out by "
        f"{draw.format_clock(rep.people_out_s)}); run ended at "
        f"{draw.format_clock(rep.duration_s)}")


def test_a_building_of_three_floors_beside_one_of_one(records, tmp_path):
    from sim.run import run_scenario
    from sim.scenario import load_scenario

    sc = load_scenario(ROOT / "scenarios" / "office.toml", "all_open")
    run_scenario(sc, out_dir=tmp_path, record_every_s=5.0)
    office, hall = load_replay(tmp_path), load_replay(records["all_open"])
    for pair in ([hall, office], [office, hall]):
        app = TrainerApp(pair, size=(1200, 700), headless=True)
        app.fit()
        for k, rep in enumerate(pair):  # each pane fits its own building
            fl, cell = rep.floors[0], rep.meta["building"]["cell_m"]
            left, top, w, h = app.views[k].rect
            x0, y0 = app.views[k].to_screen(0.0, 0.0)
            x1, y1 = app.views[k].to_screen(fl["cols"] * cell, fl["rows"] * cell)
            assert left <= min(x0, x1) and max(x0, x1) <= left + w
            assert top <= min(y0, y1) and max(y0, y1) <= top + h
            assert max(abs(x1 - x0) / w, abs(y1 - y0) / h) > 0.8  # and fills its pane
        for key in (pygame.K_3, pygame.K_PAGEDOWN, pygame.K_PAGEUP):  # (was an IndexError)
            app.handle(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode=""))
            app.draw()
        assert app.floor == 2  # the office's third floor, from either side
        assert [app.pane_floor(k) for k in range(2)] == [2 if r is office else 0 for r in pair]
        app.close()


def test_dropping_a_bad_file_shows_a_banner(records, tmp_path):
    app = TrainerApp([load_replay(records["all_open"])], headless=True)
    bad = tmp_path / "bad.npz"
    bad.write_text("x")
    app.handle(pygame.event.Event(pygame.DROPFILE, file=str(bad)))
    assert app.banner and "Cannot open this file" in app.banner[0]
    app.draw()  # the banner draws without error
    app.handle(pygame.event.Event(pygame.DROPFILE, file=str(records["two_locked"])))
    assert app.replays[0].meta["variant"] == "two_locked"


def test_the_window_loop_runs_resizes_and_quits(records):
    """The real loop (display, flip, tick) under the dummy video driver."""
    app = TrainerApp([load_replay(records["all_open"]), load_replay(records["two_locked"])])
    assert not app.headless
    pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, size=(900, 600), w=900, h=600))
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE, mod=0, unicode=""))
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    app.run()
    assert not app.running and app.playback.paused
    assert app.bar_rect == (0, 600 - 44, 900, 44)


def test_titles_keep_their_english_without_a_cjk_font():
    from trainer.app import display_title, is_cjk

    title = "Nursing home at night — 养老院夜间疏散"
    assert display_title(title, has_cjk=False) == "Nursing home at night"
    assert display_title(title, has_cjk=True) == title
    assert is_cjk("疏") and not is_cjk("—") and not is_cjk("a")
    # Brackets that held only Chinese go too; those round English stay.
    market = "Spring Festival market: temporary gates — 重大活动 (庙会)"
    assert display_title(market, has_cjk=False) == "Spring Festival market: temporary gates"
    assert display_title("Hall (RiMEA 9) — 大厅", has_cjk=False) == "Hall (RiMEA 9)"


# ------------------------------------------------------------------ drills and smoke

@pytest.fixture(scope="module")
def drill_record(tmp_path_factory):
    """The restaurant drill: a kitchen fire, waiters and a cook as actors."""
    from sim.run import run_scenario
    from sim.scenario import load_scenario

    out = tmp_path_factory.mktemp("drill")
    sc = load_scenario(ROOT / "scenarios" / "restaurant.toml", "rear_blocked")
    run_scenario(sc, out_dir=out, record_every_s=1.0)
    return out / "record.npz"


def test_drill_record_replays_actors_and_smoke(drill_record):
    rep = load_replay(drill_record)
    assert rep.has_smoke and rep.actor_cell is not None
    assert [a["actor"] for a in rep.actors][:1] == ["cook"]
    idx, fl, x, y = rep.actors_at(0)
    assert idx.size == 5  # the cook and four waiters start inside
    late = rep.frame_at(60.0)
    k = rep.smoke_grid(late, 0)
    assert k.shape == (rep.floors[0]["rows"], rep.floors[0]["cols"])
    assert k.max() > 1.0  # the kitchen is smoke-logged after a minute
    assert rep.smoke_grid(0, 0).max() == 0.0
    # The exit blocked by stored goods is drawn locked: nobody unlocks it in this drill.
    assert rep.exit_locked_at(60.0)["rear"] is True


def test_trainer_draws_actors_and_the_smoke_veil(drill_record):
    rep = load_replay(drill_record)
    app = TrainerApp([rep], size=(1000, 640), headless=True)
    app.fit()
    app.playback.seek(60.0)
    app.layers["smoke"] = False
    app.draw()
    clear = pygame.surfarray.array3d(app.screen).copy()
    app.layers["smoke"] = True
    app.draw()
    smoky = pygame.surfarray.array3d(app.screen)
    view = app.views[0]
    left, top, w, h = view.rect
    region = (slice(left, left + w), slice(top, top + h))
    # The veil darkens part of the plan and nothing else.
    darker = smoky[region].sum(axis=2) < clear[region].sum(axis=2) - 30
    assert 0.02 < darker.mean() < 0.8
    # Actors are drawn as squares in the staff colour.
    colour = np.array(draw.ACTOR_COLOUR)
    assert np.any(np.all(smoky[region] == colour, axis=2))
    app.close()


def test_the_end_banner_says_when_everyone_was_out_not_when_the_drill_ended(drill_record,
                                                                           records):
    # In the restaurant drill everyone is out long before the brigade arrives; the run goes
    # on until it does.
    import json

    rep = load_replay(drill_record)
    summary = json.loads((Path(drill_record).parent / "summary.json").read_text())
    assert rep.all_out_s == pytest.approx(summary["last_out_s"])
    assert rep.all_out_s < rep.duration_s - 60
    assert draw.finished_text(rep) == (f"everyone out at {draw.format_clock(rep.all_out_s)}; "
                                       f"run ended at {draw.format_clock(rep.duration_s)}")
    said = [draw.describe_event(ev) for ev in rep.meta["events"]]
    assert said[-1] == "drill over: the run ends" and "everyone is out" in said
    # Without a drill the run ends when everyone is out.
    hall = load_replay(records["all_open"])
    assert hall.all_out_s == hall.duration_s
    assert draw.finished_text(hall) == f"everyone out at {draw.format_clock(hall.duration_s)}"
    lost = {"kind": "all_out", "time_s": 1.0, "inside": 0, "casualties": 2}
    assert draw.describe_event(lost) == "all out but 2 overcome by smoke"
    assert draw.describe_event({**lost, "caught_by_fire": 1}) == \
        "all out but 2: 1 overcome by smoke, 1 caught by the fire"
    assert draw.describe_event({**lost, "caught_by_fire": 2}) == \
        "all out but 2: 2 caught by the fire"
    # The brigade carrying out someone overcome: not "a resident", who might have walked.
    up = {"kind": "picked_up", "time_s": 3.0, "actor": "fire_brigade", "occupant": 4}
    assert draw.describe_event(up) == "fire_brigade picks up a resident"
    assert draw.describe_event({**up, "overcome": True}) == \
        "fire_brigade carries off someone overcome"
    assert draw.describe_event({**up, "kind": "casualty_carried_out", "exit": "main"}) == \
        "fire_brigade brings out someone overcome"
    held = {"kind": "stays_locked", "time_s": 2.0, "target": "rear", "planned_s": 2.0}
    assert draw.describe_event(held) == "rear stays locked (taken away in this study)"
    cut = {"kind": "time_limit", "time_s": 9.0, "inside": 0, "drill_unfinished": True}
    assert draw.describe_event(cut) == "time limit: the drill had not finished"
    noticed = {"kind": "noticed_smoke", "time_s": 1.0, "occupants": 3}
    assert draw.describe_event(noticed) == "3 notice smoke (no alarm yet)"
    for kind, n, said in (("caught_by_fire", 1, "1 caught by the fire"),
                          ("fled_fire", 1, "1 flees the flames beside them"),
                          ("fled_fire", 2, "2 flee the flames beside them"),
                          ("noticed_smoke", 1, "1 notices smoke (no alarm yet)")):
        assert draw.describe_event({"kind": kind, "time_s": 2.0, "occupants": n}) == said


def test_events_of_two_runs_are_told_apart_by_variant_scenario_or_seed(records,
                                                                       drill_record):
    hall = [load_replay(records[v]) for v in ("all_open", "two_locked")]
    assert draw.run_names(hall) == ["all_open", "two_locked"]
    restaurant = load_replay(drill_record)
    restaurant.meta["variant"] = "all_open"  # (the same variant in two scenarios)
    assert draw.run_names([hall[0], restaurant]) == ["hall", "restaurant"]
    again = load_replay(records["all_open"])
    again.meta["seed"] = 7  # (the same variant of one scenario, another seed)
    assert draw.run_names([hall[0], again]) == ["all_open seed 2", "all_open seed 7"]
    assert draw.run_names([hall[0], hall[0]]) == ["all_open (1)", "all_open (2)"]
    tags = {who for _, who, _ in draw.merged_events(hall)}
    assert tags == {"[all_open] ", "[two_locked] "}
    # Names longer than TAG_CHARS would leave too little of a line: letters instead.
    tags = {who for _, who, _ in draw.merged_events([hall[0], again])}
    assert tags == {"[A] ", "[B] "}
    assert {who for _, who, _ in draw.merged_events([hall[0]])} == {""}
    assert not draw.lettered(hall) and draw.run_tags(hall) == ["all_open", "two_locked"]


def texts_drawn(runs, monkeypatch, at_end=False) -> list[str]:
    """Every text the trainer draws in one frame of ``runs`` (at the start, or the end)."""
    drawn = []
    real = draw.draw_text
    monkeypatch.setattr(draw, "draw_text", lambda surface, font, text, pos, *a:
                        drawn.append(text) or real(surface, font, text, pos, *a))
    app = TrainerApp(runs, headless=True)
    if at_end:
        app.playback.seek(app.playback.duration_s)
    app.draw()
    app.close()
    return drawn


def test_runs_with_long_names_are_lettered_in_the_log_the_panes_and_the_counters(records,
                                                                                monkeypatch):
    runs = [load_replay(records[v]) for v in ("all_open", "two_locked")]
    runs[1].meta["variant"] = "emergency_locked_no_sweep"  # (as in the karaoke drill)
    assert draw.lettered(runs) and draw.run_tags(runs) == ["A", "B"]
    assert {who for _, who, _ in draw.merged_events(runs)} == {"[A] ", "[B] "}
    drawn = texts_drawn(runs, monkeypatch, at_end=True)
    assert any(t.startswith("A  all_open: all exits open") for t in drawn)  # pane headers
    assert any(t.startswith("B  emergency_locked_no_sweep: north_west, north_east locked")
               for t in drawn)
    # Counters: the runs are of one scenario, which they need not repeat.
    assert any(t.startswith("A  all_open seed") for t in drawn)
    assert any(t.startswith("B  emergency_locked_no_s") for t in drawn)
    # The log's lines keep their events whole.
    found = [t for t in drawn if "[B] north_west found locked" in t]
    assert found and all(t.endswith("found locked") for t in found)


def test_long_texts_wrap_at_spaces_within_the_width():
    from trainer.app import _fonts

    pygame.init()
    face = _fonts(pygame)["small"]
    text = "12:34.5  [B] night_staff cannot do unlock_rear: it stays locked; this study " \
        "takes the exit away"
    for width in (150, 260, 400):
        lines = face.wrap(text, width, "  ")
        assert all(face.width_of(t) <= width for t in lines)
        assert " ".join(t.strip() for t in lines) == text
        assert all(t.startswith("  ") for t in lines[1:])
    assert face.wrap(text, 10_000) == [text]
    assert face.wrap("unbreakable" * 20, 100)[0].endswith("...")


def test_long_texts_are_cut_to_fit_with_dots():
    from trainer.app import _fonts

    pygame.init()
    face = _fonts(pygame)["bold"]
    text = "base: all exits open  —  Karaoke venue: private rooms off dim, winding corridors"
    assert face.fit(text, 10_000) == text
    for width in (120, 250, 400):
        cut = face.fit(text, width)
        assert cut.endswith("...") and face.width_of(cut) <= width
        assert text.startswith(cut[:-3])
        assert face.render(cut, True, (0, 0, 0)).get_width() == face.width_of(cut)
    assert face.fit(text, 3) == ""


def test_a_long_event_goes_on_under_its_text_not_cut(records, monkeypatch):
    # "night_staff cannot do unlock_rear..." hid why (criticality's held lock).
    rep = load_replay(records["two_locked"])
    why = "it stays locked; this study takes the exit away"
    rep.meta["events"] = [{"kind": "action_failed", "time_s": 5.0, "id": "unlock_rear",
                           "actor": "night_staff", "reason": why}]
    drawn = texts_drawn([rep], monkeypatch, at_end=True)
    first = next(k for k, t in enumerate(drawn) if "night_staff cannot do unlock_rear" in t)
    lines = drawn[first:first + 3]
    assert not any(t.endswith("...") for t in lines)
    rest = [t for t in lines[1:] if t.startswith(draw.LOG_INDENT)]
    assert rest  # (the panel is narrower than the event)
    joined = " ".join([lines[0]] + [t.strip() for t in rest])
    assert joined.endswith(f"night_staff cannot do unlock_rear: {why}")


def test_a_long_event_log_stops_above_the_help_line(records, monkeypatch):
    rep = load_replay(records["two_locked"])
    rep.meta["events"] = [{"kind": "detector", "time_s": float(t), "detector": f"d{t}"}
                          for t in range(200)]
    drawn = []
    real = draw.draw_text

    def spy(surface, font, text, pos, *a):
        h = real(surface, font, text, pos, *a)
        drawn.append((text, pos[1], h))
        return h

    monkeypatch.setattr(draw, "draw_text", spy)
    app = TrainerApp([rep], headless=True)
    app.panel_state = None  # (the window's panel, with its key hint)
    app.playback.seek(100.0)
    app.draw()
    app.close()
    help_top = next(y for text, y, _ in drawn if text == "H: help")
    log = [(y, h) for text, y, h in drawn if text.endswith(" fires")]
    assert len(log) > 10  # the panel is full
    assert max(y + h for y, h in log) <= help_top


def test_frames_drawn_to_files_have_no_key_hint_or_playing_state(records, monkeypatch):
    # In the window the panel says "playing 1x" and "H: help"; in frames drawn to PNG (and in
    # animations) no key can be pressed and nothing plays at 1x.
    drawn = []
    real = draw.draw_text
    monkeypatch.setattr(draw, "draw_text", lambda surface, font, text, pos, *a:
                        drawn.append(text) or real(surface, font, text, pos, *a))
    app = TrainerApp([load_replay(records["all_open"])], headless=True)
    app.draw()
    assert "floor: ground" in drawn
    assert "H: help" not in drawn and not any(t.startswith(("playing", "paused")) for t in drawn)
    app.panel_state = None
    drawn.clear()
    app.draw()
    app.close()
    assert "H: help" in drawn and "playing 1x   floor: ground" in drawn


def test_an_animation_says_how_fast_it_plays(records, tmp_path, monkeypatch):
    from sim.animate import animate, speed_words

    assert speed_words([0.0, 1.0, 2.0, 3.0], 3, 10) == "30x real time"
    assert speed_words([0.0, 0.5, 1.0], 1, 10) == "5x real time"
    assert speed_words([0.0, 1.0, 2.0], 25, 10) == "250x real time"
    assert speed_words([0.0], 1, 10) == "one frame"
    drawn = []
    real = draw.draw_text
    monkeypatch.setattr(draw, "draw_text", lambda surface, font, text, pos, *a:
                        drawn.append(text) or real(surface, font, text, pos, *a))
    rep = load_replay(records["all_open"])
    gap = float(np.median(np.diff(rep.time_s)))
    animate([str(records["all_open"])], tmp_path / "a.gif", fps=10, every=4)
    expected = f"animation: {gap * 4 * 10:.3g}x real time   floor: ground"
    assert drawn.count(expected) >= 3 and "H: help" not in drawn


def test_casualties_that_follow_each_other_take_one_line_of_the_log():
    ev = [{"kind": "alarm", "time_s": 1.0},
          *({"kind": "incapacitated", "time_s": t, "occupants": 1} for t in (100.0, 110.5, 139.0)),
          {"kind": "found_locked", "time_s": 120.0, "exit": "rear"},
          {"kind": "incapacitated", "time_s": 200.0, "occupants": 2}]  # (61 s later: apart)
    got = draw.grouped_events(ev)
    assert [e["kind"] for e in got] == ["alarm", "incapacitated", "found_locked",
                                        "incapacitated"]
    assert got[1]["occupants"] == 3 and got[1]["until_s"] == 139.0
    assert got[3]["occupants"] == 2 and got[3]["until_s"] == 200.0
    assert ev[1] == {"kind": "incapacitated", "time_s": 100.0, "occupants": 1}  # (untouched)

    class One:
        meta = {"events": ev}

    lines = [text for _, _, text in draw.merged_events([One()])]
    assert lines == ["alarm", "3 overcome by smoke (to 02:19.0)", "rear found locked",
                     "2 overcome by smoke"]


def test_pane_headers_say_what_each_variant_is(records, monkeypatch):
    # The title names the drill's theme (the hall's says "four exits"); a variant's own
    # description says what this run is, and stands in the header instead where there is one.
    runs = [load_replay(records[v]) for v in ("all_open", "two_locked")]
    drawn = []
    real = draw.draw_text
    monkeypatch.setattr(draw, "draw_text", lambda surface, font, text, pos, *a:
                        drawn.append(text) or real(surface, font, text, pos, *a))
    app = TrainerApp(runs, headless=True)
    app.draw()
    described = runs[1].meta["summary"]["variant_description"]
    assert described and any(t.startswith("two_locked: north_west, north_east locked  —  "
                                          + described[:20]) for t in drawn)
    runs[1].meta["summary"]["variant_description"] = ""  # (none: the title, as before)
    drawn.clear()
    app.draw()
    app.close()
    assert any(t.startswith("two_locked: north_west, north_east locked  —  Public hall")
               for t in drawn)


def test_runs_of_a_criticality_study_go_by_the_study_s_names(records, monkeypatch):
    """``criticality`` runs the same variant with an exit locked and without: both records
    say 'base'. The names the study gave them ("without south_west") tell them apart in the
    log, the pane headers and the counters."""
    runs = [load_replay(records["all_open"]) for _ in range(2)]
    for rep, label in zip(runs, ("all_open (as is)", "without south_west")):
        rep.meta["summary"] = {**rep.meta["summary"], "batch": {"label": label}}
    assert [r.variant_name for r in runs] == ["all_open (as is)", "without south_west"]
    assert draw.run_names(runs) == ["all_open (as is)", "without south_west"]
    assert runs[1].label.endswith("[without south_west] seed " + str(runs[1].meta["seed"]))
    drawn = texts_drawn(runs, monkeypatch)
    assert any(t.startswith("B  without south_west: all exits open") for t in drawn)
    assert any(t.startswith("B  without south_west seed") for t in drawn)
    # A run no study made goes by its variant, as before.
    plain = load_replay(records["all_open"])
    assert plain.variant_name == "all_open" and draw.run_names([plain, runs[1]]) == \
        ["all_open", "without south_west"]


def test_counters_name_the_scenario_only_when_the_runs_are_of_several(records, drill_record,
                                                                      monkeypatch):
    hall, restaurant = load_replay(records["two_locked"]), load_replay(drill_record)
    for runs, want in (([hall, restaurant], ("hall [two_locked] seed", "restaurant [")),
                       ([load_replay(records["all_open"]), hall],
                        ("all_open seed", "two_locked seed"))):
        drawn = texts_drawn(runs, monkeypatch)
        for start in want:
            assert any(t.startswith(start) for t in drawn), start


def test_the_fire_is_drawn_where_it_burns_and_grows(drill_record):
    import dataclasses

    rep = load_replay(drill_record)
    fire = next(e for e in rep.meta["events"] if e["kind"] == "fire")
    burnt = np.isfinite(rep.burning_s)
    assert burnt.any() and rep.burning_s[burnt].min() >= fire["time_s"]
    early, late = rep.burning_grid(5.0, 0), rep.burning_grid(60.0, 0)
    assert early.shape == (rep.floors[0]["rows"], rep.floors[0]["cols"])
    assert 0 < early.sum() < late.sum() == np.count_nonzero(rep.burning_s <= 60.0)
    app = TrainerApp([rep], size=(1000, 640), headless=True)
    app.fit()
    left, top, w, h = app.views[0].rect
    flames = []
    for t in (5.0, 60.0):
        app.playback.seek(t)
        app.draw()
        shot = pygame.surfarray.array3d(app.screen)[left:left + w, top:top + h]
        flames.append(np.count_nonzero(np.all(shot == np.array(draw.FIRE_COLOUR), axis=2)))
    assert 0 < flames[0] < flames[1]  # (drawn over the smoke veil, which is on)
    app.close()
    # A record written before fires were kept draws none.
    old = dataclasses.replace(rep, burning_s=None)
    assert old.burning_grid(60.0, 0) is None
    app = TrainerApp([old], size=(1000, 640), headless=True)
    app.fit()
    app.playback.seek(60.0)
    app.draw()
    shot = pygame.surfarray.array3d(app.screen)[left:left + w, top:top + h]
    assert not np.any(np.all(shot == np.array(draw.FIRE_COLOUR), axis=2))
    app.close()


# ------------------------------------------------------------------ any sequence of controls

_KEYS = [pygame.K_SPACE, pygame.K_RIGHT, pygame.K_LEFT, pygame.K_RIGHTBRACKET,
         pygame.K_LEFTBRACKET, pygame.K_h, pygame.K_t, pygame.K_d, pygame.K_s, pygame.K_HOME,
         pygame.K_PAGEUP, pygame.K_PAGEDOWN, pygame.K_1, pygame.K_3, pygame.K_9,
         pygame.K_ESCAPE]  # (q quits and P writes a screenshot: left out)
_CONTROLS = st.one_of(
    st.tuples(st.just("key"), st.sampled_from(_KEYS)),
    st.tuples(st.just("press"), st.integers(-40, 1320), st.integers(-40, 800)),
    st.tuples(st.just("move"), st.integers(-2000, 2000), st.integers(-2000, 2000)),
    st.tuples(st.just("release"), st.just(0)),
    st.tuples(st.just("wheel"), st.integers(-40, 40)),
    st.tuples(st.just("play"), st.floats(0.0, 600.0)),
    st.tuples(st.just("draw"), st.just(0)))


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.sampled_from(["hall", "two halls", "drill", "drill beside hall",
                        "office beside drill"]),
       st.lists(_CONTROLS, max_size=30))
def test_any_sequence_of_controls_keeps_the_trainer_consistent(records, drill_record,
                                                               office_record, runs, controls):
    """Keys, clicks, drags, the wheel and playing on, in any order: the playback stays within
    the record, the floor within the building, the views' scales finite, and every frame
    draws."""
    paths = {"hall": [records["all_open"]], "two halls": list(records.values()),
             "drill": [drill_record], "drill beside hall": [drill_record, records["two_locked"]],
             "office beside drill": [office_record, drill_record]}
    app = TrainerApp([load_replay(p) for p in paths[runs]], headless=True)
    for what, *args in controls:
        if what == "key":
            app.handle(pygame.event.Event(pygame.KEYDOWN, key=args[0], mod=0, unicode=""))
        elif what == "press":
            app.handle(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=tuple(args)))
        elif what == "move":
            app.handle(pygame.event.Event(pygame.MOUSEMOTION, pos=(600, 300), rel=tuple(args),
                                          buttons=(1, 0, 0)))
        elif what == "release":
            app.handle(pygame.event.Event(pygame.MOUSEBUTTONUP, button=1, pos=(0, 0)))
        elif what == "wheel":
            app.handle(pygame.event.Event(pygame.MOUSEWHEEL, x=0, y=args[0], flipped=False))
        elif what == "play":
            app.playback.advance(args[0])
        else:
            app.draw()
        pb = app.playback
        assert 0.0 <= pb.time_s <= pb.duration_s and 0 <= pb.frame < len(pb.frame_times)
        assert 0 <= app.floor < max(len(r.floors) for r in app.replays)
        assert all(np.isfinite(v.scale) and 0.5 <= v.scale <= 400 for v in app.views)
        assert all(np.isfinite(v.centre).all() for v in app.views)
    app.draw()
    assert app.frame_rgb().shape[2] == 3
