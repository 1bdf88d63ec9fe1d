"""The hide-and-seek arena on MuJoCo (see ``envs.hide_and_seek_v0`` for the public module)."""

from .environment import HideAndSeekEnv
from .presets import PRESETS, SCENARIOS, ArenaConfig, make_config

__all__ = ["HideAndSeekEnv", "ArenaConfig", "PRESETS", "SCENARIOS", "make_config"]
