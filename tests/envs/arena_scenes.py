"""Actions and scenes for the arena's rule tests: an agent's action dict, standing still, and an
empty walled floor with chosen entity counts."""

from __future__ import annotations

import numpy as np

from envs.hide_and_seek_v0 import parallel_env

#: Every movement at its middle bin (no force, no turn), no grab, no lock.
STILL = {"movement": np.array([5, 5, 5]), "grab": 0, "lock": 0}


def act(movement=(5, 5, 5), grab=0, lock=0) -> dict:
    """One agent's action: the x, y and turn bins, grab and lock."""
    return {"movement": np.array(movement), "grab": grab, "lock": lock}


def scene_env(n_hiders=1, n_seekers=1, n_boxes=0, n_ramps=0, extra_wall_slots=2, **kwargs):
    """An empty walled 6 m floor with fixed counts and no preparation phase unless asked, reset
    with seed 0; ``extra_wall_slots`` walls the test may raise itself."""
    settings = dict(
        scenario="empty",
        n_hiders=n_hiders,
        n_seekers=n_seekers,
        n_boxes=n_boxes,
        n_elongated_boxes=0,
        n_ramps=n_ramps,
        outer_walls_probability=1.0,
        play_area=6.0,
        prep_fraction=0.0,
        horizon=200,
        extra_wall_slots=extra_wall_slots,
    )
    settings.update(kwargs)
    env = parallel_env(**settings)
    env.reset(seed=0)
    return env
