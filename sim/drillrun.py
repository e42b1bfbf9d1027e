"""Playing a drill script inside a running model: triggers, actors, the responders' approach.

Actors are agents of the model: each member of an actor (a person, or one of a team) is a row
of the model's agent arrays after the occupants, so they walk the same grid through the same
crowd with the same kernels. They differ from occupants in what steers them: an actor follows
a *goal field* (distance to the place it was sent to) instead of choosing an exit, and stands
still when it has nothing to do. All of that is Python per actor and per action — a handful per
drill — never per occupant; occupants are touched only through vectorised array operations.

Semantics (docs/drills.md):

* An action fires when its trigger holds (``at_s``; ``after`` another action is *done*; or a
  ``when`` condition) plus its ``delay_s``. Without ``by`` it takes effect at once (remote
  unlock, a PA announcement); ``clear_lane`` then takes its ``duration_s``.
* With ``by``, the actor carries it out: single-target actions go to the nearest free member
  of the team, who walks to the target, works ``duration_s`` and then the effect happens; work
  actions (``sweep``, ``assist``) are shared by every member. A busy member queues the task.
* Off-site actors do nothing until called; a ``call`` sends them along the road network
  (turnout, then the quickest route; a blocked fire lane is either closed, forcing a detour,
  or costs its clearing time unless a ``clear_lane`` action clears it first). On arrival they
  are *on scene* and enter the building by their access exit, against the flow.
* ``assist``: a member goes to the nearest person in the area who cannot leave alone, spends
  ``duration_s`` on the transfer, and brings them out through the nearest open exit at the
  action's ``speed_ms``; then comes back in for the next, until nobody there needs help.
  Members of a rescue role (``RESCUE_ROLES``: the fire brigade, with breathing apparatus) also
  carry out anyone there who has been overcome (a casualty stays a casualty, outside).
* Smoke slows everyone's walking (sim.hazard) except a rescue role's members: crews with
  breathing apparatus, trained to move in smoke, keep their pace (an assumption: the
  references give no firefighter's pace in smoke). Without it, a crew climbing a smoke-logged
  stair at the smoke's slowest pace gave up on the people overcome on it.
* ``sweep``: a member visits every room of the region (nearest first); waiting occupants in a
  visited room start to leave at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .building import DOOR
from .drill import Action, Drill, RESCUE_ROLES
from .errors import ScenarioError
from .goals import Goals
from .kernels.movement import CASUALTY, EVACUATED, MOVING, WAITING
from .roads import RoadNetwork, Trip

INF = float("inf")
GIVE_UP_S = 300.0  # a member who has not reached a room or person in this long gives it up
HELD_NOTE = "it stays locked; this study takes the exit away"


@dataclass
class Task:
    action: Action
    rooms: list = field(default_factory=list)  # sweep: rooms (cell arrays) still to visit


@dataclass
class Member:
    row: int
    actor: str
    index: int  # within the team
    speed_ms: float
    state: str = "idle"  # idle, offsite, travelling, entering, walking, working, carrying
    queue: list = field(default_factory=list)
    task: Task | None = None
    goal: str | None = None
    goal_place: str | None = None
    work_until: float = 0.0
    carrying: int = -1
    carrying_casualty: bool = False
    fetching: int = -1
    entry_exit: int = -1
    worked: bool = False  # has had a task (see DrillRuntime._may_leave for those who have not)
    walk_start_s: float = 0.0
    pace_ms: float = 0.0  # walking speed now, before any slowing by smoke (carrying: slower)


@dataclass
class ActionState:
    triggered_s: float | None = None
    due_s: float | None = None
    started_s: float | None = None
    done_s: float | None = None
    who: str | None = None
    note: str = ""
    failed: bool = False


class DrillRuntime:
    """The drill's state inside one model; the model calls :meth:`before_step` and
    :meth:`after_step` once per time step."""

    def __init__(self, model, drill: Drill, first_row: int, access_nodes: dict[str, str]):
        self.m = model
        self.d = drill
        self.members: list[Member] = []
        self.team: dict[str, list[Member]] = {}
        row = first_row
        for a in drill.actors:
            team = []
            for k in range(a.count):
                mem = Member(row, a.name, k, a.speed_ms, "offsite" if a.offsite else "idle")
                team.append(mem)
                self.members.append(mem)
                row += 1
            self.team[a.name] = team
        self._crew = [mem for a in drill.actors if a.role in RESCUE_ROLES
                      for mem in self.team[a.name]]
        self.status = {x.id: ActionState() for x in drill.actions}
        self.pending = [x for x in drill.actions]
        self.arrivals: dict[tuple[str, str], float] = {}
        self.on_scene: dict[str, float] = {}
        self.first_out: dict[int, float] = {}
        self.trips: dict[str, Trip] = {}
        self.roads = RoadNetwork(drill.roads, drill.blocked_roads)
        self.access_nodes = access_nodes  # exit name -> road node
        self.goals = Goals(model)
        self.claimed = np.zeros(model.n_occupants, dtype=bool)
        self.needs_assist = model.needs_assist
        self.planned = self._planned_times()
        self._later: list[tuple[float, Action]] = []
        self.alarmed: list[str] = []  # the areas alarms were raised in
        self.on_site = {a.name for a in drill.actors if not a.offsite}

    # ------------------------------------------------------------------ set-up
    def place_actors(self, rng) -> None:
        """Put in-building actors on free cells of their start region (after occupants)."""
        m, a = self.m, self.m.agents_state
        occ = m.grid["occ"]
        passable = m.grid["passable"].astype(bool)
        for actor in self.d.actors:
            team = self.team[actor.name]
            for mem in team:
                self._set_pace(mem, mem.speed_ms)
                a["start_s"][mem.row] = INF
                a["target"][mem.row] = -1
            if actor.offsite:
                for mem in team:
                    a["state"][mem.row] = EVACUATED
                    a["cell"][mem.row] = -1
                continue
            cells = m.building.region(actor.start).cells
            free = cells[(occ[cells] < 0) & passable[cells] & (m.building.kind[cells] != DOOR)]
            if len(free) < len(team):
                raise ScenarioError(m.scenario.path, [f"actors.{actor.name}: {len(team)} "
                                                      f"member(s) do not fit in region "
                                                      f"'{actor.start}'"])
            chosen = rng.choice(free, size=len(team), replace=False)
            for mem, c in zip(team, chosen):
                a["cell"][mem.row] = c
                a["state"][mem.row] = WAITING
                occ[c] = mem.row
            self.arrivals[(actor.name, actor.start)] = 0.0

    def _planned_times(self) -> dict[str, float | None]:
        by_id = {x.id: x for x in self.d.actions}
        out: dict[str, float | None] = {}

        def plan(aid: str, depth: int = 0) -> float | None:
            if aid in out:
                return out[aid]
            x = by_id[aid]
            if x.planned_s is not None:
                value = x.planned_s
            elif x.trigger.kind == "at":
                value = x.trigger.at_s + x.trigger.delay_s
            elif x.trigger.kind == "after" and x.trigger.after in by_id and depth < 100:
                parent = plan(x.trigger.after, depth + 1)
                value = None if parent is None else parent + x.trigger.delay_s
            else:
                value = None
            out[aid] = value
            return value

        for x in self.d.actions:
            plan(x.id)
        return out

    def refresh_goals(self) -> None:
        """The building changed: recompute the goal fields members are following."""
        a = self.m.agents_state
        self.goals.refresh({int(a["field_row"][mem.row]) for mem in self.members
                            if mem.state in ("walking", "carrying", "leaving")})

    # ------------------------------------------------------------------ the step
    def before_step(self, t: float) -> None:
        self._advance_trips(t)
        self._enter_building(t)
        self._fire_triggers(t)
        self._run_members(t)
        self._pace_in_smoke()

    def _set_pace(self, mem: Member, speed_ms: float) -> None:
        mem.pace_ms = speed_ms
        self.m.agents_state["speed_ms"][mem.row] = speed_ms

    def _pace_in_smoke(self) -> None:
        """Rescue crews keep their pace in smoke: the cell's speed factor has the smoke's
        slowing in it (``Engine.smoke_speed``), which their speed makes up for. (A handful of
        members, not a loop over occupants.)"""
        if self.m.hazard is None or not self._crew:
            return
        a, smoke = self.m.agents_state, self.m.smoke_speed
        for mem in self._crew:
            c = a["cell"][mem.row]
            if c >= 0 and smoke[c] > 0:  # (0 only with speed_floor = 0: nobody moves there)
                a["speed_ms"][mem.row] = mem.pace_ms / smoke[c]

    def after_step(self, t: float) -> None:
        """After movement: members who reached the outside with someone, arrivals."""
        a = self.m.agents_state
        for mem in self.members:
            if mem.state == "leaving" and a["state"][mem.row] == EVACUATED:
                mem.state = "outside"
                mem.entry_exit = int(a["exit_used"][mem.row])
                continue
            if mem.state == "carrying" and a["state"][mem.row] == EVACUATED:
                p = mem.carrying
                exit_name = self.m.building.exits[int(a["exit_used"][mem.row])].name
                a["carrier"][p] = -1
                if mem.carrying_casualty:
                    # Out of the building, but overcome all the same: still a casualty (not
                    # counted out, nor at the exit), no longer on the grid.
                    self.m.log(t, "casualty_carried_out", actor=mem.actor, occupant=int(p),
                               exit=exit_name)
                else:
                    a["state"][p] = EVACUATED
                    a["out_time_s"][p] = a["out_time_s"][mem.row]
                    a["exit_used"][p] = a["exit_used"][mem.row]
                    self.m.log(t, "assisted_out", actor=mem.actor, occupant=int(p),
                               exit=exit_name)
                mem.carrying = -1
                mem.carrying_casualty = False
                mem.entry_exit = int(a["exit_used"][mem.row])
                mem.state = "entering"
                self._set_pace(mem, mem.speed_ms)
        used = a["exit_used"][:self.m.n_occupants]
        for e in range(self.m.n_exits):
            if e not in self.first_out and (used == e).any():
                self.first_out[e] = t

    # --- roads
    def _advance_trips(self, t: float) -> None:
        for trip in self.trips.values():
            arrived = self.roads.advance(trip, t, self.m.log)
            if arrived is not None:
                self._arrive(trip.actor, arrived)

    def _arrive(self, actor: str, t: float) -> None:
        self.on_scene[actor] = t
        self.m.log(t, "on_scene", actor=actor)
        a = self.d.actor(actor)
        if a.access is None:  # they stay outside (police at the fire lane)
            for mem in self.team[actor]:
                mem.state = "outside_scene"
            return
        e = self.m.building.exit_index(a.access)
        for mem in self.team[actor]:
            mem.state = "entering"
            mem.entry_exit = e

    def _enter_building(self, t: float) -> None:
        """Members waiting outside an exit step in when a cell inside it is free."""
        m, a = self.m, self.m.agents_state
        occ = m.grid["occ"]
        for mem in self.members:
            if mem.state != "entering":
                continue
            exit_ = m.building.exits[mem.entry_exit]
            cells = self.goals.place_cells(exit_.name)
            free = cells[(occ[cells] < 0) & m.grid["passable"][cells].astype(bool)]
            if free.size == 0:
                continue
            c = int(free[0])
            occ[c] = mem.row
            a["cell"][mem.row] = c
            a["state"][mem.row] = WAITING
            a["credit_m"][mem.row] = 0.0
            mem.state = "idle"
            self.arrivals[(mem.actor, exit_.name)] = t

    # --- triggers
    def _holds(self, x: Action, t: float) -> float | None:
        """The time the trigger's condition became true (before the delay), or None."""
        tr = x.trigger
        m = self.m
        if tr.kind == "at":
            return tr.at_s
        if tr.kind == "after":
            return self.status[tr.after].done_s
        if tr.kind == "arrived":
            return self.arrivals.get((tr.arg("actor"), tr.arg("place")))
        if tr.kind == "on_scene":
            return self.on_scene.get(tr.arg("actor"))
        if tr.kind == "first_out":
            return self.first_out.get(m.building.exit_index(tr.arg("exit")))
        a = m.agents_state
        n = m.n_occupants
        if tr.kind == "out":
            out = a["state"][:n] == EVACUATED
            prof = tr.arg("profile")
            if prof:
                out &= m.profile_of == m.profile_names.index(prof)
            return t if np.count_nonzero(out) >= tr.arg("count") else None
        if tr.kind == "area_empty":
            inside = (a["state"][:n] == WAITING) | (a["state"][:n] == MOVING)
            cells = a["cell"][:n][inside]
            return t if not np.any(self.goals.region_mask(tr.arg("region"))[cells]) else None
        if tr.kind == "all_out":
            return t if m.count_inside() == 0 else None
        if m.hazard is None:
            return None
        if tr.kind == "detector":
            return m.hazard.detector_fired.get(tr.arg("detector"))
        if tr.kind == "smoke":
            return m.hazard.smoke_reached(tr.arg("region"), tr.arg("extinction_per_m", 0.1), t)
        return None

    def _fire_triggers(self, t: float) -> None:
        still = []
        for x in self.pending:
            st = self.status[x.id]
            if st.triggered_s is None:
                when = self._holds(x, t)
                if when is None or when >= t + self.m.dt_s - 1e-9:
                    still.append(x)
                    continue
                st.triggered_s = when
                st.due_s = when + x.trigger.delay_s
            if st.due_s >= t + self.m.dt_s - 1e-9:
                still.append(x)
                continue
            # Due within this step: it happens at its due time (or now, if that has passed).
            if not self._dispatch(x, max(t, st.due_s)):
                still.append(x)
        self.pending = still

    def _dispatch(self, x: Action, t: float) -> bool:
        """Start a due action; False if it must wait (for an actor to be on scene)."""
        st = self.status[x.id]
        if x.action == "clear_lane" and not self.roads.is_blocked(x.target):
            st.started_s, st.who, st.note = t, x.by, "lane was clear"
            self._apply(x, t, x.by)
            return True
        if x.by is None or x.action == "clear_lane":
            st.started_s = t
            st.who = x.by
            if x.action == "clear_lane":
                duration = x.duration_s if x.duration_s >= 0 else \
                    self.roads.road[x.target].clear_s
                if x.by is not None and self.d.actor(x.by).offsite:
                    # Police or property management clear it once they are on scene.
                    start = self.on_scene.get(x.by)
                    if start is None:
                        st.started_s = None
                        return False  # wait for them
                    t = max(t, start)
                st.note = f"takes {duration:g} s"
                self._finish_later(x, t + duration)
                return True
            self._apply(x, t, None)
            return True
        if x.action in ("unlock", "lock") and self.m.is_locked(x.target) == (x.action == "lock"):
            st.started_s, st.who = t, x.by
            st.note = "already " + ("locked" if x.action == "lock" else "unlocked")
            self._apply(x, t, x.by)  # nothing to walk to: done at once
            return True
        team = self.team[x.by]
        if x.action in ("sweep", "assist"):
            rooms = list(self.goals.rooms_of(x.target)) if x.action == "sweep" else []
            for mem in team:  # one shared list: each room is visited by one member
                mem.queue.append(Task(x, rooms=rooms))
            return True
        mem = self._nearest_free(team, x.target)
        mem.queue.append(Task(x))
        return True

    def _finish_later(self, x: Action, done_s: float) -> None:
        self._later.append((done_s, x))

    def _nearest_free(self, team: list[Member], target: str) -> Member:
        a, b = self.m.agents_state, self.m.building
        free = [mem for mem in team if mem.task is None and not mem.queue
                and mem.state in ("idle",)]
        pool = free or team
        cells = self.goals.place_cells(target) if target else np.zeros(0, dtype=np.int32)
        if cells.size == 0:
            return min(pool, key=lambda mm: len(mm.queue))
        _, tx, ty = b.cell_position(cells[:1])

        def dist(mm):
            c = a["cell"][mm.row]
            if c < 0:
                return INF
            _, x, y = b.cell_position(np.array([c]))
            return float(math.hypot(x[0] - tx[0], y[0] - ty[0])) + 1e6 * len(mm.queue)

        return min(pool, key=dist)

    # --- members
    def _run_members(self, t: float) -> None:
        for done_s, x in list(self._later):
            if done_s < t + self.m.dt_s - 1e-9:
                self._later.remove((done_s, x))
                self._apply(x, done_s, self.status[x.id].who)
        a = self.m.agents_state
        for mem in self.members:
            if mem.state == "outside" and mem.queue:
                mem.state = "entering"  # back in for the next task
            if mem.state in ("offsite", "travelling", "entering", "carrying", "outside",
                             "outside_scene"):
                if mem.state == "carrying":
                    self._keep_exit(mem)
                continue
            if mem.state == "leaving":
                if not mem.queue:
                    self._keep_exit(mem)
                    continue
                mem.state = "idle"
                a["state"][mem.row] = WAITING
            if mem.task is None:
                if not mem.queue:
                    if mem.state == "idle" and (mem.worked or self._may_leave(mem, t)):
                        # Done: leave the building rather than stand in someone's way.
                        mem.state = "leaving"
                        a["state"][mem.row] = MOVING
                        self._keep_exit(mem, force=True)
                    continue
                mem.task = mem.queue.pop(0)
                mem.worked = True
                st = self.status[mem.task.action.id]
                if st.started_s is None:
                    st.started_s = t
                    st.who = mem.actor
                mem.state = "idle"
            task = mem.task
            kind = task.action.action
            if mem.state == "working":
                if t + 1e-9 < mem.work_until:
                    continue
                self._work_done(mem, t)
                continue
            if mem.state == "walking":
                row = int(a["field_row"][mem.row])
                c = a["cell"][mem.row]
                if self.goals.arrive_mask(mem.goal)[c]:
                    self._arrived(mem, t)
                elif not math.isfinite(self.m.fields[row, c]):
                    if kind in ("sweep", "assist"):  # (that one; the others may be reached)
                        self._give_up(mem, t)
                    else:
                        self._fail(mem, t, f"cannot reach {mem.goal_place or 'the person'}")
                elif t - mem.walk_start_s > GIVE_UP_S:
                    self._give_up(mem, t)
                continue
            # idle with a task: decide the next goal
            if kind == "sweep":
                if not task.rooms:
                    self._task_done(mem, t)
                    continue
                k = self._nearest_room(mem, task.rooms)
                room = task.rooms.pop(k)
                self._go(mem, f"room:{task.action.target}:{int(room[0])}", room,
                         task.action.target)
            elif kind == "assist":
                who = self._next_person(mem, task.action.target)
                if who < 0:
                    self._task_done(mem, t)
                    continue
                self.claimed[who] = True
                mem.fetching = who
                c = int(a["cell"][who])
                self._go(mem, f"person:{who}", np.array([c], dtype=np.int32), None,
                         include_source=True)
            elif kind == "suppress":
                key = f"fire:{task.action.target}"
                self.goals.forget(key)  # the fire has grown since: a fresh goal
                self._go(mem, key, self.goals.fire_front(task.action.target),
                         task.action.target)
            else:
                self._go(mem, task.action.target, self.goals.place_cells(task.action.target),
                         task.action.target)

    def _go(self, mem: Member, key: str, cells: np.ndarray, place: str | None,
            include_source: bool = False) -> None:
        a = self.m.agents_state
        a["field_row"][mem.row] = self.goals.row(key, cells, through=include_source)
        a["target"][mem.row] = -1
        a["state"][mem.row] = MOVING
        mem.goal, mem.goal_place, mem.state = key, place, "walking"
        mem.walk_start_s = self.m.time_s

    def _arrived(self, mem: Member, t: float) -> None:
        a = self.m.agents_state
        a["state"][mem.row] = WAITING
        a["start_s"][mem.row] = INF
        if mem.goal_place:
            self.arrivals.setdefault((mem.actor, mem.goal_place), t)
        task = mem.task
        kind = task.action.action
        if kind == "sweep":
            room = self.goals.cells(mem.goal)
            self.m.hurry(room, t)
        duration = task.action.duration_s
        mem.state = "working"
        mem.work_until = t + max(0.0, duration)

    def _work_done(self, mem: Member, t: float) -> None:
        task = mem.task
        kind = task.action.action
        if kind == "sweep":
            mem.state = "idle"
            return
        if kind == "assist":
            self._pick_up(mem, t)
            return
        self._apply(task.action, t, mem.actor)
        mem.task, mem.state = None, "idle"

    def _task_done(self, mem: Member, t: float) -> None:
        x = mem.task.action
        mem.task, mem.state = None, "idle"
        # A shared task is done when no member of the team is still on it.
        team = self.team[mem.actor]
        if not any(mm.task is not None and mm.task.action.id == x.id for mm in team) and \
                not any(tk.action.id == x.id for mm in team for tk in mm.queue):
            self._apply(x, t, mem.actor)

    def _fail(self, mem: Member, t: float, why: str) -> None:
        x = mem.task.action
        self.status[x.id].note = why
        self.status[x.id].failed = True
        self.m.log(t, "action_failed", id=x.id, actor=mem.actor, reason=why)
        a = self.m.agents_state
        a["state"][mem.row] = WAITING
        if mem.fetching >= 0:
            self.claimed[mem.fetching] = False
            mem.fetching = -1
        mem.task, mem.state = None, "idle"

    def _give_up(self, mem: Member, t: float) -> None:
        """A member who has not reached a room or a person in GIVE_UP_S (the way is jammed or
        blocked), or cannot reach them at all (walled off, by fire or a locked door), gives
        that one up and goes on with the rest of the task."""
        x = mem.task.action
        self.m.log(t, "gave_up", id=x.id, actor=mem.actor, goal=mem.goal)
        self.status[x.id].note = "some targets could not be reached"
        a = self.m.agents_state
        a["state"][mem.row] = WAITING
        if x.action in ("sweep", "assist"):
            if mem.fetching >= 0:  # that person stays claimed: nobody tries again (no loop)
                mem.fetching = -1
            mem.state = "idle"
            return
        self._fail(mem, t, f"could not reach {mem.goal_place} in {GIVE_UP_S:g} s")

    def _nearest_room(self, mem: Member, rooms: list[np.ndarray]) -> int:
        """Index of the room nearest to the member (straight line; other floors last)."""
        b = self.m.building
        c = self.m.agents_state["cell"][mem.row]
        f0, x0, y0 = b.cell_position(np.array([c]))
        best, best_d = 0, INF
        for k, room in enumerate(rooms):
            f, x, y = b.cell_position(room[len(room) // 2:len(room) // 2 + 1])
            d = math.hypot(x[0] - x0[0], y[0] - y0[0]) + (0 if f[0] == f0[0] else 1e4)
            if d < best_d:
                best, best_d = k, d
        return best

    def _next_person(self, mem: Member, region: str) -> int:
        m, a = self.m, self.m.agents_state
        n = m.n_occupants
        cells = a["cell"][:n]
        state = a["state"][:n]
        needs = self.needs_assist & (state == WAITING)
        if self.d.actor(mem.actor).role in RESCUE_ROLES:  # (not from a cell on fire)
            needs |= (state == CASUALTY) & ~self.m.burning[np.maximum(cells, 0)]
        cand = np.flatnonzero(needs & ~self.claimed & (cells >= 0))
        if cand.size == 0:
            return -1
        cand = cand[self.goals.search_mask(region)[cells[cand]]]
        if cand.size == 0:
            return -1
        b = m.building
        _, x, y = b.cell_position(cells[cand])
        _, x0, y0 = b.cell_position(np.array([a["cell"][mem.row]]))
        f, _, _ = b.cell_position(cells[cand])
        f0, _, _ = b.cell_position(np.array([a["cell"][mem.row]]))
        d = np.hypot(x - x0[0], y - y0[0]) + np.where(f == f0[0], 0.0, 1e4)
        return int(cand[int(np.argmin(d))])

    def _pick_up(self, mem: Member, t: float) -> None:
        m, a = self.m, self.m.agents_state
        p = mem.fetching
        mem.fetching = -1
        c = int(a["cell"][p])
        m.grid["occ"][c] = -1
        a["cell"][p] = -1
        # Someone overcome stays a casualty while carried (drawn at the carrier all the same:
        # ``carrier``); anyone else is carried, still inside.
        mem.carrying_casualty = bool(a["state"][p] == CASUALTY)
        if not mem.carrying_casualty:
            a["state"][p] = m.CARRIED
        a["carrier"][p] = mem.row
        mem.carrying = p
        self._set_pace(mem, min(mem.speed_ms, mem.task.action.option("speed_ms", 0.5)))
        overcome = {"overcome": True} if mem.carrying_casualty else {}
        m.log(t, "picked_up", actor=mem.actor, occupant=int(p), **overcome)
        mem.state = "carrying"
        a["state"][mem.row] = MOVING
        self._keep_exit(mem, force=True)

    def _may_leave(self, mem: Member, t: float) -> bool:
        """Whether a member who has had no task leaves: one of the building's own staff whom
        an alarm has reached and whom nothing in the script can still call on (no action of
        their actor's is left to do). Until then they stay at their post. (Waiters the script
        gave nothing to do stood in the smoke of an empty dining hall to the end of the run.)"""
        if mem.actor not in self.on_site:
            return False
        if any(x.by == mem.actor and self.status[x.id].done_s is None
               and not self.status[x.id].failed for x in self.d.actions):
            return False
        sc = self.m.scenario
        if not sc.drill.scripted_alarm and t >= sc.alarm_s:
            return True
        c = int(self.m.agents_state["cell"][mem.row])
        return c >= 0 and any(area == "all" or bool(np.any(
            self.m.building.region(area).cells == c)) for area in self.alarmed)

    def _keep_exit(self, mem: Member, force: bool = False) -> None:
        """A carrying member heads for the nearest exit that is open (they know)."""
        m, a = self.m, self.m.agents_state
        if not force and m.n_steps % 7:
            return
        c = a["cell"][mem.row]
        if c < 0:
            return
        best, best_d = -1, INF
        for e in m.building.exits:
            if m.exit_locked[e.index]:
                continue
            row = self.goals.exit_row(e)
            d = m.fields[row, c]
            if d < best_d:
                best, best_d = row, d
        if best >= 0:
            a["field_row"][mem.row] = best

    # --- effects
    def _apply(self, x: Action, t: float, who: str | None) -> None:
        m = self.m
        st = self.status[x.id]
        if x.action == "unlock" and x.target in m.scenario.held_locked:
            # (a study takes this exit away: whoever came to unlock it could not)
            st.who = who or st.who
            st.note, st.failed = HELD_NOTE, True
            m.log(t, "action_failed", id=x.id, actor=st.who, reason=HELD_NOTE)
            return
        st.done_s = t
        st.who = who or st.who
        kind, target = x.action, x.target
        if kind == "alarm":
            m.raise_alarm(target, t)
            self.alarmed.append(target)
        elif kind == "call":
            actor = self.d.actor(target)
            dest = actor.destination or self.access_nodes.get(actor.access)
            self.trips[target] = Trip(target, actor.station, dest, t, t + actor.turnout_s,
                                      phase="turnout", phase_end_s=t + actor.turnout_s)
            for mem in self.team[target]:
                mem.state = "travelling"
        elif kind in ("unlock", "lock"):
            (m.unlock if kind == "unlock" else m.lock)(target)
        elif kind == "open":
            m.open_door(target)
        elif kind == "close":
            m.close_door(target)
        elif kind == "clear_clutter":
            m.clear_clutter(target)
        elif kind == "announce":
            m.announce(target, x.option("exit_closed"), x.option("use_exit"),
                       x.option("exit_open"))
        elif kind == "clear_lane":
            self.roads.clear(target, t)
        elif kind == "ignite":
            m.hazard.ignite(target, t)
        elif kind == "suppress":
            m.hazard.suppress(target, t, x.option("mode", "extinguish"))
        if kind != "alarm":  # the model logs the alarm itself, with how many heard it
            m.log(t, "action", id=x.id, action=kind, target=target, actor=st.who)
        if kind in ("unlock", "lock", "open", "close", "clear_clutter"):
            self.refresh_goals()

    def busy(self) -> bool:
        """Is part of the drill still under way (a vehicle on the road, an action started but
        not done)? The run goes on after the last occupant is out until it is not."""
        if any(tr.phase != "arrived" for tr in self.trips.values()) or self._later:
            return True
        if any(m.state in ("carrying", "entering", "travelling") for m in self.members):
            return True
        if any(st.triggered_s is not None and st.done_s is None and not st.failed
               for st in self.status.values()):
            return True
        # An action whose trigger holds already fires at the next step (the triggers are
        # looked at before the step): one 'after' an action just done, or 'when' everyone is
        # out. (The tower's brigade finished attacking the fire as the last occupant left,
        # and the run ended without the search of the upper floors that was to follow.)
        t = self.m.time_s
        for x in self.pending:
            if self.status[x.id].triggered_s is None:
                when = self._holds(x, t)
                if when is not None and when <= t + 1e-9:
                    return True
        return False

    # ------------------------------------------------------------------ results
    def timeline(self) -> list[dict]:
        rows = []
        for x in self.d.actions:
            st = self.status[x.id]
            rows.append({"id": x.id, "actor": st.who or x.by, "action": x.action,
                         "target": x.target, "trigger": x.trigger.describe(),
                         "planned_s": _r(self.planned.get(x.id)),
                         "triggered_s": _r(st.triggered_s), "actual_s": _r(st.done_s),
                         **({"note": st.note} if st.note else {})})
        for name, trip in self.trips.items():
            call = next((x.id for x in self.d.actions if x.action == "call" and
                         x.target == name), None)
            planned_call = self.planned.get(call) if call else None
            actor = self.d.actor(name)
            planned = None if planned_call is None or trip.free_s is None else \
                planned_call + actor.turnout_s + trip.free_s
            rows.append({"id": f"arrive_{name}", "actor": name, "action": "arrive",
                         "target": actor.access or actor.destination, "trigger": f"after {call} + turnout "
                         f"{actor.turnout_s:g} s + drive" + (f" ({' > '.join(trip.route)})"
                                                            if trip.route else ""),
                         "planned_s": _r(planned), "triggered_s": _r(trip.called_s),
                         "actual_s": _r(trip.arrived_s)})
        return rows

    def kpis(self, summary: dict) -> list[dict]:
        """Each KPI with its value from the run and whether the target was met (value <=
        target; a time that never came is missed)."""
        out = []
        for k in self.d.kpis:
            if k.metric == "all_out_s":
                value = summary["evacuation_time_s"]
            elif k.metric == "out_s":
                value = summary["profiles"].get(k.arg("profile"), {}).get("all_out_s")
            elif k.metric == "on_scene_s":
                value = _r(self.on_scene.get(k.arg("actor")))
            elif k.metric == "action_s":
                value = _r(self.status[k.arg("action")].done_s)
            elif k.metric in ("casualties", "harmed"):
                value = summary.get(k.metric, 0)
            else:
                value = summary.get("peak_fed", 0.0)
            unit = "" if k.metric in ("casualties", "harmed", "peak_fed") else "s"
            out.append({"name": k.name, "metric": k.metric,
                        **({"of": dict(k.args)} if k.args else {}),
                        "target": k.target, "unit": unit, "value": value,
                        "met": value is not None and value <= k.target + 1e-9})
        return out

    def member_rows(self) -> list[dict]:
        return [{"actor": mem.actor, "member": mem.index, "row": mem.row,
                 "role": self.d.actor(mem.actor).role} for mem in self.members]


def _r(v):
    return None if v is None or not math.isfinite(v) else round(float(v), 2)
