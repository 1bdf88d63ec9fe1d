"""Memory a run's rollout storage needs, estimated before any of it is allocated.

The learner keeps ``n_steps x n_envs`` rows per agent of observations, actions and a handful
of per-step numbers (rewards, values, log-probabilities, flags) in 32-bit floats. The estimate
counts only those, so it is a lower bound; a request whose lower bound exceeds the machine's
memory can never run and is refused in one line before anything is built.
"""

from __future__ import annotations

import os
from typing import Any

from marl.config import RunConfig
from marl.environments import EnvironmentInfo
from marl.errors import UsageError

#: Per agent and step, besides the observation and action: reward, value, return, advantage,
#: log-probability, alive, terminated, truncated, bootstrap value, episode start.
SCALARS_PER_STEP = 10
BYTES_PER_NUMBER = 4


def machine_memory() -> int | None:
    """Physical memory of this machine in bytes (None where the system does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def rollout_bytes(algo_config: Any, info: EnvironmentInfo) -> int:
    """A lower bound on the bytes of rollout storage for ``algo_config`` on ``info``'s environment."""
    n_steps = int(getattr(algo_config, "n_steps", 1))
    n_envs = int(getattr(algo_config, "n_envs", 1))
    per_step = sum(observation + action + SCALARS_PER_STEP for observation, action in info.flat_sizes.values())
    return n_steps * n_envs * max(per_step, 1) * BYTES_PER_NUMBER


def format_bytes(count: float) -> str:
    """``count`` bytes in the largest unit that keeps the number >= 1 (``16.0 TB``)."""
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if count < 1024 or unit == "PB":
            return f"{count:.1f} {unit}" if unit != "B" else f"{int(count)} B"
        count /= 1024
    return f"{count:.1f} PB"


def check_rollout_memory(config: RunConfig, info: EnvironmentInfo, available: int | None = None) -> None:
    """Refuse a run whose rollout storage alone would not fit in this machine's memory."""
    available = machine_memory() if available is None else available
    needed = rollout_bytes(config.algo_config, info)
    if available is not None and needed > available:
        algo_config = config.algo_config
        raise UsageError(
            f"the rollout storage needs at least {format_bytes(needed)} (algo.n_steps {algo_config.n_steps} x "
            f"--envs {algo_config.n_envs} x {len(info.agents)} agents) but this machine has {format_bytes(available)}; "
            "lower algo.n_steps or --envs"
        )
