"""Construction from blueprint: one agent pushes eight cubes onto one to four marked sites.

A transfer task of Baker et al. (2019) on the hide-and-seek arena's engine; rules, reward and
task arguments are documented on the game :class:`envs.hide_and_seek.tasks.BlueprintConstruction`, the shared world,
actions and observations in :mod:`envs.hide_and_seek.environment`. The one agent is
``agent_0``.
"""

from __future__ import annotations

from typing import Any

from pettingzoo.utils.conversions import parallel_to_aec
from pettingzoo.utils.env import AECEnv

from envs.hide_and_seek.environment import HideAndSeekEnv
from envs.hide_and_seek.tasks import BlueprintConstruction, make_task, task_metadata

metadata = task_metadata(BlueprintConstruction)


def parallel_env(**kwargs: Any) -> HideAndSeekEnv:
    """The task as a PettingZoo ParallelEnv."""
    return make_task(BlueprintConstruction, **kwargs)


def env(**kwargs: Any) -> AECEnv:
    """The task in PettingZoo's AEC form."""
    return parallel_to_aec(parallel_env(**kwargs))
