"""Everything becomes a PettingZoo ``ParallelEnv``.

The learner speaks one protocol: the parallel API (``possible_agents``, ``agents``,
``observation_space(agent)``, ``action_space(agent)``, ``reset(seed)``, ``step(actions)``,
optionally ``state()``). A Gymnasium environment becomes a one-agent parallel environment;
an AEC environment is played one turn per step (:mod:`agents.turn_based`) unless it declares
``is_parallelizable``. Ids are resolved in :mod:`agents.env_resolver`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import gymnasium
from pettingzoo import AECEnv, ParallelEnv

from agents.turn_based import TurnBasedEnv

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
        return (
            {name: observation},
            {name: float(reward)},
            {name: bool(terminated)},
            {name: bool(truncated)},
            {name: info},
        )

    def render(self) -> Any:
        """Render the wrapped environment."""
        return self.env.render()

    def close(self) -> None:
        """Close the wrapped environment."""
        self.env.close()


def is_aec_env(env: Any) -> bool:
    """Whether ``env`` follows the PettingZoo AEC API."""
    return isinstance(env, AECEnv) or (
        hasattr(env, "possible_agents") and hasattr(env, "observe") and hasattr(env, "agent_iter")
    )


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
        return TurnBasedEnv(env)
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
