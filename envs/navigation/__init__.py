"""Cooperative navigation: N agents cover N landmarks without colliding (``navigation_v0``).

Modules: ``config`` (validated parameters), ``physics`` (vectorised point-mass dynamics and
pairwise geometry), ``observations`` (per-agent observation vectors), ``rules`` (the reward),
``env`` (the PettingZoo ``ParallelEnv``) and ``rendering`` (pygame drawing of a scene).
"""

from envs.navigation.config import NavigationConfig
from envs.navigation.env import NavigationEnv

__all__ = ["NavigationConfig", "NavigationEnv"]
