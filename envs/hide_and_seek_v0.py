"""Hide and seek (Baker et al. 2019) on current MuJoCo, as a PettingZoo environment.

``parallel_env(preset=None, **kwargs)`` returns the :class:`ParallelEnv`; ``env(...)`` the
AEC form. ``preset`` is ``"full_game"``, ``"quadrant"`` or ``"empty"``; keyword arguments
override it (``scenario``, ``n_hiders``, ``n_seekers``, ``n_boxes``, ``n_elongated_boxes``,
``n_ramps``, ``lock_ramps``, ``horizon``, ``prep_fraction``, ``substeps``, ``lidar_rays``,
``outer_walls_probability``, ``door_dropout``, ``flat_actions``, ``render_mode`` and the
rest of :class:`envs.hide_and_seek.ArenaConfig`). Spaces, rewards and replay frame keys are
documented in :mod:`envs.hide_and_seek.environment`.
"""

from __future__ import annotations

from typing import Any

from pettingzoo.utils.conversions import parallel_to_aec
from pettingzoo.utils.env import AECEnv

from envs.hide_and_seek.environment import HideAndSeekEnv

metadata = HideAndSeekEnv.metadata


def parallel_env(preset: str | None = None, **kwargs: Any) -> HideAndSeekEnv:
    """The arena as a PettingZoo ParallelEnv."""
    return HideAndSeekEnv(preset, **kwargs)


def env(preset: str | None = None, **kwargs: Any) -> AECEnv:
    """The arena in PettingZoo's AEC form (through ``parallel_to_aec``)."""
    return parallel_to_aec(parallel_env(preset, **kwargs))


raw_env = parallel_env
