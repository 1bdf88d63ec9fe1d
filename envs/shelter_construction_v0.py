"""Shelter construction: one agent builds a shelter of boxes around a cylinder.

A transfer task of Baker et al. (2019) on the hide-and-seek arena's engine; rules, reward and
task arguments are documented on the game :class:`envs.hide_and_seek.tasks.ShelterConstruction`, the shared world,
actions and observations in :mod:`envs.hide_and_seek.environment`. The one agent is
``agent_0``.
"""

from __future__ import annotations

from typing import Any

from pettingzoo.utils.conversions import parallel_to_aec
from pettingzoo.utils.env import AECEnv

from envs.hide_and_seek.environment import HideAndSeekEnv
from envs.hide_and_seek.tasks import ShelterConstruction, make_task, task_metadata

metadata = task_metadata(ShelterConstruction)


def parallel_env(**kwargs: Any) -> HideAndSeekEnv:
    """The task as a PettingZoo ParallelEnv."""
    return make_task(ShelterConstruction, **kwargs)


def env(**kwargs: Any) -> AECEnv:
    """The task in PettingZoo's AEC form."""
    return parallel_to_aec(parallel_env(**kwargs))
