"""Sensing that casts only the sight rays that can see something: the fast path of ``sensing.py``.

:class:`Senses` casts one ray from every observing agent towards every agent and object and then
keeps the hits inside the vision cone. Most of those rays cannot matter: a target outside the
cone is never in sight, nor is the agent itself, nor an entity parked for the episode (its
geoms are hidden from rays). :class:`ConeSenses` tests the cone first and hands MuJoCo a zero
vector for every ray that cannot matter; ``mj_multiRay`` returns a miss for a zero vector
without testing any geom, so only the rays that can find their target cost a ray cast. The
lidar rays are cast as before.

Each ray that is cast has the origin, direction and geom filter the plain version gives it,
and every ray is cast independently, so ``lidar``, ``in_sight`` and ``cone`` are the plain
version's exactly (``tests/envs/test_arena_fast_paths.py`` compares them over seeded episodes).
What differs is the raw hit arrays of the sight rays left out (``geom_ids`` -1 and ``distances``
-1 there), which nothing outside sensing reads.
"""

from __future__ import annotations

import mujoco
import numpy as np

from .sensing import Senses
from .world import RAY_GROUPS


class ConeSenses(Senses):
    """:class:`Senses` that casts a sight ray only towards visible targets inside the cone."""

    def __init__(
        self,
        model: mujoco.MjModel,
        data: mujoco.MjData,
        agent_body: np.ndarray,
        target_body: np.ndarray,
        geom_body: np.ndarray,
        lidar_rays: int,
        lidar_range: float,
        cone_degrees: float,
        sight_range: float,
    ) -> None:
        super().__init__(
            model, data, agent_body, target_body, geom_body, lidar_rays, lidar_range, cone_degrees, sight_range
        )
        A, T = self.n_agents, self.n_targets
        self._offset = np.zeros((A, T, 3))  # from each eye to each target
        self._may_see = np.zeros((A, T), dtype=bool)  # observer present, target visible to rays, not itself
        self._cast = np.zeros((A, T), dtype=bool)
        self._not_self = np.ones((A, T), dtype=bool)
        self._not_self[np.arange(A), np.arange(A)] = False  # the targets begin with the agents
        self._cast_column = self._cast[..., None]

    def set_observers(self, agent_present: np.ndarray) -> None:
        """Fix which agents cast rays this episode, and which targets rays can find: those with a
        geom in a ray-visible group (parked entities have none). Call after presence is written
        into the model."""
        super().set_observers(agent_present)
        group = np.clip(self.model.geom_group, 0, RAY_GROUPS.size - 1)
        visible_body = self.geom_body[:-1][RAY_GROUPS[group] != 0]
        target_visible = np.isin(self.target_body, visible_body)
        np.logical_and(agent_present[:, None], target_visible, out=self._may_see)
        self._may_see &= self._not_self

    def sense(self, target_pos: np.ndarray) -> None:
        """Cast the lidar rays and the sight rays that may see their target from the agents'
        current poses towards ``target_pos [T, 3]``; the results are :meth:`Senses.sense`'s."""
        offset, cast = self._offset, self._cast
        np.subtract(target_pos, self._eye, out=offset)
        self._vision_cone(offset)
        np.logical_and(self.cone, self._may_see, out=cast)
        # a ray needs no unit length: the hit geom is all line of sight asks; a zero vector is
        # a ray not cast, which meets nothing
        np.multiply(offset, self._cast_column, out=self._sight)
        self.cast_rays()
        self._read_lidar()
        self._line_of_sight()
