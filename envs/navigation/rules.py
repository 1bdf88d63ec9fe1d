"""The reward rule of the navigation task: cover every landmark, do not collide."""

from __future__ import annotations

import numpy as np

from envs.navigation.physics import Geometry


def coverage_cost(geometry: Geometry) -> float:
    """Sum over landmarks of the distance from the landmark to its closest agent."""
    return float(geometry.landmark_distances.min(axis=0).sum())


def team_reward(geometry: Geometry, colliding: np.ndarray, collision_penalty: float) -> float:
    """The reward every agent receives.

    ``-(sum over landmarks of the distance to the closest agent)
    - collision_penalty * (number of colliding agent pairs)``, as in the shared part of the
    particle-environment "spread" task, with each colliding pair counted once.
    """
    pairs = int(np.count_nonzero(colliding)) // 2
    return -coverage_cost(geometry) - collision_penalty * pairs


def covered_landmarks(geometry: Geometry, cover_radius: float) -> int:
    """How many landmarks have an agent within ``cover_radius``."""
    return int(np.count_nonzero(geometry.landmark_distances.min(axis=0) < cover_radius))
