"""Meeting point: agents on a small grid must all stand on the same cell.

A complete custom environment for the toolkit, as described in ``docs/envs/custom.md``. Put this
file on the Python path and use it anywhere an environment id is accepted::

    import envs
    env = envs.make("custom_env_example:parallel_env", n_agents=3, size=5)

Rules: each agent starts on a random cell of a ``size`` x ``size`` grid and moves one cell per
step (stay, left, right, down, up; moves into the border are ignored). Every agent receives the
team reward ``-(number of distinct occupied cells - 1)``, which is 0 once all agents meet; the
episode then terminates. It is truncated after ``max_cycles`` steps otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

MOVES = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]])


class MeetingPointEnv(ParallelEnv):
    """Agents on a grid meet on one cell; see the module docstring for the rules."""

    metadata = {"name": "meeting_point_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(self, n_agents: int = 2, size: int = 5, max_cycles: int = 30) -> None:
        if not isinstance(n_agents, int) or n_agents < 2:
            raise ValueError(f"n_agents must be an integer >= 2, got {n_agents!r}")
        if not isinstance(size, int) or size < 2:
            raise ValueError(f"size must be an integer >= 2, got {size!r}")
        if not isinstance(max_cycles, int) or max_cycles < 1:
            raise ValueError(f"max_cycles must be an integer >= 1, got {max_cycles!r}")
        self.size = size
        self.max_cycles = max_cycles
        self.render_mode = None
        self.possible_agents = [f"walker_{i}" for i in range(n_agents)]
        self.agents: list[str] = []
        # Own cell first, then the other agents' cells in index order.
        self.observation_spaces = {
            agent: spaces.Box(0, size - 1, shape=(2 * n_agents,), dtype=np.float32) for agent in self.possible_agents
        }
        self.action_spaces = {agent: spaces.Discrete(len(MOVES)) for agent in self.possible_agents}
        self.state_space = spaces.Box(0, size - 1, shape=(2 * n_agents,), dtype=np.float32)
        self.cells = np.zeros((n_agents, 2), dtype=np.int64)
        self.steps = 0
        self._rng = np.random.default_rng()

    def observation_space(self, agent: str) -> spaces.Space:
        """Own cell and every other agent's cell, as floats."""
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        """Discrete(5): stay, left, right, down, up."""
        return self.action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Put every agent on a random cell."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.cells = self._rng.integers(0, self.size, size=self.cells.shape)
        self.agents = self.possible_agents[:]
        self.steps = 0
        return self._observations(), {agent: {} for agent in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        """Move every agent, then score the team."""
        if not self.agents:
            raise RuntimeError("the episode is over; call reset() first")
        moves = MOVES[[int(actions[agent]) for agent in self.agents]]
        self.cells = np.clip(self.cells + moves, 0, self.size - 1)
        self.steps += 1
        distinct = len({tuple(cell) for cell in self.cells.tolist()})
        reward = -float(distinct - 1)
        met = distinct == 1
        truncated = self.steps >= self.max_cycles and not met
        observations = self._observations()
        rewards = {agent: reward for agent in self.agents}
        terminations = {agent: met for agent in self.agents}
        truncations = {agent: truncated for agent in self.agents}
        infos = {agent: {} for agent in self.agents}
        if met or truncated:
            for agent in self.agents:
                infos[agent]["episode_stats"] = {"met": float(met), "steps": float(self.steps)}
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def state(self) -> np.ndarray:
        """Every agent's cell, in index order."""
        return self.cells.astype(np.float32).ravel()

    def _observations(self) -> dict[str, np.ndarray]:
        order = np.arange(len(self.possible_agents))
        return {
            agent: np.concatenate([self.cells[i], self.cells[order != i].ravel()]).astype(np.float32)
            for i, agent in enumerate(self.possible_agents)
        }


def parallel_env(n_agents: int = 2, size: int = 5, max_cycles: int = 30) -> MeetingPointEnv:
    """The factory that ``envs.make("custom_env_example:parallel_env", **kwargs)`` calls.

    Naming the arguments (rather than taking ``**kwargs``) lets ``envs.make_factory`` refuse a
    misspelt one before any environment is built.
    """
    return MeetingPointEnv(n_agents=n_agents, size=size, max_cycles=max_cycles)
