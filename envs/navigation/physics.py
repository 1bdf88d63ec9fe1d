"""Point-mass physics and pairwise geometry for all agents at once.

The dynamics follow the multi-agent particle environments: a force moves a unit-mass disc,
velocity is damped every step, and overlapping agents push each other apart with a soft
contact force. Everything is an array operation over all agents; there is no loop over agents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Geometry:
    """Relative positions and distances of every agent to every agent and landmark.

    ``agent_offsets[i, j]`` is the position of agent j seen from agent i (p_j - p_i), and
    ``agent_distances[i, i]`` is infinite so that an agent never counts as near itself;
    ``landmark_offsets[i, k]`` the position of landmark k seen from agent i.
    """

    agent_offsets: np.ndarray  # [N, N, 2]
    agent_distances: np.ndarray  # [N, N]
    landmark_offsets: np.ndarray  # [N, L, 2]
    landmark_distances: np.ndarray  # [N, L]


def measure(agent_pos: np.ndarray, landmark_pos: np.ndarray) -> Geometry:
    """Pairwise offsets and distances between agents, and from agents to landmarks."""
    agent_offsets = agent_pos[None, :, :] - agent_pos[:, None, :]
    landmark_offsets = landmark_pos[None, :, :] - agent_pos[:, None, :]
    agent_distances = np.sqrt(np.einsum("ijk,ijk->ij", agent_offsets, agent_offsets))
    # An agent is infinitely far from itself: it neither collides with nor pushes itself.
    agent_distances.ravel()[:: len(agent_pos) + 1] = np.inf
    return Geometry(
        agent_offsets=agent_offsets,
        agent_distances=agent_distances,
        landmark_offsets=landmark_offsets,
        landmark_distances=np.sqrt(np.einsum("ijk,ijk->ij", landmark_offsets, landmark_offsets)),
    )


def contact_forces(geometry: Geometry, agent_radius: float, stiffness: float, margin: float) -> np.ndarray:
    """Soft repulsion between overlapping agents, ``[N, 2]``.

    The penetration is a softplus of the overlap, ``margin * log(1 + exp((2r - d) / margin))``, and
    the force on agent i pushes it away from agent j along their centre line with magnitude
    ``stiffness * penetration``. An agent exerts no force on itself.
    """
    distances = geometry.agent_distances
    penetration = np.logaddexp(0.0, (2.0 * agent_radius - distances) / margin) * margin
    scale = stiffness * penetration / np.maximum(distances, 1e-9)
    # The force on i from j points along p_i - p_j = -agent_offsets[i, j].
    return -np.einsum("ij,ijk->ik", scale, geometry.agent_offsets)


def integrate(
    position: np.ndarray,
    velocity: np.ndarray,
    force: np.ndarray,
    dt: float,
    damping: float,
    arena_half_size: float,
) -> None:
    """Advance positions and velocities in place by one step (semi-implicit as in the particle envs).

    The position moves with the old velocity, then the velocity is damped and accelerated by the
    force (unit mass). Agents that would leave the square arena are stopped at its wall: their
    position is clipped and the velocity component into the wall set to zero.
    """
    position += velocity * dt
    velocity *= 1.0 - damping
    velocity += force * dt
    outside = np.abs(position) > arena_half_size
    if outside.any():
        np.clip(position, -arena_half_size, arena_half_size, out=position)
        velocity[outside] = 0.0


def collision_pairs(geometry: Geometry, agent_radius: float) -> np.ndarray:
    """``[N, N]`` boolean matrix of agents whose discs overlap (the diagonal is False)."""
    return geometry.agent_distances < 2.0 * agent_radius
