"""Environments as the command line sees them: resolve ids, describe spaces, name teams.

Every environment is viewed through the learner's parallel adapter, so a Gymnasium task is a
one-agent parallel environment (its agent is called ``agent``). Teams are read from agent
names: ``hider_0`` and ``hider_1`` form the team ``hider``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gymnasium import spaces

from agents.groups import team_of
from marl.errors import UsageError

EnvFactory = Callable[[], Any]


def make_env_factory(env_id: str, env_kwargs: dict[str, Any]) -> EnvFactory:
    """A zero-argument factory for ``env_id`` with ``env_kwargs``; unknown ids list close names."""
    import envs

    try:
        return envs.make_factory(env_id, **env_kwargs)
    except (ValueError, TypeError, ImportError, AttributeError) as error:
        raise UsageError(_one_line(error)) from None


def as_parallel(env: Any) -> Any:
    """``env`` under the parallel API (Gymnasium envs become one agent named ``agent``)."""
    from agents.environments import to_parallel

    return to_parallel(env)


def is_single_agent(env: Any) -> bool:
    """Whether a parallel view wraps a single-agent Gymnasium environment."""
    from agents.environments import GymnasiumParallelEnv

    return isinstance(env, GymnasiumParallelEnv)


def teams_of(agents: list[str]) -> list[str]:
    """Team names in order of first appearance."""
    teams: list[str] = []
    for agent in agents:
        team = team_of(agent)
        if team not in teams:
            teams.append(team)
    return teams


def describe_space(space: Any) -> str:
    """A short description of a space's shape, used to compare configs with checkpoints."""
    if isinstance(space, spaces.Discrete):
        return f"Discrete({int(space.n)})"
    if isinstance(space, spaces.MultiDiscrete):
        return f"MultiDiscrete({np.asarray(space.nvec).tolist()})"
    if isinstance(space, spaces.MultiBinary):
        return f"MultiBinary({list(np.atleast_1d(space.n))})"
    if isinstance(space, spaces.Box):
        return f"Box{tuple(int(d) for d in space.shape)}"
    if isinstance(space, spaces.Dict):
        return "Dict(" + ", ".join(f"{key}: {describe_space(sub)}" for key, sub in space.spaces.items()) + ")"
    if isinstance(space, spaces.Tuple):
        return "Tuple(" + ", ".join(describe_space(sub) for sub in space.spaces) + ")"
    return type(space).__name__


def flat_size(space: Any) -> int:
    """How many numbers one flattened sample of ``space`` holds (1 for spaces that do not flatten)."""
    try:
        return int(spaces.flatdim(space))
    except (NotImplementedError, ValueError, TypeError):
        return 1


@dataclass
class EnvironmentInfo:
    """What a run needs to know about its environment without training on it."""

    agents: list[str]
    teams: list[str]
    single_agent: bool
    spaces: dict[str, dict[str, str]]
    #: Numbers in one flattened observation and one flattened action of each agent.
    flat_sizes: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def first_team(self) -> str:
        """The first team (the hiders in hide-and-seek)."""
        return self.teams[0]


def inspect_environment(factory: EnvFactory) -> EnvironmentInfo:
    """Build one copy of the environment and read its agents and spaces.

    A ``ValueError`` or ``TypeError`` from the environment's constructor (a bad keyword
    argument) becomes a :class:`UsageError`.
    """
    try:
        env = as_parallel(factory())
    except (ValueError, TypeError) as error:
        raise UsageError(f"cannot build the environment: {_one_line(error)}") from None
    try:
        agents = list(env.possible_agents)
        signature = {
            agent: {
                "observation": describe_space(env.observation_space(agent)),
                "action": describe_space(env.action_space(agent)),
            }
            for agent in agents
        }
        sizes = {
            agent: (flat_size(env.observation_space(agent)), flat_size(env.action_space(agent))) for agent in agents
        }
        return EnvironmentInfo(agents, teams_of(agents), is_single_agent(env), signature, sizes)
    finally:
        env.close()


def _one_line(error: BaseException) -> str:
    """The first line of an exception message."""
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
