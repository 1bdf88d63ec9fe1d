"""The transfer tasks ("intelligence tests") of Baker et al. (2019) on the arena's engine.

Each task is one agent (``agent_0``) in the arena world with the arena's bodies, actions,
observations and grab/lock rules, and its own reward:

- :class:`LockAndReturn`: lock the box, then return to where you started.
- :class:`SequentialLock`: lock the boxes in a hidden order (only the next box in the order
  can be locked).
- :class:`BlueprintConstruction`: push boxes onto the marked construction sites.
- :class:`ShelterConstruction`: build a shelter around a cylinder so that rays from the
  edges of the floor no longer reach it.

Defaults are the published configs (``examples/lock_and_return.jsonnet``,
``sequential_lock.jsonnet``, ``blueprint.jsonnet``, ``shelter.jsonnet`` of
multi-agent-emergence-environments), not ``make_env``'s defaults. Task-specific keyword
arguments (rewards, thresholds) are listed on each class; everything else goes to
:class:`envs.hide_and_seek.ArenaConfig`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import mujoco
import numpy as np
from gymnasium import spaces

from . import world as W
from .environment import HideAndSeekEnv
from .layouts import middle_region, place, spot_in_metres
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

    ``envs/box_locking.py: LockObjectsTask``. Per step: ``lock_reward`` (5) for every box newly
    locked, ``-unlock_penalty`` (5) for every box unlocked, ``shaped_reward_scale`` (0.5) times
    the decrease of the distance to the current target (the next box to lock; with
    ``need_return``, the spawn point once all are locked), and ``success_reward`` (1) on every
    step the task is complete (all boxes locked and, with ``need_return``, the agent within
    ``return_threshold`` (0.1 m) of its spawn point). The order is fixed (``fixed_order=True``):
    the boxes by index.
    """

    ordered = False
    need_return = False

    def __init__(self, **kwargs: Any) -> None:
        self.lock_reward = _pop_float(kwargs, "lock_reward", 5.0, 0.0, 1e6)
        self.unlock_penalty = _pop_float(kwargs, "unlock_penalty", 5.0, 0.0, 1e6)
        self.shaped_reward_scale = _pop_float(kwargs, "shaped_reward_scale", 0.5, 0.0, 1e6)
        self.success_reward = _pop_float(kwargs, "success_reward", 1.0, 0.0, 1e6)
        self.return_threshold = _pop_float(kwargs, "return_threshold", 0.1, 0.0, 100.0)
        super().__init__(**kwargs)

    def _task_reset(self) -> None:
        present = np.flatnonzero(self.object_present[:self.n_box_slots])
        self.order = present
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
    """Lock the one box among six rooms, then return to the spawn point (120 steps).

    ``examples/lock_and_return.jsonnet``: random walls with exactly 6 rooms (``n_rooms: 6``,
    ``random_room_number: false``), 1 box, task ``all-return``.
    """

    metadata = {**HideAndSeekEnv.metadata, "name": "lock_and_return_v0"}

    need_return = True
    defaults = dict(scenario="random_rooms", n_rooms=6, n_boxes=1, n_elongated_boxes=0, n_ramps=0, horizon=120,
                    outer_walls_probability=1.0)


class SequentialLock(LockTask):
    """Lock four boxes in a fixed, unobserved order, with three ramps to climb walls (120 steps).

    ``examples/sequential_lock.jsonnet``: scenario ``var_tri_uniform`` with ``door_size: 0``
    (three rooms without doors), the agent and 4 boxes anywhere, 3 lockable ramps with ramp
    ``i`` in room ``i % 3`` (``envs/box_locking.py: tri_placement``), task ``order``.
    """

    metadata = {**HideAndSeekEnv.metadata, "name": "sequential_lock_v0"}

    ordered = True
    defaults = dict(scenario="tri", doors=False, n_boxes=4, n_elongated_boxes=0, n_ramps=3,
                    lock_ramps=True, horizon=120, outer_walls_probability=1.0)


class BlueprintConstruction(SingleAgentTask):
    """Push boxes onto 1-4 marked sites (150 steps).

    ``examples/blueprint.jsonnet``, ``envs/blueprint_construction.py``: sites the size of a
    cube are placed on the grid after the agent and the boxes, in the middle 85% of the floor
    (``uniform_placement_middle(0.85)``). Per step: ``-reward_scale`` (0.05) times the mean,
    over the site corners, of the smooth minimum (``alpha`` -1.5) of their distances to all
    box corners (``construction_dense`` with ``use_corners``); when every site has a box
    centre and every site corner a box corner within ``site_activation_radius`` (0.1 m), the
    agent gets ``completion_reward`` (3) per site and the episode ends (terminated). The walls
    have friction 0.01 (``WallScenarios(friction=other_friction)``). Observations gain
    ``sites`` (``[max_sites, 2]`` positions) and ``sites_exist``.
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
        self.alpha = _pop_float(kwargs, "alpha", -1.5, -1e3, -1e-6)
        self.reward_scale = _pop_float(kwargs, "reward_scale", 0.05, 0.0, 1e6)
        self.site_activation_radius = _pop_float(kwargs, "site_activation_radius", 0.1, 0.0, 10.0)
        self.completion_reward = _pop_float(kwargs, "completion_reward", 3.0, 0.0, 1e6)
        self.site_xy = np.zeros((self.n_sites[1], 2))
        self.site_present = np.zeros(self.n_sites[1], dtype=bool)
        self._placed_sites = np.zeros((0, 2))
        super().__init__(**kwargs)
        self._wall_friction = W.SCENARIO_WALL_FRICTION

    def _world_key(self) -> W.WorldKey:
        return replace(super()._world_key(), n_sites=self.n_sites[1])

    def _extra_observation_spaces(self) -> dict[str, spaces.Space]:
        return {
            "sites": spaces.Box(-np.inf, np.inf, shape=(self.n_sites[1], 2), dtype=np.float32),
            "sites_exist": spaces.Box(0.0, 1.0, shape=(self.n_sites[1],), dtype=np.float32),
        }

    def _task_place_last(self, occupied: np.ndarray) -> None:
        """Sites on free cells of the middle 85% of the floor (``ConstructionSites``)."""
        c = self.config
        count = int(self._rng.integers(self.n_sites[0], self.n_sites[1] + 1))
        extent = (2 * W.BOX_HALF, 2 * W.BOX_HALF)
        size = (c.footprint_cells(extent[0]),) * 2
        sites = []
        for _ in range(count):
            at = place(occupied, middle_region(c.grid_size, 0.85, size), size, self._rng)
            sites.append(spot_in_metres(at, size, extent, c.cell_size, self._rng))
        self._placed_sites = np.array(sites).reshape(-1, 2)

    def _task_reset(self) -> None:
        xy = np.zeros((self.n_sites[1], 2))
        present = np.zeros(self.n_sites[1], dtype=bool)
        xy[:len(self._placed_sites)] = self._placed_sites
        present[:len(self._placed_sites)] = True
        self.place_sites(xy, present)

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

    def _corners(self) -> tuple[np.ndarray, np.ndarray]:
        """The box corners ``[4B, 2]`` (vertical edges, ``Boxes(mark_box_corners=True)``) and site corners ``[4S, 2]``."""
        present = self.object_present[:self.n_box_slots]
        centre = self._box_xy()[present]
        yaw = self._entity_pose()[self.n_agent_slots:self.n_agent_slots + self.n_box_slots, 3][present]
        half = self._object_half[:self.n_box_slots][present, :2]
        signs = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=np.float64)
        local = signs[None] * half[:, None]  # [B, 4, 2]
        c, s = np.cos(yaw)[:, None], np.sin(yaw)[:, None]
        box = centre[:, None] + np.stack([c * local[..., 0] - s * local[..., 1], s * local[..., 0] + c * local[..., 1]], -1)
        sites = self.site_xy[self.site_present]
        site = sites[:, None] + signs[None] * W.BOX_HALF
        return box.reshape(-1, 2), site.reshape(-1, 2)

    def _task_rewards(self, rewards: np.ndarray, in_prep: bool) -> tuple[np.ndarray, bool]:
        box_corners, site_corners = self._corners()
        corner_distance = np.linalg.norm(box_corners[:, None] - site_corners[None], axis=-1)  # [4B, 4S]
        weights = np.exp(self.alpha * corner_distance)
        smooth_min = (corner_distance * weights).sum(0) / np.maximum(weights.sum(0), 1e-300)
        reward = -self.reward_scale * float(smooth_min.mean())
        centres = self._box_xy()[self.object_present[:self.n_box_slots]]
        centre_distance = np.linalg.norm(centres[:, None] - self.site_xy[self.site_present][None], axis=-1)
        done = bool((centre_distance.min(0) < self.site_activation_radius).all()
                    and (corner_distance.min(0) < self.site_activation_radius).all())
        if done:
            reward += self.completion_reward * float(self.site_present.sum())
        return np.full(self.n_agent_slots, reward), done

    def _task_observations(self) -> dict[str, np.ndarray]:
        return {"sites": self.site_xy.astype(np.float32), "sites_exist": self.site_present.astype(np.float32)}


class ShelterConstruction(SingleAgentTask):
    """Shelter a cylinder from rays cast at it from the edges of the floor (240 steps).

    ``examples/shelter.jsonnet``, ``envs/shelter_construction.py``: a static cylinder of
    diameter U[1.5, 2] m is placed first, in the middle 70% of the floor
    (``uniform_placement_middle(0.7)``); 8 boxes, 3 of them elongated. Rays start at
    ``rays_per_side`` (25) evenly spaced points along each edge of the floor (just inside the
    outer walls) and aim at the cylinder; each step the agent gets ``-reward_scale`` (0.001)
    for every ray that reaches it. The rays are one ``mj_multiRay`` call from the cylinder's
    centre outwards at half its height (a segment is blocked in either direction alike; the
    original casts from the floor's edge at floor level). The walls have friction 0.01.
    Observations gain ``cylinder`` (x, y, radius).
    """

    metadata = {**HideAndSeekEnv.metadata, "name": "shelter_construction_v0"}

    defaults = dict(scenario="empty", n_boxes=8, n_elongated_boxes=3, n_ramps=0, horizon=240,
                    outer_walls_probability=1.0)
    diameter_range = (1.5, 2.0)

    def __init__(self, **kwargs: Any) -> None:
        rays = kwargs.pop("rays_per_side", 25)
        if isinstance(rays, bool) or not isinstance(rays, int) or not 1 <= rays <= 500:
            raise ValueError(f"rays_per_side must be an int in [1, 500], got {rays!r}")
        self.rays_per_side = rays
        self.reward_scale = _pop_float(kwargs, "reward_scale", 0.001, 0.0, 1e6)
        super().__init__(**kwargs)
        self._wall_friction = W.SCENARIO_WALL_FRICTION
        c = self.config
        cell = c.cell_size
        low, high = 1.01 * cell, c.floor_size - 1.01 * cell
        offset = np.arange(rays) / rays * (high - low)
        edges = [np.stack([low + offset, np.full(rays, low)], 1), np.stack([np.full(rays, high), low + offset], 1),
                 np.stack([high - offset, np.full(rays, high)], 1), np.stack([np.full(rays, low), high - offset], 1)]
        self.ray_starts = np.concatenate(edges)
        self.cylinder_center = np.array([c.floor_size / 2, c.floor_size / 2, W.CYLINDER_HALF_HEIGHT])
        self.cylinder_radius = 0.5
        self._placed_cylinder = (self.cylinder_center.copy(), self.cylinder_radius)
        self._ray_geoms = np.zeros(4 * rays, dtype=np.int32)
        self._ray_distances = np.zeros(4 * rays)
        self._aim_rays()

    def _world_key(self) -> W.WorldKey:
        return replace(super()._world_key(), cylinder=True)

    def _extra_observation_spaces(self) -> dict[str, spaces.Space]:
        return {"cylinder": spaces.Box(-np.inf, np.inf, shape=(3,), dtype=np.float32)}

    def _task_block(self, occupied: np.ndarray) -> None:
        """The cylinder goes on the grid first, in the middle 70% of the floor (``Cylinders``)."""
        c = self.config
        diameter = float(self._rng.uniform(*self.diameter_range))
        size = (c.footprint_cells(diameter),) * 2
        at = place(occupied, middle_region(c.grid_size, 0.7, size), size, self._rng)
        x, y = spot_in_metres(at, size, (diameter, diameter), c.cell_size, self._rng)
        self._placed_cylinder = (np.array([x, y, W.CYLINDER_HALF_HEIGHT]), diameter / 2)

    def _task_reset(self) -> None:
        self.move_cylinder(*self._placed_cylinder)

    def _task_restart(self) -> None:
        """A scripted scene keeps the episode's cylinder (move it with ``move_cylinder``)."""

    def move_cylinder(self, center: np.ndarray, radius: float) -> None:
        """Put the cylinder at ``center`` (x, y, z) with ``radius`` (resets and scripted scenes)."""
        m, body, geom = self.model, int(self.index.cylinder_body), int(self.index.cylinder_geom)
        self.cylinder_center = np.asarray(center, dtype=np.float64).copy()
        self.cylinder_radius = float(radius)
        m.body_pos[body] = self.cylinder_center
        m.geom_size[geom, 0] = self.cylinder_radius
        m.geom_rbound[geom] = np.hypot(self.cylinder_radius, W.CYLINDER_HALF_HEIGHT)
        m.geom_aabb[geom] = (0.0, 0.0, 0.0, self.cylinder_radius, self.cylinder_radius, W.CYLINDER_HALF_HEIGHT)
        W.refresh_bounding_volumes(m, body)
        mujoco.mj_kinematics(m, self.data)
        self._aim_rays()

    def _aim_rays(self) -> None:
        center = self.cylinder_center
        vectors = np.concatenate([self.ray_starts, np.full((len(self.ray_starts), 1), center[2])], 1) - center
        self.ray_lengths = np.linalg.norm(vectors, axis=1)
        self.ray_vectors = (vectors / self.ray_lengths[:, None]).reshape(-1).copy()

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
        return {"cylinder": np.array([*self.cylinder_center[:2], self.cylinder_radius], dtype=np.float32)}
