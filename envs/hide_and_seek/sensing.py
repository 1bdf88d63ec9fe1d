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

    def sense(self, agent_pos: np.ndarray, agent_yaw: np.ndarray, target_pos: np.ndarray,
              agent_present: np.ndarray, target_present: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cast every ray; returns ``lidar [A, L]``, ``in_sight [A, T]`` and ``in_cone [A, T]``.

        ``in_sight`` already combines the cone, the line of sight and presence; ``in_cone`` is
        the angle test alone (for drawing).
        """
        offset = target_pos[None, :, :] - agent_pos[:, None, :]
        length = np.sqrt((offset**2).sum(-1))
        length[self.self_target] = 1.0
        direction = offset / np.maximum(length, 1e-9)[..., None]
        self.vectors[:, self.lidar_rays:] = direction
        self.eye[:] = agent_pos
        geom_ids, distances, vectors, eye = self.geom_ids, self.distances, self.vectors, self.eye
        model, data, cutoff, n_rays = self.model, self.data, self.cutoff, self.n_rays
        for i in np.flatnonzero(agent_present):
            mujoco.mj_multiRay(
                model, data, eye[i], vectors[i].reshape(-1), RAY_GROUPS, 1, int(self.agent_body[i]),
                geom_ids[i], distances[i], None, n_rays, cutoff,
            )
        lidar_hit = geom_ids[:, :self.lidar_rays]
        lidar = np.where(lidar_hit >= 0, np.minimum(distances[:, :self.lidar_rays], self.lidar_range),
                         self.lidar_range)
        first_body = self.geom_body[geom_ids[:, self.lidar_rays:]]
        line_of_sight = first_body == self.target_body[None, :]
        heading = np.stack([np.cos(agent_yaw), np.sin(agent_yaw)], axis=1)
        planar = offset[..., :2]
        planar_length = np.sqrt((planar**2).sum(-1))
        cos_angle = (planar * heading[:, None, :]).sum(-1) / np.maximum(planar_length, 1e-9)
        in_cone = (cos_angle >= self.cos_half_cone) & ~self.self_target
        valid = agent_present[:, None] & target_present[None, :]
        in_sight = in_cone & line_of_sight & valid
        lidar[~agent_present] = self.lidar_range
        return lidar, in_sight, in_cone & valid
