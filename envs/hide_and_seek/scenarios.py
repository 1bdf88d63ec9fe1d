"""Scenarios: how an episode's walls are laid out and where each entity may spawn.

A scenario is an object with one job: given the configuration and the episode's random
generator, it draws the walls (a :class:`Layout`) and answers, entity by entity, which grid
cells the entity may be placed on. The environment asks its scenario and compares no names;
``ArenaConfig.scenario`` picks one of :data:`BY_NAME` by name, and a transfer task may
hand the environment its own (``with_wall_friction``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from . import world as W
from .layouts import (
    DOOR_CELLS,
    Layout,
    Ranges,
    blocked_cells,
    close_region,
    grid_walls_to_metres,
    outside_quadrant_region,
    outside_walls,
    quadrant_region,
    quadrant_walls,
    random_room_walls,
    tri_room_region,
    tri_walls,
    uniform_region,
    with_doors,
)

if TYPE_CHECKING:
    from .presets import ArenaConfig


@dataclass(frozen=True)
class SpawnRequest:
    """One entity to place: its kind ("agent", "box", "ramp"), slot index and footprint in cells.

    ``is_hider`` and ``first_of_team`` (the team's first slot) matter for agents only;
    ``anchors`` holds the lower-left cells of the agents placed so far, by slot.
    """

    kind: str
    index: int
    size: tuple[int, int]
    is_hider: bool = False
    first_of_team: int = 0
    anchors: dict[int, tuple[int, int]] | None = None


@dataclass(frozen=True)
class Scenario:
    """Empty floor, its outer walls present with ``outer_walls_probability``; anything spawns
    anywhere (``modules/util.py: uniform_placement``).

    ``wall_friction``: ``modules/walls.py``: ``RandomWalls`` and the plain scenarios set none
    (MuJoCo's default 1.0).
    """

    wall_friction: float = W.RANDOM_WALL_FRICTION
    #: share of the floor's cells hiders and boxes share (a feasibility bound of the configuration)
    placement_share: float = 1.0

    def inner_walls(self, config: ArenaConfig) -> int:
        """Most inner walls a layout of this scenario holds (each cut by at most one door)."""
        return 0

    def wall_slots(self, config: ArenaConfig) -> int:
        """Most wall pieces: 4 outer walls, two pieces per inner wall and the spare slots."""
        return 4 + 2 * self.inner_walls(config) + config.extra_wall_slots

    def layout(self, config: ArenaConfig, rng: np.random.Generator) -> Layout:
        """This episode's walls."""
        outer = bool(rng.uniform() < config.outer_walls_probability)
        walls = outside_walls(config.grid_size) if outer else []
        return _layout(config, walls, outer, {})

    def spawn_region(self, config: ArenaConfig, layout: Layout, request: SpawnRequest) -> Ranges:
        """Where the entity of ``request`` may put its lower-left cell this episode."""
        return uniform_region(config.grid_size, request.size)

    def with_wall_friction(self, friction: float) -> Scenario:
        """The same scenario with walls of another friction (the construction tasks' 0.01)."""
        return replace(self, wall_friction=friction)


@dataclass(frozen=True)
class QuadrantScenario(Scenario):
    """A room in the lower-right quarter with one or two doors
    (``examples/hide_and_seek_quadrant.jsonnet``, ``modules/walls.py: WallScenarios``).

    Hiders spawn anywhere (``quadrant_game_hider_uniform_placement``), seekers outside the
    room (``outside_quadrant_placement``), boxes inside it (``quadrant_placement``), the ramp
    anywhere (``envs/hide_and_seek.py``). The walls have ``other_friction`` (0.01).
    """

    wall_friction: float = W.SCENARIO_WALL_FRICTION
    placement_share: float = 0.25

    def inner_walls(self, config: ArenaConfig) -> int:
        return 2

    def layout(self, config: ArenaConfig, rng: np.random.Generator) -> Layout:
        walls, room = quadrant_walls(config.grid_size, config.door_dropout, rng)
        return _layout(config, walls, True, {"quadrant": room})

    def spawn_region(self, config: ArenaConfig, layout: Layout, request: SpawnRequest) -> Ranges:
        n, room = config.grid_size, int(layout.rooms["quadrant"])
        if request.kind == "box":
            return quadrant_region(n, room, request.size)
        if request.kind == "agent" and not request.is_hider:
            return outside_quadrant_region(n, room, request.size)
        return uniform_region(n, request.size)


@dataclass(frozen=True)
class RandomRoomsScenario(Scenario):
    """Rooms split at random, one door per inner wall (``examples/hide_and_seek_full.jsonnet``,
    ``modules/walls.py: RandomWalls``); outer walls with ``outer_walls_probability``.

    Everything spawns anywhere, except that hiders 1.. spawn near hider 0 and seekers 1.. near
    seeker 0 (``envs/hide_and_seek.py: hiders_together_radius``, ``seekers_together_radius``,
    ``close_to_other_object_placement``).
    """

    def inner_walls(self, config: ArenaConfig) -> int:
        return config.n_rooms[1] - 1

    def layout(self, config: ArenaConfig, rng: np.random.Generator) -> Layout:
        n = config.grid_size
        n_rooms = int(rng.integers(config.n_rooms[0], config.n_rooms[1] + 1))
        all_walls = random_room_walls(n, n_rooms, rng)
        inner = with_doors(all_walls[4:], rng, DOOR_CELLS if config.doors else 0)
        outer = bool(rng.uniform() < config.outer_walls_probability)
        return _layout(config, (all_walls[:4] if outer else []) + inner, outer, {})

    def spawn_region(self, config: ArenaConfig, layout: Layout, request: SpawnRequest) -> Ranges:
        if request.kind == "agent":
            radius = config.hiders_together_radius if request.is_hider else config.seekers_together_radius
            first, anchors = request.first_of_team, request.anchors or {}
            if request.index != first and radius is not None and first in anchors:
                return close_region(config.grid_size, anchors[first], int(np.ceil(radius / config.cell_size - 1e-9)))
        return uniform_region(config.grid_size, request.size)


@dataclass(frozen=True)
class TriScenario(Scenario):
    """Three rooms, one about half the floor (``modules/walls.py: WallScenarios``, scenario
    'var_tri'); ramp ``i`` spawns in room ``i % 3`` (``envs/box_locking.py: tri_placement``)."""

    def inner_walls(self, config: ArenaConfig) -> int:
        return 2

    def layout(self, config: ArenaConfig, rng: np.random.Generator) -> Layout:
        walls, rooms = tri_walls(config.grid_size, rng, DOOR_CELLS if config.doors else 0)
        return _layout(config, walls, True, {"tri": rooms})

    def spawn_region(self, config: ArenaConfig, layout: Layout, request: SpawnRequest) -> Ranges:
        if request.kind == "ramp":
            return tri_room_region(layout.rooms["tri"], request.index % 3, request.size)
        return uniform_region(config.grid_size, request.size)


#: the scenarios ``ArenaConfig.scenario`` names
BY_NAME: dict[str, Scenario] = {
    "random_rooms": RandomRoomsScenario(),
    "quadrant": QuadrantScenario(),
    "tri": TriScenario(),
    "empty": Scenario(),
}


def scenario_of(config: ArenaConfig) -> Scenario:
    """The scenario ``config.scenario`` names (validated by ``ArenaConfig``)."""
    return BY_NAME[config.scenario]


def _layout(config: ArenaConfig, walls: list, outer: bool, rooms: dict[str, object]) -> Layout:
    return Layout(grid_walls_to_metres(walls, config.cell_size), blocked_cells(walls, config.grid_size), outer, rooms)
