"""drillsim: building evacuation and combined fire-drill simulation.

Layers: building and scenario files are loaded and validated (:mod:`sim.building`,
:mod:`sim.scenario`), simulated by :class:`sim.engine.Engine` over Numba kernels
(:mod:`sim.kernels`; :class:`sim.model.EvacuationModel` is the same engine as a ``mesa.Model``),
and written as run records (:mod:`sim.record`).
"""

__version__ = "0.1.0"
