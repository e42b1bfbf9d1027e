"""What a variant changes against the scenario as written (its ``base``), in words.

``drillsim check`` prints it under each variant, so that whoever reviews a drill file sees
what each variant does to the script without diffing TOML by eye: a variant may replace whole
lists (``occupants``, ``timeline``…) or edit single rows (``drop_timeline``,
``set_actors``…), and both come out here as the rows added, dropped and changed. The
comparison is of the loaded scenarios, so it says what the simulation will run, whichever
way the file says it.
"""

from __future__ import annotations

import math
from dataclasses import fields, is_dataclass
from functools import singledispatch

from .drill import Trigger
from .profiles import Distribution
from .scenario import Scenario

# Fields whose key in the file is another word (a fire's ``origin_m``, a road's ``from``).
_KEY = {"origin": "origin_m", "a": "from", "b": "to"}
# Scenario fields that name or describe the scenario rather than what runs.
_DESCRIPTIVE = {"path", "name", "title", "description", "variant", "variants", "teaches",
                "sources", "variant_description"}


@singledispatch
def _value(v) -> str:
    """A value as a user would write it, shortly (by its type: registered below)."""
    if is_dataclass(v):  # (a row nested in another: its fields)
        return ", ".join(f"{f.name} {_value(getattr(v, f.name))}" for f in fields(v))
    return "none" if v is None else str(v)


@_value.register
def _(v: str) -> str:
    return v or "none"


@_value.register
def _(v: bool) -> str:
    return "yes" if v else "no"


@_value.register
def _(v: float) -> str:
    return "inf" if math.isinf(v) else f"{v:g}"


@_value.register
def _(v: Trigger) -> str:
    return v.describe()


@_value.register
def _(d: Distribution) -> str:
    bounds = ""
    if d.kind in ("normal", "lognormal") and (d.low > 0.0 or not math.isinf(d.high)):
        bounds = f" in [{d.low:g}, {d.high:g}]"
    return {"fixed": lambda: f"{d.value:g}",
            "uniform": lambda: f"uniform {d.low:g}-{d.high:g}",
            "normal": lambda: f"normal mean {d.mean:g} sd {d.sd:g}{bounds}",
            "lognormal": lambda: f"lognormal mu {d.mu:g} sigma {d.sigma:g}{bounds}",
            }.get(d.kind, lambda: d.kind)()


@_value.register
def _(v: tuple) -> str:
    """Names (``keys``), (key, value) pairs (an action's options) or a point (x, y)."""
    if not v:
        return "none"
    if all(isinstance(x, tuple) and len(x) == 2 for x in v):
        return ", ".join(f"{k} = {_value(x)}" for k, x in v)
    if all(type(x) in (int, float) for x in v):
        return "(" + ", ".join(_value(x) for x in v) + ")"
    return ", ".join(_value(x) for x in v)


def _fields_changed(a, b) -> list[str]:
    """``field old -> new`` for each field of two dataclass values of one type that differs."""
    return [f"{_KEY.get(f.name, f.name)} {_value(getattr(a, f.name))} -> "
            f"{_value(getattr(b, f.name))}"
            for f in fields(a) if getattr(a, f.name) != getattr(b, f.name)]


def _row(r, key: str = "") -> str:
    """A row's fields that are given (not empty), but for the one that is its ``key``."""
    return ", ".join(f"{_KEY.get(f.name, f.name)} {_value(getattr(r, f.name))}" for f in fields(r)
                     if getattr(r, f.name) not in (None, "", ()) and
                     _value(getattr(r, f.name)) != key)


def _action(a) -> str:
    """An action as the drill's timeline reads: what, by whom, when, for how long."""
    text = f"{a.action} {a.target}" + (f" by {a.by}" if a.by else "") + \
        f", {a.trigger.describe()}"
    if a.duration_s > 0.0:
        text += f", taking {a.duration_s:g} s"
    if a.planned_s is not None:
        text += f", planned {a.planned_s:g} s"
    if a.options:
        text += f", {_value(a.options)}"
    return text


def _rows(kind: str, base: tuple, new: tuple, key, describe=None) -> list[str]:
    """Rows added, dropped and changed between two lists of rows, matched by ``key``, and
    added ones described by ``describe`` (default: their given fields). Rows with the same
    key more than once are matched in order (``x``, ``x #2``)."""
    def keyed(rows):
        out, seen = {}, {}
        for r in rows:
            k = key(r)
            seen[k] = seen.get(k, 0) + 1
            out[k if seen[k] == 1 else f"{k} #{seen[k]}"] = r
        return out

    a, b = keyed(base), keyed(new)
    dropped = [f"'{k}'" for k in a if k not in b]
    lines = [f"drops {kind}{'s' if len(dropped) > 1 else ''} {', '.join(dropped)}"] \
        if dropped else []
    for k, r in b.items():
        if k not in a:
            said = describe(r) if describe else _row(r, k)
            lines.append(f"adds {kind} '{k}'" + (f" ({said})" if said else ""))
        elif a[k] != r:
            lines.append(f"{kind} '{k}': {'; '.join(_fields_changed(a[k], r))}")
    return lines


def _names(kind: str, base: tuple, new: tuple) -> list[str]:
    """Names added to and taken from a list of names (``locked``, ``blocked_roads``)."""
    added = [n for n in new if n not in base]
    taken = [n for n in base if n not in new]
    return ([f"{kind} {', '.join(added)}"] if added else []) + \
        ([f"no longer {kind} {', '.join(taken)}"] if taken else [])


def variant_changes(base: Scenario, other: Scenario) -> list[str]:
    """What ``other`` (a variant) changes against ``base`` (the same file's ``base``
    variant), a line per change; empty if it runs the same scenario."""
    lines: list[str] = []
    if other.building.name != base.building.name:
        lines.append(f"building {base.building.name} -> {other.building.name}")
    for f in fields(Scenario):
        name = f.name
        if name in _DESCRIPTIVE or name in ("building", "params", "groups", "locked",
                                            "clutter", "changes", "drill", "hazard"):
            continue
        if getattr(base, name) != getattr(other, name):
            lines.append(f"{name} {_value(getattr(base, name))} -> "
                         f"{_value(getattr(other, name))}")
    if base.params != other.params:
        lines.append(f"model: {'; '.join(_fields_changed(base.params, other.params))}")
    lines += _names("locks", base.locked, other.locked)
    lines += _rows("clutter", base.clutter, other.clutter, lambda c: c.region,
                   lambda c: f"speed factor {c.speed_factor:g}")
    lines += _rows("timed change", base.changes, other.changes,
                   lambda c: f"{c.action} {c.target} at {c.time_s:g} s",
                   lambda c: f"speed factor {c.speed_factor:g}" if c.action == "add_clutter"
                   else "")
    lines += _rows("occupant group", base.groups, other.groups,
                   lambda g: f"{g.profile} in {g.region}")
    bd, od = base.drill, other.drill
    lines += _rows("actor", bd.actors, od.actors, lambda a: a.name)
    lines += _rows("action", bd.actions, od.actions, lambda a: a.id, _action)
    lines += _rows("road", bd.roads, od.roads, lambda r: r.name)
    lines += _names("blocks road", bd.blocked_roads, od.blocked_roads)
    lines += _rows("KPI", bd.kpis, od.kpis, lambda k: k.name)
    if bd.scripted_alarm != od.scripted_alarm:
        lines.append("the timeline raises the alarm" if od.scripted_alarm
                     else "the alarm is no longer raised by the timeline")
    bh, oh = base.hazard, other.hazard
    if bh is None and oh is not None:
        lines.append("adds the hazard: fires " + (_value(tuple(x.name for x in oh.fires))))
    elif bh is not None and oh is None:
        lines.append("drops the hazard (no fire)")
    elif bh is not None and oh is not None:
        if bh.params != oh.params:
            lines.append(f"hazard: {'; '.join(_fields_changed(bh.params, oh.params))}")
        lines += _rows("fire", bh.fires, oh.fires, lambda x: x.name)
        lines += _rows("detector", bh.detectors, oh.detectors, lambda x: x.name)
        lines += _rows("atmosphere", bh.atmospheres, oh.atmospheres, lambda x: x.region)
    return lines
