"""Everything becomes a PettingZoo ``ParallelEnv``.

The learner speaks one protocol: the parallel API (``possible_agents``, ``agents``,
``observation_space(agent)``, ``action_space(agent)``, ``reset(seed)``, ``step(actions)``,
optionally ``state()``). A Gymnasium environment becomes a one-agent parallel environment;
an AEC environment is stepped agent by agent once per cycle. This module never imports the
project's ``envs`` package: ids it receives are Gymnasium ids or importable module paths.

An id read from a file (a checkpoint's ``env_id``) is made only when :func:`code_reference`
finds that it names no code: a Gymnasium id, or a module of a known environment package.
"""

from __future__ import annotations

import copy
import difflib
import importlib
import re
import sys
from dataclasses import dataclass
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


#: Packages of environment modules an id may name without that counting as code the id brings in.
KNOWN_ENVIRONMENT_PACKAGES = ("envs", "pettingzoo", "mpe2")
_MODULE_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def code_reference(env_id: str) -> str | None:
    """What code making ``env_id`` would import because the id names it; None for registry ids.

    Gymnasium ids and module paths inside :data:`KNOWN_ENVIRONMENT_PACKAGES` name no code of
    their own; ``module:factory`` and any other module do. Nothing is imported to decide.
    """
    if env_id in gymnasium.envs.registry:
        return None
    if ":" in env_id:
        module_name, _, attribute = env_id.partition(":")
        return f"{attribute!r} of module {module_name!r}"
    if _MODULE_PATH.fullmatch(env_id) and env_id.split(".", 1)[0] in KNOWN_ENVIRONMENT_PACKAGES:
        return None
    return f"module {env_id!r}"


def _factory_from_id(env_id: str) -> EnvFactory:
    if ":" in env_id and env_id.split(":", 1)[0] not in gymnasium.envs.registry and "/" not in env_id.split(":", 1)[0]:
        module_name, attribute = env_id.split(":", 1)
        module = importlib.import_module(module_name)
        return getattr(module, attribute)
    if env_id in gymnasium.envs.registry:
        return lambda: gymnasium.make(env_id)
    try:
        module = importlib.import_module(env_id)
    except ImportError:
        module = None
    if module is not None and hasattr(module, "parallel_env"):
        return module.parallel_env
    if module is not None and hasattr(module, "env"):
        return module.env
    close = difflib.get_close_matches(env_id, list(gymnasium.envs.registry), n=5)
    raise ValueError(
        f"unknown environment id {env_id!r}: not a Gymnasium id, nor an importable module with "
        "parallel_env(), nor 'module:factory'" + (f"; close matches: {', '.join(close)}" if close else "")
    )


@dataclass
class EnvSource:
    """Where environment copies come from: a factory, plus the id when one was given."""

    factory: EnvFactory
    env_id: str | None
    single_agent: bool
    first_instance: Any = None

    def make(self) -> Any:
        """A new parallel environment (the instance handed in is used for the first copy)."""
        if self.first_instance is not None:
            instance, self.first_instance = self.first_instance, None
            return instance
        return to_parallel(self.factory())


def resolve_env(env: Any) -> EnvSource:
    """Turn an id, an instance or a factory into an :class:`EnvSource`."""
    if isinstance(env, str):
        factory = _factory_from_id(env)
        probe = to_parallel(factory())
        return EnvSource(factory, env, isinstance(probe, GymnasiumParallelEnv), probe)
    if isinstance(env, gymnasium.Env) or is_aec_env(env) or is_parallel_env(env):
        instance = env
        spec = getattr(env, "spec", None)
        if isinstance(env, gymnasium.Env) and spec is not None:
            factory: EnvFactory = lambda: gymnasium.make(spec)
        else:
            factory = lambda: _copy_instance(instance)
        wrapped = to_parallel(env)
        return EnvSource(factory, spec.id if spec is not None else None, isinstance(wrapped, GymnasiumParallelEnv), wrapped)
    if callable(env):
        probe = to_parallel(env())
        return EnvSource(env, None, isinstance(probe, GymnasiumParallelEnv), probe)
    raise TypeError(
        f"env must be a Gymnasium id, an environment or a zero-argument factory, got {type(env).__qualname__}"
    )


def _copy_instance(instance: Any) -> Any:
    """Another copy of an environment handed in as an object (for ``n_envs > 1``)."""
    try:
        return copy.deepcopy(instance)
    except Exception as error:  # environments holding native handles cannot always be copied
        raise TypeError(
            f"cannot make another copy of the {type(instance).__name__} instance for n_envs > 1 ({error}); "
            "pass a zero-argument factory instead, e.g. lambda: make_env()"
        ) from None


def has_state(env: Any) -> bool:
    """Whether the environment offers a global ``state()`` with a ``state_space``."""
    if not hasattr(env, "state") or getattr(env, "state_space", None) is None:
        return False
    return True


def notice(message: str) -> None:
    """A one-line notice on stderr (the learner has no logging sink of its own)."""
    print(f"[agents] {message}", file=sys.stderr)
