"""``navigation_v0``: N agents cover N landmarks, collisions penalised, shared team reward.

PettingZoo module conventions: :func:`parallel_env` builds the ``ParallelEnv``, :func:`env` its
AEC form. Keyword arguments are the fields of :class:`envs.navigation.NavigationConfig`; the
rules, spaces and parameters are documented in ``docs/envs/navigation.md``.

Replay frame keys: ``agent_pos [N, 2]``, ``landmark_pos [L, 2]``. Static keys: ``n_agents``,
``n_landmarks``, ``world_bounds [4]`` (x_min, y_min, x_max, y_max), ``agent_radius``,
``landmark_radius``, ``observation_radius`` (NaN under full observability).
"""

from __future__ import annotations

from typing import Any

from pettingzoo import AECEnv
from pettingzoo.utils.conversions import parallel_to_aec

from envs.navigation import NavigationConfig, NavigationEnv

__all__ = ["NavigationEnv", "env", "parallel_env", "validate_kwargs"]


def parallel_env(**kwargs: Any) -> NavigationEnv:
    """The navigation task as a PettingZoo ``ParallelEnv`` (see :class:`NavigationConfig`)."""
    return NavigationEnv(NavigationConfig.from_kwargs(kwargs))


def env(**kwargs: Any) -> AECEnv:
    """The navigation task in PettingZoo's AEC form (agents act one after another; order enforced)."""
    return parallel_to_aec(parallel_env(**kwargs))


def validate_kwargs(**kwargs: Any) -> None:
    """Check the arguments of :func:`parallel_env` without building a world (raises ValueError)."""
    NavigationConfig.from_kwargs(kwargs)
