"""The responders' approach: a small road network, fire lanes that parked cars block, and the
trips of the vehicles on it (networkx picks the route; the trip is then driven in time).

At departure a vehicle takes the route that is quickest in expected time: a blocked lane with
``when_blocked = "clear"`` costs its ``clear_s`` on top of the drive, one with ``"detour"`` is
not used while blocked. Driving, a vehicle that reaches a blocked lane waits there until the
cars are gone: after ``clear_s`` (the crew clears it; from then on the lane is clear for
everyone), or sooner if a ``clear_lane`` action finishes first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from .drill import Road


@dataclass
class Trip:
    """One vehicle (an off-site actor) from its station to where it is on scene."""

    actor: str
    station: str
    destination: str | None
    called_s: float
    depart_s: float
    route: list = field(default_factory=list)  # road names
    nodes: list = field(default_factory=list)
    leg: int = -1
    phase: str = "turnout"  # turnout, no_route, driving, clearing, arrived
    phase_end_s: float = 0.0
    arrived_s: float | None = None
    free_s: float | None = None  # the trip's length with every lane clear


class RoadNetwork:
    def __init__(self, roads: tuple[Road, ...], blocked: tuple[str, ...]):
        self.road = {r.name: r for r in roads}
        self.blocked = set(blocked)
        self.cleared: dict[str, float] = {}
        self.graph = nx.MultiGraph()
        for r in roads:
            self.graph.add_edge(r.a, r.b, key=r.name, road=r)

    def is_blocked(self, name: str) -> bool:
        return name in self.blocked and name not in self.cleared

    def clear(self, name: str, t: float) -> None:
        """The cars are off ``name`` from ``t`` on (the first clearing counts)."""
        self.cleared.setdefault(name, t)

    def _cost(self, r: Road) -> float | None:
        if not self.is_blocked(r.name):
            return r.travel_s
        return None if r.when_blocked == "detour" else r.travel_s + r.clear_s

    def plan(self, trip: Trip) -> bool:
        """Choose the trip's route now; False if there is none (every way blocked)."""
        if not self.road or trip.destination is None:
            trip.route, trip.nodes, trip.free_s = [], [], 0.0
            return True

        def weight(u, v, data):
            costs = [c for c in (self._cost(x["road"]) for x in data.values()) if c is not None]
            return min(costs) if costs else None

        try:
            nodes = nx.dijkstra_path(self.graph, trip.station, trip.destination, weight=weight)
        except (nx.NetworkXNoPath, nx.NodeNotFound):
            return False
        trip.route = [min((self._cost(x["road"]), x["road"].name)
                          for x in self.graph.get_edge_data(u, v).values()
                          if self._cost(x["road"]) is not None)[1]
                      for u, v in zip(nodes, nodes[1:])]
        trip.nodes = nodes
        trip.free_s = float(nx.dijkstra_path_length(
            self.graph, trip.station, trip.destination,
            weight=lambda u, v, d: min(x["road"].travel_s for x in d.values())))
        return True

    def advance(self, trip: Trip, t: float, log) -> float | None:
        """Drive ``trip`` up to time ``t``. Returns the arrival time when it arrives now."""
        for _ in range(100):  # a handful of phase changes per step at most
            if trip.phase == "arrived" or t < trip.phase_end_s:
                break
            now = trip.phase_end_s
            if trip.phase in ("turnout", "no_route"):
                if not self.plan(trip):
                    trip.phase, trip.phase_end_s = "no_route", t + 1.0
                    continue
                trip.leg, trip.phase = -1, "driving"
                trip.phase_end_s = max(now, trip.depart_s)
                continue
            if trip.phase == "clearing":  # the crew has cleared the lane themselves
                road = trip.route[trip.leg]
                self.clear(road, now)
                trip.phase, trip.phase_end_s = "driving", now + self.road[road].travel_s
                continue
            trip.leg += 1  # the end of a leg (or the start): the next one
            if trip.leg >= len(trip.route):
                trip.phase, trip.arrived_s = "arrived", now
                return now
            road = self.road[trip.route[trip.leg]]
            if self.is_blocked(road.name):
                trip.phase, trip.phase_end_s = "clearing", now + road.clear_s
                log(now, "lane_blocked", actor=trip.actor, road=road.name)
            else:
                trip.phase_end_s = now + road.travel_s
        if trip.phase == "clearing":  # cleared by someone else meanwhile?
            road = trip.route[trip.leg]
            done = self.cleared.get(road)
            if done is not None and done <= t:
                trip.phase = "driving"
                trip.phase_end_s = max(done, t) + self.road[road].travel_s
        return None
