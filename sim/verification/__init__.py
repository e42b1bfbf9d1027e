"""The verification suite: published tests (RiMEA 3.0, IMO MSC.1/Circ.1238, NIST TN 1822) and
empirical data, run on drillsim's own scenario files in ``scenarios/verification/``.

Each case returns an :class:`Outcome`: the criterion, the measured figure and a status —
``pass``, ``fail``, ``documented`` (the test has no pass criterion: the figure is recorded and
the qualitative statement checked) or ``not available`` (needs a part of the model that does
not exist yet). A failing case is reported as failing, never loosened. Test modules in
``tests/verification/`` assert the same cases; ``drillsim verify`` writes the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Outcome:
    id: str
    title: str
    source: str
    criterion: str
    measured: str
    status: str  # pass | fail | documented | not available
    notes: str = ""
    figure: str | None = None
    data: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in ("pass", "documented")
