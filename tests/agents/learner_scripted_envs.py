"""Small deterministic parallel environments with known rules, for the learner's tests."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv


class DyingAgentsEnv(ParallelEnv):
    """Three agents; ``walker_0`` terminates after step 2, ``walker_1`` after step 4, the
    episode is truncated after ``max_steps`` for whoever is left.

    Reward of agent i at step t (1-based) with action a: ``(i + 1) + 0.1 t + 0.01 a``.
    Observation: ``[t / 10, i, 1, noise]``. With ``masked=True`` observations are dicts with an
    ``action_mask`` that forbids action ``t % 3`` (every action of agent ``empty_mask[0]`` at
    step ``empty_mask[1]``). With ``stranger_at``, an agent ``stranger`` that ``possible_agents``
    does not declare joins ``agents`` at that step. With ``bad_observation=(agent, t, array)`` that
    agent observes ``array`` (as its vector) at step ``t``. The environment raises if it receives an
    action for an agent that is not alive or a masked action.
    """

    metadata = {"name": "dying_agents_v0", "render_modes": []}

    def __init__(
        self,
        masked: bool = False,
        max_steps: int = 6,
        death_steps=(2, 4, None),
        nan_reward_at: int | None = None,
        noisy: bool = True,
        empty_mask: tuple[str, int] | None = None,
        stranger_at: int | None = None,
        bad_observation: tuple[str, int, np.ndarray] | None = None,
    ):
        self.empty_mask = empty_mask
        self.bad_observation = bad_observation
        self.stranger_at = stranger_at
        self.noisy = noisy
        self.possible_agents = ["walker_0", "walker_1", "walker_2"]
        self.agents: list[str] = []
        self.masked = masked
        self.max_steps = max_steps
        self.death_steps = dict(zip(self.possible_agents, death_steps))
        self.nan_reward_at = nan_reward_at
        self.total_steps = 0
        self.state_space = spaces.Box(-np.inf, np.inf, (5,), np.float32)
        vector = spaces.Box(-np.inf, np.inf, (4,), np.float32)
        self._observation_space = (
            spaces.Dict({"observation": vector, "action_mask": spaces.MultiBinary(3)}) if masked else vector
        )
        self.received: list[dict] = []

    def observation_space(self, agent):
        return self._observation_space

    def action_space(self, agent):
        return spaces.Discrete(3)

    def _observe(self, agent):
        i = self.possible_agents.index(agent)
        vector = np.array([self.t / 10, i, 1.0, self.rng.normal() if self.noisy else 0.0], dtype=np.float32)
        if self.bad_observation is not None and self.bad_observation[:2] == (agent, self.t):
            vector = self.bad_observation[2]
        if not self.masked:
            return vector
        mask = np.ones(3, dtype=np.int8)
        mask[self.t % 3] = 0
        if self.empty_mask == (agent, self.t):
            mask[:] = 0
        return {"observation": vector, "action_mask": mask}

    def reset(self, seed=None, options=None):
        self.rng = np.random.default_rng(seed)
        self.t = 0
        self.agents = list(self.possible_agents)
        return {a: self._observe(a) for a in self.agents}, {a: {} for a in self.agents}

    def state(self):
        alive = [float(a in self.agents) for a in self.possible_agents]
        return np.array([self.t, *alive, 7.0], dtype=np.float32)

    def step(self, actions):
        for agent, action in actions.items():
            if agent not in self.agents:
                raise AssertionError(f"action sent for {agent}, which is not alive")
            if self.masked and int(action) == self.t % 3:
                raise AssertionError(f"masked action {action} sent for {agent} at t={self.t}")
        if set(actions) != set(self.agents):
            raise AssertionError(f"actions for {sorted(actions)} but alive are {sorted(self.agents)}")
        self.received.append(dict(actions))
        self.t += 1
        self.total_steps += 1
        rewards, terminations, truncations = {}, {}, {}
        for agent in self.agents:
            i = self.possible_agents.index(agent)
            rewards[agent] = (i + 1) + 0.1 * self.t + 0.01 * int(actions[agent])
            if self.nan_reward_at is not None and self.total_steps >= self.nan_reward_at:
                rewards[agent] = float("nan")
            terminations[agent] = self.death_steps[agent] == self.t
            truncations[agent] = self.t >= self.max_steps and not terminations[agent]
        observations = {a: self._observe(a) for a in self.agents}
        infos = {a: {} for a in self.agents}
        for agent in list(self.agents):
            if terminations[agent] or truncations[agent]:
                infos[agent]["episode_stats"] = {"lifetime": float(self.t)}
        self.agents = [a for a in self.agents if not (terminations[a] or truncations[a])]
        if self.stranger_at == self.t:
            self.agents.append("stranger")
            observations["stranger"] = np.zeros(4, dtype=np.float32)
        return observations, rewards, terminations, truncations, infos


class TwoTeamsEnv(ParallelEnv):
    """Zero-sum two-team game: ``red_*`` get +1 when the team's summed action beats blue's, blue the opposite."""

    metadata = {"name": "two_teams_v0", "render_modes": []}

    def __init__(self):
        self.possible_agents = ["red_0", "red_1", "blue_0", "blue_1"]
        self.agents: list[str] = []

    def observation_space(self, agent):
        return spaces.Box(-1, 1, (3,), np.float32)

    def action_space(self, agent):
        return spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        self.t = 0
        self.agents = list(self.possible_agents)
        return {a: np.zeros(3, np.float32) for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions):
        self.t += 1
        red = sum(int(actions[a]) for a in actions if a.startswith("red"))
        blue = sum(int(actions[a]) for a in actions if a.startswith("blue"))
        sign = float(np.sign(red - blue))
        rewards = {a: (sign if a.startswith("red") else -sign) for a in self.agents}
        done = self.t >= 5
        observations = {a: np.full(3, self.t / 5, np.float32) for a in self.agents}
        terminations = {a: False for a in self.agents}
        truncations = {a: done for a in self.agents}
        infos = {a: {} for a in self.agents}
        if done:
            self.agents = []
        return observations, rewards, terminations, truncations, infos
