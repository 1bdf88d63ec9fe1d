"""The transfer tasks ("intelligence tests") of Baker et al. (2019): games of their own on the arena.

Each task is a game (:class:`envs.hide_and_seek.game.Game`) composed into the arena in
place of hide and seek: one agent (``agent_0``) with the arena's bodies, actions,
observations and grab/lock rules, and the task's own layout, reset, reward, observations and
statistics:

- :class:`LockAndReturn`: lock the box, then return to where you started.
- :class:`SequentialLock`: lock the boxes in a hidden order (only the next box in the order
  can be locked).
- :class:`BlueprintConstruction`: push boxes onto the marked construction sites.
- :class:`ShelterConstruction`: build a shelter around a cylinder so that rays from the
  edges of the floor no longer reach it.

``make_task(LockAndReturn, **kwargs)`` builds the environment. Defaults are the published
configs (``examples/lock_and_return.jsonnet``, ``sequential_lock.jsonnet``,
``blueprint.jsonnet``, ``shelter.jsonnet`` of multi-agent-emergence-environments), not
``make_env``'s defaults. Task-specific keyword arguments (rewards, thresholds) are listed on
each class; everything else goes to :class:`envs.hide_and_seek.ArenaConfig`. A task's
``episode_stats`` are the arena's object statistics at the end of the episode. Every task
saves what it carries between steps with the arena's state (``env.save_state()``,
``env.reset(options={"state": saved})``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

import mujoco
import numpy as np
from gymnasium import spaces

from . import world as W
from .environment import HideAndSeekEnv
from .layouts import middle_region, place, spot_in_metres
from .mechanics import NO_TEAM
from .presets import ArenaConfig
from .scenarios import Scenario, scenario_of


def _pop_float(kwargs: dict[str, Any], name: str, default: float, low: float, high: float) -> float:
    value = kwargs.pop(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (low <= float(value) <= high):
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")
    return float(value)


def shelter_ray_starts(floor_size: float, cell_size: float, rays_per_side: int) -> np.ndarray:
    """``[4 * rays_per_side, 3]`` start points of the shelter rays, on the floor (z = 0), evenly spaced
    along each edge 1.01 cells inside it, in the original's order (``ShelterRewardWrapper``)."""
    low, high = 1.01 * cell_size, floor_size - 1.01 * cell_size
    starts = []
    for i in range(rays_per_side):
        offset = i / rays_per_side * (high - low)
        starts += [
            (low + offset, low, 0.0),
            (high, low + offset, 0.0),
            (high - offset, high, 0.0),
            (low, high - offset, 0.0),
        ]
    return np.array(starts)


class TaskGame:
    """What the single-agent tasks share: one agent, no seekers, no preparation phase.

    ``settings`` pops and checks a task's own keyword arguments; ``defaults`` are its arena
    settings. Subclasses give ``rewards`` and whatever else their task adds.
    """

    name: ClassVar[str]
    defaults: ClassVar[dict[str, Any]] = {}
    team_names = ("agent", "unused")
    min_seekers = 0
    prep_steps = 0

    def __init__(self, config: ArenaConfig) -> None:
        self.config = config
        #: the keyword arguments given to ``make_task`` (replays record them, ``render_mode`` aside)
        self.given: dict[str, Any] = {}

    @classmethod
    def settings(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Pop and check the task's own keyword arguments from ``kwargs``."""
        return {}

    def scenario(self) -> Scenario:
        """The scenario the configuration names."""
        return scenario_of(self.config)

    def world_key(self, key: W.WorldKey) -> W.WorldKey:
        """The arena's world unchanged."""
        return key

    def observation_spaces(self) -> dict[str, spaces.Space]:
        """No keys beyond the arena's."""
        return {}

    def attach(self, env: HideAndSeekEnv) -> None:
        """Keep the arena to read from."""
        self.env = env

    def place_before_entities(self, occupied: np.ndarray, rng: np.random.Generator) -> None:
        """Nothing of its own to place first."""

    def place_after_entities(self, occupied: np.ndarray, rng: np.random.Generator) -> None:
        """Nothing of its own to place last."""

    def reset(self) -> None:
        """Nothing to start."""

    def restart(self) -> None:
        """Nothing to start over."""

    def sensed(self) -> None:
        """The tasks read no sight."""

    def idle_slots(self, in_prep: bool) -> np.ndarray | None:
        """The agent always acts."""
        return None

    def prep_observation(self, step: int) -> float:
        """0: a task has no preparation phase, and its published config observes a constant
        ``prep_obs: [[0]]`` (``additional_obs`` of ``examples/lock_and_return.jsonnet``,
        ``sequential_lock.jsonnet``, ``blueprint.jsonnet``, ``shelter.jsonnet``)."""
        return 0.0

    def observations(self) -> dict[str, np.ndarray]:
        """No keys beyond the arena's."""
        return {}

    def episode_stats(self) -> dict[str, float]:
        """The arena's object statistics now (the end of the episode when reported)."""
        return self.env.arena.object_statistics("")

    def save_state(self) -> dict[str, np.ndarray]:
        """What the task carries from step to step beyond the arena's state (the environment's
        ``save_state`` adds it as ``game_*``): nothing unless a task says otherwise."""
        return {}

    def state_shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape of each array of :meth:`save_state`."""
        return {}

    def restore_state(self, saved: dict[str, np.ndarray]) -> None:
        """Continue from :meth:`save_state`'s arrays (after :meth:`reset` on the rebuilt layout)."""

    def replay_static(self) -> dict[str, np.ndarray]:
        """No statistics beyond the arena's."""
        return {}

    def replay_settings(self) -> dict[str, Any] | None:
        """The task's arguments as given (``envs.make(name, **them)`` builds the task again)."""
        return {key: value for key, value in self.given.items() if key != "render_mode"}

    def replay_frame(self) -> dict[str, np.ndarray]:
        """The arena's frame says it all."""
        return {}

    def restore_replay_frame(self, frame: dict[str, np.ndarray]) -> int:
        """The recorded step number."""
        return int(frame["step"]) if "step" in frame else 0

    def agent_xy(self) -> np.ndarray:
        """The one agent's x, y (a view)."""
        return self.env.agent_pose[0, :2]

    def box_xy(self) -> np.ndarray:
        """Every box slot's x, y (a view)."""
        return self.env.object_pose[: self.env.n_box_slots, :2]


def make_task(task: type[TaskGame], **kwargs: Any) -> HideAndSeekEnv:
    """The arena scored by ``task``: its own keyword arguments go to the task, the rest (over the
    task's defaults) to :class:`ArenaConfig`."""
    given = dict(kwargs)
    settings = task.settings(kwargs)
    arena = {"n_hiders": 1, "n_seekers": 0, "prep_fraction": 0.0, "play_area": 6.0, **task.defaults, **kwargs}
    env = HideAndSeekEnv(None, game=lambda config: task(config, **settings), **arena)
    env.game.given = given
    return env


def task_metadata(task: type[TaskGame]) -> dict[str, Any]:
    """PettingZoo metadata of the environment of ``task``."""
    return {**HideAndSeekEnv.metadata, "name": task.name}


class LockTask(TaskGame):
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

    def __init__(
        self,
        config: ArenaConfig,
        lock_reward: float,
        unlock_penalty: float,
        shaped_reward_scale: float,
        success_reward: float,
        return_threshold: float,
    ) -> None:
        super().__init__(config)
        self.lock_reward = lock_reward
        self.unlock_penalty = unlock_penalty
        self.shaped_reward_scale = shaped_reward_scale
        self.success_reward = success_reward
        self.return_threshold = return_threshold
        self.order = np.zeros(0, dtype=np.int64)

    @classmethod
    def settings(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
        """``lock_reward``, ``unlock_penalty``, ``shaped_reward_scale``, ``success_reward``, ``return_threshold``."""
        return {
            "lock_reward": _pop_float(kwargs, "lock_reward", 5.0, 0.0, 1e6),
            "unlock_penalty": _pop_float(kwargs, "unlock_penalty", 5.0, 0.0, 1e6),
            "shaped_reward_scale": _pop_float(kwargs, "shaped_reward_scale", 0.5, 0.0, 1e6),
            "success_reward": _pop_float(kwargs, "success_reward", 1.0, 0.0, 1e6),
            "return_threshold": _pop_float(kwargs, "return_threshold", 0.1, 0.0, 100.0),
        }

    def reset(self) -> None:
        """The order is the present boxes by index; then start the bookkeeping."""
        self.order = np.flatnonzero(self.env.object_present[: self.env.n_box_slots])
        self.restart()

    def restart(self) -> None:
        """Start the bookkeeping from the current scene, keeping the episode's order."""
        self._locked = np.zeros(self.env.n_box_slots, dtype=bool)
        self._spawn = self.agent_xy().copy()
        self._target, self._target_distance = self._next_target()
        self._spawn_distance = 0.0
        self._update_lockable()

    def _update_lockable(self) -> None:
        lockable = self.env.rules.lockable
        lockable[: self.env.n_box_slots] = False
        unlocked = [b for b in self.order if not self._locked[b]]
        if self.ordered:
            if unlocked:
                lockable[unlocked[0]] = True
        else:
            lockable[unlocked] = True

    def _next_target(self) -> tuple[int | None, float]:
        unlocked = [b for b in self.order if not self._locked[b]]
        if not unlocked:
            return None, 0.0
        distances = np.linalg.norm(self.box_xy()[unlocked] - self.agent_xy(), axis=1)
        index = 0 if self.ordered else int(np.argmin(distances))
        return unlocked[index], float(distances[index])

    def save_state(self) -> dict[str, np.ndarray]:
        """The boxes counted locked, the spawn point, the current target (-1: none) and the
        distances the next step's shaping compares against."""
        return {
            "locked": self._locked.copy(),
            "spawn": self._spawn.copy(),
            "target": np.array(-1 if self._target is None else self._target),
            "target_distance": np.array(self._target_distance),
            "spawn_distance": np.array(self._spawn_distance),
        }

    def state_shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape of each array of :meth:`save_state`."""
        return {
            "locked": (self.env.n_box_slots,),
            "spawn": (2,),
            "target": (),
            "target_distance": (),
            "spawn_distance": (),
        }

    def restore_state(self, saved: dict[str, np.ndarray]) -> None:
        """Continue the bookkeeping of :meth:`save_state`; only the next box in order stays lockable."""
        self._locked = np.asarray(saved["locked"], dtype=bool).copy()
        self._spawn = np.asarray(saved["spawn"], dtype=np.float64).copy()
        target = int(np.asarray(saved["target"]))
        self._target = None if target < 0 else target
        self._target_distance = float(np.asarray(saved["target_distance"]))
        self._spawn_distance = float(np.asarray(saved["spawn_distance"]))
        self._update_lockable()

    def rewards(self, in_prep: bool) -> tuple[np.ndarray, bool]:
        """The lock, unlock, shaping and success terms; the episode runs to its horizon."""
        now_locked = self.env.rules.lock_team[: self.env.n_box_slots] != NO_TEAM
        reward = self.lock_reward * float((now_locked & ~self._locked).sum())
        reward -= self.unlock_penalty * float((~now_locked & self._locked).sum())
        self._locked = now_locked
        target, distance = self._next_target()
        spawn_distance = float(np.linalg.norm(self.agent_xy() - self._spawn))
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
        return np.full(self.env.n_agent_slots, reward), False


class LockAndReturn(LockTask):
    """Lock the one box among six rooms, then return to the spawn point (120 steps).

    ``examples/lock_and_return.jsonnet``: random walls with exactly 6 rooms (``n_rooms: 6``,
    ``random_room_number: false``), 1 box, task ``all-return``.
    """

    name = "lock_and_return_v0"
    need_return = True
    defaults = dict(
        scenario="random_rooms",
        n_rooms=6,
        n_boxes=1,
        n_elongated_boxes=0,
        n_ramps=0,
        horizon=120,
        outer_walls_probability=1.0,
    )


class SequentialLock(LockTask):
    """Lock four boxes in a fixed, unobserved order, with three ramps to climb walls (120 steps).

    ``examples/sequential_lock.jsonnet``: scenario ``var_tri_uniform`` with ``door_size: 0``
    (three rooms without doors), the agent and 4 boxes anywhere, 3 lockable ramps with ramp
    ``i`` in room ``i % 3`` (``envs/box_locking.py: tri_placement``), task ``order``.
    """

    name = "sequential_lock_v0"
    ordered = True
    defaults = dict(
        scenario="tri",
        doors=False,
        n_boxes=4,
        n_elongated_boxes=0,
        n_ramps=3,
        lock_ramps=True,
        horizon=120,
        outer_walls_probability=1.0,
    )


class ConstructionTask(TaskGame):
    """The construction tasks' walls have friction 0.01 (``WallScenarios(friction=other_friction)``)."""

    def scenario(self) -> Scenario:
        """The configured scenario with the construction tasks' wall friction."""
        return scenario_of(self.config).with_wall_friction(W.SCENARIO_WALL_FRICTION)


class BlueprintConstruction(ConstructionTask):
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

    name = "blueprint_construction_v0"
    defaults = dict(
        scenario="empty", n_boxes=8, n_elongated_boxes=0, n_ramps=0, horizon=150, outer_walls_probability=1.0
    )

    def __init__(
        self,
        config: ArenaConfig,
        n_sites: tuple[int, int],
        alpha: float,
        reward_scale: float,
        site_activation_radius: float,
        completion_reward: float,
    ) -> None:
        super().__init__(config)
        self.n_sites = n_sites
        self.alpha = alpha
        self.reward_scale = reward_scale
        self.site_activation_radius = site_activation_radius
        self.completion_reward = completion_reward
        self.site_xy = np.zeros((n_sites[1], 2))
        self.site_present = np.zeros(n_sites[1], dtype=bool)
        self._placed_sites = np.zeros((0, 2))

    @classmethod
    def settings(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
        """``n_sites`` (an int or a (low, high) pair in [1, 8]), ``alpha``, ``reward_scale``,
        ``site_activation_radius``, ``completion_reward``."""
        sites = kwargs.pop("n_sites", (1, 4))
        if isinstance(sites, int) and not isinstance(sites, bool):
            sites = (sites, sites)
        if (
            not isinstance(sites, (tuple, list))
            or len(sites) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in sites)
            or not 1 <= sites[0] <= sites[1] <= 8
        ):
            raise ValueError(f"n_sites must be an int or (low, high) pair in [1, 8], got {sites!r}")
        return {
            "n_sites": (int(sites[0]), int(sites[1])),
            "alpha": _pop_float(kwargs, "alpha", -1.5, -1e3, -1e-6),
            "reward_scale": _pop_float(kwargs, "reward_scale", 0.05, 0.0, 1e6),
            "site_activation_radius": _pop_float(kwargs, "site_activation_radius", 0.1, 0.0, 10.0),
            "completion_reward": _pop_float(kwargs, "completion_reward", 3.0, 0.0, 1e6),
        }

    def world_key(self, key: W.WorldKey) -> W.WorldKey:
        """The arena's world with ``max_sites`` site marks."""
        return replace(key, n_sites=self.n_sites[1])

    def observation_spaces(self) -> dict[str, spaces.Space]:
        """``sites`` and ``sites_exist``."""
        return {
            "sites": spaces.Box(-np.inf, np.inf, shape=(self.n_sites[1], 2), dtype=np.float32),
            "sites_exist": spaces.Box(0.0, 1.0, shape=(self.n_sites[1],), dtype=np.float32),
        }

    def place_after_entities(self, occupied: np.ndarray, rng: np.random.Generator) -> None:
        """Sites on free cells of the middle 85% of the floor (``modules/construction_sites.py:
        ConstructionSites`` with ``uniform_placement_middle(0.85)``).

        ``rejection_placement`` (``modules/util.py``) takes a block of cells and returns its
        jittered corner as a fraction of ``floor_size - site_size`` (how worldgen places an
        object), but ``ConstructionSites._mark_site_square`` marks the site at that fraction of
        the whole floor (``Obj.mark``'s ``relative_xyz``): the mark's centre is the corner times
        ``floor_size / (floor_size - site_size)``, up to 0.26 m from the centre of the cells it takes.
        """
        c = self.config
        count = int(rng.integers(self.n_sites[0], self.n_sites[1] + 1))
        side = 2 * W.BOX_HALF  # site_size = box_size
        size = (c.footprint_cells(side),) * 2
        sites = []
        for _ in range(count):
            at = place(occupied, middle_region(c.grid_size, 0.85, size), size, rng)
            corner = np.array(spot_in_metres(at, size, (side, side), c.cell_size, rng)) - side / 2
            sites.append(corner * c.floor_size / (c.floor_size - side))
        self._placed_sites = np.array(sites).reshape(-1, 2)

    def reset(self) -> None:
        """Mark the sites placed for this episode."""
        xy = np.zeros((self.n_sites[1], 2))
        present = np.zeros(self.n_sites[1], dtype=bool)
        xy[: len(self._placed_sites)] = self._placed_sites
        present[: len(self._placed_sites)] = True
        self.place_sites(xy, present)

    def save_state(self) -> dict[str, np.ndarray]:
        """The sites (rebuilt with the layout, but a scripted scene may have moved them)."""
        return {"site_xy": self.site_xy.copy(), "site_present": self.site_present.copy()}

    def state_shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape of each array of :meth:`save_state`."""
        return {"site_xy": (self.n_sites[1], 2), "site_present": (self.n_sites[1],)}

    def restore_state(self, saved: dict[str, np.ndarray]) -> None:
        """Put the sites where :meth:`save_state` found them."""
        self.place_sites(np.asarray(saved["site_xy"]), np.asarray(saved["site_present"]))

    def place_sites(self, xy: np.ndarray, present: np.ndarray) -> None:
        """Move the site marks (for scripted scenes as well as resets)."""
        env = self.env
        self.site_xy = np.asarray(xy, dtype=np.float64).reshape(self.n_sites[1], 2).copy()
        self.site_present = np.asarray(present, dtype=bool).reshape(self.n_sites[1]).copy()
        geoms = env.index.site_geom
        env.model.geom_pos[geoms, :2] = self.site_xy
        env.model.geom_pos[geoms, 2] = np.where(self.site_present, 0.003, W.PARK_DEPTH)
        env.model.geom_group[geoms] = np.where(self.site_present, W.GROUP_DECOR, W.GROUP_PARKED)
        mujoco.mj_kinematics(env.model, env.data)

    def _site_centres(self) -> np.ndarray:
        """The sites in use ``[S, 3]``: marked at ``site_height`` = half a box above the floor."""
        sites = self.site_xy[self.site_present]
        return np.concatenate([sites, np.full((len(sites), 1), W.BOX_HALF)], axis=1)

    def _corners(self) -> tuple[np.ndarray, np.ndarray]:
        """The box corners ``[4B, 3]`` (the middles of the vertical edges, ``Boxes(mark_box_corners=True)``)
        and site corners ``[4S, 3]`` (``_mark_site_square``), in 3D as the original measures them."""
        env = self.env
        present = env.object_present[: env.n_box_slots]
        centre = env.object_pose[: env.n_box_slots, :3][present]
        yaw = env.object_pose[: env.n_box_slots, 3][present]
        half = env.object_half[: env.n_box_slots][present, :2]
        signs = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=np.float64)
        local = signs[None] * half[:, None]  # [B, 4, 2]
        c, s = np.cos(yaw)[:, None], np.sin(yaw)[:, None]
        rotated = np.stack(
            [
                c * local[..., 0] - s * local[..., 1],
                s * local[..., 0] + c * local[..., 1],
                np.zeros_like(local[..., 0]),
            ],
            -1,
        )
        box = centre[:, None] + rotated
        site = self._site_centres()[:, None] + np.concatenate([signs * W.BOX_HALF, np.zeros((4, 1))], 1)[None]
        return box.reshape(-1, 3), site.reshape(-1, 3)

    def rewards(self, in_prep: bool) -> tuple[np.ndarray, bool]:
        """The dense corner term, and the completion reward when every site is built (which ends the
        episode): ``ConstructionDenseRewardWrapper`` and ``ConstructionCompletedRewardWrapper`` with
        ``use_corners``, on the 3D distances of ``ConstructionDistancesWrapper``."""
        box_corners, site_corners = self._corners()
        corner_distance = np.linalg.norm(box_corners[:, None] - site_corners[None], axis=-1)  # [4B, 4S]
        weights = np.exp(self.alpha * corner_distance)
        smooth_min = (corner_distance * weights).sum(0) / np.maximum(weights.sum(0), 1e-300)
        reward = -self.reward_scale * float(smooth_min.mean())
        centres = self.env.object_pose[: self.env.n_box_slots, :3][self.env.object_present[: self.env.n_box_slots]]
        centre_distance = np.linalg.norm(centres[:, None] - self._site_centres()[None], axis=-1)
        done = bool(
            (centre_distance.min(0) < self.site_activation_radius).all()
            and (corner_distance.min(0) < self.site_activation_radius).all()
        )
        if done:
            reward += self.completion_reward * float(self.site_present.sum())
        return np.full(self.env.n_agent_slots, reward), done

    def observations(self) -> dict[str, np.ndarray]:
        """The sites' positions and which are in use."""
        return {"sites": self.site_xy.astype(np.float32), "sites_exist": self.site_present.astype(np.float32)}


class ShelterConstruction(ConstructionTask):
    """Shelter a cylinder from rays cast at it from the edges of the floor (240 steps).

    ``examples/shelter.jsonnet``, ``envs/shelter_construction.py``: a static cylinder of
    diameter U[1.5, 2] m is placed first, in the middle 70% of the floor
    (``uniform_placement_middle(0.7)``); 8 boxes, 3 of them elongated. As
    ``ShelterRewardWrapper``, rays start on the floor (z = 0) at ``rays_per_side`` (25) evenly
    spaced points along each edge of the floor (1.01 cells inside it, clear of the outer walls)
    and aim at the cylinder's centre, half its height up; each step the agent gets
    ``-reward_scale`` (0.001) for every ray whose first hit is the cylinder. The walls have
    friction 0.01. Observations gain ``cylinder`` (x, y, radius).

    The original's ray cast (mujoco-worldgen ``util/geometry.py: raycast``) passes
    ``flg_static=0``, which leaves out every geom of a body without joints: the static cylinder
    itself (and the walls), so as written no ray could ever report the cylinder. Here static
    geoms count: the cylinder is hit, and walls block like boxes and agents (in the published
    layout only the outer walls exist, which the rays never cross).
    """

    name = "shelter_construction_v0"
    defaults = dict(
        scenario="empty", n_boxes=8, n_elongated_boxes=3, n_ramps=0, horizon=240, outer_walls_probability=1.0
    )
    diameter_range = (1.5, 2.0)

    def __init__(self, config: ArenaConfig, rays_per_side: int, reward_scale: float) -> None:
        super().__init__(config)
        self.rays_per_side = rays = rays_per_side
        self.reward_scale = reward_scale
        self.ray_starts = shelter_ray_starts(config.floor_size, config.cell_size, rays)
        self.cylinder_center = np.array([config.floor_size / 2, config.floor_size / 2, W.CYLINDER_HALF_HEIGHT])
        self.cylinder_radius = 0.5
        self._placed_cylinder = (self.cylinder_center.copy(), self.cylinder_radius)
        self._ray_geoms = np.zeros(4 * rays, dtype=np.int32)
        self._ray_distances = np.zeros(4 * rays)
        self._one_geom = np.zeros(1, dtype=np.int32)
        self._aim_rays()

    @classmethod
    def settings(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
        """``rays_per_side`` (an int in [1, 500]) and ``reward_scale``."""
        rays = kwargs.pop("rays_per_side", 25)
        if isinstance(rays, bool) or not isinstance(rays, int) or not 1 <= rays <= 500:
            raise ValueError(f"rays_per_side must be an int in [1, 500], got {rays!r}")
        return {"rays_per_side": rays, "reward_scale": _pop_float(kwargs, "reward_scale", 0.001, 0.0, 1e6)}

    def world_key(self, key: W.WorldKey) -> W.WorldKey:
        """The arena's world with the cylinder."""
        return replace(key, cylinder=True)

    def observation_spaces(self) -> dict[str, spaces.Space]:
        """``cylinder``: x, y, radius."""
        return {"cylinder": spaces.Box(-np.inf, np.inf, shape=(3,), dtype=np.float32)}

    def place_before_entities(self, occupied: np.ndarray, rng: np.random.Generator) -> None:
        """The cylinder goes on the grid first, in the middle 70% of the floor (``Cylinders``)."""
        c = self.config
        diameter = float(rng.uniform(*self.diameter_range))
        size = (c.footprint_cells(diameter),) * 2
        at = place(occupied, middle_region(c.grid_size, 0.7, size), size, rng)
        x, y = spot_in_metres(at, size, (diameter, diameter), c.cell_size, rng)
        self._placed_cylinder = (np.array([x, y, W.CYLINDER_HALF_HEIGHT]), diameter / 2)

    def reset(self) -> None:
        """Put the cylinder where it was placed for this episode."""
        self.move_cylinder(*self._placed_cylinder)

    def save_state(self) -> dict[str, np.ndarray]:
        """The cylinder's centre and radius (rebuilt with the layout, but a scripted scene may
        have moved it)."""
        return {"cylinder": np.array([*self.cylinder_center, self.cylinder_radius])}

    def state_shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape of each array of :meth:`save_state`."""
        return {"cylinder": (4,)}

    def restore_state(self, saved: dict[str, np.ndarray]) -> None:
        """Put the cylinder where :meth:`save_state` found it."""
        cylinder = np.asarray(saved["cylinder"], dtype=np.float64)
        self.move_cylinder(cylinder[:3], float(cylinder[3]))

    def move_cylinder(self, center: np.ndarray, radius: float) -> None:
        """Put the cylinder at ``center`` (x, y, z) with ``radius`` (resets and scripted scenes), and
        sense again, so that lidar and sight see it where it now stands."""
        env = self.env
        m, body, geom = env.model, int(env.index.cylinder_body), int(env.index.cylinder_geom)
        self.cylinder_center = np.asarray(center, dtype=np.float64).copy()
        self.cylinder_radius = float(radius)
        m.body_pos[body] = self.cylinder_center
        m.geom_size[geom, 0] = self.cylinder_radius
        m.geom_rbound[geom] = np.hypot(self.cylinder_radius, W.CYLINDER_HALF_HEIGHT)
        m.geom_aabb[geom] = (0.0, 0.0, 0.0, self.cylinder_radius, self.cylinder_radius, W.CYLINDER_HALF_HEIGHT)
        W.refresh_bounding_volumes(m, body)
        mujoco.mj_kinematics(m, env.data)
        env.arena.sense()
        self._aim_rays()

    def _aim_rays(self) -> None:
        """The rays as segments from the cylinder's centre back to their starts (unit directions,
        lengths) and where each leaves the cylinder's side (the segment stays within its height)."""
        vectors = self.ray_starts - self.cylinder_center
        self.ray_lengths = np.linalg.norm(vectors, axis=1)
        self.ray_vectors = (vectors / self.ray_lengths[:, None]).reshape(-1).copy()
        self._surface_distances = self.cylinder_radius * self.ray_lengths / np.linalg.norm(vectors[:, :2], axis=1)

    def rays_reaching(self) -> int:
        """How many of the rays from the floor's edges reach the cylinder now.

        A ray cast from a start towards the cylinder's centre reaches it when nothing lies on the
        segment from the start to the cylinder's side. One ``mj_multiRay`` call tests all those
        segments from the centre outwards (the cylinder's body left out); the rare ray whose first
        hit lies inside the cylinder (a body pressed into it) says nothing about the segment
        beyond, so that ray is cast again as the original casts it, from its start.
        """
        env = self.env
        m, d, body = env.model, env.data, int(env.index.cylinder_body)
        mujoco.mj_multiRay(
            m,
            d,
            self.cylinder_center,
            self.ray_vectors,
            W.RAY_GROUPS,
            1,
            body,
            self._ray_geoms,
            self._ray_distances,
            None,
            self.ray_lengths.size,
            float(self.ray_lengths.max()) + 1.0,
        )
        hit = self._ray_geoms >= 0
        blocked = hit & (self._ray_distances < self.ray_lengths)
        inside = np.flatnonzero(hit & (self._ray_distances < self._surface_distances))
        cylinder = int(env.index.cylinder_geom)
        for ray in inside.tolist():
            direction = -self.ray_vectors[3 * ray : 3 * ray + 3]
            mujoco.mj_ray(m, d, self.ray_starts[ray], direction, W.RAY_GROUPS, 1, -1, self._one_geom)
            blocked[ray] = int(self._one_geom[0]) != cylinder
        return int((~blocked).sum())

    def rewards(self, in_prep: bool) -> tuple[np.ndarray, bool]:
        """``-reward_scale`` per ray reaching the cylinder."""
        return np.full(self.env.n_agent_slots, -self.reward_scale * self.rays_reaching()), False

    def observations(self) -> dict[str, np.ndarray]:
        """The cylinder's x, y and radius."""
        return {"cylinder": np.array([*self.cylinder_center[:2], self.cylinder_radius], dtype=np.float32)}
