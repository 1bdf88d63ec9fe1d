"""What each agent perceives: lidar, the vision cone and line of sight.

One ``mujoco.mj_multiRay`` call per observing agent casts all of its rays at once: the lidar
rays (world-frame directions) and one ray towards every agent and object. (``mj_multiRay``
takes one origin per call, so one call per agent is the fewest possible.) Rays aim at each
entity's aim site (its centre; a point inside a ramp's wedge), whose world positions MuJoCo's
kinematics computes. A target is in line of sight when the first geom the ray meets belongs to
the target itself. The vision cone is a vectorised angle test over all observer-target pairs.
No Python loop runs over rays. This is the plain version; the arena uses its fast path,
``sensing_fast.ConeSenses``, which gives the same results and casts a sight ray only where the
cone lets the target be seen.

Every array of a step lives in a buffer allocated once: ray directions, hit geoms and
distances, and the results (``lidar``, ``in_sight``, ``cone``), which callers read and copy
what they keep; the step reads its parts (eyes, headings, lidar and sight columns) through
views made once.
"""

from __future__ import annotations

import mujoco
import numpy as np

from .world import RAY_GROUPS


class Senses:
    """Batched ray casting for a fixed number of agents and objects."""

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
        self.model = model
        self.data = data
        # the agents' poses (x, y, z, yaw): a view of qpos, whose first four joints per entity they are
        self.agent_pose = data.qpos.reshape(-1, 4)[: agent_body.size]
        self.agent_body = agent_body
        self.target_body = target_body  # agents first, then objects
        self.geom_body = np.append(geom_body, -1).astype(np.int32)  # index -1 -> no body
        A = self.n_agents = agent_body.size
        T = self.n_targets = target_body.size
        L = self.lidar_rays = lidar_rays
        self.lidar_range = float(lidar_range)
        self.cutoff = float(max(lidar_range, sight_range))
        self.cos_half_cone = float(np.cos(np.radians(cone_degrees) / 2.0))
        angles = 2.0 * np.pi * np.arange(L) / max(L, 1)
        self.lidar_directions = np.stack([np.cos(angles), np.sin(angles), np.zeros_like(angles)], axis=1)
        n_rays = self.n_rays = L + T
        self.vectors = np.zeros((A, n_rays, 3))
        self.vectors[:, :L] = self.lidar_directions
        self._sight = self.vectors[:, L:]  # offsets from each eye to each target (unnormalised rays)
        self.geom_ids = np.full((A, n_rays), -1, dtype=np.int32)
        self.distances = np.full((A, n_rays), -1.0)
        self.observers: list[tuple] = []
        # results, rewritten in place by every call of ``sense``
        self.lidar = np.full((A, L), self.lidar_range)
        self.in_sight = np.zeros((A, T), dtype=bool)
        self.cone = np.zeros((A, T), dtype=bool)  # the angle test alone
        # scratch buffers
        self._angle = np.zeros((A, T))
        self._hit_body = np.zeros((A, T), dtype=np.int32)
        self._miss = np.zeros((A, L), dtype=bool)
        # views made once: the eyes and headings, and the lidar and sight columns of the hit arrays
        self._eye = self.agent_pose[:, None, :3]
        self._yaw = self.agent_pose[:, 3:4]
        self._lidar_distances, self._lidar_geoms = self.distances[:, :L], self.geom_ids[:, :L]
        self._sight_geoms = self.geom_ids[:, L:]

    def set_observers(self, agent_present: np.ndarray) -> None:
        """Fix which agents cast rays this episode. Absent agents cast none; their rows read as
        misses (lidar at its range, nothing seen)."""
        self.observers = [
            (
                self.agent_pose[i, :3],
                self.vectors[i].reshape(-1),
                int(self.agent_body[i]),
                self.geom_ids[i],
                self.distances[i],
            )
            for i in np.flatnonzero(agent_present)
        ]
        absent = ~agent_present
        self.geom_ids[absent] = -1
        self.distances[absent] = -1.0

    def sense(self, target_pos: np.ndarray) -> None:
        """Cast every ray from the agents' current poses towards ``target_pos [T, 3]``.

        Updates ``lidar [A, L]``, ``in_sight [A, T]`` (cone and line of sight) and ``cone``
        (the angle test alone). A ray finds nothing it may not see: absent agents cast none,
        parked entities are hidden from rays and an agent's ray to itself is a zero vector, so
        ``in_sight`` holds only valid pairs.
        """
        sight = self._sight
        # a ray needs no unit length: the hit geom is all line of sight asks (an agent's ray to
        # itself is a zero vector, which finds nothing)
        np.subtract(target_pos, self._eye, out=sight)
        self.cast_rays()
        self._read_lidar()
        self._line_of_sight()
        self._vision_cone(sight)
        self.in_sight &= self.cone

    def cast_rays(self) -> None:
        """One ``mj_multiRay`` call per observing agent: its lidar and sight rays (``vectors``)
        into ``geom_ids`` and ``distances``."""
        model, data, cutoff, n_rays, groups = self.model, self.data, self.cutoff, self.n_rays, RAY_GROUPS
        multi_ray = mujoco.mj_multiRay
        for origin, vectors, body, geom_ids, distances in self.observers:
            multi_ray(model, data, origin, vectors, groups, 1, body, geom_ids, distances, None, n_rays, cutoff)

    def _read_lidar(self) -> None:
        """``lidar``: each lidar ray's distance, the range where it meets nothing nearer."""
        L = self.lidar_rays
        if L:
            lidar = self.lidar
            np.minimum(self._lidar_distances, self.lidar_range, out=lidar)
            np.less(self._lidar_geoms, 0, out=self._miss)
            np.copyto(lidar, self.lidar_range, where=self._miss)

    def _line_of_sight(self) -> None:
        """``in_sight`` before the cone: the first body each sight ray meets is its target's."""
        self.geom_body.take(self._sight_geoms, out=self._hit_body)
        np.equal(self._hit_body, self.target_body, out=self.in_sight)

    def _vision_cone(self, offset: np.ndarray) -> None:
        """``cone``: the planar angle from each heading to each target (``offset [A, T, 3]`` from
        the eye) within half the cone."""
        angle = self._angle
        np.arctan2(offset[..., 1], offset[..., 0], out=angle)
        angle -= self._yaw
        np.cos(angle, out=angle)
        np.greater_equal(angle, self.cos_half_cone, out=self.cone)
