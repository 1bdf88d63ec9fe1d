"""Per-agent observation vectors, built for all agents in one array operation.

Layout of one agent's observation (``float32``)::

    [ own velocity (2) | own position (2) | landmark offsets (2 L) | other-agent offsets (2 (N - 1))
      | landmark visible (L) | other agent visible (N - 1) ]      <- the last two only when partial

Offsets are positions relative to the observing agent, landmarks in index order, other agents in
index order with the observer left out. Under partial observability an entity farther than
``observation_radius`` has its offset set to zero and its visibility flag to 0; a visible one has
flag 1. The flags tell an entity at zero offset apart from one that is out of sight.
"""

from __future__ import annotations

import numpy as np

from envs.navigation.physics import Geometry


class ObservationBuilder:
    """Builds the ``[N, D]`` observation matrix from the world state and its geometry."""

    def __init__(self, n_agents: int, n_landmarks: int, observation_radius: float | None) -> None:
        self.n_agents = n_agents
        self.n_landmarks = n_landmarks
        self.observation_radius = observation_radius
        rows = np.arange(n_agents)[:, None]
        columns = np.arange(n_agents - 1)[None, :]
        # other_index[i] lists every agent but i, in index order.
        self._other_index = columns + (columns >= rows)
        self._rows = rows
        self.size = 4 + 2 * n_landmarks + 2 * (n_agents - 1)
        if observation_radius is not None:
            self.size += n_landmarks + n_agents - 1

    def build(self, agent_pos: np.ndarray, agent_vel: np.ndarray, geometry: Geometry) -> np.ndarray:
        """The observation of every agent, one row per agent."""
        n = self.n_agents
        landmark_offsets = geometry.landmark_offsets
        other_offsets = geometry.agent_offsets[self._rows, self._other_index]
        parts = [agent_vel, agent_pos]
        if self.observation_radius is None:
            parts += [landmark_offsets.reshape(n, -1), other_offsets.reshape(n, -1)]
        else:
            landmark_visible = geometry.landmark_distances <= self.observation_radius
            other_visible = geometry.agent_distances[self._rows, self._other_index] <= self.observation_radius
            parts += [
                (landmark_offsets * landmark_visible[:, :, None]).reshape(n, -1),
                (other_offsets * other_visible[:, :, None]).reshape(n, -1),
                landmark_visible,
                other_visible,
            ]
        return np.concatenate(parts, axis=1, dtype=np.float32)
