"""The cooperative navigation environment as a PettingZoo ``ParallelEnv``."""

from __future__ import annotations

import dataclasses
import operator
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from envs.navigation import physics, rules
from envs.navigation.config import NavigationConfig
from envs.navigation.observations import ObservationBuilder
from envs.scene import Circle, Scene

# Discrete action -> unit force direction: no-op, left, right, down, up (the particle envs' order).
DISCRETE_DIRECTIONS = np.array([[0.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [0.0, -1.0], [0.0, 1.0]])

AGENT_COLOR = (89, 89, 217)
COLLIDING_AGENT_COLOR = (217, 80, 80)
LANDMARK_COLOR = (64, 64, 64)
COVERED_LANDMARK_COLOR = (60, 170, 90)
SIGHT_COLOR = (150, 150, 200)


class NavigationEnv(ParallelEnv):
    """N agents cover N landmarks without colliding; every agent receives the team reward.

    See ``docs/envs/navigation.md`` for the rules, spaces, rewards and parameters.
    """

    metadata = {
        "name": "navigation_v0",
        "render_modes": ["human", "rgb_array"],
        "render_fps": 10,
        "is_parallelizable": True,
    }

    def __init__(self, config: NavigationConfig) -> None:
        self.config = config
        self.render_mode = config.render_mode
        n, n_landmarks = config.n_agents, config.landmark_count
        self.possible_agents = [f"agent_{i}" for i in range(n)]
        self.agents: list[str] = []
        self._observations = ObservationBuilder(n, n_landmarks, config.observation_radius)
        observation_size = self._observations.size
        self.observation_spaces = {
            agent: spaces.Box(-np.inf, np.inf, shape=(observation_size,), dtype=np.float32)
            for agent in self.possible_agents
        }
        if config.continuous_actions:
            self.action_spaces = {
                agent: spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32) for agent in self.possible_agents
            }
        else:
            self.action_spaces = {agent: spaces.Discrete(len(DISCRETE_DIRECTIONS)) for agent in self.possible_agents}
        self.state_space = spaces.Box(-np.inf, np.inf, shape=(4 * n + 2 * n_landmarks,), dtype=np.float32)
        self._gather_actions = operator.itemgetter(*self.possible_agents)
        self._rng: np.random.Generator | None = None
        self.agent_pos = np.zeros((n, 2))
        self.agent_vel = np.zeros((n, 2))
        self.landmark_pos = np.zeros((n_landmarks, 2))
        self._geometry: physics.Geometry | None = None
        self._colliding = np.zeros((n, n), dtype=bool)
        self.steps = 0
        self._episode_return = 0.0
        self._episode_collisions = 0
        self._renderer: Any = None

    # -- spaces -------------------------------------------------------------------------------

    def observation_space(self, agent: str) -> spaces.Space:
        """The observation space of ``agent`` (the same Box for every agent)."""
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        """``Discrete(5)``, or ``Box(-1, 1, (2,))`` with ``continuous_actions=True``."""
        return self.action_spaces[agent]

    # -- episode ------------------------------------------------------------------------------

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Place agents and landmarks uniformly in the spawn square; returns observations and infos."""
        if seed is not None or self._rng is None:
            self._rng = np.random.default_rng(seed)
        half = self.config.spawn_half_size
        self.agent_pos = self._rng.uniform(-half, half, size=self.agent_pos.shape)
        self.agent_vel = np.zeros_like(self.agent_pos)
        self.landmark_pos = self._rng.uniform(-half, half, size=self.landmark_pos.shape)
        self.agents = self.possible_agents[:]
        self.steps = 0
        self._episode_return = 0.0
        self._episode_collisions = 0
        self._update_geometry()
        observations = dict(zip(self.agents, self._observations.build(self.agent_pos, self.agent_vel, self._geometry)))
        if self.render_mode == "human":
            self.render()
        return observations, {agent: {} for agent in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        """Apply every agent's action, advance the physics one step and score the new state."""
        if not self.agents:
            raise RuntimeError("navigation_v0: the episode is over (env.agents is empty); call reset() first")
        config = self.config
        force = self._action_forces(actions) + physics.contact_forces(
            self._geometry, config.agent_radius, config.contact_force, config.contact_margin
        )
        physics.integrate(self.agent_pos, self.agent_vel, force, config.dt, config.damping, config.arena_half_size)
        self.steps += 1
        self._update_geometry()
        reward = rules.team_reward(self._geometry, self._colliding, config.collision_penalty)
        self._episode_return += reward
        self._episode_collisions += int(np.count_nonzero(self._colliding)) // 2

        agents = self.agents
        observations = dict(zip(agents, self._observations.build(self.agent_pos, self.agent_vel, self._geometry)))
        rewards = dict.fromkeys(agents, reward)
        terminations = dict.fromkeys(agents, False)
        truncated = self.steps >= config.max_cycles
        truncations = dict.fromkeys(agents, truncated)
        if truncated:
            stats = self._episode_stats()
            infos = {agent: {"episode_stats": dict(stats)} for agent in agents}
            self.agents = []
        else:
            infos = {agent: {} for agent in agents}
        if self.render_mode == "human":
            self.render()
        return observations, rewards, terminations, truncations, infos

    def state(self) -> np.ndarray:
        """Global state: all agent positions, all agent velocities, all landmark positions (float32)."""
        return np.concatenate(
            [self.agent_pos.ravel(), self.agent_vel.ravel(), self.landmark_pos.ravel()], dtype=np.float32
        )

    def _action_forces(self, actions: dict[str, Any]) -> np.ndarray:
        try:
            gathered = self._gather_actions(actions)
        except KeyError:
            missing = [agent for agent in self.agents if agent not in actions]
            raise ValueError(
                f"navigation_v0: actions must hold one action for every agent in env.agents; missing {missing}"
            ) from None
        if len(self.possible_agents) == 1:
            gathered = (gathered,)
        if self.config.continuous_actions:
            values = np.asarray(gathered, dtype=np.float64).reshape(len(self.possible_agents), -1)
            if values.shape[1] != 2 or not np.isfinite(values).all():
                raise ValueError(
                    "navigation_v0: continuous actions must be finite arrays of shape (2,) "
                    f"(force along x and y in [-1, 1]); got {gathered!r}"
                )
            return np.clip(values, -1.0, 1.0) * self.config.acceleration
        try:
            indices = np.asarray(gathered)
        except ValueError:  # scalars mixed with one-element arrays
            indices = np.concatenate([np.ravel(action) for action in gathered])
        if indices.ndim != 1 and indices.size == len(gathered):
            indices = indices.reshape(-1)  # one-element arrays per agent
        if indices.ndim != 1 or indices.dtype.kind not in "iu" or indices.min() < 0 or indices.max() > 4:
            raise ValueError(f"navigation_v0: discrete actions must be integers in [0, 4]; got {gathered!r}")
        return DISCRETE_DIRECTIONS[indices] * self.config.acceleration

    def _update_geometry(self) -> None:
        self._geometry = physics.measure(self.agent_pos, self.landmark_pos)
        self._colliding = physics.collision_pairs(self._geometry, self.config.agent_radius)

    def _episode_stats(self) -> dict[str, float]:
        return {
            "return": float(self._episode_return),
            "collisions": float(self._episode_collisions),
            "landmarks_covered": float(rules.covered_landmarks(self._geometry, self.config.cover_radius)),
            "final_coverage_distance": rules.coverage_cost(self._geometry),
        }

    # -- replays and rendering ----------------------------------------------------------------

    def replay_static(self) -> dict[str, np.ndarray]:
        """Entity counts, sizes and the world bounds (x_min, y_min, x_max, y_max)."""
        half = self.config.arena_half_size
        radius = self.config.observation_radius
        return {
            "n_agents": np.array(self.config.n_agents),
            "n_landmarks": np.array(self.config.landmark_count),
            "world_bounds": np.array([-half, -half, half, half]),
            "agent_radius": np.array(self.config.agent_radius),
            "landmark_radius": np.array(self.config.landmark_radius),
            "observation_radius": np.array(np.nan if radius is None else radius),
        }

    def replay_settings(self) -> tuple[str, dict[str, Any]]:
        """``navigation_v0`` and the parameters that differ from the defaults (``render_mode`` aside)."""
        defaults = NavigationConfig()
        settings = {
            field.name: getattr(self.config, field.name)
            for field in dataclasses.fields(self.config)
            if field.name != "render_mode" and getattr(self.config, field.name) != getattr(defaults, field.name)
        }
        return self.metadata["name"], settings

    def replay_frame(self) -> dict[str, np.ndarray]:
        """``agent_pos [N, 2]`` and ``landmark_pos [L, 2]`` of the current step."""
        return {"agent_pos": self.agent_pos.copy(), "landmark_pos": self.landmark_pos.copy()}

    def restore_replay_frame(self, static: dict[str, np.ndarray], frame: dict[str, np.ndarray]) -> None:
        """Put agents and landmarks where a recorded frame has them (velocities become zero)."""
        if int(static["n_agents"]) != self.config.n_agents or int(static["n_landmarks"]) != self.config.landmark_count:
            raise ValueError(
                f"replay has {int(static['n_agents'])} agents and {int(static['n_landmarks'])} landmarks; this "
                f"environment has {self.config.n_agents} and {self.config.landmark_count}: build it with the "
                "recorded n_agents and n_landmarks"
            )
        agent_pos = np.asarray(frame["agent_pos"], dtype=np.float64)
        landmark_pos = np.asarray(frame["landmark_pos"], dtype=np.float64)
        if agent_pos.shape != self.agent_pos.shape or landmark_pos.shape != self.landmark_pos.shape:
            raise ValueError(
                f"frame arrays have shapes {agent_pos.shape} and {landmark_pos.shape}; expected "
                f"{self.agent_pos.shape} (agent_pos) and {self.landmark_pos.shape} (landmark_pos)"
            )
        self.agent_pos = agent_pos.copy()
        self.agent_vel = np.zeros_like(self.agent_pos)
        self.landmark_pos = landmark_pos.copy()
        self._update_geometry()

    def scene(self) -> Scene:
        """Sight circles if partial, agents (red while colliding), landmarks on top (green when covered)."""
        config = self.config
        half = config.arena_half_size
        geometry = physics.measure(self.agent_pos, self.landmark_pos)
        covered = geometry.landmark_distances.min(axis=0) < config.cover_radius
        colliding = physics.collision_pairs(geometry, config.agent_radius).any(axis=1)
        shapes: list = []
        if config.observation_radius is not None:
            shapes += [
                Circle(tuple(p), config.observation_radius, SIGHT_COLOR, layer="vision", filled=False)
                for p in self.agent_pos.tolist()
            ]
        shapes += [
            Circle(tuple(p), config.agent_radius, COLLIDING_AGENT_COLOR if c else AGENT_COLOR)
            for p, c in zip(self.agent_pos.tolist(), colliding.tolist())
        ]
        # Landmarks on top, so that a covered one shows on the agent that covers it.
        shapes += [
            Circle(tuple(p), config.landmark_radius, COVERED_LANDMARK_COLOR if c else LANDMARK_COLOR)
            for p, c in zip(self.landmark_pos.tolist(), covered.tolist())
        ]
        caption = f"step {self.steps}/{config.max_cycles}  covered {int(covered.sum())}/{config.landmark_count}"
        return Scene(bounds=(-half, -half, half, half), shapes=shapes, caption=caption)

    def render(self) -> np.ndarray | None:
        """``rgb_array``: an ``[H, W, 3]`` uint8 image of :meth:`scene`; ``human``: draw it in a window."""
        if self.render_mode is None:
            gymnasium.logger.warn("navigation_v0: render() called without a render_mode; pass render_mode='rgb_array'")
            return None
        if self._renderer is None:
            from envs.rendering2d import SceneRenderer

            self._renderer = SceneRenderer(600, 600, margin=10)
        if self.render_mode == "rgb_array":
            return self._renderer.render(self.scene())
        self._renderer.show(self.scene(), self.metadata["render_fps"], title=self.metadata["name"])
        return None

    def close(self) -> None:
        """Close the render window, if any."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
