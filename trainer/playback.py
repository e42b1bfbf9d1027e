"""Playback state: time, speed, pause. Plain Python, no pygame."""

from __future__ import annotations

from dataclasses import dataclass

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


@dataclass
class Playback:
    """Where a replay is: ``time_s`` within ``[0, duration_s]``, at ``speed`` times real time.

    ``frame_times`` are the recorded frame times (seconds, ascending); stepping moves between
    them. Reaching the end pauses.
    """

    frame_times: list[float]
    time_s: float = 0.0
    speed: float = 1.0
    paused: bool = False

    @property
    def duration_s(self) -> float:
        return self.frame_times[-1] if self.frame_times else 0.0

    @property
    def frame(self) -> int:
        """Index of the last frame at or before the current time."""
        lo, hi = 0, len(self.frame_times) - 1
        if hi < 0:
            return 0
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.frame_times[mid] <= self.time_s + 1e-9:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def advance(self, wall_dt_s: float) -> None:
        """Move on by ``wall_dt_s`` seconds of real time (nothing while paused)."""
        if self.paused or wall_dt_s <= 0:
            return
        self.seek(self.time_s + wall_dt_s * self.speed)
        if self.time_s >= self.duration_s:
            self.paused = True

    def seek(self, time_s: float) -> None:
        self.time_s = min(max(float(time_s), 0.0), self.duration_s)

    def seek_fraction(self, fraction: float) -> None:
        self.seek(fraction * self.duration_s)

    def step(self, frames: int) -> None:
        """Pause and move by a number of recorded frames (negative: back)."""
        self.paused = True
        k = min(max(self.frame + frames, 0), len(self.frame_times) - 1)
        self.time_s = self.frame_times[k]

    def toggle(self) -> None:
        if self.paused and self.time_s >= self.duration_s:
            self.time_s = 0.0  # play again from the start
        self.paused = not self.paused

    def faster(self) -> None:
        self.speed = next((s for s in SPEEDS if s > self.speed), SPEEDS[-1])

    def slower(self) -> None:
        self.speed = next((s for s in reversed(SPEEDS) if s < self.speed), SPEEDS[0])
