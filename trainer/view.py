"""The one transform between world metres and screen pixels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class View:
    """Maps world (x right, y up, metres) into a screen rectangle (x right, y down, pixels).

    ``scale`` is pixels per metre; ``centre`` the world point at the middle of ``rect``
    (left, top, width, height in pixels).
    """

    rect: tuple[int, int, int, int]
    scale: float = 10.0
    centre: tuple[float, float] = (0.0, 0.0)

    def fit(self, width_m: float, height_m: float, margin_px: int = 12) -> None:
        """Zoom and centre so a ``width_m`` x ``height_m`` plan fills the rectangle."""
        _, _, w, h = self.rect
        self.scale = max(0.1, min((w - 2 * margin_px) / max(width_m, 1e-6),
                                  (h - 2 * margin_px) / max(height_m, 1e-6)))
        self.centre = (width_m / 2.0, height_m / 2.0)

    def to_screen(self, x, y):
        """World metres to pixel coordinates (arrays or scalars)."""
        left, top, w, h = self.rect
        sx = left + w / 2.0 + (np.asarray(x) - self.centre[0]) * self.scale
        sy = top + h / 2.0 - (np.asarray(y) - self.centre[1]) * self.scale
        return sx, sy

    def to_world(self, sx, sy):
        left, top, w, h = self.rect
        x = self.centre[0] + (np.asarray(sx) - left - w / 2.0) / self.scale
        y = self.centre[1] - (np.asarray(sy) - top - h / 2.0) / self.scale
        return x, y

    def cell_to_world(self, row, col, rows: int, cell_m: float):
        """A floor map's (row, col) to the world centre of that cell."""
        return (np.asarray(col) + 0.5) * cell_m, (rows - np.asarray(row) - 0.5) * cell_m

    def zoom(self, factor: float, about_px: tuple[float, float] | None = None) -> None:
        """Zoom by ``factor`` keeping the world point under ``about_px`` fixed."""
        if about_px is None:
            left, top, w, h = self.rect
            about_px = (left + w / 2.0, top + h / 2.0)
        wx, wy = self.to_world(*about_px)
        self.scale = float(min(max(self.scale * factor, 0.5), 400.0))
        nx, ny = self.to_world(*about_px)
        self.centre = (self.centre[0] + float(wx - nx), self.centre[1] + float(wy - ny))

    def pan(self, dx_px: float, dy_px: float) -> None:
        self.centre = (self.centre[0] - dx_px / self.scale, self.centre[1] + dy_px / self.scale)

    def contains(self, sx: float, sy: float) -> bool:
        left, top, w, h = self.rect
        return left <= sx < left + w and top <= sy < top + h
