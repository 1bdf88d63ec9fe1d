"""The hide-and-seek arena on MuJoCo and the transfer tasks built on its engine.

Public modules: ``envs.hide_and_seek_v0`` (the game) and ``envs.lock_and_return_v0``,
``envs.sequential_lock_v0``, ``envs.blueprint_construction_v0``,
``envs.shelter_construction_v0`` (the tasks). The environment wires the arena to a game:
:class:`HideAndSeekGame`, or a transfer task's (``make_task``).
"""

from .environment import HideAndSeekEnv
from .game import Game, HideAndSeekGame
from .presets import PRESETS, SCENARIOS, ArenaConfig, make_config
from .tasks import BlueprintConstruction, LockAndReturn, SequentialLock, ShelterConstruction, make_task

__all__ = [
    "HideAndSeekEnv",
    "Game",
    "HideAndSeekGame",
    "make_task",
    "ArenaConfig",
    "PRESETS",
    "SCENARIOS",
    "make_config",
    "LockAndReturn",
    "SequentialLock",
    "BlueprintConstruction",
    "ShelterConstruction",
]
