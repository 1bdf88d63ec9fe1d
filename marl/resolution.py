"""Turning ``marl train`` arguments into one validated :class:`RunConfig`.

Layers, later ones winning: the preset (named with ``--preset``, else the environment's
default), the ``--config`` YAML file, the flags (ENV, ``--algo``, ``--steps``, ``--envs``,
``--seed``), then every ``--set key=value`` in order. An environment id or Ray address taken
from the file is checked by :mod:`marl.trust` (files never run code without ``--trust-code``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium

from marl.algorithms import config_class
from marl.config import RunConfig, read_yaml_mapping, run_config_from_dict
from marl.errors import UsageError
from marl.overrides import apply_overrides, merge_mappings
from marl.presets import RunPreset, default_run_preset, get_run_preset
from marl.trust import check_address_from_file, check_env_from_file


@dataclass
class TrainRequest:
    """What the user asked for on the command line."""

    env: str | None = None
    algo: str | None = None
    preset: str | None = None
    config_file: Path | None = None
    steps: int | None = None
    n_envs: int | None = None
    seed: int | None = None
    assignments: list[str] = field(default_factory=list)
    trust_code: bool = False
    address: str | None = None


def train_request(args: Any, steps: int | None, seed: int | None) -> TrainRequest:
    """The request that the flags ``marl train``, ``tune`` and ``bench`` share describe: the
    environment, ``--algo``, ``--preset``, ``--config``, ``--envs``, ``--set``, ``--trust-code``
    and (where the command has it) ``--address``, with ``steps`` and ``seed`` as the command
    reads them."""
    return TrainRequest(
        args.env,
        args.algo,
        args.preset,
        args.config,
        steps,
        args.n_envs,
        seed,
        list(args.assignments),
        trust_code=args.trust_code,
        address=getattr(args, "address", None),
    )


def is_gymnasium_id(env: str) -> bool:
    """Whether ``env`` is a registered Gymnasium id (a single-agent task)."""
    return env in gymnasium.envs.registry


def default_algorithm(env: str) -> str:
    """PPO for Gymnasium tasks, MAPPO for multi-agent environments."""
    return "ppo" if is_gymnasium_id(env) else "mappo"


def notice(message: str) -> None:
    """A one-line notice on stderr."""
    print(f"marl: {message}", file=sys.stderr)


def choose_run_preset(request: TrainRequest, file_layer: dict[str, Any], set_layer: dict[str, Any]) -> RunPreset | None:
    """The named preset, else the default preset of the requested environment."""
    name = set_layer.get("preset") or request.preset or file_layer.get("preset")
    env = set_layer.get("env") or request.env or file_layer.get("env")
    if name:
        preset = get_run_preset(str(name))
        if env and env != preset.env:
            raise UsageError(
                f"preset {preset.name!r} is for {preset.env}, not {env}; drop ENV or choose another preset"
            )
        return preset
    return default_run_preset(str(env)) if env else None


def resolve_run_config(request: TrainRequest) -> RunConfig:
    """Merge preset, file, flags and ``--set`` into a validated run config."""
    file_layer = read_yaml_mapping(request.config_file) if request.config_file else {}
    set_layer = apply_overrides({}, request.assignments)
    if file_layer.get("env") and not (set_layer.get("env") or request.env):
        check_env_from_file(str(file_layer["env"]), request.config_file, request.trust_code)
    if "address" in file_layer and "address" not in set_layer and request.address is None:
        check_address_from_file(file_layer["address"], request.config_file, request.trust_code)
    preset = choose_run_preset(request, file_layer, set_layer)

    env = set_layer.get("env") or request.env or file_layer.get("env") or (preset.env if preset else None)
    if not env:
        raise UsageError("no environment given: pass ENV (for example CartPole-v1), --preset NAME, or --config FILE")
    algo = set_layer.get("algo") or request.algo or file_layer.get("algo") or (preset.algo if preset else None)
    algo = str(algo or default_algorithm(str(env))).lower()
    config_class(algo)  # an unknown algorithm is reported before anything else

    data: dict[str, Any] = {}
    if preset is not None:
        if not preset.tuned_for(algo):
            notice(f"preset {preset.name!r} has no tuned hyperparameters for {algo}; using {algo}'s defaults")
        data = preset.config_layer(algo)
    data = merge_mappings(data, file_layer)
    flags: dict[str, Any] = {"env": env, "algo": algo}
    if request.steps is not None:
        flags["steps"] = request.steps
    if request.seed is not None:
        flags["seed"] = request.seed
    if request.n_envs is not None:
        flags["algo_config"] = {"n_envs": request.n_envs}
    data = merge_mappings(data, flags)
    data = merge_mappings(data, set_layer)
    return run_config_from_dict(data, config_class)
