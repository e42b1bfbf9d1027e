"""Animations of run records (GIF, or MP4 with imageio-ffmpeg), drawn by the trainer's
headless renderer: one run, or two side by side in sync."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import DrillsimError
from .record import write_atomic_bytes

MAX_FRAMES = 300
TAIL_S = 10.0  # how long an animation goes on after everyone is out (unless ``whole``)


def write_gif(out: Path, frames: list[np.ndarray], fixed: list[tuple[int, int, int]],
              fps: int) -> None:
    """Write the RGB ``frames`` to the GIF ``out`` atomically, on one palette
    (:func:`gif_frames`)."""
    images = gif_frames(frames, fixed)

    def write(handle):
        # (optimize: with the one palette, each frame after the first is stored as what
        # changed, decoding to the same pixels: a fourth of the size.)
        images[0].save(handle, format="GIF", save_all=True, append_images=images[1:],
                       duration=round(1000 / fps), loop=0, optimize=True)

    write_atomic_bytes(out, write)


def gif_frames(frames: list[np.ndarray], fixed: list[tuple[int, int, int]]):
    """The RGB ``frames`` as palette images for a GIF, all on one palette of 256 colours:
    the ``fixed`` colours exactly, then those a median cut finds in a sample of the frames
    (smoke, text edges). With a palette made for each frame from its pixels alone, small
    areas of one colour (the legend's swatches, a few occupants) were merged into their
    neighbours: staff drawn in the colour of moving occupants, clutter in the actors'."""
    from PIL import Image

    fixed = fixed[:255]
    sample = np.concatenate(frames[::max(1, len(frames) // 8)], axis=0)
    rest = Image.fromarray(sample).quantize(colors=256 - len(fixed),
                                            method=Image.Quantize.MEDIANCUT)
    colours = [v for c in fixed for v in c] + rest.getpalette()[:3 * (256 - len(fixed))]
    colours += [0] * (768 - len(colours))
    palette = Image.new("P", (1, 1))
    palette.putpalette(colours)
    # PIL maps to the nearest colour at reduced precision, which may pick a near neighbour
    # for a fixed colour: pixels of a fixed colour are set to its entry here.
    key = np.array([r << 16 | g << 8 | b for r, g, b in fixed], dtype=np.int64)
    by_key = np.argsort(key)
    out = []
    for f in frames:
        idx = np.array(Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE))
        px = (f[..., 0].astype(np.int64) << 16) | (f[..., 1].astype(np.int64) << 8) | f[..., 2]
        pos = np.minimum(np.searchsorted(key[by_key], px), max(len(key) - 1, 0))
        if key.size:
            exact = key[by_key][pos] == px
            idx[exact] = by_key[pos[exact]]
        img = Image.fromarray(idx.astype(np.uint8), mode="P")
        img.putpalette(colours)
        out.append(img)
    return out


def _clock(t: float) -> str:
    return f"{int(t) // 60}:{int(t) % 60:02d}"


def speed_words(times, step: int, fps: int) -> str:
    """How fast an animation of every ``step``-th of the recorded frames at ``times``, at
    ``fps`` frames a second, plays: "20x real time" (the recorded frames' median interval)."""
    gaps = np.diff(np.asarray(times, dtype=float))
    if gaps.size == 0:
        return "one frame"
    factor = float(np.median(gaps)) * step * fps
    return f"{factor:.0f}x real time" if factor >= 100 else f"{factor:.3g}x real time"


def end_of_animation(all_out_s: list[float], duration_s: float, whole: bool) -> float:
    """Where an animation of runs whose last occupants were out at ``all_out_s`` (on foot or
    carried out by responders; the run's end where not everyone got out) and whose records last
    ``duration_s`` ends: ``TAIL_S`` after the later of them, or with ``whole``, at the end. A
    drill goes on after everyone is out until its actions are done (the restaurant's brigade
    arrives at 4 min 40 s, everyone is out by 1 min 27 s): an animation to send on would
    otherwise show an empty building for most of its length, and spend most of its frames on
    it."""
    if whole or not all_out_s:
        return duration_s
    return min(duration_s, max(all_out_s) + TAIL_S)


def animate(runs: list[str], out: str | Path, fps: int = 10, every: int | None = None,
            size: tuple[int, int] = (1280, 720), floor: str | None = None,
            whole: bool = False, say=None) -> Path:
    """Render ``runs`` (one or two records) to ``out`` (.gif or .mp4). Returns the path.
    ``floor``: the floor to show, by name or number from 1 (default: the first). The animation
    ends ``TAIL_S`` after everyone is out in both runs (those overcome too, where responders
    carry them out: ``Replay.people_out_s``), or with ``whole`` at the records' end
    (:func:`end_of_animation`); ``say`` (e.g. ``print``), if given, is told where it ended."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise DrillsimError(f"--out: got '{out.name}', expected a file ending in .gif or .mp4")
    if suffix == ".mp4":
        try:
            import imageio_ffmpeg
        except ImportError:
            raise DrillsimError("writing MP4 needs imageio-ffmpeg: pip install "
                                "'drillsim[video]', or write a .gif") from None
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    from trainer.app import TrainerApp, floor_index
    from trainer.records import ReplayError, load_replay

    try:
        replays = [load_replay(r) for r in runs]
        shown = 0 if floor is None else floor_index(replays, floor)
    except ReplayError as exc:
        raise DrillsimError(str(exc)) from None
    app = TrainerApp(replays, size=size, headless=True)
    app.set_floor(shown)
    times = app.playback.frame_times
    end_s = end_of_animation([r.people_out_s for r in replays], app.playback.duration_s,
                             whole)
    last = min(len(times) - 1, int(np.searchsorted(times, end_s - 1e-9)))
    if say is not None and last < len(times) - 1:
        how = "got out" if all(r.people_out_s == r.all_out_s for r in replays) else \
            "got out or was carried out"
        say(f"the animation ends {TAIL_S:g} s after the last person {how}, at "
            f"{_clock(times[last])} of {_clock(times[-1])} (--whole: to the end)")
    times = times[:last + 1]
    step = every or max(1, -(-len(times) // MAX_FRAMES))
    app.panel_state = f"animation: {speed_words(times, step, fps)}"
    frames = []
    for k in range(0, len(times), step):
        app.playback.seek(times[k])
        app.draw()
        frames.append(app.frame_rgb())
    app.playback.seek(times[-1])
    app.draw()
    frames.append(app.frame_rgb())
    app.close()
    if suffix == ".gif":
        from trainer.draw import drawing_colours

        write_gif(out, frames, drawing_colours(), fps)
    else:
        tmp = out.with_name(f".{out.name}.tmp.mp4")
        writer = imageio_ffmpeg.write_frames(str(tmp), size, fps=fps, macro_block_size=8,
                                             quality=7, ffmpeg_log_level="error")
        writer.send(None)
        for f in frames:
            writer.send(np.ascontiguousarray(f))
        writer.close()
        os.replace(tmp, out)
    return out
