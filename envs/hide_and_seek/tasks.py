"""The transfer tasks ("intelligence tests") of Baker et al. (2019) on the arena's engine.

Each task is one agent (``agent_0``) in the arena world with the arena's bodies, actions,
observations and grab/lock rules, and its own reward:

- :class:`LockAndReturn`: lock the box, then return to where you started.
- :class:`SequentialLock`: lock the boxes in a hidden order (only the next box in the order
  can be locked).
- :class:`BlueprintConstruction`: push boxes onto the marked construction sites.
- :class:`ShelterConstruction`: build a shelter around a cylinder so that rays from the
  edges of the floor no longer reach it.

Task-specific keyword arguments (rewards, thresholds) are listed on each class; everything
else goes to :class:`envs.hide_and_seek.ArenaConfig`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import mujoco
import numpy as np
from gymnasium import spaces

from . import world as W
from .environment import HideAndSeekEnv
from .mechanics import NO_TEAM


def _pop_float(kwargs: dict[str, Any], name: str, default: float, low: float, high: float) -> float:
    value = kwargs.pop(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (low <= float(value) <= high):
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")
    return float(value)


class SingleAgentTask(HideAndSeekEnv):
    """One agent, no preparation phase, no seekers; the reward comes from the task alone."""

    team_names = ("agent", "unused")
    min_seekers = 0
    defaults: dict[str, Any] = {}

    def __init__(self, **kwargs: Any) -> None:
        settings = {"n_hiders": 1, "n_seekers": 0, "prep_fraction": 0.0, "play_area": 6.0, **self.defaults}
        settings.update(kwargs)
        super().__init__(None, **settings)

    def _agent_xy(self) -> np.ndarray:
        return self._entity_pose()[0, :2]

    def _box_xy(self) -> np.ndarray:
        A = self.n_agent_slots
        return self._entity_pose()[A:A + self.n_box_slots, :2]


class LockTask(SingleAgentTask):
    """The lock-objects family: rewards for locking, penalties for unlocking, shaped approach.

    Per step: ``lock_reward`` for every box newly locked, ``-unlock_penalty`` for every box
    unlocked, ``shaped_reward_scale`` times the decrease of the distance to the current target
    (the next box to lock; with ``need_return``, the spawn point once all are locked), and
    ``success_reward`` on every step the task is complete (all boxes locked and, with
    ``need_return``, the agent within ``return_threshold`` of its spawn point).
    """

    ordered = False
    need_return = False

    def __init__(self, **kwargs: Any) -> None:
        self.lock_reward = _pop_float(kwargs, "lock_reward", 5.0, 0.0, 1e6)
        self.unlock_penalty = _pop_float(kwargs, "unlock_penalty", 7.0, 0.0, 1e6)
        self.shaped_reward_scale = _pop_float(kwargs, "shaped_reward_scale", 0.25, 0.0, 1e6)
        self.success_reward = _pop_float(kwargs, "success_reward", 1.0, 0.0, 1e6)
        self.return_threshold = _pop_float(kwargs, "return_threshold", 0.1, 0.0, 100.0)
        super().__init__(**kwargs)

    def _task_reset(self) -> None:
        present = np.flatnonzero(self.object_present[:self.n_box_slots])
        self.order = self._rng.permutation(present) if self.ordered else present
        self._task_restart()

    def _task_restart(self) -> None:
        """Start the bookkeeping from the current scene, keeping the episode's order."""
        self._locked = np.zeros(self.n_box_slots, dtype=bool)
        self._spawn = self._agent_xy().copy()
        self._target, self._target_distance = self._next_target()
        self._spawn_distance = 0.0
        self._update_lockable()

    def _update_lockable(self) -> None:
        self._lockable[:self.n_box_slots] = False
        unlocked = [b for b in self.order if not self._locked[b]]
        if self.ordered:
            if unlocked:
                self._lockable[unlocked[0]] = True
        else:
            self._lockable[unlocked] = True

    def _next_target(self) -> tuple[int | None, float]:
        unlocked = [b for b in self.order if not self._locked[b]]
        if not unlocked:
            return None, 0.0
        distances = np.linalg.norm(self._box_xy()[unlocked] - self._agent_xy(), axis=1)
        index = 0 if self.ordered else int(np.argmin(distances))
        return unlocked[index], float(distances[index])

    def _task_rewards(self, rewards: np.ndarray, in_prep: bool) -> tuple[np.ndarray, bool]:
        now_locked = self.rules.lock_team[:self.n_box_slots] != NO_TEAM
        reward = self.lock_reward * float((now_locked & ~self._locked).sum())
        reward -= self.unlock_penalty * float((~now_locked & self._locked).sum())
        self._locked = now_locked
        target, distance = self._next_target()
        spawn_distance = float(np.linalg.norm(self._agent_xy() - self._spawn))
        if self._target is not None and target == self._target:
            reward += (self._target_distance - distance) * self.shaped_reward_scale
        elif self._target is not None:  # the target changed: locked (progress) or another box unlocked
            if self._locked[self._target]:
                reward += self._target_distance * self.shaped_reward_scale
            else:
                reward -= distance * self.shaped_reward_scale
        elif target is not None:  # everything was locked and a box came unlocked
            reward -= distance * self.shaped_reward_scale
        elif self.need_return:
            reward += (self._spawn_distance - spawn_distance) * self.shaped_reward_scale
        self._target, self._target_distance, self._spawn_distance = target, distance, spawn_distance
        if target is None and (not self.need_return or spawn_distance <= self.return_threshold):
            reward += self.success_reward
        self._update_lockable()
        return np.full(self.n_agent_slots, reward), False


class LockAndReturn(LockTask):
    """Lock the one box among six rooms, then return to the spawn point (120 steps)."""

    metadata = {**HideAndSeekEnv.metadata, "name": "lock_and_return_v0"}

    need_return = True
    defaults = dict(scenario="random_rooms", n_rooms=6, n_boxes=1, n_elongated_boxes=0, n_ramps=0, horizon=120,
                    outer_walls_probability=1.0)


class SequentialLock(LockTask):
    """Lock four boxes in an unobserved order, with three ramps to climb walls (120 steps)."""

    metadata = {**HideAndSeekEnv.metadata, "name": "sequential_lock_v0"}

    ordered = True
    defaults = dict(scenario="random_rooms", n_rooms=3, doors=False, n_boxes=4, n_elongated_boxes=0, n_ramps=3,
                    lock_ramps=False, horizon=120, outer_walls_probability=1.0)


class BlueprintConstruction(SingleAgentTask):
    """Push boxes onto 1-4 marked sites (150 steps).

    Per step: minus the mean over sites of the smooth minimum (``alpha``) of the box-to-site
    distances; when every site has a box centre within ``site_activation_radius`` the agent
    gets ``n_sites`` and the episode ends (terminated). Observations gain ``sites``
    (``[max_sites, 2]`` positions) and ``sites_exist``.
    """

    metadata = {**HideAndSeekEnv.metadata, "name": "blueprint_construction_v0"}

    defaults = dict(scenario="empty", n_boxes=8, n_elongated_boxes=0, n_ramps=0, horizon=150,
                    outer_walls_probability=1.0)

    def __init__(self, **kwargs: Any) -> None:
        sites = kwargs.pop("n_sites", (1, 4))
        if isinstance(sites, int) and not isinstance(sites, bool):
            sites = (sites, sites)
        if (not isinstance(sites, (tuple, list)) or len(sites) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in sites)
                or not 1 <= sites[0] <= sites[1] <= 8):
            raise ValueError(f"n_sites must be an int or (low, high) pair in [1, 8], got {sites!r}")
        self.n_sites = (int(sites[0]), int(sites[1]))
        self.alpha = _pop_float(kwargs, "alpha", -8.0, -1e3, -1e-6)
        self.site_activation_radius = _pop_float(kwargs, "site_activation_radius", 0.2, 0.0, 10.0)
        super().__init__(**kwargs)

    def _world_key(self) -> W.WorldKey:
        return replace(super()._world_key(), n_sites=self.n_sites[1])

    def _extra_observation_spaces(self) -> dict[str, spaces.Space]:
        return {
            "sites": spaces.Box(-np.inf, np.inf, shape=(self.n_sites[1], 2), dtype=np.float32),
            "sites_exist": spaces.Box(0.0, 1.0, shape=(self.n_sites[1],), dtype=np.float32),
        }

    def _task_reset(self) -> None:
        count = int(self._rng.integers(self.n_sites[0], self.n_sites[1] + 1))
        size = self.config.floor_size
        margin = 0.075 * size  # the middle 85% of the floor
        boxes = self._box_xy()[self.object_present[:self.n_box_slots]]
        chosen: list[np.ndarray] = []
        candidates = self._rng.uniform(margin, size - margin, size=(400, 2))
        for point in candidates:
            if len(chosen) == count:
                break
            far_from_boxes = boxes.size == 0 or np.min(np.linalg.norm(boxes - point, axis=1)) > 0.8
            far_from_sites = not chosen or np.min(np.linalg.norm(np.array(chosen) - point, axis=1)) > 0.6
            if far_from_boxes and far_from_sites:
                chosen.append(point)
        self.site_xy = np.zeros((self.n_sites[1], 2))
        self.site_present = np.zeros(self.n_sites[1], dtype=bool)
        self.site_xy[:len(chosen)] = chosen
        self.site_present[:len(chosen)] = True
        self.place_sites(self.site_xy, self.site_present)

    def _task_restart(self) -> None:
        """A scripted scene keeps the episode's sites (move them with ``place_sites``)."""

    def place_sites(self, xy: np.ndarray, present: np.ndarray) -> None:
        """Move the site marks (for scripted scenes as well as resets)."""
        self.site_xy = np.asarray(xy, dtype=np.float64).reshape(self.n_sites[1], 2).copy()
        self.site_present = np.asarray(present, dtype=bool).reshape(self.n_sites[1]).copy()
        geoms = self.index.site_geom
        self.model.geom_pos[geoms, :2] = self.site_xy
        self.model.geom_pos[geoms, 2] = np.where(self.site_present, 0.003, W.PARK_DEPTH)
        self.model.geom_group[geoms] = np.where(self.site_present, W.GROUP_DECOR, W.GROUP_PARKED)
        mujoco.mj_kinematics(self.model, self.data)

    def _site_distances(self) -> np.ndarray:
        boxes = self._box_xy()[self.object_present[:self.n_box_slots]]
        sites = self.site_xy[self.site_present]
        return np.linalg.norm(boxes[:, None, :] - sites[None, :, :], axis=-1)  # [boxes, sites]

    def _task_rewards(self, rewards: np.ndarray, in_prep: bool) -> tuple[np.ndarray, bool]:
        distance = self._site_distances()
        weights = np.exp(self.alpha * distance)
        smooth_min = (distance * weights).sum(0) / np.maximum(weights.sum(0), 1e-300)
        reward = -float(smooth_min.mean())
        done = bool((distance.min(0) < self.site_activation_radius).all())
        if done:
            reward += float(self.site_present.sum())
        return np.full(self.n_agent_slots, reward), done

    def _task_observations(self) -> dict[str, np.ndarray]:
        return {"sites": self.site_xy.astype(np.float32), "sites_exist": self.site_present.astype(np.float32)}


class ShelterConstruction(SingleAgentTask):
    """Shelter a cylinder in the middle of the floor from rays cast at it (240 steps).

    Rays start at ``rays_per_side`` evenly spaced points along each edge of the floor (just
    inside the outer walls) and aim at the cylinder; each step the agent gets
    ``-reward_scale`` for every ray that reaches it. The rays are one ``mj_multiRay`` call
    from the cylinder outwards (a segment is blocked in either direction alike).
    Observations gain ``cylinder`` (x, y, radius).
    """

    metadata = {**HideAndSeekEnv.metadata, "name": "shelter_construction_v0"}

    defaults = dict(scenario="empty", n_boxes=8, n_elongated_boxes=4, n_ramps=0, horizon=240,
                    outer_walls_probability=1.0)

    def __init__(self, **kwargs: Any) -> None:
        rays = kwargs.pop("rays_per_side", 30)
        if isinstance(rays, bool) or not isinstance(rays, int) or not 1 <= rays <= 500:
            raise ValueError(f"rays_per_side must be an int in [1, 500], got {rays!r}")
        self.rays_per_side = rays
        self.reward_scale = _pop_float(kwargs, "reward_scale", 1.0, 0.0, 1e6)
        super().__init__(**kwargs)
        c = self.config
        cell = c.cell_size
        low, high = 1.01 * cell, c.floor_size - 1.01 * cell
        offset = np.arange(rays) / rays * (high - low)
        edges = [np.stack([low + offset, np.full(rays, low)], 1), np.stack([np.full(rays, high), low + offset], 1),
                 np.stack([high - offset, np.full(rays, high)], 1), np.stack([np.full(rays, low), high - offset], 1)]
        self.ray_starts = np.concatenate(edges)
        center = np.array([c.floor_size / 2, c.floor_size / 2, W.CYLINDER_HALF_HEIGHT])
        self.cylinder_center = center
        vectors = np.concatenate([self.ray_starts, np.full((4 * rays, 1), center[2])], 1) - center
        self.ray_lengths = np.linalg.norm(vectors, axis=1)
        self.ray_vectors = (vectors / self.ray_lengths[:, None]).reshape(-1).copy()
        self._ray_geoms = np.zeros(4 * rays, dtype=np.int32)
        self._ray_distances = np.zeros(4 * rays)

    def _world_key(self) -> W.WorldKey:
        return replace(super()._world_key(), cylinder=True)

    def _extra_observation_spaces(self) -> dict[str, spaces.Space]:
        return {"cylinder": spaces.Box(-np.inf, np.inf, shape=(3,), dtype=np.float32)}

    def _task_block(self, occupied: np.ndarray) -> None:
        c = self.config
        centers = (np.arange(c.grid_size) + 0.5) * c.cell_size
        dx = centers[:, None] - self.cylinder_center[0]
        dy = centers[None, :] - self.cylinder_center[1]
        occupied |= np.hypot(dx, dy) < 0.5 + 0.3

    def rays_reaching(self) -> int:
        """How many of the rays from the floor's edges reach the cylinder now."""
        mujoco.mj_multiRay(self.model, self.data, self.cylinder_center, self.ray_vectors, W.RAY_GROUPS, 1,
                           int(self.index.cylinder_body), self._ray_geoms, self._ray_distances, None,
                           self.ray_lengths.size, float(self.ray_lengths.max()) + 1.0)
        blocked = (self._ray_geoms >= 0) & (self._ray_distances < self.ray_lengths - 1e-6)
        return int((~blocked).sum())

    def _task_rewards(self, rewards: np.ndarray, in_prep: bool) -> tuple[np.ndarray, bool]:
        return np.full(self.n_agent_slots, -self.reward_scale * self.rays_reaching()), False

    def _task_observations(self) -> dict[str, np.ndarray]:
        return {"cylinder": np.array([*self.cylinder_center[:2], 0.5], dtype=np.float32)}
