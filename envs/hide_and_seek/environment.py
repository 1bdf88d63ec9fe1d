"""The hide-and-seek arena as a PettingZoo ``ParallelEnv``.

The class wires parts with one job each: the arena (``arena.py``: world, physics, sensing,
grab and lock), its scenario (``scenarios.py``: walls and spawn regions), the game that scores
it (``game.py``: hide and seek, or a transfer task of ``tasks.py``, which replaces it), the
actions (``actions.py``) and the observations (``observations.py``). ``env.view`` is the
read-only view renderers draw from.

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

Rewards (the hide-and-seek game, ``game.py``): zero during the preparation phase; afterwards
hiders get +1 when no hider is seen by any seeker, else -1, seekers the opposite
(``envs/hide_and_seek.py: HideAndSeekRewardWrapper``, ``joint_zero_sum``). An agent outside
the play area gets ``-out_of_bounds_penalty`` instead, and with ``objects_out_penalty`` every
agent gets it while any box or ramp is outside (``wrappers/limit_mvmnt.py``). Episodes end by
truncation at ``horizon`` steps, or early (also truncated) when the simulation diverges, with
``infos[agent]["physics_error"] = True``.
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

Saved states: ``save_state()`` returns the running episode as a dict of plain numeric arrays
(the random stream its layout was drawn from, poses, velocities, the solver's warm start,
grabs, locks, step, the game's statistics so far and the random stream ahead), and
``reset(seed=..., options={"state": saved})`` rebuilds that layout and continues from there,
so that the same actions give the same observations, rewards and endings. A state from an
arena of another configuration, or with missing or misshapen arrays, is one ``ValueError``.
Replay frames, by contrast, hold what drawing needs and are not for stepping.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from envs.scene import Scene, constructor_settings

from . import world as W
from .actions import ActionDecoder
from .arena import Arena
from .game import Game, HideAndSeekGame
from .layouts import Layout
from .observations import ArenaObservations
from .presets import RENDER_CAMERAS, ArenaConfig, make_config
from .rendering import ArenaRenderer, ArenaView, draw_scene

#: Version of the arena's replay data: 2 since walls run between cell centres (``walls`` hold
#: each wall's end points, where version 1 held grid lines the wall overran by half a thickness)
#: and the rules follow the original game; 3 since static data declares its statistics
#: (``statistics_*``) and the transfer tasks' frames carry no ``hidden`` and ``prep``. Version 2
#: replays still restore; version 1 ones are refused.
ARENA_VERSION = 3
READABLE_ARENA_VERSIONS = (2, 3)
#: Version of the arrays of :meth:`HideAndSeekEnv.save_state`.
STATE_VERSION = 1
_UINT64_MASK = (1 << 64) - 1


def _encode_generator_state(state: dict[str, Any]) -> np.ndarray:
    """A PCG64 generator's state as six uint64 (128-bit state and increment in halves, the
    cached 32-bit flag and value), so that a saved state is plain arrays."""
    inner = state["state"]
    return np.array(
        [
            inner["state"] >> 64,
            inner["state"] & _UINT64_MASK,
            inner["inc"] >> 64,
            inner["inc"] & _UINT64_MASK,
            state["has_uint32"],
            state["uinteger"],
        ],
        dtype=np.uint64,
    )


def _decode_generator_state(encoded: np.ndarray) -> dict[str, Any]:
    """The PCG64 state :func:`_encode_generator_state` encoded."""
    high, low, inc_high, inc_low, has_uint32, uinteger = (int(v) for v in np.asarray(encoded, dtype=np.uint64))
    return {
        "bit_generator": "PCG64",
        "state": {"state": (high << 64) | low, "inc": (inc_high << 64) | inc_low},
        "has_uint32": has_uint32,
        "uinteger": uinteger,
    }


class HideAndSeekEnv(ParallelEnv):
    """Hiders against seekers in a MuJoCo world of rooms, boxes and ramps (see module doc)."""

    metadata = {
        "name": "hide_and_seek_v0",
        "render_modes": ["rgb_array", "human"],
        "render_fps": 13,
        "is_parallelizable": True,
    }

    def __new__(cls, *args: Any, **kwargs: Any) -> HideAndSeekEnv:
        # The constructor's arguments, for replays (``replay_settings``).
        instance = super().__new__(cls)
        instance._constructor_arguments = (args, kwargs)
        return instance

    def __init__(
        self, preset: str | None = None, game: Callable[[ArenaConfig], Game] = HideAndSeekGame, **kwargs: Any
    ) -> None:
        """The arena of ``preset`` (and keyword overrides of :class:`ArenaConfig`) scored by ``game``,
        built from the configuration: hide and seek, or a transfer task (``envs.hide_and_seek.tasks``)."""
        if not callable(game):
            raise ValueError(
                f"game must be a class or function that builds a game from the ArenaConfig (code, "
                f"not a name), got {game!r}"
            )
        self.config: ArenaConfig = make_config(preset, **kwargs)
        c = self.config
        self.game: Game = game(c)
        self.scenario = self.game.scenario()
        self.metadata = {**self.metadata, "name": self.game.name}
        if c.n_seekers[0] < self.game.min_seekers:
            raise ValueError(f"n_seekers must lie in [{self.game.min_seekers}, 6], got {c.n_seekers!r}")
        self.render_mode = c.render_mode
        self.arena = arena = Arena(c, self.scenario, self._world_key())
        # the arena's parts and arrays, shared (not copied): the environment's public state
        self.world_key, self.model, self.data, self.index = arena.world_key, arena.model, arena.data, arena.index
        self.senses, self.rules = arena.senses, arena.rules
        self.n_agent_slots, self.n_box_slots = arena.n_agent_slots, arena.n_box_slots
        self.n_ramp_slots, self.n_objects, self.n_entities = arena.n_ramp_slots, arena.n_objects, arena.n_entities
        self.team, self.is_hider = arena.team, arena.is_hider
        self.agent_present, self.object_present, self.object_half = (
            arena.agent_present,
            arena.object_present,
            arena.object_half,
        )
        self.agent_pose, self.object_pose = arena.agent_pose, arena.object_pose
        self.in_sight, self.lidar = arena.in_sight, arena.lidar
        team_names = self.game.team_names
        self.possible_agents = [f"{team_names[0]}_{i}" for i in range(c.max_hiders)] + [
            f"{team_names[1]}_{i}" for i in range(c.max_seekers)
        ]
        self.agent_slot = {name: i for i, name in enumerate(self.possible_agents)}
        self.observations = ArenaObservations(arena, self.game.observation_spaces(), c.flat_observations)
        self._observation_space = self.observations.space
        self.actions = ActionDecoder(c, self.n_agent_slots)
        self._action_space = self.actions.space
        self.state_space = self.observations.state_space
        self.observation_spaces = {a: self._observation_space for a in self.possible_agents}
        # one copy per agent, so that seeding gives each agent its own stream of samples
        self.action_spaces = {a: copy.deepcopy(self._action_space) for a in self.possible_agents}
        self._rng = np.random.default_rng()
        self._renderer: ArenaRenderer | None = None
        self.agents: list[str] = []
        self._episode_over = True
        self.step_count = 0
        self._physics_error = False
        self._episode_rng_state: dict[str, Any] = self._rng.bit_generator.state
        self.game.attach(self)

    def _world_key(self) -> W.WorldKey:
        c = self.config
        key = W.WorldKey(
            c.max_hiders,
            c.max_seekers,
            c.max_boxes,
            c.max_ramps,
            self.scenario.wall_slots(c),
            float(c.timestep),
            float(c.floor_size),
            float(c.play_area),
        )
        return self.game.world_key(key)

    # ----------------------------------------------------------------------------------------
    # spaces
    def observation_keys(self) -> list[str]:
        """Order of the fields in a flat observation (``flat_observations=True``)."""
        return list(self.observations.keys)

    def observation_space(self, agent: str) -> spaces.Space:
        """The Dict observation space (the same for every agent)."""
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        """The action space (the same for every agent)."""
        return self.action_spaces[agent]

    # ----------------------------------------------------------------------------------------
    # episode setup
    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Sample counts, layout and placements; returns observations and empty infos.

        With ``options={"state": saved}`` (a :meth:`save_state`) the episode continues from that
        state instead: its layout is rebuilt and play goes on from its step. ``seed`` then seeds
        the random stream of what follows (lock ties); without one the saved stream continues.
        """
        saved = (options or {}).get("state")
        if saved is not None:
            self._check_saved_state(saved)
        if seed is not None:
            self._rng = np.random.default_rng(seed)
            for i, agent in enumerate(self.possible_agents):
                self.action_spaces[agent].seed(int(seed) + i)
        if saved is not None:
            if seed is None:
                self._rng.bit_generator.state = _decode_generator_state(saved["rng"])
            layout_rng = np.random.default_rng()
            layout_rng.bit_generator.state = _decode_generator_state(saved["episode_rng"])
        else:
            layout_rng = self._rng
        self._episode_rng_state = layout_rng.bit_generator.state
        self._episode_over = True  # until the episode is fully set up
        self.arena.new_episode(layout_rng, self.game)
        if saved is not None:
            self.arena.restore_state(saved)
        self._set_presence_cache()
        self.step_count = int(saved["step"]) if saved is not None else 0
        self._episode_over = False
        self._physics_error = False
        self.game.sensed()
        self.game.reset()
        if saved is not None:
            self.game.restore_state(
                {key[len("game_") :]: value for key, value in saved.items() if key.startswith("game_")}
            )
        observations = self._observe()
        if self.render_mode == "human":
            self.render()
        return observations, {a: {} for a in self.agents}

    def arrange(
        self,
        agents: dict[str, tuple[float, float, float]] | None = None,
        boxes: dict[int, tuple[float, float, float]] | None = None,
        ramps: dict[int, tuple[float, float, float]] | None = None,
        walls: np.ndarray | None = None,
    ) -> dict[str, dict[str, np.ndarray]]:
        """Set up a scripted scene after ``reset``: move entities to ``(x, y, yaw)`` poses.

        ``agents`` maps live agent names, ``boxes``/``ramps`` map present slot indices; entities
        not named keep their poses. ``walls`` (``[W, 5]``: x0, y0, x1, y1, height) replaces the
        layout. Velocities are zeroed, grabs and locks released; returns fresh observations.
        """
        if self._episode_over:
            raise RuntimeError("arrange() needs a running episode; call reset() first")
        slots = {}
        for name, pose in (agents or {}).items():
            if name not in self._live_slot_of:
                raise ValueError(f"agents: {name!r} is not a live agent; live agents: {', '.join(self.agents)}")
            slots[self._live_slot_of[name]] = pose
        self.arena.arrange(slots, boxes or {}, ramps or {}, walls)
        self.game.sensed()
        self.game.restart()
        return self._observe()

    def _set_presence_cache(self) -> None:
        """Arrays derived from this episode's presence, computed once per episode."""
        A = self.n_agent_slots
        self._live_slots = [
            (a, self.agent_slot[a]) for a in self.possible_agents if self.agent_present[self.agent_slot[a]]
        ]
        self._live_slot_of = dict(self._live_slots)
        self._live_index = np.array([i for _, i in self._live_slots], dtype=np.int64)
        self._all_live = bool(self.agent_present.all())
        # flat qpos indices of the x and y of live agents and present objects (boundary checks)
        bounded = self._live_index
        if self.config.objects_out_penalty:
            bounded = np.concatenate([bounded, np.flatnonzero(self.object_present) + A])
        self.bounded_xy = (bounded[:, None] * 4 + np.arange(2)).ravel()  # flat qpos indices of x and y
        self.observations.new_episode(self._live_index)
        self.agents = [a for a, _ in self._live_slots]

    # ----------------------------------------------------------------------------------------
    # stepping
    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        """Advance the world by one environment step (``substeps`` physics steps)."""
        if self._episode_over:
            raise RuntimeError("the episode has ended (or never started); call reset() before step()")
        c = self.config
        in_prep = self.step_count < self.game.prep_steps
        controls, grab, lock = self.actions.decode(actions, self._live_slot_of, self.game.idle_slots(in_prep))
        physics_error = self._physics_error = self.arena.step(controls, grab, lock, self._rng)
        self.step_count += 1
        self.game.sensed()
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

    def episode_stats(self) -> dict[str, float]:
        """Statistics of the episode so far, as the game reports them at its last step."""
        return self.game.episode_stats()

    # ----------------------------------------------------------------------------------------
    # observations and state
    def _observe(self) -> dict:
        return self.observations.observe(
            self.agents,
            self.step_count,
            self.game.prep_observation(self.step_count),
            self.config.horizon,
            self.game.observations(),
            self._physics_error,
        )

    def state(self) -> np.ndarray:
        """The whole world, unmasked, as one flat float32 vector (see the module docstring): the
        observations' features of every slot, as the last observation read them."""
        return self.observations.state()

    # ----------------------------------------------------------------------------------------
    # saved states
    def save_state(self) -> dict[str, np.ndarray]:
        """The running episode as plain arrays, to continue later with
        ``reset(options={"state": saved})`` (in this or another environment built alike).

        It holds the random stream the episode's layout was drawn from (the layout is rebuilt
        from it rather than stored), the world's dynamic state (:meth:`Arena.save_state`), the
        step number, the game's own state (``game_*``), the random stream of what follows, and
        a digest of the configuration a restore checks.
        """
        if self._episode_over:
            raise RuntimeError("save_state() needs a running episode; call reset() first")
        game_state = getattr(self.game, "save_state", None)
        if game_state is None:
            raise ValueError(f"the game {self.game.name!r} cannot save its state (it has no save_state())")
        return {
            "state_version": np.array(STATE_VERSION),
            "configuration": self._configuration_digest(),
            "episode_rng": _encode_generator_state(self._episode_rng_state),
            "rng": _encode_generator_state(self._rng.bit_generator.state),
            "step": np.array(self.step_count),
            **self.arena.save_state(),
            **{f"game_{key}": value for key, value in game_state().items()},
        }

    def _configuration_digest(self) -> np.ndarray:
        """16 bytes naming the game and every setting of play (not the rendering or the
        observation and action encodings, which a saved state does not depend on)."""
        settings = [
            (f.name, getattr(self.config, f.name))
            for f in dataclasses.fields(self.config)
            if not f.name.startswith(("render_", "flat_", "continuous_"))
        ]
        text = repr((self.game.name, settings)).encode()
        return np.frombuffer(hashlib.blake2b(text, digest_size=16).digest(), dtype=np.uint8).copy()

    def _check_saved_state(self, saved: Any) -> None:
        """Refuse, with one ``ValueError``, a saved state this environment cannot continue."""
        if not isinstance(saved, dict):
            raise ValueError(
                f"options['state'] must be the dict of arrays save_state() returns, got {type(saved).__name__}"
            )
        shapes: dict[str, tuple[int, ...]] = {
            "state_version": (),
            "configuration": (16,),
            "episode_rng": (6,),
            "rng": (6,),
            "step": (),
            **self.arena.state_shapes(),
        }
        game_shapes = getattr(self.game, "state_shapes", None)
        if game_shapes is None:
            raise ValueError(f"the game {self.game.name!r} cannot restore a saved state (it has no state_shapes())")
        shapes.update({f"game_{key}": shape for key, shape in game_shapes().items()})
        missing = sorted(set(shapes) - set(saved))
        if missing:
            raise ValueError(f"saved state lacks {', '.join(missing)}: pass the dict save_state() returns")
        if int(np.asarray(saved["state_version"])) != STATE_VERSION:
            raise ValueError(
                f"saved state has version {int(np.asarray(saved['state_version']))}; this arena "
                f"restores version {STATE_VERSION}: save the state again"
            )
        if not np.array_equal(np.asarray(saved["configuration"]).reshape(-1)[:16], self._configuration_digest()):
            raise ValueError(
                "saved state comes from an arena of another configuration (game or settings of play "
                "differ): restore it into an environment built with the same arguments"
            )
        for key, shape in shapes.items():
            found = np.shape(saved[key])
            if len(found) != len(shape) or any(want not in (-1, got) for want, got in zip(shape, found)):
                raise ValueError(
                    f"saved state: {key} has shape {found}, expected {shape} (-1: any): pass the dict "
                    "save_state() returns, unchanged"
                )
        if not 0 <= int(np.asarray(saved["step"])) < self.config.horizon:
            raise ValueError(
                f"saved state: step {int(np.asarray(saved['step']))} lies outside the episode "
                f"[0, {self.config.horizon})"
            )

    # ----------------------------------------------------------------------------------------
    # replays
    def replay_static(self) -> dict[str, np.ndarray]:
        """Episode constants: teams, presence, sizes, the wall segments and the statistics declared."""
        return {
            "arena_version": np.array(ARENA_VERSION),
            **self.arena.replay_static(),
            "floor_size": np.array(self.config.floor_size),
            "play_area": np.array(self.config.play_area),
            "vision_cone": np.array(self.config.vision_cone_degrees),
            "lidar_range": np.array(self.config.lidar_range),
            # what replays' statistics measure: the objects' groups, frames <group>_pos and _lock_team
            "statistics_objects": np.array(["box", "ramp"]),
            **self.game.replay_static(),
        }

    def replay_settings(self) -> tuple[str, dict[str, Any]]:
        """This environment's id and the keyword arguments that build it again: the game's own
        (a transfer task's, as given to its module) or else the constructor's."""
        settings = self.game.replay_settings()
        if settings is None:
            args, kwargs = self._constructor_arguments
            settings = constructor_settings(self, args, kwargs)
        return self.metadata["name"], settings

    def replay_frame(self) -> dict[str, np.ndarray]:
        """This step's poses and events (fixed shapes; see the module docstring)."""
        return {**self.arena.replay_frame(), "step": np.array(self.step_count), **self.game.replay_frame()}

    def restore_replay_frame(self, static: dict[str, np.ndarray], frame: dict[str, np.ndarray]) -> None:
        """Put the world into a recorded state for drawing or 3D rendering (not for stepping)."""
        version = int(np.asarray(static["arena_version"])) if "arena_version" in static else 1
        if version not in READABLE_ARENA_VERSIONS:
            raise ValueError(
                f"this episode was recorded by arena version {version} (other walls and rules); this toolkit "
                f"replays arena versions {', '.join(map(str, READABLE_ARENA_VERSIONS))}: record the episode again "
                f"(marl eval --record)"
            )
        self.arena.restore_replay_frame(static, frame)
        self.step_count = self.game.restore_replay_frame(frame)
        self._set_presence_cache()

    def scene(self) -> Scene:
        """The current state as 2D shapes (walls, objects, agents and overlay layers)."""
        return draw_scene(self.view)

    @property
    def layout(self) -> Layout | None:
        """This episode's layout (walls, blocked cells, named rooms); None before the first reset."""
        return self.arena.layout

    @property
    def walls(self) -> np.ndarray:
        """``[W, 5]`` the walls in use (x0, y0, x1, y1 of the centre line, height), read-only."""
        walls = self.arena.layout.walls if self.arena.layout is not None else np.zeros((0, 5))
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
        frame = self._renderer.render(
            self,
            overlays=self.config.render_overlays,
            camera=self.config.render_camera,
            track_agent=self.config.render_track_agent,
            max_wall_height=self.config.render_max_wall_height,
        )
        return frame if self.render_mode == "rgb_array" else None

    def close(self) -> None:
        """Release the renderer and any window."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
