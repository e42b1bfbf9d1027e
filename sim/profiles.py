"""Occupant profiles: walking speed, pre-movement time and what each kind of occupant knows.

Speeds are free walking speeds on the flat in m/s, drawn per occupant. Sources (see
``reference/verification.md``; tags as there: [C] confirmed, [M] literature, unconfirmed):

* adult, staff, visitor: Weidmann (1993) free speed N(1.34, 0.26) m/s [§4.1, C for 1.34; sd M],
  truncated to the RiMEA table's overall band 0.46–1.61 m/s widened to 0.6–2.0 m/s for adults.
* elderly: the RiMEA table's "over 50" band 0.68–1.41 m/s, drawn as JuPedSim did,
  N(1.045, 0.13) [§1.1, C].
* child: no figure in the references; the RiMEA "under 30" band 0.58–1.61 m/s, drawn as
  JuPedSim did, N(1.095, 0.2) [§1.1, C] — an assumption, stated as such.
* mobility_impaired: RiMEA band 0.46–0.76 m/s, N(0.61, 0.05) as JuPedSim [§1.1, C].
* wheelchair: Boyce, Shields & Silcock (1999) manual wheelchair 0.69 m/s, electric 0.89 m/s
  [§4.10, M]: N(0.69, 0.1) truncated to 0.45–0.95 m/s.
* bedridden: cannot leave unassisted (speed 0). A drill's ``assist`` action sends staff who
  fetch them; the pair then moves at the assisted speed of that action (default 0.5 m/s, an
  assumption: the references give no carry or evacuation-chair speeds, §4.10 "open"; the
  slowest walking-aid speed there is 0.57 m/s with a rollator, Boyce et al. 1999).

Pre-movement defaults to zero (immediate reaction); scenarios set it per group, because it
depends on the occupancy, the alarm and the management (PD 7974-6, §4.8), not on the person.

Knowledge: regular occupants (adult, elderly, child, impaired, wheelchair) know every exit of
their building; staff know every exit and which are locked; visitors know only the entrance
they came in by, and learn other exits as they come within sight of them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Distribution:
    """A distribution of a non-negative quantity (speed in m/s, or time in s).

    ``kind``: fixed (``value``), uniform (``low``, ``high``), normal (``mean``, ``sd``) or
    lognormal (``mu``, ``sigma`` of the natural log). ``low``/``high`` truncate normal and
    lognormal draws (redrawn, not clipped).
    """

    kind: str
    value: float = 0.0
    low: float = 0.0
    high: float = float("inf")
    mean: float = 0.0
    sd: float = 0.0
    mu: float = 0.0
    sigma: float = 0.0

    def sample(self, rng, n: int):
        import numpy as np

        if n == 0:
            return np.zeros(0)
        if self.kind == "fixed":
            return np.full(n, self.value)
        if self.kind == "uniform":
            return rng.uniform(self.low, self.high, n)
        draw = (lambda k: rng.normal(self.mean, self.sd, k)) if self.kind == "normal" else \
            (lambda k: rng.lognormal(self.mu, self.sigma, k))
        out = draw(n)
        for _ in range(100):
            bad = (out < self.low) | (out > self.high)
            if not bad.any():
                break
            out[bad] = draw(int(bad.sum()))
        return np.clip(out, self.low, self.high)

    @property
    def lower(self) -> float:
        """The smallest value a draw can take."""
        return self.value if self.kind == "fixed" else self.low

    @property
    def upper(self) -> float:
        """The largest value a draw can take."""
        if self.kind == "fixed":
            return self.value
        return self.high


@dataclass(frozen=True)
class Profile:
    name: str
    speed_ms: Distribution
    premove_s: Distribution
    knows: str  # "all" or "entrance"
    knows_locked: bool
    needs_assist: bool = False  # cannot leave without a helper (bedridden)


PROFILES = {
    "adult": Profile("adult", Distribution("normal", mean=1.34, sd=0.26, low=0.6, high=2.0),
                     Distribution("fixed", 0.0), "all", False),
    "staff": Profile("staff", Distribution("normal", mean=1.34, sd=0.26, low=0.6, high=2.0),
                     Distribution("fixed", 0.0), "all", True),
    "visitor": Profile("visitor", Distribution("normal", mean=1.34, sd=0.26, low=0.6, high=2.0),
                       Distribution("fixed", 0.0), "entrance", False),
    "elderly": Profile("elderly", Distribution("normal", mean=1.045, sd=0.13, low=0.68,
                                               high=1.41),
                       Distribution("fixed", 0.0), "all", False),
    "child": Profile("child", Distribution("normal", mean=1.095, sd=0.2, low=0.58, high=1.61),
                     Distribution("fixed", 0.0), "all", False),
    "mobility_impaired": Profile("mobility_impaired",
                                 Distribution("normal", mean=0.61, sd=0.05, low=0.46, high=0.76),
                                 Distribution("fixed", 0.0), "all", False),
    "wheelchair": Profile("wheelchair",
                          Distribution("normal", mean=0.69, sd=0.1, low=0.45, high=0.95),
                          Distribution("fixed", 0.0), "all", False),
    "bedridden": Profile("bedridden", Distribution("fixed", 0.0), Distribution("fixed", 0.0),
                         "all", False, needs_assist=True),
}
