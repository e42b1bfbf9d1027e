"""The replay window: one run, or two side by side in sync.

Loop (STYLE.md): events, then ``playback.advance(dt)``, then draw, then flip, then tick.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from .records import Replay, ReplayError, load_replay

PANEL_W = 330
BAR_H = 44
HEADER_H = 24
CJK_FONTS = ["notosanscjksc", "notosanscjk", "notosanscjkjp", "wenquanyimicrohei",
             "wqymicrohei", "wenquanyizenhei", "droidsansfallback", "simhei", "microsoftyahei"]


class Typeface:
    """Renders text run by run with a font that has the glyphs: the default font for Latin
    text, a CJK font (when one is installed) for Chinese. Some CJK fonts lack Latin glyphs
    entirely (DroidSansFallback), so neither font is trusted for the other's script."""

    def __init__(self, pygame, size: int, cjk_path: str | None, bold: bool = False):
        self.pg = pygame
        self.latin = pygame.font.Font(None, size + 4)
        self.latin.set_bold(bold)
        self.cjk = pygame.font.Font(cjk_path, size) if cjk_path else None
        self._wrapped: dict[tuple[str, int, str], list[str]] = {}  # (the log, every frame)

    def _font_for(self, ch: str):
        # Fonts report metrics even for glyphs they draw as a box, so the choice goes by
        # script: CJK ideographs, punctuation and full-width forms to the CJK font.
        if self.cjk is not None and is_cjk(ch):
            return self.cjk
        return self.latin

    def _runs(self, text: str) -> list[tuple[object, str]]:
        """``text`` cut into runs of one font each."""
        runs: list[tuple[object, str]] = []
        for ch in text:
            font = self._font_for(ch)
            if runs and runs[-1][0] is font:
                runs[-1] = (font, runs[-1][1] + ch)
            else:
                runs.append((font, ch))
        return runs

    def render(self, text: str, antialias: bool, colour):
        runs = self._runs(text)
        if len(runs) <= 1:
            return (runs[0][0] if runs else self.latin).render(text, antialias, colour)
        images = [font.render(part, antialias, colour) for font, part in runs]
        out = self.pg.Surface((sum(i.get_width() for i in images),
                               max(i.get_height() for i in images)), self.pg.SRCALPHA)
        x = 0
        for img in images:
            out.blit(img, (x, out.get_height() - img.get_height()))
            x += img.get_width()
        return out

    def get_height(self) -> int:
        """The height of a rendered line (its line size: a few pixels more than the font's
        height, which is what ``render`` gives)."""
        return self.latin.get_linesize()

    def width_of(self, text: str) -> int:
        """The width ``render`` gives ``text``, in pixels (without drawing it)."""
        return sum(font.size(part)[0] for font, part in self._runs(text))

    def fit(self, text: str, width: int) -> str:
        """``text``, or as much of it as fits in ``width`` pixels followed by "...", cut at a
        space where there is one in the last third."""
        if self.width_of(text) <= width:
            return text
        lo, hi = 0, len(text)
        while lo < hi:  # the longest head that fits with the dots
            mid = (lo + hi + 1) // 2
            if self.width_of(text[:mid].rstrip() + "...") <= width:
                lo = mid
            else:
                hi = mid - 1
        head = text[:lo]
        space = head.rfind(" ")
        if space > 2 * len(head) // 3:
            head = head[:space]
        return head.rstrip(" —-:,") + "..." if head.strip() else ""


    def wrap(self, text: str, width: int, indent: str = "") -> list[str]:
        """``text`` broken at spaces into lines of at most ``width`` pixels, the lines after
        the first starting with ``indent``; a word too long for a line is cut to fit with
        "..." (:meth:`fit`). Kept: the event log asks for the same lines every frame."""
        key = (text, width, indent)
        if key not in self._wrapped:
            if len(self._wrapped) > 4096:  # (widths change as the window is resized)
                self._wrapped.clear()
            self._wrapped[key] = self._wrap(text, width, indent)
        return self._wrapped[key]

    def _wrap(self, text: str, width: int, indent: str) -> list[str]:
        lines: list[str] = []
        line = ""
        for word in text.split(" "):
            trial = f"{line} {word}" if line.strip() else (line + word)
            if self.width_of(trial) <= width or not line.strip():
                line = trial
                continue
            lines.append(self.fit(line, width))
            line = indent + word
        lines.append(self.fit(line, width))
        return lines


def is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (0x2E80 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0xFF00 <= code <= 0xFFEF
            or 0x20000 <= code <= 0x2FA1F)


def find_cjk_font(pygame) -> str | None:
    """A font that really draws Chinese (its glyph for 疏 exists), or None."""
    for name in CJK_FONTS:
        path = pygame.font.match_font(name)
        if path:
            try:
                if pygame.font.Font(path, 16).metrics("疏")[0] is not None:
                    return path
            except (OSError, RuntimeError):
                continue
    return None


def _fonts(pygame):
    cjk = find_cjk_font(pygame)
    return {"big": Typeface(pygame, 30, cjk), "bold": Typeface(pygame, 17, cjk, bold=True),
            "small": Typeface(pygame, 15, cjk), "has_cjk": cjk is not None}


def display_title(text: str, has_cjk: bool) -> str:
    """Titles carry a Chinese name beside the English; without a CJK font, keep the English."""
    if has_cjk or not any(is_cjk(ch) for ch in text):
        return text
    kept = "".join(ch for ch in text if not is_cjk(ch))
    for empty in ("()", "[]"):  # (brackets that held only Chinese)
        kept = kept.replace(empty, "")
    return kept.strip().rstrip("—-").strip()


class TrainerApp:
    """Replays one or two run records. ``headless`` draws into an off-screen surface."""

    def __init__(self, replays: list[Replay], size=(1280, 760), headless: bool = False):
        import pygame

        from .playback import Playback
        from .view import View

        self.pg = pygame
        self.replays = replays
        self.headless = headless
        pygame.display.init()
        pygame.font.init()
        if headless:
            self.screen = pygame.Surface(size)
        else:
            self.screen = pygame.display.set_mode(size, pygame.RESIZABLE)
            pygame.display.set_caption("drillsim trainer — " + " | ".join(r.label for r in replays))
        self.fonts = _fonts(pygame)
        times = sorted(set().union(*[set(r.time_s.tolist()) for r in replays]))
        self.playback = Playback(times)
        self.floor = 0
        self.layers = {"trails": False, "density": False,
                       "smoke": any(r.has_smoke for r in replays)}
        self.show_help = False
        # Drawn to files (frames, animations): no playing state or key hint in the panel,
        # but this instead (an animation says how fast it plays).
        self.panel_state: str | None = "" if headless else None
        self.banner: tuple[str, float] | None = None
        self.dragging_bar = False
        self.panning = False
        self.views = [View((0, 0, 10, 10)) for _ in replays]
        self._maps: dict[tuple[int, int], object] = {}
        self.layout(size)
        self.fit()
        self.running = True
        self.clock = pygame.time.Clock()

    # ------------------------------------------------------------------ layout
    def layout(self, size) -> None:
        """Plan panes left of the panel: side by side, or one above the other when the plan is
        wide (whichever shows it larger)."""
        w, h = size
        plan_w = max(200, w - PANEL_W)
        plan_h = max(100, h - BAR_H)
        n = len(self.replays)
        fl = self.replays[0].floors[0]
        aspect = fl["cols"] / max(fl["rows"], 1)
        stacked = n > 1 and min(plan_w / aspect, (plan_h / n - HEADER_H)) > \
            min(plan_w / n / aspect, plan_h - HEADER_H)
        self.headers = []
        for k, view in enumerate(self.views):
            if stacked:
                pane_h = plan_h // n
                self.headers.append((0, k * pane_h, plan_w, HEADER_H))
                view.rect = (0, k * pane_h + HEADER_H, plan_w, pane_h - HEADER_H - 4)
            else:
                pane_w = plan_w // n
                self.headers.append((k * pane_w, 0, pane_w - 4, HEADER_H))
                view.rect = (k * pane_w, HEADER_H, pane_w - (4 if k < n - 1 else 0),
                             plan_h - HEADER_H)
        self.panel_rect = (plan_w, 0, w - plan_w, h - BAR_H)
        self.bar_rect = (0, h - BAR_H, w, BAR_H)

    def pane_floor(self, k: int) -> int:
        """The floor pane ``k`` shows: the chosen one, or its run's top floor if it has fewer
        (two buildings side by side)."""
        return min(self.floor, len(self.replays[k].floors) - 1)

    def fit(self) -> None:
        for k, view in enumerate(self.views):
            fl = self.replays[k].floors[self.pane_floor(k)]
            cell = self.replays[k].meta["building"]["cell_m"]
            view.fit(fl["cols"] * cell, fl["rows"] * cell)

    def map_surface(self, k: int):
        key = (k, self.pane_floor(k))
        if key not in self._maps:
            from .draw import render_floor_map
            self._maps[key] = render_floor_map(self.replays[k], key[1])
        return self._maps[key]

    # ------------------------------------------------------------------ events
    def handle(self, event) -> None:
        pg = self.pg
        pb = self.playback
        if event.type == pg.QUIT:
            self.running = False
        elif event.type == pg.VIDEORESIZE and not self.headless:
            self.screen = pg.display.set_mode(event.size, pg.RESIZABLE)
            self.layout(event.size)
            self.fit()
        elif event.type == pg.KEYDOWN:
            key = event.key
            if key in (pg.K_ESCAPE, pg.K_q):
                if self.show_help and key == pg.K_ESCAPE:
                    self.show_help = False
                else:
                    self.running = False
            elif key == pg.K_SPACE:
                pb.toggle()
            elif key == pg.K_RIGHT:
                pb.step(1)
            elif key == pg.K_LEFT:
                pb.step(-1)
            elif key == pg.K_RIGHTBRACKET:
                pb.faster()
            elif key == pg.K_LEFTBRACKET:
                pb.slower()
            elif key in (pg.K_h, pg.K_F1):
                self.show_help = not self.show_help
            elif key == pg.K_t:
                self.layers["trails"] = not self.layers["trails"]
            elif key == pg.K_d:
                self.layers["density"] = not self.layers["density"]
            elif key == pg.K_s:
                self.layers["smoke"] = not self.layers["smoke"]
                if self.layers["smoke"] and not any(r.has_smoke for r in self.replays):
                    self.banner = ("This record has no smoke (no fire in its scenario).",
                                   time.monotonic() + 4)
            elif key == pg.K_HOME:
                self.fit()
            elif key == pg.K_p:
                path = self.screenshot()
                self.banner = (f"Screenshot saved: {path}", time.monotonic() + 4)
            elif key in (pg.K_PAGEUP, pg.K_PAGEDOWN):
                self.set_floor(self.floor + (1 if key == pg.K_PAGEUP else -1))
            elif pg.K_1 <= key <= pg.K_9:
                self.set_floor(key - pg.K_1)
        elif event.type == pg.MOUSEBUTTONDOWN and event.button == 1:
            if self._on_bar(event.pos):
                self.dragging_bar = True
                self._scrub(event.pos[0])
            elif any(v.contains(*event.pos) for v in self.views):
                self.panning = True
        elif event.type == pg.MOUSEBUTTONUP and event.button == 1:
            self.dragging_bar = self.panning = False
        elif event.type == pg.MOUSEMOTION:
            if self.dragging_bar:
                self._scrub(event.pos[0])
            elif self.panning:
                for v in self.views:
                    v.pan(*event.rel)
        elif event.type == pg.MOUSEWHEEL:
            pos = pg.mouse.get_pos()
            factor = 1.15 ** event.y
            hit = next((v for v in self.views if v.contains(*pos)), self.views[0])
            for v in self.views:  # keep side-by-side views in step
                v.zoom(factor, (pos[0] - hit.rect[0] + v.rect[0], pos[1]))
        elif event.type == pg.DROPFILE:
            self.open_dropped(event.file)

    def _on_bar(self, pos) -> bool:
        left, top, w, h = self.bar_rect
        return top <= pos[1] < top + h

    def _scrub(self, x: float) -> None:
        left, _, w, _ = self.bar_rect
        self.playback.seek_fraction(min(max((x - left - 10) / max(w - 20, 1), 0.0), 1.0))

    def set_floor(self, floor: int) -> None:
        n = max(len(r.floors) for r in self.replays)
        self.floor = min(max(floor, 0), n - 1)

    def open_dropped(self, path: str) -> None:
        try:
            replay = load_replay(path)
        except ReplayError as exc:
            print(f"drillsim replay: {exc}", file=sys.stderr)
            self.banner = (f"Cannot open this file:\n{exc}", time.monotonic() + 8)
            return
        self.__init__([replay], self.screen.get_size(), self.headless)

    # ------------------------------------------------------------------ drawing
    def draw(self) -> None:
        from . import draw as d

        pg = self.pg
        self.screen.fill(d.BACKGROUND)
        t = self.playback.time_s
        frames = [r.frame_at(t) for r in self.replays]
        tags = d.run_tags(self.replays) if d.lettered(self.replays) else [""] * len(frames)
        for k, (rep, view, fr) in enumerate(zip(self.replays, self.views, frames)):
            floor = self.pane_floor(k)
            d.draw_plan(self.screen, self.map_surface(k), rep, floor, view, t)
            if self.layers["smoke"]:
                d.draw_smoke(self.screen, rep, fr, floor, view)
            d.draw_fire(self.screen, rep, rep.time_s[fr], floor, view)
            if self.layers["density"]:
                d.draw_density(self.screen, rep, fr, floor, view)
            if self.layers["trails"]:
                d.draw_trails(self.screen, rep, fr, floor, view)
            d.draw_occupants(self.screen, rep, fr, floor, view)
            d.draw_actors(self.screen, rep, fr, floor, view)
            d.draw_finished(self.screen, self.fonts["bold"], rep, t, view)
            left, head_top, w, _ = self.headers[k]
            pg.draw.rect(self.screen, d.PANEL, pg.Rect(self.headers[k]))
            locked = [e["name"] for e in rep.meta["building"]["exits"] if e["locked_at_start"]]
            head = f"{rep.variant_name}: " + (
                f"{', '.join(locked)} locked" if locked else "all exits open")
            if tags[k]:
                head = f"{tags[k]}  {head}"
            # What this run is: the variant's own description where it has one (the title
            # names the drill's theme, "... the rear exit open or kept locked", not this run).
            about = (rep.meta.get("summary") or {}).get("variant_description") or \
                rep.meta.get("title", "")
            title = display_title(about, self.fonts["has_cjk"])
            d.draw_text(self.screen, self.fonts["bold"],
                        self.fonts["bold"].fit(f"{head}  —  {title}", w - 16),
                        (left + 8, head_top + 3))
        d.draw_panel(self.screen, self.fonts, self.replays, frames, t, self.playback.speed,
                     self.playback.paused, self.floor, self.panel_rect, self.layers,
                     self.panel_state)
        d.draw_timeline(self.screen, self.fonts["small"], self.replays, t,
                        self.playback.duration_s, self.bar_rect)
        if self.show_help:
            d.draw_help(self.screen, self.fonts)
        if self.banner and time.monotonic() < self.banner[1]:
            d.draw_banner(self.screen, self.fonts["small"], self.banner[0])

    def frame_rgb(self):
        """The screen as a (height, width, 3) uint8 array."""
        return self.pg.surfarray.array3d(self.screen).swapaxes(0, 1).copy()

    def close(self) -> None:
        self.pg.quit()

    def screenshot(self, path: str | Path | None = None) -> Path:
        path = Path(path or f"drillsim-screenshot-{time.strftime('%Y%m%d-%H%M%S')}.png")
        self.pg.image.save(self.screen, str(path))
        return path

    # ------------------------------------------------------------------ loops
    def run(self, fps: int = 30) -> None:
        pg = self.pg
        last = time.monotonic()
        while self.running:
            for event in pg.event.get():
                self.handle(event)
            now = time.monotonic()
            self.playback.advance(now - last)
            last = now
            self.draw()
            pg.display.flip()
            self.clock.tick(fps)
        pg.quit()

    def render_frames(self, out_dir: str | Path, every: int = 1) -> list[Path]:
        """Draw every ``every``-th recorded frame to PNG files; no window needed."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        times = self.playback.frame_times
        for n, k in enumerate(range(0, len(times), max(1, every))):
            self.playback.seek(times[k])
            self.draw()
            path = out / f"frame_{n:05d}.png"
            tmp = path.with_name("." + path.name)
            self.pg.image.save(self.screen, str(tmp))
            os.replace(tmp, path)
            written.append(path)
        return written


def floor_index(replays: list[Replay], spec: str) -> int:
    """The floor ``spec`` names: a floor's name, or its number from 1 (the first floor of the
    building file; the keys 1-9 in the window). With two runs, the floors of the one with
    more. Raises :class:`ReplayError` listing the floors."""
    floors = max((r.floors for r in replays), key=len)
    names = [f["name"] for f in floors]
    if spec in names:
        return names.index(spec)
    if spec.isdigit() and 1 <= int(spec) <= len(names):
        return int(spec) - 1
    listed = ", ".join(f"{k + 1} {n}" for k, n in enumerate(names))
    raise ReplayError(f"--floor: got '{spec}', expected a floor's name or number: {listed}")


def has_display() -> bool:
    if os.environ.get("SDL_VIDEODRIVER") == "dummy":
        return False
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def main(paths: list[str], frames_dir: str | None = None, every: int = 1,
         floor: str | None = None) -> int:
    """Entry point of ``drillsim replay``. Returns an exit code. ``floor``: the floor to show
    first (the only one, in frames), by name or number (:func:`floor_index`)."""
    try:
        replays = [load_replay(p) for p in paths]
        first_floor = 0 if floor is None else floor_index(replays, floor)
    except ReplayError as exc:
        print(f"drillsim replay: error: {exc}", file=sys.stderr)
        return 2
    if frames_dir is None and not has_display():
        print("drillsim replay: no display found; render frames instead with "
              "--frames DIR (or run under a desktop or Xvfb)", file=sys.stderr)
        return 2
    if frames_dir is not None:
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    app = TrainerApp(replays, headless=frames_dir is not None)
    app.set_floor(first_floor)
    if frames_dir is not None:
        written = app.render_frames(frames_dir, every)
        print(f"{len(written)} frames written to {frames_dir}")
        app.pg.quit()
        return 0
    app.run()
    return 0
