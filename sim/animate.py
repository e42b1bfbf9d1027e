"""Animations of run records (GIF, or MP4 with imageio-ffmpeg), drawn by the trainer's
headless renderer: one run, or two side by side in sync."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import DrillsimError
from .record import write_atomic_bytes

MAX_FRAMES = 300


def animate(runs: list[str], out: str | Path, fps: int = 10, every: int | None = None,
            size: tuple[int, int] = (1280, 720)) -> Path:
    """Render ``runs`` (one or two records) to ``out`` (.gif or .mp4). Returns the path."""
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
    from trainer.app import TrainerApp
    from trainer.records import ReplayError, load_replay

    try:
        replays = [load_replay(r) for r in runs]
    except ReplayError as exc:
        raise DrillsimError(str(exc)) from None
    app = TrainerApp(replays, size=size, headless=True)
    times = app.playback.frame_times
    step = every or max(1, -(-len(times) // MAX_FRAMES))
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
        from PIL import Image

        images = [Image.fromarray(f).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
                  for f in frames]

        def write(handle):
            images[0].save(handle, format="GIF", save_all=True, append_images=images[1:],
                           duration=round(1000 / fps), loop=0, optimize=False)

        write_atomic_bytes(out, write)
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
