"""Drawing functions: each takes a surface, the data and a view, and draws; nothing else."""

from __future__ import annotations

import numpy as np
import pygame

from .records import CARRIED, CASUALTY, MOVING, WAITING, Replay
from .view import View

BACKGROUND = (28, 30, 36)
PANEL = (40, 43, 52)
TEXT = (230, 230, 230)
DIM = (140, 140, 150)
ACCENT = (255, 200, 60)

MAP_COLOURS = {
    "#": (88, 90, 102),     # wall
    ".": (226, 224, 214),   # floor
    " ": BACKGROUND,        # outside
    "o": (139, 105, 72),    # obstacle
    "~": (224, 190, 110),   # clutter
    "+": (204, 198, 176),   # doorway: an opening, tinted like floor
}
DOOR_COLOUR = (170, 180, 214)
DOOR_LOCKED = (150, 60, 60)
STAIR_COLOUR = (168, 206, 236)
EXIT_OPEN = (40, 170, 80)
EXIT_LOCKED = (215, 40, 40)
EXIT_UNLOCKED = (255, 170, 0)  # was locked at the start, opened during the run

STATE_COLOURS = {
    WAITING: (150, 150, 160),   # not moving yet (pre-movement)
    MOVING: (30, 110, 220),     # moving
    CASUALTY: (20, 20, 20),     # incapacitated
    CARRIED: (150, 60, 190),    # being carried out (drawn at the carrier)
}
STAFF_COLOUR = (0, 175, 170)
ROLE_COLOURS = {"fire_rescue": (220, 50, 30), "police": (20, 40, 140),
                "medical": (240, 240, 240)}
ACTOR_COLOUR = (245, 150, 0)  # venue staff, night duty, property management, volunteers...
SMOKE_COLOUR = (70, 70, 70)
FIRE_COLOUR = (255, 80, 20)  # cells on fire
TRAIL_COLOUR = (120, 160, 230)

LEGEND = [
    ("waiting to move", STATE_COLOURS[WAITING]),
    ("moving", STATE_COLOURS[MOVING]),
    ("staff", STAFF_COLOUR),
    ("casualty", STATE_COLOURS[CASUALTY]),
    ("carried out", STATE_COLOURS[CARRIED]),
    ("drill staff (square)", ACTOR_COLOUR),
    ("fire brigade (square)", ROLE_COLOURS["fire_rescue"]),
    ("exit open", EXIT_OPEN),
    ("exit locked", EXIT_LOCKED),
    ("exit unlocked during run", EXIT_UNLOCKED),
    ("clutter", MAP_COLOURS["~"]),
    ("stairs", STAIR_COLOUR),
    ("fire", FIRE_COLOUR),
]


def drawing_colours() -> list[tuple[int, int, int]]:
    """Every flat colour the trainer draws with (map, states, actors, exits, legend, panel
    and text): a GIF's palette keeps these exact, so that no two of them merge."""
    named = [BACKGROUND, PANEL, TEXT, DIM, ACCENT, DOOR_COLOUR, DOOR_LOCKED, STAIR_COLOUR,
             EXIT_OPEN, EXIT_LOCKED, EXIT_UNLOCKED, STAFF_COLOUR, ACTOR_COLOUR, SMOKE_COLOUR,
             FIRE_COLOUR, TRAIL_COLOUR, *MAP_COLOURS.values(), *STATE_COLOURS.values(),
             *ROLE_COLOURS.values(), *(c for _, c in LEGEND)]
    return list(dict.fromkeys(tuple(int(v) for v in c) for c in named))


def floor_symbol_colours(replay: Replay) -> dict[str, tuple[int, int, int]]:
    """Colours of the building's declared symbols (exits are drawn on top, by state)."""
    b = replay.meta["building"]
    colours = {}
    for r in b.get("regions", []):
        if r.get("symbol"):
            colours[r["symbol"]] = MAP_COLOURS["."]
    for d in b.get("doors", []):
        colours[d["symbol"]] = DOOR_LOCKED if d.get("state") == "locked" else DOOR_COLOUR
    for s in b.get("stairs", []):
        colours[s["symbol"]] = STAIR_COLOUR
    for e in b.get("exits", []):
        colours[e["symbol"]] = EXIT_OPEN
    return colours


def render_floor_map(replay: Replay, floor: int) -> pygame.Surface:
    """The floor's map at one pixel per cell (to be scaled by :func:`draw_plan`)."""
    fl = replay.floors[floor]
    rows, cols = fl["rows"], fl["cols"]
    colours = floor_symbol_colours(replay)
    pixels = np.zeros((cols, rows, 3), dtype=np.uint8)
    for r, line in enumerate(fl["map"]):
        for c, ch in enumerate(line):
            pixels[c, r] = MAP_COLOURS.get(ch) or colours.get(ch, MAP_COLOURS["."])
    return pygame.surfarray.make_surface(pixels)


def draw_plan(surface: pygame.Surface, map_surface: pygame.Surface, replay: Replay,
              floor: int, view: View, time_s: float) -> None:
    """The plan of ``floor`` scaled into the view, with exits coloured by their state."""
    fl = replay.floors[floor]
    cell = replay.meta["building"]["cell_m"]
    rows, cols = fl["rows"], fl["cols"]
    left, top = view.to_screen(0.0, rows * cell)
    size = (max(1, round(cols * cell * view.scale)), max(1, round(rows * cell * view.scale)))
    clip = surface.get_clip()
    surface.set_clip(pygame.Rect(view.rect))
    surface.fill(BACKGROUND, pygame.Rect(view.rect))
    if size[0] * size[1] <= 40_000_000:
        surface.blit(pygame.transform.scale(map_surface, size), (round(left), round(top)))
    locked = replay.exit_locked_at(time_s)
    for e in replay.meta["building"]["exits"]:
        if e["floor"] != floor:
            continue
        if locked[e["name"]]:
            colour = EXIT_LOCKED
        else:
            colour = EXIT_UNLOCKED if e["locked_at_start"] else EXIT_OPEN
        xy = replay.cell_xy[np.asarray(e["cells"])]
        sx, sy = view.to_screen(xy[:, 0], xy[:, 1])
        half = max(2.0, cell * view.scale / 2.0)
        for x, y in zip(sx, sy):
            pygame.draw.rect(surface, colour, pygame.Rect(round(x - half), round(y - half),
                                                          round(2 * half), round(2 * half)))
        if locked[e["name"]]:
            cx, cy = float(np.mean(sx)), float(np.mean(sy))
            r = max(4, round(half * 1.6))
            pygame.draw.line(surface, (255, 255, 255), (cx - r, cy - r), (cx + r, cy + r), 2)
            pygame.draw.line(surface, (255, 255, 255), (cx - r, cy + r), (cx + r, cy - r), 2)
    surface.set_clip(clip)


def _disc_offsets(radius: int) -> tuple[np.ndarray, np.ndarray]:
    r = max(0, radius)
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    inside = dx * dx + dy * dy <= r * r + r
    return dx[inside], dy[inside]


def draw_dots(surface: pygame.Surface, sx: np.ndarray, sy: np.ndarray,
              colours: np.ndarray, radius_px: int, rect: tuple[int, int, int, int]) -> int:
    """Filled discs at pixel positions, written straight into the pixel array (fast for
    thousands). ``colours`` is (n, 3) uint8. Returns how many centres fell inside ``rect``."""
    left, top, w, h = rect
    x = np.round(sx).astype(np.int64)
    y = np.round(sy).astype(np.int64)
    keep = (x >= left) & (x < left + w) & (y >= top) & (y < top + h)
    x, y, colours = x[keep], y[keep], colours[keep]
    if x.size == 0:
        return 0
    pixels = pygame.surfarray.pixels3d(surface)
    try:
        for dx, dy in zip(*_disc_offsets(min(radius_px, 6))):
            px, py = x + dx, y + dy
            ok = (px >= left) & (px < left + w) & (py >= top) & (py < top + h)
            pixels[px[ok], py[ok]] = colours[ok]
    finally:
        del pixels  # unlock the surface
    return int(x.size)


def occupant_colours(replay: Replay, idx: np.ndarray, state: np.ndarray) -> np.ndarray:
    colours = np.empty((idx.size, 3), dtype=np.uint8)
    for s, c in STATE_COLOURS.items():
        colours[state == s] = c
    staff = replay.staff_mask()[idx] & (state == MOVING)
    colours[staff] = STAFF_COLOUR
    return colours


def draw_occupants(surface: pygame.Surface, replay: Replay, frame: int, floor: int,
                   view: View) -> int:
    """Occupants inside the building on ``floor`` at ``frame``. Returns how many were drawn."""
    idx, fl, x, y, state = replay.occupants_at(frame)
    on = fl == floor
    idx, x, y, state = idx[on], x[on], y[on], state[on]
    sx, sy = view.to_screen(x, y)
    radius = max(1, round(0.2 * view.scale))
    return draw_dots(surface, sx, sy, occupant_colours(replay, idx, state), radius, view.rect)


def draw_actors(surface: pygame.Surface, replay: Replay, frame: int, floor: int,
                view: View) -> int:
    """The drill's actors as squares in their role's colour. Returns how many were drawn."""
    idx, fl, x, y = replay.actors_at(frame)
    on = fl == floor
    if not np.any(on):
        return 0
    sx, sy = view.to_screen(x[on], y[on])
    half = max(2, round(0.3 * view.scale))
    roles = replay.actors
    clip = surface.get_clip()
    surface.set_clip(pygame.Rect(view.rect))
    for k, px, py in zip(idx[on], sx, sy):
        role = roles[k]["role"] if k < len(roles) else ""
        colour = ROLE_COLOURS.get(role, ACTOR_COLOUR)
        box = pygame.Rect(round(px) - half, round(py) - half, 2 * half, 2 * half)
        pygame.draw.rect(surface, colour, box)
        pygame.draw.rect(surface, (0, 0, 0), box, 1)
    surface.set_clip(clip)
    return int(np.count_nonzero(on))


def _blit_overlay(surface: pygame.Surface, replay: Replay, view: View, rgb: np.ndarray,
                  alpha: np.ndarray) -> None:
    """Blend one value per map cell (``rgb`` (cols, rows, 3), ``alpha`` (cols, rows)) over
    the plan, scaled to the view and clipped to it."""
    cols, rows = alpha.shape
    small = pygame.Surface((cols, rows), pygame.SRCALPHA)
    pygame.surfarray.blit_array(small, rgb)
    pixels = pygame.surfarray.pixels_alpha(small)
    pixels[:] = alpha
    del pixels
    cell = replay.meta["building"]["cell_m"]
    left, top = view.to_screen(0.0, rows * cell)
    size = (max(1, round(cols * cell * view.scale)), max(1, round(rows * cell * view.scale)))
    clip = surface.get_clip()
    surface.set_clip(pygame.Rect(view.rect))
    surface.blit(pygame.transform.scale(small, size), (round(left), round(top)))
    surface.set_clip(clip)


def draw_smoke(surface: pygame.Surface, replay: Replay, frame: int, floor: int,
               view: View) -> None:
    """Smoke as a grey veil: faint where visibility drops below 30 m (K = 0.1 /m), opaque
    grey at K = 3 /m (visibility 1 m with reflecting signs)."""
    k = replay.smoke_grid(frame, floor)
    if k is None:
        return
    rows, cols = k.shape
    level = np.clip(np.log10(np.maximum(k, 1e-6) / 0.1) / np.log10(30.0), 0.0, 1.0)
    rgb = np.zeros((cols, rows, 3), dtype=np.uint8)
    rgb[...] = SMOKE_COLOUR
    _blit_overlay(surface, replay, view, rgb, np.where(k.T >= 0.1, 40 + 190 * level.T, 0).astype(np.uint8))


def draw_fire(surface: pygame.Surface, replay: Replay, time_s: float, floor: int,
              view: View) -> None:
    """The cells on fire at ``time_s`` (burning cells burn to the end of the run), over the
    smoke: where the flames are, which people flee, are caught by, and step back from."""
    burning = replay.burning_grid(time_s, floor)
    if burning is None or not burning.any():
        return
    rows, cols = burning.shape
    rgb = np.zeros((cols, rows, 3), dtype=np.uint8)
    rgb[...] = FIRE_COLOUR
    _blit_overlay(surface, replay, view, rgb, np.where(burning.T, 255, 0).astype(np.uint8))


def draw_trails(surface: pygame.Surface, replay: Replay, frame: int, floor: int, view: View,
                length: int = 15) -> None:
    """Where the occupants on ``floor`` were over the last ``length`` frames."""
    first = max(0, frame - length)
    for k in range(first, frame):
        idx, fl, x, y, _ = replay.occupants_at(k)
        on = fl == floor
        sx, sy = view.to_screen(x[on], y[on])
        fade = 0.35 + 0.5 * (k - first) / max(1, frame - first)
        colour = (np.array(TRAIL_COLOUR) * fade + np.array(MAP_COLOURS["."]) * (1 - fade))
        colours = np.tile(colour.astype(np.uint8), (sx.size, 1))
        draw_dots(surface, sx, sy, colours, 0, view.rect)


def density_grid(replay: Replay, frame: int, floor: int) -> np.ndarray:
    """Persons per m² around each cell of ``floor`` (3 x 3 cells), shape (rows, cols)."""
    fl = replay.floors[floor]
    rows, cols = fl["rows"], fl["cols"]
    cell = replay.meta["building"]["cell_m"]
    _, f, x, y, _ = replay.occupants_at(frame)
    on = f == floor
    col = np.clip(np.floor(x[on] / cell).astype(int), 0, cols - 1)
    row = np.clip(rows - 1 - np.floor(y[on] / cell).astype(int), 0, rows - 1)
    counts = np.zeros((rows + 2, cols + 2))
    np.add.at(counts, (row + 1, col + 1), 1)
    box = sum(counts[1 + dr:rows + 1 + dr, 1 + dc:cols + 1 + dc]
              for dr in (-1, 0, 1) for dc in (-1, 0, 1))
    return box / (9 * cell * cell)


def draw_density(surface: pygame.Surface, replay: Replay, frame: int, floor: int,
                 view: View) -> None:
    """A translucent heat map of local density: clear below 1 P/m², red at 4 P/m² and above."""
    dens = density_grid(replay, frame, floor)
    rows, cols = dens.shape
    level = np.clip((dens - 1.0) / 3.0, 0.0, 1.0)
    rgb = np.zeros((cols, rows, 3), dtype=np.uint8)
    rgb[..., 0] = 255
    rgb[..., 1] = (220 * (1 - level)).T.astype(np.uint8)
    _blit_overlay(surface, replay, view, rgb, np.where(dens.T >= 1.0, 70 + 130 * level.T, 0).astype(np.uint8))


def format_clock(time_s: float) -> str:
    m, s = divmod(max(0.0, time_s), 60)
    return f"{int(m):02d}:{s:04.1f}"


def draw_text(surface, font, text, pos, colour=TEXT) -> int:
    img = font.render(text, True, colour)
    surface.blit(img, pos)
    return img.get_height()


def draw_panel(surface: pygame.Surface, fonts: dict, replays: list[Replay], frame_of: list[int],
               time_s: float, speed: float, paused: bool, floor: int,
               rect: tuple[int, int, int, int], layers: dict[str, bool],
               state: str | None = None) -> None:
    """The side panel: clock, counters per run, legend, event log with what has happened.
    ``state``: what to say of the playing instead of "playing 1x" or "paused", and no key
    hint (frames and animations drawn to files, where no key can be pressed)."""
    left, top, w, h = rect
    surface.fill(PANEL, pygame.Rect(rect))
    x, y = left + 12, top + 10
    big, small = fonts["big"], fonts["small"]
    y += draw_text(surface, big, format_clock(time_s), (x, y), ACCENT) + 2
    interactive = state is None
    if interactive:
        state = "paused" if paused else f"playing {speed:g}x"
    name = next(r.floors[floor]["name"] for r in replays if floor < len(r.floors))
    y += draw_text(surface, small, "   ".join(part for part in (state, f"floor: {name}")
                                              if part), (x, y), DIM) + 8
    tags = run_tags(replays) if lettered(replays) else [""] * len(replays)
    # Runs of one scenario need not repeat its name: the variant is what tells them apart,
    # and the panel is narrow ("B  market_fair [without..." hid it).
    one_scenario = len(replays) > 1 and len({r.meta.get("scenario") for r in replays}) == 1
    for rep, fr, tag in zip(replays, frame_of, tags):
        c = rep.counts_at(fr)
        label = f"{rep.variant_name} seed {rep.meta.get('seed', '?')}" if one_scenario \
            else rep.label
        label = f"{tag}  {label}" if tag else label
        y += draw_text(surface, fonts["bold"], fonts["bold"].fit(label, w - 24), (x, y)) + 1
        y += draw_text(surface, small, f"inside {c['inside']}   out {c['out']}   casualties "
                       f"{c['casualties']}", (x, y)) + 6
    y += 4
    for label, colour in LEGEND:
        pygame.draw.rect(surface, colour, pygame.Rect(x, y + 3, 12, 12))
        y += draw_text(surface, small, label, (x + 18, y)) + 1
    on = [k for k, v in layers.items() if v]
    y += draw_text(surface, small, "layers: " + (", ".join(on) or "none"), (x, y + 4), DIM) + 10
    y += draw_text(surface, fonts["bold"], "Events", (x, y)) + 2
    shown = merged_events(replays)
    line_h = small.get_height()  # (each line below advances by what draw_text returns)
    room = max(0, (top + h - 30 - y) // line_h)
    # An event too long for a line goes on under its text (a failed action's reason was cut
    # to "night_staff cannot do unlock_rear..."); what has happened fills at most half.
    entries = [(t_ev <= time_s, small.wrap(f"{format_clock(t_ev)}  {who}{text}", w - 24,
                                           LOG_INDENT)) for t_ev, who, text in shown]
    start = sum(happened for happened, _ in entries)
    used = 0
    while start > 0 and used + len(entries[start - 1][1]) <= max(1, room // 2):
        start -= 1
        used += len(entries[start][1])
    used = 0
    for happened, lines in entries[start:]:
        if used + len(lines) > room:
            break
        for line in lines:
            y += draw_text(surface, small, line, (x, y), TEXT if happened else DIM)
        used += len(lines)
    if interactive:
        draw_text(surface, small, "H: help", (x, top + h - 22), DIM)


def run_names(replays: list[Replay]) -> list[str]:
    """A short name for each run that tells them apart: the variant (as a comparison named it:
    :attr:`Replay.variant_name`); where the variants are the same, the scenario; where that is
    the same too, the variant and the seed."""
    variants = [r.variant_name for r in replays]
    for names in (variants, [str(r.meta.get("scenario", "?")) for r in replays],
                  [f"{v} seed {r.meta.get('seed', '?')}" for v, r in zip(variants, replays)]):
        if len(set(names)) == len(names):
            return names
    return [f"{n} ({k + 1})" for k, n in enumerate(variants)]  # (a run twice)


TAG_CHARS = 12  # longer run names leave too little of an event's line: letters instead
LOG_INDENT = " " * 11  # an event's lines after its first start under its text, past the clock


def run_tags(replays: list[Replay]) -> list[str]:
    """What the event log calls each run: nothing for one run; the :func:`run_names` if none
    is longer than ``TAG_CHARS``; otherwise letters (A, B), which the pane headers and the
    counters then carry too (see :func:`lettered`)."""
    if len(replays) < 2:
        return [""] * len(replays)
    names = run_names(replays)
    if max(len(n) for n in names) <= TAG_CHARS:
        return names
    return [chr(ord("A") + k) for k in range(len(replays))]


def lettered(replays: list[Replay]) -> bool:
    """Whether the runs are told apart by letters (long names): then each pane says its own."""
    return len(replays) > 1 and run_tags(replays) != run_names(replays)


# Events of these kinds come one per step while they last (a casualty a step as smoke fills a
# corridor): one line of the log counts those that follow each other within GROUP_S.
GROUPED = ("incapacitated", "noticed_smoke", "fled_fire", "caught_by_fire")
GROUP_S = 30.0


def grouped_events(events: list[dict]) -> list[dict]:
    """``events`` with each run of ``GROUPED`` events of one kind, each within ``GROUP_S`` of
    the one before, as one event at the first one's time, with the ``occupants`` added up
    (and ``until_s``, the last one's time). Other events are kept as they are, in order."""
    out: list[dict] = []
    last: dict[str, dict] = {}  # kind -> the group it may still join
    for ev in events:
        kind = ev.get("kind")
        group = last.get(kind)
        if kind in GROUPED and group is not None and \
                float(ev["time_s"]) - group["until_s"] <= GROUP_S:
            group["occupants"] = group.get("occupants", 0) + ev.get("occupants", 0)
            group["until_s"] = float(ev["time_s"])
            continue
        ev = dict(ev)
        if kind in GROUPED:
            ev["until_s"] = float(ev["time_s"])
            last[kind] = ev
        out.append(ev)
    return out


def merged_events(replays: list[Replay]) -> list[tuple[float, str, str]]:
    """(time, which run, text) of every run's events in time order (:func:`grouped_events`);
    the run is tagged only when there are several (:func:`run_tags`)."""
    out = []
    for rep, name in zip(replays, run_tags(replays)):
        who = f"[{name}] " if name else ""
        for ev in grouped_events(rep.meta.get("events", [])):
            if ev["kind"] != "start":
                text = describe_event(ev)
                if ev.get("until_s", ev["time_s"]) > ev["time_s"]:
                    text += f" (to {format_clock(ev['until_s'])})"
                out.append((float(ev["time_s"]), who, text))
    return sorted(out, key=lambda e: e[0])


EVENT_TEXT = {
    "picked_up": "{actor} picks up a resident",
    "assisted_out": "{actor} brings a resident out",
    "casualty_carried_out": "{actor} brings out someone overcome",
    "on_scene": "{actor} on scene",
    "detector": "detector {detector} fires",
    "fire": "fire starts in {region}",
    "incapacitated": "{occupants} overcome by smoke",
    "noticed_smoke": "{occupants} notice smoke (no alarm yet)",
    "caught_by_fire": "{occupants} caught by the fire",
    "fled_fire": "{occupants} flee the flames beside them",
    "stepped_back_from_fire": "{actor} steps back from the flames",
    "action_failed": "{actor} cannot do {id}: {reason}",
    "lane_blocked": "{actor} held up: {road} blocked",
    "suppressed": "fire {fire} under control ({mode})",
}


# The same for one person, where the verb agrees ("1 flees", not "1 flee").
EVENT_TEXT_ONE = {
    "noticed_smoke": "1 notices smoke (no alarm yet)",
    "fled_fire": "1 flees the flames beside them",
}


class _Blank(dict):
    def __missing__(self, key):
        return "?"


def describe_event(ev: dict) -> str:
    kind = ev["kind"]
    if kind == "found_locked":
        what = ev.get("exit") or ev.get("door")
        return f"{what} found locked"
    if kind in ("lock", "unlock", "open", "close", "add_clutter", "clear_clutter"):
        return f"{kind.replace('_', ' ')} {ev.get('target', '')}"
    if kind == "stays_locked":  # (a timed unlock of an exit a study took away)
        return f"{ev.get('target', '')} stays locked (taken away in this study)"
    if kind == "action":
        who = f"{ev['actor']}: " if ev.get("actor") else ""
        target = "" if ev.get("target") in (None, "", "all") else f" {ev['target']}"
        return f"{who}{ev.get('action', '').replace('_', ' ')}{target}"
    if kind == "alarm":
        return "alarm" + ("" if ev.get("area", "all") == "all" else f" ({ev['area']})")
    if kind == "picked_up" and ev.get("overcome"):
        return f"{ev.get('actor')} carries off someone overcome"
    if kind == "gave_up":
        return f"{ev.get('actor')} gives up on {ev.get('goal', '').split(':')[0]} ({ev.get('id')})"
    if kind in EVENT_TEXT_ONE and ev.get("occupants") == 1:
        return EVENT_TEXT_ONE[kind]
    if kind in EVENT_TEXT:
        return EVENT_TEXT[kind].format_map(_Blank(ev))
    if kind == "all_out":
        lost, caught = ev.get("casualties", 0), ev.get("caught_by_fire", 0)
        if not lost:
            return "everyone is out"
        if not caught:
            return f"all out but {lost} overcome by smoke"
        return f"all out but {lost}: " + ", ".join(
            ([f"{lost - caught} overcome by smoke"] if lost > caught else [])
            + [f"{caught} caught by the fire"])
    if kind == "time_limit" and ev.get("drill_unfinished"):
        return "time limit: the drill had not finished"
    if kind == "time_limit":
        return f"time limit: {ev.get('inside', '?')} still inside"
    if kind == "drill_done":
        return "drill over: the run ends"
    return kind.replace("_", " ")


def draw_timeline(surface: pygame.Surface, font, replays: list[Replay], time_s: float,
                  total_s: float, rect: tuple[int, int, int, int]) -> None:
    """A bar across the bottom: elapsed time, event ticks; click or drag to scrub."""
    left, top, w, h = rect
    surface.fill(PANEL, pygame.Rect(rect))
    bar = pygame.Rect(left + 10, top + h // 2 - 4, w - 20, 8)
    pygame.draw.rect(surface, (70, 74, 88), bar, border_radius=4)
    total = max(total_s, 1e-6)
    done = bar.copy()
    done.width = round(bar.width * min(time_s / total, 1.0))
    pygame.draw.rect(surface, ACCENT, done, border_radius=4)
    for replay in replays:
        for ev in replay.meta.get("events", []):
            if ev["kind"] == "start":
                continue
            ex = bar.left + round(bar.width * min(ev["time_s"] / total, 1.0))
            pygame.draw.line(surface, EXIT_LOCKED if ev["kind"] == "found_locked" else TEXT,
                             (ex, bar.top - 6), (ex, bar.bottom + 6), 2)
    knob = (done.right, bar.centery)
    pygame.draw.circle(surface, TEXT, knob, 7)
    draw_text(surface, font, format_clock(total), (bar.right - 50, top + 2), DIM)


HELP = [
    ("space", "play / pause"),
    ("left / right", "step one recorded frame"),
    ("[  ]", "slower / faster (0.25x - 32x)"),
    ("mouse on the bar", "scrub"),
    ("wheel / drag", "zoom / pan;  Home: fit"),
    ("PgUp / PgDn, 1-9", "change floor"),
    ("T  D  S", "trails, density heat map, smoke"),
    ("P", "screenshot to PNG"),
    ("H or F1", "this help;  Esc or Q: quit"),
    ("drop a file", "open another run record"),
]


def draw_help(surface: pygame.Surface, fonts: dict) -> None:
    w, h = surface.get_size()
    box = pygame.Rect(0, 0, min(560, w - 40), 40 + 26 * len(HELP))
    box.center = (w // 2, h // 2)
    shade = pygame.Surface(box.size, pygame.SRCALPHA)
    shade.fill((15, 15, 20, 235))
    surface.blit(shade, box.topleft)
    y = box.top + 12
    draw_text(surface, fonts["bold"], "Controls", (box.left + 16, y), ACCENT)
    y += 30
    for key, what in HELP:
        draw_text(surface, fonts["small"], key, (box.left + 16, y), ACCENT)
        draw_text(surface, fonts["small"], what, (box.left + 190, y))
        y += 24


def draw_banner(surface: pygame.Surface, font, message: str) -> None:
    """A red banner across the top (errors while the window is open)."""
    w, _ = surface.get_size()
    lines = message.splitlines()[:4]
    h = 12 + 22 * len(lines)
    pygame.draw.rect(surface, (150, 30, 30), pygame.Rect(0, 0, w, h))
    for k, line in enumerate(lines):
        draw_text(surface, font, line[:160], (12, 6 + 22 * k))


def finished_text(replay: Replay) -> str:
    """What the pane says once its run has ended."""
    c = replay.counts_at(replay.n_frames - 1)
    end = format_clock(replay.duration_s)
    if c["inside"]:
        return f"run ended at {end}: {c['inside']} still inside"
    out_s = replay.all_out_s
    text = ("everyone out" if not c["casualties"] else
            f"all out but {c['casualties']} overcome") + f" at {format_clock(out_s)}"
    carried = sum(ev["kind"] == "casualty_carried_out" for ev in replay.meta.get("events", ()))
    if carried:  # (responders carried them out: when the last was out)
        who = "carried out" if carried == c["casualties"] else f"{carried} carried out"
        text += f" ({who} by {format_clock(replay.people_out_s)})"
    if replay.people_out_s < replay.duration_s - 1e-6:  # (a drill went on after it)
        text += f"; run ended at {end}"
    return text


def draw_finished(surface: pygame.Surface, font, replay: Replay, time_s: float,
                  view: View) -> None:
    """Say so in the pane once its run has ended."""
    if time_s < replay.duration_s - 1e-9:
        return
    text = finished_text(replay)
    img = font.render(text, True, TEXT)
    left, top, w, h = view.rect
    box = img.get_rect(midtop=(left + w // 2, top + 8)).inflate(16, 8)
    pygame.draw.rect(surface, PANEL, box, border_radius=6)
    surface.blit(img, img.get_rect(center=box.center))
