"""What each agent perceives: lidar, the vision cone and line of sight.

One ``mujoco.mj_multiRay`` call per observing agent casts all of its rays at once: the lidar
rays (world-frame directions) and one ray towards every agent and object. A target is in line
of sight when the first geom the ray meets belongs to the target itself. The vision cone is a
vectorised angle test over all observer-target pairs. No Python loop runs over rays.
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
        self.n_agents = agent_body.size
        self.n_targets = target_body.size
        self.lidar_rays = lidar_rays
        self.lidar_range = float(lidar_range)
        self.cutoff = float(max(lidar_range, sight_range))
        self.cos_half_cone = float(np.cos(np.radians(cone_degrees) / 2.0))
        angles = 2.0 * np.pi * np.arange(lidar_rays) / max(lidar_rays, 1)
        self.lidar_directions = np.stack([np.cos(angles), np.sin(angles), np.zeros_like(angles)], axis=1)
        n_rays = lidar_rays + self.n_targets
        self.n_rays = n_rays
        self.vectors = np.zeros((self.n_agents, n_rays, 3))
        self.vectors[:, :lidar_rays] = self.lidar_directions
        self.geom_ids = np.zeros((self.n_agents, n_rays), dtype=np.int32)
        self.distances = np.zeros((self.n_agents, n_rays))
        self.eye = np.zeros((self.n_agents, 3))
        self.self_target = np.zeros((self.n_agents, self.n_targets), dtype=bool)
        self.self_target[np.arange(self.n_agents), np.arange(self.n_agents)] = True
        self.observers: list[tuple] = []
        self.absent = np.ones(self.n_agents, dtype=bool)

    def set_observers(self, agent_present: np.ndarray) -> None:
        """Fix which agents cast rays this episode (precomputes the per-agent buffers)."""
        self.observers = [
            (self.eye[i], self.vectors[i].reshape(-1), int(self.agent_body[i]), self.geom_ids[i], self.distances[i])
            for i in np.flatnonzero(agent_present)
        ]
        self.absent = ~agent_present

    def sense(self, agent_pos: np.ndarray, agent_yaw: np.ndarray, target_pos: np.ndarray,
              valid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cast every ray; returns ``lidar [A, L]``, ``in_sight [A, T]`` and ``in_cone [A, T]``.

        ``valid [A, T]`` marks observer-target pairs that both exist (and differ).
        ``in_sight`` combines the cone, the line of sight and ``valid``; ``in_cone`` is the
        angle test and ``valid`` alone (for drawing).
        """
        L = self.lidar_rays
        self.eye[:] = agent_pos
        offset = target_pos - agent_pos[:, None, :]
        planar_sq = (offset[..., :2] ** 2).sum(-1)
        squared = planar_sq + offset[..., 2] ** 2
        squared[self.self_target] = 1.0
        np.divide(offset, np.sqrt(squared)[..., None], out=self.vectors[:, L:])
        model, data, cutoff, n_rays, groups = self.model, self.data, self.cutoff, self.n_rays, RAY_GROUPS
        multi_ray = mujoco.mj_multiRay
        for eye, vectors, body, geom_ids, distances in self.observers:
            multi_ray(model, data, eye, vectors, groups, 1, body, geom_ids, distances, None, n_rays, cutoff)
        lidar = np.where(self.geom_ids[:, :L] >= 0, np.minimum(self.distances[:, :L], self.lidar_range),
                         self.lidar_range)
        lidar[self.absent] = self.lidar_range
        line_of_sight = self.geom_body[self.geom_ids[:, L:]] == self.target_body
        heading = np.stack([np.cos(agent_yaw), np.sin(agent_yaw)], axis=1)[:, None, :]
        forward = (offset[..., :2] * heading).sum(-1)
        # cos(angle) >= cos(half cone), written without a division
        in_cone = (forward >= self.cos_half_cone * np.sqrt(planar_sq)) & valid
        return lidar, in_cone & line_of_sight, in_cone
