"""What a resumed run may change: its config.yaml is compared with the checkpoint it continues.

A checkpoint records the run config it was trained with (and, in every version, the learner's
own hyperparameters and seed). Fields that decide how long the run goes, how it is watched and
saved, or where its rollouts are collected, as the resume flags may, are applied with a notice;
any other difference (the environment, the algorithm, a hyperparameter, the seed) would make
the resumed run something else than the config says, so it is refused, naming each field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from marl.config import ConfigClassResolver, RunConfig, run_config_from_dict, run_config_to_dict, to_plain
from marl.errors import UsageError
from marl.overrides import apply_overrides, parse_assignment

#: Run-config fields that change how long a run goes, how it is observed and saved, or where its
#: rollouts are collected or its update runs (which ``--steps``, ``--logger``, ``--backend``, ``--workers`` and
#: ``--device`` may change on resume too); ``tensorboard`` is the key that ``loggers`` replaced.
SAFE_FIELDS = (
    "steps",
    "eval_interval",
    "eval_episodes",
    "eval_deterministic",
    "checkpoint_interval",
    "snapshot_interval",
    "record_interval",
    "record_episodes",
    "best_team",
    "tensorboard",
    "loggers",
    "backend",
    "workers",
    "address",
    "algo_config.device",
)


#: The names ``--set`` gives the fields a resume may change (``algo.device`` for ``algo_config.device``;
#: ``tensorboard`` is only read from old files).
RESUME_SETTABLE = tuple(name.replace("algo_config.", "algo.") for name in SAFE_FIELDS if name != "tensorboard")


def apply_resume_assignments(
    config: RunConfig, assignments: list[str], config_class_for: ConfigClassResolver
) -> RunConfig:
    """``config`` with ``--set key=value`` applied, where every key is one a resume may change; any
    other key is one error naming it and the keys that may change."""
    refused = []
    for text in assignments:
        path, _ = parse_assignment(text)
        if ".".join(path) not in SAFE_FIELDS or path == ["tensorboard"]:
            refused.append(text.partition("=")[0].strip())
    if refused:
        raise UsageError(
            f"--resume continues the run as its config.yaml says; --set {', '.join(refused)} cannot change it "
            f"(--set may change {', '.join(RESUME_SETTABLE)}); start a new run instead"
        )
    return run_config_from_dict(apply_overrides(run_config_to_dict(config), assignments), config_class_for)


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"algo_config": {"lr": 1}}`` as ``{"algo_config.lr": 1}`` (lists kept whole)."""
    if not isinstance(data, dict) or (prefix and not data):
        return {prefix: data}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and name != "env_kwargs":
            flat.update(_flatten(value, name))
        else:
            flat[name] = value
    return flat


def saved_run_fields(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """The run-config fields a checkpoint vouches for, flattened (``algo_config.<name>``)."""
    saved: dict[str, Any] = {}
    if isinstance(checkpoint.get("run_config"), dict):
        saved.update(_flatten(to_plain(checkpoint["run_config"])))
    state = checkpoint.get("state", {})
    if isinstance(state.get("config"), dict):
        saved.update(_flatten({"algo_config": to_plain(state["config"])}))
    if isinstance(state.get("seed"), int):
        saved["seed"] = state["seed"]
    saved["algo"] = checkpoint.get("algo")
    return saved


def config_changes(config: RunConfig, checkpoint: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """``(field, checkpoint value, config value)`` for every field the two disagree on."""
    current = _flatten(run_config_to_dict(config))
    saved = saved_run_fields(checkpoint)
    missing = object()
    changes = []
    for name in saved:
        now = current.get(name, missing)
        if now is not missing and now != saved[name]:
            changes.append((name, saved[name], now))
    return changes


def check_resume_config(
    config: RunConfig, checkpoint: dict[str, Any], config_path: str | Path, checkpoint_path: str | Path
) -> list[str]:
    """Refuse unsafe differences between ``config`` and the checkpoint; return the safe ones applied."""
    changes = config_changes(config, checkpoint)
    unsafe = [change for change in changes if change[0] not in SAFE_FIELDS]
    if unsafe:
        listed = "; ".join(f"{name} is {now!r} there but {then!r} in the checkpoint" for name, then, now in unsafe)
        raise UsageError(
            f"{config_path} was changed since {checkpoint_path} was saved ({listed}); a resumed run cannot "
            "change these: restore them, or start a new run with --config"
        )
    return [f"{name} {then!r} -> {now!r}" for name, then, now in changes]
