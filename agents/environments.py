"""Everything becomes a PettingZoo ``ParallelEnv``.

The learner speaks one protocol: the parallel API (``possible_agents``, ``agents``,
``observation_space(agent)``, ``action_space(agent)``, ``reset(seed)``, ``step(actions)``,
optionally ``state()``). A Gymnasium environment becomes a one-agent parallel environment;
an AEC environment is stepped agent by agent once per cycle. Ids are resolved in
:mod:`agents.env_resolver`.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

import gymnasium
import numpy as np
from pettingzoo import AECEnv, ParallelEnv

SINGLE_AGENT_NAME = "agent"

EnvFactory = Callable[[], Any]


class GymnasiumParallelEnv:
    """A Gymnasium environment seen as a parallel environment with one agent named ``agent``."""

    metadata: dict[str, Any]

    def __init__(self, env: gymnasium.Env, agent_name: str = SINGLE_AGENT_NAME) -> None:
        self.env = env
        self.agent_name = agent_name
        self.possible_agents = [agent_name]
        self.agents: list[str] = []
        self.metadata = dict(getattr(env, "metadata", {}) or {})
        self.render_mode = getattr(env, "render_mode", None)

    def observation_space(self, agent: str) -> gymnasium.Space:
        """The wrapped environment's observation space."""
        return self.env.observation_space

    def action_space(self, agent: str) -> gymnasium.Space:
        """The wrapped environment's action space."""
        return self.env.action_space

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Reset the wrapped environment; the agent is alive again."""
        observation, info = self.env.reset(seed=seed, options=options)
        self.agents = [self.agent_name]
        return {self.agent_name: observation}, {self.agent_name: info}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        """Step with the single agent's action; the agent leaves when the episode ends."""
        name = self.agent_name
        observation, reward, terminated, truncated, info = self.env.step(actions[name])
        if terminated or truncated:
            self.agents = []
        return {name: observation}, {name: float(reward)}, {name: bool(terminated)}, {name: bool(truncated)}, {name: info}

    def render(self) -> Any:
        """Render the wrapped environment."""
        return self.env.render()

    def close(self) -> None:
        """Close the wrapped environment."""
        self.env.close()


class AECParallelEnv:
    """An AEC environment stepped as a parallel one: each live agent acts once per cycle.

    Rewards are summed over the cycle; observations are read when the cycle ends. Used for
    AEC environments that do not declare ``is_parallelizable`` (those go through PettingZoo's
    own converter).
    """

    def __init__(self, aec_env: Any) -> None:
        self.aec_env = aec_env
        self.possible_agents = list(aec_env.possible_agents)
        self.agents: list[str] = []
        self.metadata = dict(getattr(aec_env, "metadata", {}) or {})
        self.render_mode = getattr(aec_env, "render_mode", None)

    def observation_space(self, agent: str) -> gymnasium.Space:
        """The AEC environment's observation space of ``agent``."""
        return self.aec_env.observation_space(agent)

    def action_space(self, agent: str) -> gymnasium.Space:
        """The AEC environment's action space of ``agent``."""
        return self.aec_env.action_space(agent)

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Reset and observe every agent."""
        self.aec_env.reset(seed=seed, options=options)
        self.agents = list(self.aec_env.agents)
        observations = {agent: self.aec_env.observe(agent) for agent in self.agents}
        infos = {agent: dict(self.aec_env.infos.get(agent, {})) for agent in self.agents}
        return observations, infos

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        """Let every live agent act once (in the environment's order), then observe."""
        env = self.aec_env
        rewards = {agent: 0.0 for agent in self.agents}
        terminations = {agent: False for agent in self.agents}
        truncations = {agent: False for agent in self.agents}
        infos: dict[str, dict] = {agent: {} for agent in self.agents}
        acted: set[str] = set()
        while env.agents:
            agent = env.agent_selection
            if agent in acted:
                break
            acted.add(agent)
            done = env.terminations.get(agent, False) or env.truncations.get(agent, False)
            env.step(None if done else actions.get(agent))
            for name in list(rewards):
                rewards[name] += float(env.rewards.get(name, 0.0))
        for agent in list(rewards):
            terminations[agent] = bool(env.terminations.get(agent, agent not in env.agents))
            truncations[agent] = bool(env.truncations.get(agent, False))
            infos[agent] = dict(env.infos.get(agent, {}))
        # Agents whose episode ended in this cycle are stepped out with a None action.
        while env.agents and (env.terminations[env.agent_selection] or env.truncations[env.agent_selection]):
            env.step(None)
        observations = {agent: env.observe(agent) for agent in rewards}
        self.agents = list(env.agents)
        return observations, rewards, terminations, truncations, infos

    def state(self) -> np.ndarray:
        """The AEC environment's global state."""
        return self.aec_env.state()

    def render(self) -> Any:
        """Render the AEC environment."""
        return self.aec_env.render()

    def close(self) -> None:
        """Close the AEC environment."""
        self.aec_env.close()


def is_aec_env(env: Any) -> bool:
    """Whether ``env`` follows the PettingZoo AEC API."""
    return isinstance(env, AECEnv) or (hasattr(env, "possible_agents") and hasattr(env, "observe") and hasattr(env, "agent_iter"))


def is_parallel_env(env: Any) -> bool:
    """Whether ``env`` follows the PettingZoo parallel API."""
    return isinstance(env, ParallelEnv) or (
        hasattr(env, "possible_agents") and hasattr(env, "step") and not is_aec_env(env)
    )


def to_parallel(env: Any) -> Any:
    """Wrap a Gymnasium, AEC or parallel environment as a parallel environment."""
    if isinstance(env, gymnasium.Env):
        return GymnasiumParallelEnv(env)
    if is_aec_env(env):
        if env.metadata.get("is_parallelizable", False):
            from pettingzoo.utils.conversions import aec_to_parallel

            return aec_to_parallel(env)
        return AECParallelEnv(env)
    if is_parallel_env(env):
        return env
    raise TypeError(
        f"cannot use {type(env).__qualname__} as an environment: expected a Gymnasium env, a PettingZoo "
        "ParallelEnv or AEC env, a Gymnasium id, an importable module path with parallel_env(), "
        "or a zero-argument factory of one of these"
    )


def has_state(env: Any) -> bool:
    """Whether the environment offers a global ``state()`` with a ``state_space``."""
    if not hasattr(env, "state") or getattr(env, "state_space", None) is None:
        return False
    return True


def notice(message: str) -> None:
    """A one-line notice on stderr (the learner has no logging sink of its own)."""
    print(f"[agents] {message}", file=sys.stderr)
