"""The hide-and-seek arena as a PettingZoo ``ParallelEnv``.

Agents ``hider_0..`` and ``seeker_0..`` (all slots of the largest counts are in
``possible_agents``; an episode uses the sampled subset). Per step each live agent sends a
Dict action ``{"movement": MultiDiscrete([11, 11, 11]), "grab": Discrete(2), "lock":
Discrete(2)}`` (or, with ``flat_actions=True``, ``MultiDiscrete([11, 11, 11, 2, 2])``):
movement bins map linearly onto x force, y force and torque in [-0.9, 0.9], world frame.
With ``continuous_actions=True`` movement is a ``Box(-0.9, 0.9, (3,))`` of those controls
(flat: ``Box([-0.9, -0.9, -0.9, 0, 0], [0.9, 0.9, 0.9, 1, 1])``, a button pressed above 0.5).

Observations (Dict, world coordinates, float32):

=============  ====================  ======================================================
key            shape                 content
=============  ====================  ======================================================
self           (10,)                 x, y, z, heading, vx, vy, vz, yaw rate, is-hider, prep
agents         (max_agents - 1, 10)  the other agent slots, same fields, zero unless seen
agents_mask    (max_agents - 1,)     1 where seen (135 degree cone and clear line of sight)
agents_exist   (max_agents - 1,)     1 where the slot is in this episode
boxes          (max_boxes, 15)       pos 3, cos/sin yaw, velocities 4, size 3, locked-by-me,
                                     locked-by-my-team, locked; zero unless seen
boxes_mask     (max_boxes,)          seen
boxes_exist    (max_boxes,)          in this episode
ramps          (max_ramps, 15)       as boxes
ramps_mask     (max_ramps,)          seen
ramps_exist    (max_ramps,)          in this episode
lidar          (lidar_rays,)         distance of evenly spaced world-frame rays, <= range
=============  ====================  ======================================================

With ``flat_observations=True`` each observation is one float32 vector: these fields
flattened and joined in the order of ``observation_keys()`` (task fields last, by name).

``state()`` is a flat float32 vector of the whole world, unmasked: per agent slot the 10
fields and an existence flag, per object slot (boxes then ramps) position, cos/sin yaw,
velocities, size, locked-by-hiders, locked-by-seekers, existence, then the preparation and
time fractions.

Rewards: zero during the preparation phase; afterwards hiders get +1 when no hider is seen by
any seeker, else -1, seekers the opposite (``envs/hide_and_seek.py: HideAndSeekRewardWrapper``,
``joint_zero_sum``). An agent outside the play area gets ``-out_of_bounds_penalty`` instead,
and with ``objects_out_penalty`` every agent gets it while any box or ramp is outside
(``wrappers/limit_mvmnt.py``). Episodes end by truncation at ``horizon`` steps, or early (also
truncated) when the simulation diverges, with ``infos[agent]["physics_error"] = True``.
At the last step ``infos[agent]["episode_stats"]`` holds, as ``TrackStatWrapper`` records
them, the largest distance of a box (ramp) from its start and the number locked at the end of
the preparation phase (``max_box_move_prep``, ``num_box_lock_prep``, ``max_ramp_move_prep``,
``num_ramp_lock_prep``) and at the end of the episode (``max_box_move``, ``num_box_lock``,
``max_ramp_move``, ``num_ramp_lock``), and ``hidden_fraction`` (steps after preparation
with no hider seen).

Replay frames (``envs.scene.Replayable``), with A agent slots, B box slots, R ramp slots:

- frame: ``qpos [nq]`` (4 joints per entity: x, y, z, yaw; agents, boxes, ramps),
  ``agent_pos [A, 3]``, ``agent_yaw [A]``, ``box_pos [B, 3]``, ``box_yaw [B]``,
  ``box_lock_team [B]`` (-1 unlocked, 0 hiders, 1 seekers), ``ramp_pos [R, 3]``,
  ``ramp_yaw [R]``, ``ramp_lock_team [R]``, ``grabbed [A]`` (index into boxes then ramps,
  -1 none), ``seen [A, A]`` (agent i sees agent j), ``hidden`` (scalar, 1 when no hider is
  seen by any seeker), ``prep`` (scalar, 1 in the preparation phase), ``step`` (scalar, the
  episode's step number: 0 after reset), ``lidar [A, L]``.
- static: ``arena_version`` (scalar, ``ARENA_VERSION``; versions before 2 are refused),
  ``team [A]`` (0 hiders, 1 seekers), ``agent_exists [A]``, ``box_exists [B]``,
  ``ramp_exists [R]``, ``box_size [B, 3]`` (full extents), ``ramp_size [R, 3]``,
  ``walls [W, 4]`` (x0, y0, x1, y1: each wall's centre line from end to end), ``wall_height [W]``,
  ``floor_size`` (scalar), ``play_area`` (scalar), ``vision_cone`` (degrees), ``lidar_range``, and what
  ``replays.statistics`` measures: ``statistics_objects`` (``["box", "ramp"]``) and, from the
  hide-and-seek game, ``statistics_phase`` (``"prep"``), ``statistics_flags``
  (``["hidden"]``), ``statistics_teams`` (``["hider", "seeker"]``).

``hidden``, ``prep`` and the ``statistics_*`` entries but ``statistics_objects`` come from the
hide-and-seek game; a transfer task's replays carry neither (its game adds what it declares).
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import operator
from collections.abc import Callable
from typing import Any

import mujoco
import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from envs.scene import Scene, constructor_settings

from . import world as W
from .game import Game, HideAndSeekGame
from .layouts import Layout, PlacementError, place, spot_in_metres
from .mechanics import NO_TEAM, ObjectRules
from .observations import AGENT_FEATURES, OBJECT_FEATURES, ObservationAssembler
from .presets import RENDER_CAMERAS, ArenaConfig, make_config
from .rendering import ArenaRenderer, ArenaView, draw_scene
from .scenarios import SpawnRequest
from .sensing import Senses

MOVE_BINS = 11
#: Version of the arena's replay data: 2 since walls run between cell centres (``walls`` hold
#: each wall's end points, where version 1 held grid lines the wall overran by half a thickness)
#: and the rules follow the original game; 3 since static data declares its statistics
#: (``statistics_*``) and the transfer tasks' frames carry no ``hidden`` and ``prep``. Version 2
#: replays still restore; version 1 ones are refused.
ARENA_VERSION = 3
READABLE_ARENA_VERSIONS = (2, 3)
#: field order of flat observations (task fields follow, sorted by name)
FLAT_ORDER = ("self", "agents", "agents_mask", "agents_exist", "boxes", "boxes_mask", "boxes_exist", "ramps",
              "ramps_mask", "ramps_exist", "lidar")
PLACEMENT_ATTEMPTS = 50
_PHYSICS_WARNINGS = (
    int(mujoco.mjtWarning.mjWARN_BADQACC),
    int(mujoco.mjtWarning.mjWARN_BADQVEL),
    int(mujoco.mjtWarning.mjWARN_BADQPOS),
)
_POSITION_LIMIT = 1e4


def _within(values: np.ndarray, low: float, high: float) -> bool:
    """Whether every value lies in [low, high] (NaN never does)."""
    return bool(((values >= low) & (values <= high)).all())


class HideAndSeekEnv(ParallelEnv):
    """Hiders against seekers in a MuJoCo world of rooms, boxes and ramps (see module doc)."""

    metadata = {
        "name": "hide_and_seek_v0",
        "render_modes": ["rgb_array", "human"],
        "render_fps": 13,
        "is_parallelizable": True,
    }

    def __init__(self, preset: str | None = None, game: Callable[[ArenaConfig], Game] = HideAndSeekGame,
                 **kwargs: Any) -> None:
        """The arena of ``preset`` (and keyword overrides of :class:`ArenaConfig`) scored by ``game``,
        built from the configuration: hide and seek, or a transfer task (``envs.hide_and_seek.tasks``)."""
        self.config: ArenaConfig = make_config(preset, **kwargs)
        c = self.config
        self.game: Game = game(c)
        self.scenario = self.game.scenario()
        self.metadata = {**self.metadata, "name": self.game.name}
        if c.n_seekers[0] < self.game.min_seekers:
            raise ValueError(f"n_seekers must lie in [{self.game.min_seekers}, 6], got {c.n_seekers!r}")
        self.render_mode = c.render_mode
        self.world_key = self._world_key()
        self.model = W.private_model(self.world_key)
        self.data = mujoco.MjData(self.model)
        self._warning_stats = [self.data.warning[i] for i in _PHYSICS_WARNINGS]
        self.index = W.index_world(self.model, self.world_key)
        self.n_agent_slots = c.max_agents
        self.n_box_slots = c.max_boxes
        self.n_ramp_slots = c.max_ramps
        self.n_objects = c.max_boxes + c.max_ramps
        self.n_entities = self.n_agent_slots + self.n_objects
        team_names = self.game.team_names
        self.possible_agents = [f"{team_names[0]}_{i}" for i in range(c.max_hiders)] + [
            f"{team_names[1]}_{i}" for i in range(c.max_seekers)
        ]
        self.agent_slot = {name: i for i, name in enumerate(self.possible_agents)}
        self.team = np.array([0] * c.max_hiders + [1] * c.max_seekers, dtype=np.int64)
        self.is_hider = self.team == 0
        self._seeker_slots = np.flatnonzero(~self.is_hider)
        others = np.array([[j for j in range(self.n_agent_slots) if j != i] for i in range(self.n_agent_slots)],
                          dtype=np.int64).reshape(self.n_agent_slots, self.n_agent_slots - 1)
        self._others = others
        self._agent_column = np.arange(self.n_agent_slots)[:, None]
        self._team_column = self.team[:, None]
        self._dict_observation_space = self._make_observation_space()
        self._observation_space: spaces.Space = self._dict_observation_space
        if c.flat_observations:
            parts = [self._dict_observation_space[key] for key in self.observation_keys()]
            self._observation_space = spaces.Box(
                np.concatenate([np.broadcast_to(p.low, p.shape).ravel() for p in parts]).astype(np.float32),
                np.concatenate([np.broadcast_to(p.high, p.shape).ravel() for p in parts]).astype(np.float32),
                dtype=np.float32)
        if c.flat_actions and c.continuous_actions:
            limit = W.CONTROL_LIMIT
            self._action_space: spaces.Space = spaces.Box(
                np.array([-limit] * 3 + [0.0, 0.0], dtype=np.float32),
                np.array([limit] * 3 + [1.0, 1.0], dtype=np.float32), dtype=np.float32)
        elif c.flat_actions:
            self._action_space = spaces.MultiDiscrete([MOVE_BINS, MOVE_BINS, MOVE_BINS, 2, 2])
        else:
            movement = (spaces.Box(-W.CONTROL_LIMIT, W.CONTROL_LIMIT, shape=(3,), dtype=np.float32)
                        if c.continuous_actions else spaces.MultiDiscrete([MOVE_BINS] * 3))
            self._action_space = spaces.Dict({"movement": movement, "grab": spaces.Discrete(2),
                                              "lock": spaces.Discrete(2)})
        state_dim = self.n_agent_slots * (AGENT_FEATURES + 1) + self.n_objects * OBJECT_FEATURES + 2
        self.state_space = spaces.Box(-np.inf, np.inf, shape=(state_dim,), dtype=np.float32)
        self.observation_spaces = {a: self._observation_space for a in self.possible_agents}
        # one copy per agent, so that seeding gives each agent its own stream of samples
        self.action_spaces = {a: copy.deepcopy(self._action_space) for a in self.possible_agents}
        dof = np.arange(4 * self.n_entities).reshape(self.n_entities, 4)
        self._object_dof = dof[self.n_agent_slots:]
        target_body = np.concatenate([self.index.agent_body, self.index.object_body])
        sight_range = float(np.hypot(c.play_area, c.play_area) + c.floor_size)
        self.senses = Senses(self.model, self.data, self.index.agent_body, target_body, self.index.geom_body,
                             c.lidar_rays, c.lidar_range, c.vision_cone_degrees, sight_range)
        self.object_half = np.zeros((self.n_objects, 3))
        self.object_half[self.n_box_slots:] = W.RAMP_HALF
        lockable = np.ones(self.n_objects, dtype=bool)
        lockable[self.n_box_slots:] = c.lock_ramps
        pose = self.data.qpos.reshape(self.n_entities, 4)
        self.rules = ObjectRules(self.model, self.data, self.index.grab_eq, self.index.lock_eq, self._object_dof,
                                 pose[:self.n_agent_slots], pose[self.n_agent_slots:], self.object_half,
                                 lockable, self.team, c.grab_radius, c.lock_radius)
        self._rng = np.random.default_rng()
        self._renderer: ArenaRenderer | None = None
        self.agents: list[str] = []
        self._episode_over = True
        self._layout: Layout | None = None
        self._restored_layout: bytes | None = None  # digest of the walls and box sizes a restore wrote
        self._init_episode_arrays()
        self.game.attach(self)

    def _world_key(self) -> W.WorldKey:
        c = self.config
        key = W.WorldKey(c.max_hiders, c.max_seekers, c.max_boxes, c.max_ramps, self.scenario.wall_slots(c),
                         float(c.timestep), float(c.floor_size), float(c.play_area))
        return self.game.world_key(key)

    # ----------------------------------------------------------------------------------------
    # spaces
    def _make_observation_space(self) -> spaces.Dict:
        c = self.config
        n_others = self.n_agent_slots - 1

        def features(rows: int, width: int) -> spaces.Box:
            return spaces.Box(-np.inf, np.inf, shape=(rows, width), dtype=np.float32)

        def mask(rows: int) -> spaces.Box:
            return spaces.Box(0.0, 1.0, shape=(rows,), dtype=np.float32)

        return spaces.Dict({
            **self.game.observation_spaces(),
            "self": spaces.Box(-np.inf, np.inf, shape=(AGENT_FEATURES,), dtype=np.float32),
            "agents": features(n_others, AGENT_FEATURES),
            "agents_mask": mask(n_others),
            "agents_exist": mask(n_others),
            "boxes": features(c.max_boxes, OBJECT_FEATURES),
            "boxes_mask": mask(c.max_boxes),
            "boxes_exist": mask(c.max_boxes),
            "ramps": features(c.max_ramps, OBJECT_FEATURES),
            "ramps_mask": mask(c.max_ramps),
            "ramps_exist": mask(c.max_ramps),
            "lidar": spaces.Box(0.0, c.lidar_range, shape=(c.lidar_rays,), dtype=np.float32),
        })

    def observation_keys(self) -> list[str]:
        """Order of the fields in a flat observation (``flat_observations=True``)."""
        return [key for key in FLAT_ORDER] + sorted(self.game.observation_spaces())

    def observation_space(self, agent: str) -> spaces.Space:
        """The Dict observation space (the same for every agent)."""
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        """The action space (the same for every agent)."""
        return self.action_spaces[agent]

    # ----------------------------------------------------------------------------------------
    # episode setup
    def _init_episode_arrays(self) -> None:
        """Buffers every step writes in place, allocated once per environment."""
        A, O = self.n_agent_slots, self.n_objects
        self.agent_present = np.zeros(A, dtype=bool)
        self.object_present = np.zeros(O, dtype=bool)
        # the senses' result buffers, rewritten in place every step
        self.in_sight = self.senses.in_sight
        self._visible_objects = self.in_sight[:, A:]  # what the agents see of the objects, as they act
        self.lidar = self.senses.lidar
        self.step_count = 0
        self._qpos = self.data.qpos  # views of the simulation state (MjData never reallocates)
        self._qvel = self.data.qvel
        self._pose = self._qpos.reshape(self.n_entities, 4)
        self._velocity = self._qvel.reshape(self.n_entities, 4)
        self.agent_pose = self._pose[:A]  # x, y, z, yaw of every slot: views of qpos
        self.object_pose = self._pose[A:]
        self._ctrl = self.data.ctrl.reshape(A, 3)
        sites = self.index.entity_site
        # where rays aim: the entities' aim sites, a view of MuJoCo's site positions
        self._targets = self.data.site_xpos[sites[0]:sites[0] + sites.size] if sites.size else np.zeros((0, 3))
        self._control_levels = (np.arange(MOVE_BINS) - MOVE_BINS // 2) * (W.CONTROL_LIMIT / (MOVE_BINS // 2))
        self._all_slots = list(range(A))
        self._seeker_list = self._seeker_slots.tolist()
        self._object_start = np.zeros((O, 3))  # where the objects stood when the episode began
        self._heading = np.zeros(A)
        self._agent_yaw = self._pose[:A, 3]
        self._object_yaw = self._pose[A:, 3]
        self._lock_flags_stale = True
        self._init_observation_layout()

    def _init_observation_layout(self) -> None:
        """Where each field sits in a flat observation row (``observation_keys`` order)."""
        space = self._dict_observation_space
        self._field_slices: list[tuple[str, slice, tuple[int, ...]]] = []
        start = 0
        for key in self.observation_keys():
            shape = space[key].shape
            size = int(np.prod(shape))
            self._field_slices.append((key, slice(start, start + size), shape))
            start += size
        self._field_keys = [key for key, _, _ in self._field_slices]
        extras = {key: int(np.prod(box.shape)) for key, box in self.game.observation_spaces().items()}
        self._assembler = ObservationAssembler(self._others, self.n_box_slots, self.n_ramp_slots,
                                               self.config.lidar_rays, extras, self.observation_keys())
        if self._assembler.width != start:
            raise RuntimeError(f"observation rows hold {self._assembler.width} numbers, the space {start}")

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Sample counts, layout and placements; returns observations and empty infos."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
            for i, agent in enumerate(self.possible_agents):
                self.action_spaces[agent].seed(int(seed) + i)
        c = self.config
        rng = self._rng
        n_hiders = int(rng.integers(c.n_hiders[0], c.n_hiders[1] + 1))
        n_seekers = int(rng.integers(c.n_seekers[0], c.n_seekers[1] + 1))
        n_boxes = int(rng.integers(c.n_boxes[0], c.n_boxes[1] + 1))
        # modules/objects.py: Boxes draws the elongated count up to the box count, then how
        # many of them lie along x (the rest lie along y)
        n_long = int(rng.integers(c.n_elongated_boxes[0], min(c.n_elongated_boxes[1], n_boxes) + 1))
        n_along_x = int(rng.integers(n_long + 1))
        n_ramps = int(rng.integers(c.n_ramps[0], c.n_ramps[1] + 1))
        self.agent_present[:] = False
        self.agent_present[:n_hiders] = True
        self.agent_present[c.max_hiders:c.max_hiders + n_seekers] = True
        self.object_present[:] = False
        self.object_present[:n_boxes] = True
        self.object_present[self.n_box_slots:self.n_box_slots + n_ramps] = True
        box_half = np.tile(W.CUBE_HALF, (self.n_box_slots, 1))
        box_half[:n_along_x] = W.ELONGATED_HALF
        box_half[n_along_x:n_long] = W.ELONGATED_HALF[[1, 0, 2]]
        poses = self._sample_poses(box_half)
        self._apply_episode(poses, box_half)
        self._set_presence_cache()
        self.step_count = 0
        self._episode_over = False
        self._physics_error = False
        self._sense()
        self._object_start[:] = self.object_pose[:, :3]
        self._last_good = (self.data.qpos.copy(), self.data.qvel.copy())
        self.game.reset()
        observations = self._observe()
        if self.render_mode == "human":
            self.render()
        return observations, {a: {} for a in self.agents}

    def _sample_poses(self, box_half: np.ndarray) -> np.ndarray:
        """x, y, z, yaw of every entity slot, placed as the original places them.

        Agents first (hiders, then seekers), then boxes, then ramps, each on a free block of
        the placement grid in the spawn region its scenario gives; absent slots are parked
        below the floor. A layout where something finds no room is drawn again, as the
        original rebuilds the world when a placement fails (``envs/base.py``).
        """
        c = self.config
        rng = self._rng
        cell = c.cell_size
        agent_extent = (2 * W.AGENT_RADIUS, 2 * W.AGENT_RADIUS)
        ramp_extent = (2 * W.RAMP_HALF, 2 * W.RAMP_HALF)
        for _ in range(PLACEMENT_ATTEMPTS):
            try:
                layout = self.scenario.layout(c, rng)
                occupied = layout.blocked.copy()
                self.game.place_before_entities(occupied, rng)
                poses = np.zeros((self.n_entities, 4))
                poses[:, 0] = -100.0 - 2.0 * np.arange(self.n_entities)
                poses[:, 1] = -100.0
                poses[:, 2] = W.PARK_DEPTH
                anchors: dict[int, tuple[int, int]] = {}
                for slot in np.flatnonzero(self.agent_present).tolist():
                    size = (c.footprint_cells(agent_extent[0]),) * 2
                    first = 0 if self.is_hider[slot] else c.max_hiders
                    request = SpawnRequest("agent", slot, size, bool(self.is_hider[slot]), first, anchors)
                    anchors[slot] = place(occupied, self.scenario.spawn_region(c, layout, request), size, rng)
                    x, y = spot_in_metres(anchors[slot], size, agent_extent, cell, rng)
                    poses[slot] = (x, y, W.AGENT_RADIUS, rng.uniform(-np.pi, np.pi))
                for b in np.flatnonzero(self.object_present[:self.n_box_slots]).tolist():
                    extent = (2 * box_half[b, 0], 2 * box_half[b, 1])
                    size = (c.footprint_cells(extent[0]), c.footprint_cells(extent[1]))
                    region = self.scenario.spawn_region(c, layout, SpawnRequest("box", b, size))
                    at = place(occupied, region, size, rng)
                    x, y = spot_in_metres(at, size, extent, cell, rng)
                    poses[self.n_agent_slots + b] = (x, y, W.BOX_HALF, 0.0)
                for r in np.flatnonzero(self.object_present[self.n_box_slots:]).tolist():
                    size = (c.footprint_cells(ramp_extent[0]),) * 2
                    region = self.scenario.spawn_region(c, layout, SpawnRequest("ramp", r, size))
                    at = place(occupied, region, size, rng)
                    x, y = spot_in_metres(at, size, ramp_extent, cell, rng)
                    poses[self.n_agent_slots + self.n_box_slots + r] = (x, y, W.RAMP_HALF, rng.integers(4) * np.pi / 2)
                self.game.place_after_entities(occupied, rng)
            except PlacementError:
                continue
            self._layout = layout
            return poses
        raise RuntimeError(
            f"could not place all entities in {PLACEMENT_ATTEMPTS} layouts; lower n_boxes, n_ramps or the agent counts"
        )

    def _apply_episode(self, poses: np.ndarray, box_half: np.ndarray) -> None:
        """Write this episode's layout, sizes and presence into the private model and data."""
        m, d, idx = self.model, self.data, self.index
        self._restored_layout = None  # the model no longer holds a restored frame's layout
        W.set_walls(m, idx.wall_geom, self._layout.walls, self.scenario.wall_friction)
        if self.n_box_slots:
            W.set_box_geometry(m, idx.box_geom, box_half)
            W.set_box_inertia(m, idx.box_body, box_half)
        self.object_half[:self.n_box_slots] = box_half
        self.rules.set_sizes()
        self._set_agents_present()
        W.set_present(m, idx.box_geom, self.object_present[:self.n_box_slots], W.GROUP_OBJECT)
        W.set_present(m, idx.ramp_geom, self.object_present[self.n_box_slots:], W.GROUP_OBJECT)
        self._reset_colors()
        mujoco.mj_resetData(m, d)
        self.rules.reset()
        d.qpos[:] = poses.reshape(-1)
        present = np.concatenate([self.agent_present, self.object_present])
        parked = np.flatnonzero(~present)
        self._parked_qpos = (parked[:, None] * 4 + np.arange(4)).reshape(-1)
        self._parked_values = d.qpos[self._parked_qpos].copy()
        mujoco.mj_forward(m, d)
        self._warning_count = self._count_warnings()

    def arrange(self, agents: dict[str, tuple[float, float, float]] | None = None,
                boxes: dict[int, tuple[float, float, float]] | None = None,
                ramps: dict[int, tuple[float, float, float]] | None = None,
                walls: np.ndarray | None = None) -> dict[str, dict[str, np.ndarray]]:
        """Set up a scripted scene after ``reset``: move entities to ``(x, y, yaw)`` poses.

        ``agents`` maps live agent names, ``boxes``/``ramps`` map present slot indices; entities
        not named keep their poses. ``walls`` (``[W, 5]``: x0, y0, x1, y1, height) replaces the
        layout. Velocities are zeroed, grabs and locks released; returns fresh observations.
        """
        if self._episode_over:
            raise RuntimeError("arrange() needs a running episode; call reset() first")
        pose = self._pose
        A, B = self.n_agent_slots, self.n_box_slots
        for name, (x, y, yaw) in (agents or {}).items():
            if name not in self._live_slot_of:
                raise ValueError(f"agents: {name!r} is not a live agent; live agents: {', '.join(self.agents)}")
            pose[self._live_slot_of[name]] = (x, y, W.AGENT_RADIUS, yaw)
        for offset, count, entries, height, kind in ((A, B, boxes, W.BOX_HALF, "boxes"),
                                                      (A + B, self.n_ramp_slots, ramps, W.RAMP_HALF, "ramps")):
            for slot, (x, y, yaw) in (entries or {}).items():
                if not (0 <= slot < count) or not self._present_all[offset + slot]:
                    raise ValueError(f"{kind}: slot {slot} is not present this episode")
                pose[offset + slot] = (x, y, height, yaw)
        if walls is not None:
            walls = np.asarray(walls, dtype=np.float64).reshape(-1, 5)
            self._layout = Layout(walls, self._layout.blocked, self._layout.outer_walls, self._layout.rooms)
            W.set_walls(self.model, self.index.wall_geom, walls, self.scenario.wall_friction)
            self._restored_layout = None
        self.data.qvel[:] = 0.0
        self.rules.reset()
        self._color_locks()
        mujoco.mj_forward(self.model, self.data)
        self._object_start[:] = self.object_pose[:, :3]
        self._last_good = (self.data.qpos.copy(), self.data.qvel.copy())
        self._sense()
        self.game.restart()
        return self._observe()

    def _set_presence_cache(self) -> None:
        """Arrays derived from this episode's presence, computed once per episode."""
        A = self.n_agent_slots
        self._present_all = np.concatenate([self.agent_present, self.object_present])
        valid = self.agent_present[:, None] & self._present_all[None, :] & ~self.senses.self_target
        self.senses.set_observers(self.agent_present, valid)
        self._live_slots = [(a, self.agent_slot[a]) for a in self.possible_agents
                            if self.agent_present[self.agent_slot[a]]]
        self._live_slot_of = dict(self._live_slots)
        self._live_index = np.array([i for _, i in self._live_slots], dtype=np.int64)
        self._all_live = bool(self.agent_present.all())
        self._absent_agents = ~self.agent_present
        self._absent_objects = ~self.object_present
        self._some_agents_absent = bool(self._absent_agents.any())
        self._some_objects_absent = bool(self._absent_objects.any())
        # flat qpos indices of the x and y of live agents and present objects (boundary checks)
        bounded = self._live_index
        if self.config.objects_out_penalty:
            bounded = np.concatenate([bounded, np.flatnonzero(self.object_present) + A])
        self.bounded_xy = (bounded[:, None] * 4 + np.arange(2)).ravel()  # flat qpos indices of x and y
        self._lock_flags_stale = True
        # observation entries fixed for the episode
        assembler = self._assembler
        assembler.agent_exist[:] = self.agent_present
        assembler.object_exist[:] = self.object_present
        assembler.is_hider[:] = self.is_hider
        assembler.size[:] = 2.0 * self.object_half
        assembler.select_rows(self._live_index)
        n = self._live_index.size  # fields of two or more dimensions are reshaped from the block's columns
        self._field_views = [(where, (n,) + shape if len(shape) > 1 else None) for _, where, shape in self._field_slices]
        self.agents = [a for a, _ in self._live_slots]

    def _set_agents_present(self) -> None:
        """Contacts and ray visibility of the agents' spheres and arms by presence this episode."""
        idx = self.index
        W.set_present(self.model, idx.agent_geom, self.agent_present, W.GROUP_AGENT)
        arms = idx.agent_arm_geom
        W.set_present(self.model, arms.ravel(), np.repeat(self.agent_present, arms.shape[1]), W.GROUP_AGENT)

    def _reset_colors(self) -> None:
        m, idx = self.model, self.index
        m.geom_rgba[idx.box_geom] = W.BOX_RGBA
        m.geom_rgba[idx.ramp_geom] = W.RAMP_RGBA

    def _count_warnings(self) -> int:
        bad_acceleration, bad_velocity, bad_position = self._warning_stats
        return bad_acceleration.number + bad_velocity.number + bad_position.number

    # ----------------------------------------------------------------------------------------
    # stepping
    def _decode_actions(self, actions: dict, in_prep: bool) -> tuple[np.ndarray, list[bool], list[bool]]:
        """Controls ``[A, 3]`` (world-frame x force, y force, torque in [-0.9, 0.9]) and the grab
        and lock buttons (lists of ``A`` bools) of every agent slot; silent agents, and seekers
        during the preparation phase, stand still.

        The common case (every action well formed) costs a few array operations for all agents
        together; only when something is wrong are the actions checked one by one, so that the
        error names the agent.
        """
        A = self.n_agent_slots
        if not actions:
            return np.zeros((A, 3)), [False] * A, [False] * A
        flat, continuous = self.config.flat_actions, self.config.continuous_actions
        try:
            slots = self._live_slot_of
            rows = [slots[agent] for agent in actions]
            values = list(actions.values())
            if flat:
                table = np.asarray(values)
                well_formed = table.shape == (len(rows), 5) and table.dtype.kind in ("iuf" if continuous else "iu")
                movement = table[:, :3]
                presses = table[:, 3:].tolist()
                if continuous:  # a button is pressed above one half
                    well_formed = well_formed and all(0.0 <= v <= 1.0 for press in presses for v in press)
                    presses = [(grab > 0.5, lock > 0.5) for grab, lock in presses]
            else:
                movement = np.asarray([action["movement"] for action in values])
                index = operator.index
                presses = [(index(action["grab"]), index(action["lock"])) for action in values]
                well_formed = movement.shape == (len(rows), 3) and movement.dtype.kind in ("iuf" if continuous else "iu")
            if not (flat and continuous):  # integer buttons, both 0 or 1
                well_formed = well_formed and not any((grab | lock) & -2 for grab, lock in presses)
            if well_formed:
                moves = movement.ravel().tolist()
                if continuous:  # NaN fails the comparison too
                    well_formed = all(-W.CONTROL_LIMIT <= v <= W.CONTROL_LIMIT for v in moves)
                else:
                    well_formed = min(moves) >= 0 and max(moves) < MOVE_BINS
        except (KeyError, TypeError, IndexError, ValueError):
            well_formed = False
        if not well_formed:
            self._raise_for_bad_action(actions)
        controls = np.array(movement, dtype=np.float64) if continuous else self._control_levels.take(movement)
        grab = [bool(press[0]) for press in presses]
        lock = [bool(press[1]) for press in presses]
        if rows != self._all_slots:  # some agents are silent or absent
            controls, live_controls = np.zeros((A, 3)), controls
            controls[rows] = live_controls
            live_grab, live_lock = grab, lock
            grab, lock = [False] * A, [False] * A
            for row, pressed_grab, pressed_lock in zip(rows, live_grab, live_lock):
                grab[row], lock[row] = pressed_grab, pressed_lock
        if in_prep:
            controls[self._seeker_slots] = 0.0
            for seeker in self._seeker_list:
                grab[seeker] = lock[seeker] = False
        return controls, grab, lock

    def _raise_for_bad_action(self, actions: dict) -> None:
        """Find the first malformed action and raise a ValueError naming its agent."""
        continuous, flat = self.config.continuous_actions, self.config.flat_actions
        kinds, kind = ("iuf", "numbers") if continuous else ("iu", "integers")
        if continuous:
            low, high = -W.CONTROL_LIMIT, W.CONTROL_LIMIT
            rule = f"movement must lie in [{low}, {high}]"
        else:
            low, high, rule = 0, MOVE_BINS - 1, f"movement bins must lie in [0, {MOVE_BINS - 1}]"
        for agent, action in actions.items():
            if agent not in self._live_slot_of:
                raise ValueError(
                    f"action for {agent!r}, which is not a live agent; live agents: {', '.join(self.agents)}"
                )
            try:
                if flat:
                    values = np.asarray(action)
                    if values.shape != (5,) or values.dtype.kind not in kinds:
                        raise ValueError(f"expected 5 {kind}, got {values!r}")
                    movement, buttons = values[:3], values[3:]
                else:
                    movement = np.asarray(action["movement"])
                    if movement.shape != (3,) or movement.dtype.kind not in kinds:
                        raise ValueError(f"movement must be 3 {kind}, got {movement!r}")
                    buttons = np.array([operator.index(action["grab"]), operator.index(action["lock"])])
            except (KeyError, TypeError, IndexError, ValueError) as error:
                raise ValueError(
                    f"action of {agent!r} does not fit the action space {self._action_space}: {error}"
                ) from None
            if not (_within(movement, low, high) and _within(buttons, 0, 1)
                    and (continuous and flat or not (buttons % 1).any())):
                raise ValueError(
                    f"action of {agent!r} is out of the action space {self._action_space}: {rule}, grab and lock in "
                    f"{{0, 1}}; got {action!r}"
                )
        raise ValueError(f"actions do not fit the action space {self._action_space}: {actions!r}")

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        """Advance the world by one environment step (``substeps`` physics steps)."""
        if self._episode_over:
            raise RuntimeError("the episode has ended (or never started); call reset() before step()")
        c = self.config
        in_prep = self.step_count < self.game.prep_steps
        controls, grab, lock = self._decode_actions(actions, in_prep)
        self._ctrl[:] = controls
        rules = self.rules
        rules.apply(grab, lock, self._visible_objects, self._rng)
        if rules.changed:
            self._color_locks()
            self._lock_flags_stale = True
        m, d = self.model, self.data
        mujoco.mj_step(m, d, nstep=c.substeps)
        qpos, qvel = self._qpos, self._qvel
        if self._parked_qpos.size:
            qpos[self._parked_qpos] = self._parked_values
            qvel[self._parked_qpos] = 0.0
        physics_error = self._diverged()
        self._physics_error = physics_error
        if physics_error:
            qpos[:], qvel[:] = self._last_good
            rules.reset()
            self._lock_flags_stale = True
            self._color_locks()
            d.ctrl[:] = 0.0
            mujoco.mj_forward(m, d)
            self._warning_count = self._count_warnings()
        else:
            mujoco.mj_kinematics(m, d)
            np.copyto(self._last_good[0], qpos)
            np.copyto(self._last_good[1], qvel)
        self.step_count += 1
        self._sense()
        reward, task_done = self.game.rewards(in_prep)
        rewards = dict(zip(self.agents, reward.tolist() if self._all_live else reward[self._live_index].tolist()))
        observations = self._observe()
        truncated = physics_error or (self.step_count >= c.horizon and not task_done)
        agents = self.agents
        truncations = dict.fromkeys(agents, truncated)
        terminations = dict.fromkeys(agents, task_done)
        infos: dict[str, dict] = {a: {} for a in agents}
        if physics_error:
            for info in infos.values():
                info["physics_error"] = True
        if truncated or task_done:
            stats = self.game.episode_stats()
            for info in infos.values():
                info["episode_stats"] = dict(stats)
            self._episode_over = True
            self.agents = []
        if self.render_mode == "human":
            self.render()
        return observations, rewards, terminations, truncations, infos

    def _diverged(self) -> bool:
        if self._count_warnings() != self._warning_count:
            return True
        qpos, qvel = self._qpos, self._qvel
        return not np.dot(qpos, qpos) + np.dot(qvel, qvel) < _POSITION_LIMIT**2

    def _sense(self) -> None:
        self.senses.sense(self._targets)
        self.game.sensed()

    def object_statistics(self, suffix: str = "") -> dict[str, float]:
        """The arena's behaviour statistics now: how far the objects are from their start, and how
        many are locked, with ``suffix`` appended to each key.

        As ``envs/hide_and_seek.py: TrackStatWrapper``: the largest distance of any box (ramp)
        from where it began, and the number locked; games take them at the instants they name
        (hide and seek: the end of preparation, "_prep", and of the episode, ""), not the
        largest over time.
        """
        B = self.n_box_slots
        moved = np.linalg.norm(self.object_pose[:, :3] - self._object_start, axis=1)  # parked objects stay put
        locked = self.rules.lock_team != NO_TEAM
        return {
            "max_box_move" + suffix: float(moved[:B].max()) if B else 0.0,
            "num_box_lock" + suffix: float(locked[:B].sum()),
            "max_ramp_move" + suffix: float(moved[B:].max()) if self.n_ramp_slots else 0.0,
            "num_ramp_lock" + suffix: float(locked[B:].sum()),
        }

    def episode_stats(self) -> dict[str, float]:
        """Statistics of the episode so far, as the game reports them at its last step."""
        return self.game.episode_stats()

    def _color_locks(self) -> None:
        idx, m = self.index, self.model
        lock_team = self.rules.lock_team
        geoms = np.concatenate([idx.box_geom, idx.ramp_geom])
        base = np.concatenate([np.tile(W.BOX_RGBA, (self.n_box_slots, 1)),
                               np.tile(W.RAMP_RGBA, (self.n_ramp_slots, 1))])
        glow = np.asarray(W.LOCK_RGBA)[np.maximum(lock_team, 0)]
        m.geom_rgba[geoms] = np.where((lock_team >= 0)[:, None], glow, base)

    # ----------------------------------------------------------------------------------------
    # observations and state
    def _observe(self) -> dict:
        assembler = self._assembler
        assembler.pose[:] = self._qpos
        assembler.velocity[:] = self._qvel
        heading = self._heading  # wrapped to [-pi, pi)
        np.add(self._agent_yaw, np.pi, out=heading)
        np.remainder(heading, 2.0 * np.pi, out=heading)
        np.subtract(heading, np.pi, out=assembler.heading)
        prep_steps = self.game.prep_steps
        if self.step_count <= prep_steps:  # the preparation fraction, constant (1) afterwards
            assembler.prep[0] = self.step_count / prep_steps if prep_steps else 1.0
        if self.n_objects:
            np.cos(self._object_yaw, out=assembler.cos)
            np.sin(self._object_yaw, out=assembler.sin)
            if self._lock_flags_stale or self.rules.changed:
                flags = assembler.lock_flags
                flags[:, :, 0] = self.rules.locker == self._agent_column
                flags[:, :, 1] = self.rules.lock_team == self._team_column
                flags[:, :, 2] = self.rules.lock_team != NO_TEAM
                assembler.team_locks[:, 0] = self.rules.lock_team == 0
                assembler.team_locks[:, 1] = self.rules.lock_team == 1
                self._lock_flags_stale = False
        assembler.time[0] = self.step_count / self.config.horizon
        assembler.seen[:] = self.in_sight
        assembler.lidar[:] = self.lidar
        for key, value in self.game.observations().items():
            assembler.extras[key][:] = value.ravel()
        block = assembler.gather()
        if self._physics_error:
            np.nan_to_num(block, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        agents = self.agents
        if self.config.flat_observations:
            return dict(zip(agents, block))
        fields = [block[:, where] if shape is None else block[:, where].reshape(shape)
                  for where, shape in self._field_views]
        keys = self._field_keys
        return {agent: dict(zip(keys, row)) for agent, row in zip(agents, zip(*fields))}

    def state(self) -> np.ndarray:
        """The whole world, unmasked, as one flat float32 vector (see the module docstring): the
        observations' features of every slot, as the last observation read them."""
        return np.nan_to_num(self._assembler.state(), copy=False, nan=0.0, posinf=0.0, neginf=0.0)

    # ----------------------------------------------------------------------------------------
    # replays
    def replay_static(self) -> dict[str, np.ndarray]:
        """Episode constants: teams, presence, sizes, the wall segments and the statistics declared."""
        walls = self._layout.walls if self._layout is not None else np.zeros((0, 5))
        B = self.n_box_slots
        return {
            "arena_version": np.array(ARENA_VERSION),
            "team": self.team.copy(),
            "agent_exists": self.agent_present.copy(),
            "box_exists": self.object_present[:B].copy(),
            "ramp_exists": self.object_present[B:].copy(),
            "box_size": 2.0 * self.object_half[:B].copy(),
            "ramp_size": 2.0 * self.object_half[B:].copy(),
            "walls": walls[:, :4].copy(),
            "wall_height": walls[:, 4].copy(),
            "floor_size": np.array(self.config.floor_size),
            "play_area": np.array(self.config.play_area),
            "vision_cone": np.array(self.config.vision_cone_degrees),
            "lidar_range": np.array(self.config.lidar_range),
            # what replays' statistics measure: the objects' groups, frames <group>_pos and _lock_team
            "statistics_objects": np.array(["box", "ramp"]),
            **self.game.replay_static(),
        }

    def replay_settings(self) -> tuple[str, dict[str, Any]]:
        """This environment's id and the constructor arguments it was built with."""
        args, kwargs = self._constructor_arguments
        return self.metadata["name"], constructor_settings(self, args, kwargs)

    def replay_frame(self) -> dict[str, np.ndarray]:
        """This step's poses and events (fixed shapes; see the module docstring)."""
        pose = self._pose
        A, B = self.n_agent_slots, self.n_box_slots
        lock_team = self.rules.lock_team
        return {
            "qpos": self.data.qpos.copy(),
            "agent_pos": pose[:A, :3].copy(),
            "agent_yaw": pose[:A, 3].copy(),
            "box_pos": pose[A:A + B, :3].copy(),
            "box_yaw": pose[A:A + B, 3].copy(),
            "box_lock_team": lock_team[:B].copy(),
            "ramp_pos": pose[A + B:, :3].copy(),
            "ramp_yaw": pose[A + B:, 3].copy(),
            "ramp_lock_team": lock_team[B:].copy(),
            "grabbed": self.rules.grabbed.copy(),
            "seen": self.in_sight[:, :A].copy(),
            "step": np.array(self.step_count),
            "lidar": self.lidar.copy(),
            **self.game.replay_frame(),
        }

    def restore_replay_frame(self, static: dict[str, np.ndarray], frame: dict[str, np.ndarray]) -> None:
        """Put the world into a recorded state for drawing or 3D rendering (not for stepping)."""
        version = int(np.asarray(static["arena_version"])) if "arena_version" in static else 1
        if version not in READABLE_ARENA_VERSIONS:
            raise ValueError(
                f"this episode was recorded by arena version {version} (other walls and rules); this toolkit "
                f"replays arena versions {', '.join(map(str, READABLE_ARENA_VERSIONS))}: record the episode again "
                f"(marl eval --record)"
            )
        B = self.n_box_slots
        walls = np.concatenate([np.asarray(static["walls"], float).reshape(-1, 4),
                                np.asarray(static["wall_height"], float).reshape(-1, 1)], axis=1)
        self._layout = Layout(walls, np.zeros((1, 1), bool), bool(walls.shape[0]))
        self.agent_present[:] = np.asarray(static["agent_exists"], bool)
        self.object_present[:B] = np.asarray(static["box_exists"], bool)
        self.object_present[B:] = np.asarray(static["ramp_exists"], bool)
        box_half = np.asarray(static["box_size"], float).reshape(B, 3) / 2.0
        self.object_half[:B] = box_half
        m, idx = self.model, self.index
        # walls and box sizes (which refresh bounding volumes) are written only when they change:
        # the frames of one episode share them
        layout_key = hashlib.blake2b(walls.tobytes() + box_half.tobytes(), digest_size=16).digest()
        if layout_key != self._restored_layout:
            W.set_walls(m, idx.wall_geom, walls)
            if B:
                W.set_box_geometry(m, idx.box_geom, box_half)
            self._restored_layout = layout_key
        self._set_agents_present()
        W.set_present(m, idx.box_geom, self.object_present[:B], W.GROUP_OBJECT)
        W.set_present(m, idx.ramp_geom, self.object_present[B:], W.GROUP_OBJECT)
        self.data.qpos[:] = frame["qpos"]
        self.data.qvel[:] = 0.0
        self.rules.lock_team[:B] = frame["box_lock_team"]
        self.rules.lock_team[B:] = frame["ramp_lock_team"]
        self.rules.grabbed[:] = frame["grabbed"]
        self.rules.set_sizes()
        self.rules.count()
        A = self.n_agent_slots
        self.in_sight[:] = False
        self.in_sight[:, :A] = frame["seen"]
        if "lidar" in frame:
            self.lidar[:] = np.asarray(frame["lidar"], float)
        self.step_count = self.game.restore_replay_frame(frame)
        self._set_presence_cache()
        self._color_locks()
        mujoco.mj_kinematics(m, self.data)

    def scene(self) -> Scene:
        """The current state as 2D shapes (walls, objects, agents and overlay layers)."""
        return draw_scene(self.view)

    @property
    def layout(self) -> Layout | None:
        """This episode's layout (walls, blocked cells, named rooms); None before the first reset."""
        return self._layout

    @property
    def walls(self) -> np.ndarray:
        """``[W, 5]`` the walls in use (x0, y0, x1, y1 of the centre line, height), read-only."""
        walls = self._layout.walls if self._layout is not None else np.zeros((0, 5))
        view = walls.view()
        view.flags.writeable = False
        return view

    @property
    def view(self) -> ArenaView:
        """A read-only view of the arena now: everything the renderers draw."""
        return ArenaView.of(self)

    # ----------------------------------------------------------------------------------------
    # rendering
    @property
    def render_cameras(self) -> tuple[str, ...]:
        """The cameras ``render()`` can draw from (set ``render_camera`` to choose)."""
        return RENDER_CAMERAS

    @property
    def render_camera(self) -> str:
        """The camera ``render()`` draws from: one of ``render_cameras``."""
        return self.config.render_camera

    @render_camera.setter
    def render_camera(self, camera: str) -> None:
        if camera not in RENDER_CAMERAS:
            close = difflib.get_close_matches(str(camera), RENDER_CAMERAS, n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise ValueError(f"render_camera must be one of {', '.join(RENDER_CAMERAS)}, got {camera!r}.{hint}")
        self.config.render_camera = camera

    def render(self) -> np.ndarray | None:
        """An RGB frame (``rgb_array``) or a window update (``human``); None without a mode."""
        if self.render_mode is None:
            return None
        if self._renderer is None:
            height, width = self.config.render_size
            self._renderer = ArenaRenderer(self.model, height, width, human=self.render_mode == "human")
        frame = self._renderer.render(self, overlays=self.config.render_overlays, camera=self.config.render_camera,
                                      track_agent=self.config.render_track_agent,
                                      max_wall_height=self.config.render_max_wall_height)
        return frame if self.render_mode == "rgb_array" else None

    def close(self) -> None:
        """Release the renderer and any window."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
