"""The algorithms the command line can train, looked up in ``agents.ALGORITHMS``."""

from __future__ import annotations

import dataclasses
from typing import Any

from marl.errors import UsageError, unknown_name_message


def algorithm_registry() -> dict[str, type]:
    """``agents.ALGORITHMS``: lower-case name -> algorithm class."""
    import agents

    return dict(agents.ALGORITHMS)


def algorithm_names() -> list[str]:
    """Names accepted by ``--algo``."""
    return sorted(algorithm_registry())


def algorithm_class(name: str) -> type:
    """The class of algorithm ``name``; an unknown name lists the closest ones."""
    registry = algorithm_registry()
    key = name.lower()
    if key not in registry:
        raise UsageError(unknown_name_message("algorithm", name, registry))
    return registry[key]


def config_class(name: str) -> type:
    """The hyperparameter dataclass (``Algo.Config``) of algorithm ``name``."""
    cls = algorithm_class(name)
    config = getattr(cls, "Config", None)
    if config is None or not dataclasses.is_dataclass(config):
        raise TypeError(f"{cls.__qualname__}.Config must be a dataclass of hyperparameters")
    return config


def hyperparameters(config: Any) -> dict[str, Any]:
    """The keyword arguments that rebuild ``config`` (``Algo(env, seed, **hyperparameters)``)."""
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.init}


#: torch threads the command uses when the config leaves ``torch_threads`` unset: the small
#: networks of these algorithms run fastest on one thread, and many times slower when several
#: threads compete for busy cores.
DEFAULT_TORCH_THREADS = 1


def build_algorithm(name: str, env_factory: Any, seed: int, config: Any) -> Any:
    """Construct algorithm ``name`` on ``env_factory`` with the given hyperparameters.

    When the config does not choose ``torch_threads``, torch is set to
    :data:`DEFAULT_TORCH_THREADS` first.
    """
    cls = algorithm_class(name)
    if getattr(config, "torch_threads", None) is None:
        import torch

        torch.set_num_threads(DEFAULT_TORCH_THREADS)
    try:
        return cls(env_factory, seed=seed, **hyperparameters(config))
    except ValueError as error:
        raise UsageError(f"cannot build {name} on this environment: {error}") from None
