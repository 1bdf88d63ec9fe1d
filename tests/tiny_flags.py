"""Command-line flags for tiny training runs in the tests: two env copies of 64 steps,
two epochs of minibatches of 64, two-episode evaluations every 256 steps."""

from __future__ import annotations


def set_flags(**settings: object) -> list[str]:
    """``--set KEY=VALUE`` for each setting (dots in keys written as ``__``)."""
    return [flag for key, value in settings.items() for flag in ("--set", f"{key.replace('__', '.')}={value}")]


def tiny_flags(*leading: object, **settings: object) -> list[object]:
    """``--no-progress``, the ``leading`` flags, the tiny run's settings and ``settings`` on top."""
    base = {
        "algo__n_envs": 2,
        "algo__n_steps": 64,
        "algo__n_epochs": 2,
        "algo__minibatch_size": 64,
        "eval_episodes": 2,
        "eval_interval": 256,
    }
    return ["--no-progress", *leading, *set_flags(**{**base, **settings})]
