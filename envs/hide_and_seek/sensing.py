"""What each agent perceives: lidar, the vision cone and line of sight.

One ``mujoco.mj_multiRay`` call per observing agent casts all of its rays at once: the lidar
rays (world-frame directions) and one ray towards every agent and object. (``mj_multiRay``
takes one origin per call, so one call per agent is the fewest possible.) A target is in line
of sight when the first geom the ray meets belongs to the target itself. The vision cone is a
vectorised angle test over all observer-target pairs. No Python loop runs over rays.

Every array of a step lives in a buffer allocated once: ray directions, hit geoms and
distances, and the results (``lidar``, ``in_sight``, ``in_cone``), which callers read and
copy what they keep.
"""

from __future__ import annotations

import mujoco
import numpy as np

from .world import RAY_GROUPS

#: Ramps are aimed at a point inside the wedge (their box centre lies on the slope).
RAMP_AIM_OFFSET = np.array([0.1, 0.0, -0.15])


class Senses:
    """Batched ray casting for a fixed number of agents and objects."""

    def __init__(self, model: mujoco.MjModel, data: mujoco.MjData, agent_body: np.ndarray,
                 target_body: np.ndarray, geom_body: np.ndarray, lidar_rays: int, lidar_range: float,
                 cone_degrees: float, sight_range: float) -> None:
        self.model = model
        self.data = data
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
        self.geom_ids = np.full((A, n_rays), -1, dtype=np.int32)
        self.distances = np.full((A, n_rays), -1.0)
        self.eye = np.zeros((A, 3))
        self.self_target = np.zeros((A, T), dtype=bool)
        self.self_target[np.arange(A), np.arange(A)] = True
        self.observers: list[tuple] = []
        # results, rewritten in place by every call of ``sense``
        self.lidar = np.full((A, L), self.lidar_range)
        self.in_sight = np.zeros((A, T), dtype=bool)
        self.in_cone = np.zeros((A, T), dtype=bool)
        # scratch buffers
        self._offset = np.zeros((A, T, 3))
        self._squared = np.zeros((A, T, 3))
        self._planar = np.zeros((A, T))
        self._length = np.zeros((A, T))
        self._forward = np.zeros((A, T))
        self._scratch = np.zeros((A, T))
        self._heading = np.zeros((A, 2))
        self._hit_body = np.zeros((A, T), dtype=np.int32)
        self._miss = np.zeros((A, L), dtype=bool)
        self._valid = np.zeros((A, T), dtype=bool)

    def set_observers(self, agent_present: np.ndarray, valid: np.ndarray) -> None:
        """Fix which agents cast rays this episode and which observer-target pairs count.

        ``valid [A, T]`` marks pairs that both exist (and differ). Absent agents cast no rays;
        their rows read as misses (lidar at its range, nothing seen).
        """
        self.observers = [
            (self.eye[i], self.vectors[i].reshape(-1), int(self.agent_body[i]), self.geom_ids[i], self.distances[i])
            for i in np.flatnonzero(agent_present)
        ]
        absent = ~agent_present
        self.geom_ids[absent] = -1
        self.distances[absent] = -1.0
        self._valid[:] = valid

    def sense(self, agent_pose: np.ndarray, target_pos: np.ndarray) -> None:
        """Cast every ray from the agents' poses ``[A, 4]`` towards ``target_pos [T, 3]``.

        Updates ``lidar [A, L]``, ``in_sight [A, T]`` (cone, line of sight and validity
        combined) and ``in_cone [A, T]`` (the angle test and validity alone, for drawing).
        """
        L = self.lidar_rays
        eye = self.eye
        eye[:] = agent_pose[:, :3]
        offset, squared, planar, length = self._offset, self._squared, self._planar, self._length
        np.subtract(target_pos, eye[:, None, :], out=offset)
        np.multiply(offset, offset, out=squared)
        np.add(squared[..., 0], squared[..., 1], out=planar)
        np.add(planar, squared[..., 2], out=length)
        np.maximum(length, 1e-18, out=length)  # an agent's ray to itself stays a zero vector
        np.sqrt(length, out=length)
        np.divide(offset, length[..., None], out=self.vectors[:, L:])
        model, data, cutoff, n_rays, groups = self.model, self.data, self.cutoff, self.n_rays, RAY_GROUPS
        multi_ray = mujoco.mj_multiRay
        for origin, vectors, body, geom_ids, distances in self.observers:
            multi_ray(model, data, origin, vectors, groups, 1, body, geom_ids, distances, None, n_rays, cutoff)
        if L:
            lidar = self.lidar
            np.minimum(self.distances[:, :L], self.lidar_range, out=lidar)
            np.less(self.geom_ids[:, :L], 0, out=self._miss)
            np.copyto(lidar, self.lidar_range, where=self._miss)
        # line of sight: the first body each ray meets is its target's
        np.take(self.geom_body, self.geom_ids[:, L:], out=self._hit_body)
        in_sight, in_cone = self.in_sight, self.in_cone
        np.equal(self._hit_body, self.target_body, out=in_sight)
        # the cone: cos(angle to the heading) >= cos(half cone), written without a division
        heading = self._heading
        np.cos(agent_pose[:, 3], out=heading[:, 0])
        np.sin(agent_pose[:, 3], out=heading[:, 1])
        forward, scratch = self._forward, self._scratch
        np.multiply(offset[..., 0], heading[:, 0:1], out=forward)
        np.multiply(offset[..., 1], heading[:, 1:2], out=scratch)
        forward += scratch
        np.sqrt(planar, out=scratch)
        scratch *= self.cos_half_cone
        np.greater_equal(forward, scratch, out=in_cone)
        in_cone &= self._valid
        in_sight &= in_cone
