"""``EvacuationModel``: the simulation engine as a ``mesa.Model``.

:class:`~sim.engine.Engine` does the work; this adds what Mesa tools expect: Mesa's seeding and
step counter, occupant handles (:class:`Occupant`, ``mesa.Agent``) whose properties read the
engine's arrays (for inspection, tests and Mesa tools, never the time step), and a
DataCollector with the model-level series (time, inside, evacuated, casualties, per exit) of
every step, so ``mesa.batch_run`` works on it. A run is the same bit for bit as the engine's
(tested).
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from .engine import Engine, Frame
from .record import STATE_NAMES
from .scenario import Scenario

__all__ = ["EvacuationModel", "Frame", "Occupant", "StepSeries"]


class Occupant(mesa.Agent):
    """A thin handle on occupant ``index`` of the model's arrays."""

    def __init__(self, model: "EvacuationModel", index: int):
        super().__init__(model)
        self.index = index

    @property
    def cell(self) -> int:
        return int(self.model.agents_state["cell"][self.index])

    @property
    def state(self) -> str:
        return STATE_NAMES[self.model.agents_state["state"][self.index]]

    @property
    def position(self) -> tuple[int, float, float] | None:
        """(floor index, x_m, y_m), or None once out of the building."""
        c = self.cell
        if c < 0:
            return None
        f, x, y = self.model.building.cell_position(np.array([c]))
        return int(f[0]), float(x[0]), float(y[0])

    @property
    def speed_ms(self) -> float:
        return float(self.model.agents_state["speed_ms"][self.index])

    @property
    def profile(self) -> str:
        return self.model.profile_names[self.model.profile_of[self.index]]

    @property
    def target_exit(self) -> str | None:
        t = int(self.model.agents_state["target"][self.index])
        return self.model.building.exits[t].name if t >= 0 else None

    @property
    def exit_used(self) -> str | None:
        e = int(self.model.agents_state["exit_used"][self.index])
        return self.model.building.exits[e].name if e >= 0 else None

    @property
    def out_time_s(self) -> float | None:
        t = float(self.model.agents_state["out_time_s"][self.index])
        return t if math.isfinite(t) else None


# Model-level DataCollector reporters: vectorised, plain functions (picklable).
def report_time(model) -> float:
    return model.time_s


def report_inside(model) -> int:
    return model.step_census()[0]


def report_evacuated(model) -> int:
    return model.step_census()[1]


def report_casualties(model) -> int:
    """Occupants the smoke or the fire overcame (neither inside nor out: with ``inside`` and
    ``evacuated`` they make up every occupant)."""
    inside, evacuated = model.step_census()
    return model.n_occupants - inside - evacuated


def report_evacuation_time(model) -> float | None:
    """When the last occupant got out, once everyone has; None until then (and to the end if
    someone could not leave): the summary's ``evacuation_time_s``, so that ``mesa.batch_run``
    gives it for each run. (A drill's run goes on after everyone is out, until its actions
    are done: its last ``time_s`` is the drill's end, not the evacuation's.)"""
    if model.evacuation_time_s is None and model.n_occupants and \
            model.step_census()[1] == model.n_occupants:
        model.evacuation_time_s = float(model.agents_state["out_time_s"][:model.n_occupants]
                                        .max())
    return model.evacuation_time_s


def report_exit_counts(model) -> tuple[int, ...]:
    """People out by each exit, in the building's exit order (a tuple: immutable, so it can be
    kept as it is; from the movement step's count, not a pass over every occupant)."""
    return model.step_exit_counts()


class StepSeries(mesa.DataCollector):
    """Mesa's DataCollector for model-level reporters that return immutable values (numbers,
    tuples of numbers), as ours do: :meth:`collect` keeps each value as returned instead of
    deep-copying it: 2 µs per step instead of 13 (measured with the 1,000-occupant step
    benchmark's model, whose whole step takes about 250 µs). Everything else (``model_vars``,
    ``get_model_vars_dataframe``, ``batch_run``) is Mesa's."""

    def collect(self, model):
        if self.agent_reporters or self.agenttype_reporters:
            return super().collect(model)
        for var, reporter in self.model_reporters.items():
            self.model_vars[var].append(reporter(model))


class EvacuationModel(Engine, mesa.Model):
    """Floor-field evacuation of one scenario variant with one seed, as a ``mesa.Model``
    (see :class:`~sim.engine.Engine` for the arrays and the step)."""

    def __init__(self, scenario: Scenario, seed: int | None = None, *,
                 record_every_s: float | None = None, make_handles: bool = True):
        seed = scenario.seed if seed is None else int(seed)
        if seed < 0:  # (checked before Mesa seeds its generators, as the engine checks it)
            raise ValueError(f"the seed must be a whole number >= 0, got {seed}")
        mesa.Model.__init__(self, seed=seed)
        Engine.__init__(self, scenario, seed, record_every_s=record_every_s)
        self.handles = [Occupant(self, i) for i in range(self.n_occupants)] \
            if make_handles else []
        self.evacuation_time_s: float | None = None  # (see report_evacuation_time)
        self.datacollector = StepSeries(model_reporters={
            "time_s": report_time, "inside": report_inside, "evacuated": report_evacuated,
            "casualties": report_casualties, "exits": report_exit_counts,
            "evacuation_time_s": report_evacuation_time})

    def _seed_random(self, seed: int) -> None:
        pass  # mesa.Model.__init__ has seeded ``random`` and ``rng`` from the same seed

    def step(self) -> None:
        Engine.step(self)
        self.datacollector.collect(self)
