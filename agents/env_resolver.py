"""Environment ids, instances and factories turned into a source of parallel environments.

``agents`` never imports the suite's ``envs`` package: ids are resolved by an *environment
registry* that advertises itself through the entry-point group ``marl_arena.environments``
(this project's ``envs.registry`` does, see pyproject.toml). Where no entry point is installed
(a source checkout run without reinstalling) the suite's registry module is looked up by name,
if present. With no registry at all only Gymnasium ids resolve.

A registry is any object with ``make_factory(env_id) -> zero-argument factory`` and
``code_reference(env_id) -> str | None``; the second says, without importing anything,
whether making an id would import code the id itself names (a ``module:factory``). That check
lives in the registry alone: the learner asks it before making an id read from a checkpoint.
"""

from __future__ import annotations

import copy
import importlib
import importlib.metadata
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import gymnasium

from agents.environments import GymnasiumParallelEnv, is_aec_env, is_parallel_env, to_parallel

EnvFactory = Callable[[], Any]

#: The entry-point group through which environment registries advertise themselves.
REGISTRY_GROUP = "marl_arena.environments"
#: The suite's registry module, used when no entry point of :data:`REGISTRY_GROUP` is installed.
FALLBACK_REGISTRY = "envs.registry"


class EnvironmentRegistry(Protocol):
    """What the learner needs of a registry of environment ids."""

    def make_factory(self, env_id: str) -> EnvFactory: ...

    def code_reference(self, env_id: str) -> str | None: ...


def environment_registry() -> EnvironmentRegistry | None:
    """The registry ids resolve through: the first entry point of the group (by name), else the
    suite's registry module when it is installed, else None."""
    entries = sorted(importlib.metadata.entry_points(group=REGISTRY_GROUP), key=lambda entry: entry.name)
    if entries:
        return entries[0].load()
    try:
        present = importlib.util.find_spec(FALLBACK_REGISTRY) is not None
    except (ImportError, ValueError):
        present = False
    return importlib.import_module(FALLBACK_REGISTRY) if present else None


def code_reference(env_id: str) -> str | None:
    """What code making ``env_id`` would import because the id names it; None for registry ids.

    The registry decides. Without one, only Gymnasium ids are known to name no code.
    """
    registry = environment_registry()
    if registry is not None:
        return registry.code_reference(env_id)
    if env_id in gymnasium.envs.registry:
        return None
    return f"environment id {env_id!r} (no environment registry is installed to vouch for it)"


def factory_from_id(env_id: str) -> EnvFactory:
    """A zero-argument factory for ``env_id`` (suite id, Gymnasium id, PettingZoo id or module path,
    ``module:factory``); an unknown id is a ``ValueError`` naming close matches."""
    registry = environment_registry()
    if registry is not None:
        return registry.make_factory(env_id)
    if env_id in gymnasium.envs.registry:
        return GymnasiumFactory(env_id)
    raise ValueError(
        f"unknown environment id {env_id!r}: no environment registry is installed (the envs package, "
        f"advertised through the entry-point group {REGISTRY_GROUP!r}), so only Gymnasium ids resolve"
    )


@dataclass(frozen=True)
class GymnasiumFactory:
    """A picklable factory of a Gymnasium environment by id."""

    env_id: str

    def __call__(self) -> Any:
        """A new copy of the environment."""
        return gymnasium.make(self.env_id)


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
        factory = factory_from_id(env)
        probe = to_parallel(factory())
        return EnvSource(factory, env, isinstance(probe, GymnasiumParallelEnv), probe)
    if isinstance(env, gymnasium.Env) or is_aec_env(env) or is_parallel_env(env):
        spec = getattr(env, "spec", None)
        factory = _copy_factory(env)
        wrapped = to_parallel(env)
        return EnvSource(
            factory, spec.id if spec is not None else None, isinstance(wrapped, GymnasiumParallelEnv), wrapped
        )
    if callable(env):
        probe = to_parallel(env())
        return EnvSource(env, None, isinstance(probe, GymnasiumParallelEnv), probe)
    raise TypeError(
        f"env must be an environment id, an environment or a zero-argument factory, got {type(env).__qualname__}"
    )


def _copy_factory(instance: Any) -> EnvFactory:
    """A factory of further copies of an environment handed in as an object."""
    spec = getattr(instance, "spec", None)
    if isinstance(instance, gymnasium.Env) and spec is not None:
        return lambda: gymnasium.make(spec)
    return lambda: _copy_instance(instance)


def _copy_instance(instance: Any) -> Any:
    """Another copy of an environment handed in as an object (for ``n_envs > 1``)."""
    try:
        return copy.deepcopy(instance)
    except Exception as error:  # environments holding native handles cannot always be copied
        raise TypeError(
            f"cannot make another copy of the {type(instance).__name__} instance for n_envs > 1 ({error}); "
            "pass a zero-argument factory instead, e.g. lambda: make_env()"
        ) from None
