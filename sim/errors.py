"""Error classes. One root, and each subclass also inherits the matching builtin."""

from __future__ import annotations


class DrillsimError(Exception):
    """Root of every error drillsim raises on purpose."""


class InputError(DrillsimError, ValueError):
    """A user file (building, scenario, run record) is wrong.

    ``problems`` lists every problem found, each a complete sentence that says where (file,
    floor, map line and column, or key path), what was found and what was expected.
    """

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{source}: {count} problem{'s' if count != 1 else ''}"
        super().__init__(head + "\n" + "\n".join(f"  - {p}" for p in self.problems))


class BuildingError(InputError):
    """A building file is invalid."""


class ScenarioError(InputError):
    """A scenario file is invalid."""


class RecordError(InputError):
    """A run record cannot be read (missing, corrupt, or an unsupported version)."""
