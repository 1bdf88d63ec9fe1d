"""The arena's rules of play, vectorised over agents and objects.

Grab: an agent pressing grab welds the closest visible box or ramp whose cuboid lies within
``grab_radius`` of the agent's centre (as in the original environment); the weld holds while
grab stays pressed. Lock: an agent pressing lock welds every visible box (and ramp, where
lockable) within ``lock_radius`` to the world for its team; only that team unlocks it, by a
member standing in reach (and seeing it) without pressing lock while no teammate in reach
presses it. Preparation: seekers' actions are ignored. Boundary: agents (and, where
configured, objects) outside the play area are penalised.
"""

from __future__ import annotations

import mujoco
import numpy as np

NO_TEAM = -1


def yaw_quaternions(yaw: np.ndarray) -> np.ndarray:
    """Unit quaternions ``[N, 4]`` (w, x, y, z) of rotations by ``yaw`` about z."""
    half = 0.5 * yaw
    out = np.zeros(yaw.shape + (4,))
    out[..., 0] = np.cos(half)
    out[..., 3] = np.sin(half)
    return out


def footprint_distance(points: np.ndarray, centers: np.ndarray, yaw: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Distance ``[P, O]`` from each point to each yawed cuboid (zero inside it)."""
    offset = points[:, None, :] - centers[None, :, :]
    c, s = np.cos(yaw)[None, :], np.sin(yaw)[None, :]
    local_x = c * offset[..., 0] + s * offset[..., 1]
    local_y = -s * offset[..., 0] + c * offset[..., 1]
    local = np.stack([local_x, local_y, offset[..., 2]], axis=-1)
    excess = np.maximum(np.abs(local) - half[None, :, :], 0.0)
    return np.sqrt((excess**2).sum(-1))


class ObjectRules:
    """Grab and lock state of one episode, applied through the model's weld constraints."""

    def __init__(self, model: mujoco.MjModel, data: mujoco.MjData, grab_eq: np.ndarray, lock_eq: np.ndarray,
                 agent_body: np.ndarray, object_body: np.ndarray, object_dof: np.ndarray) -> None:
        self.model = model
        self.data = data
        self.grab_eq = grab_eq
        self.lock_eq = lock_eq
        self.agent_body = agent_body
        self.object_body = object_body
        self.object_dof = object_dof  # [O, 4] dof addresses
        n_agents, n_objects = grab_eq.shape
        self.n_objects = n_objects
        self.grabbed = -np.ones(n_agents, dtype=np.int64)
        self.lock_team = np.full(n_objects, NO_TEAM, dtype=np.int64)
        self.locker = -np.ones(n_objects, dtype=np.int64)
        self._agents = np.arange(n_agents)
        self.changed = True  # lock state changed since the flag was last cleared

    def reset(self) -> None:
        """Release every grab and lock."""
        self.grabbed[:] = -1
        self.lock_team[:] = NO_TEAM
        self.locker[:] = -1
        self.data.eq_active[self.grab_eq.ravel()] = 0
        self.data.eq_active[self.lock_eq] = 0
        self.changed = True

    def apply(self, grab: np.ndarray, lock: np.ndarray, agent_pose: np.ndarray, object_pose: np.ndarray,
              object_half: np.ndarray, visible: np.ndarray, object_present: np.ndarray,
              lockable: np.ndarray, team: np.ndarray, agent_present: np.ndarray,
              grab_radius: float, lock_radius: float) -> None:
        """Update grabs and locks from this step's buttons.

        ``agent_pose``/``object_pose`` are ``[N, 4]`` (x, y, z, yaw); ``visible`` is ``[A, O]``
        from the observation the agents acted on.
        """
        self.changed = False
        holding = self.grabbed >= 0
        locks_matter = bool(lock.any()) or bool((self.lock_team != NO_TEAM).any())
        grabs_matter = bool(grab.any()) or bool(holding.any())
        if self.n_objects == 0 or not (locks_matter or grabs_matter):
            return
        # cheap bounding-circle test first: most steps nobody is near any object
        offset = agent_pose[:, None, :2] - object_pose[None, :, :2]
        bound = max(grab_radius, lock_radius) + np.sqrt(object_half[:, 0] ** 2 + object_half[:, 1] ** 2)
        if not ((offset[..., 0] ** 2 + offset[..., 1] ** 2) <= bound**2).any():
            drop = np.flatnonzero(holding & ~grab)  # only releases can happen out of reach
            if drop.size:
                self._release(drop)
            return
        distance = footprint_distance(agent_pose[:, :3], object_pose[:, :3], object_pose[:, 3], object_half)
        usable = visible & object_present & agent_present[:, None]
        if locks_matter:
            self._update_locks(lock, distance <= lock_radius, usable, lockable, team, object_pose)
        if grabs_matter:
            self._update_grabs(grab, distance <= grab_radius, usable, distance, agent_pose, object_pose)

    def _update_locks(self, lock: np.ndarray, in_reach: np.ndarray, usable: np.ndarray, lockable: np.ndarray,
                      team: np.ndarray, object_pose: np.ndarray) -> None:
        reach = in_reach & usable  # locked objects can always be kept or released by their team
        pressing = reach & lock[:, None]
        idle = reach & ~lock[:, None]
        locked = self.lock_team != NO_TEAM
        same_team = team[:, None] == self.lock_team[None, :]
        keep = (pressing & same_team).any(0)
        release = locked & ~keep & (idle & same_team).any(0)
        wants = ~locked & lockable & pressing.any(0)
        if release.any():
            self.changed = True
            self.lock_team[release] = NO_TEAM
            self.locker[release] = -1
            self.data.eq_active[self.lock_eq[release]] = 0
        if wants.any():
            self.changed = True
            objects = np.flatnonzero(wants)
            # the lowest-index agent pressing decides the team (ties between teams are rare)
            lockers = np.argmax(pressing[:, objects], axis=0)
            self.lock_team[objects] = team[lockers]
            self.locker[objects] = lockers
            self._weld_to_world(objects, object_pose)
            held = np.isin(self.grabbed, objects)
            if held.any():
                self._release(np.flatnonzero(held))

    def _weld_to_world(self, objects: np.ndarray, object_pose: np.ndarray) -> None:
        pose = object_pose[objects]
        yaw = pose[:, 3]
        c, s = np.cos(yaw), np.sin(yaw)
        # relative position of the world origin in the object frame, and the inverse rotation
        px, py, pz = -pose[:, 0], -pose[:, 1], -pose[:, 2]
        rel = np.stack([c * px + s * py, -s * px + c * py, pz], axis=1)
        eq = self.lock_eq[objects]
        self.model.eq_data[eq, 0:3] = 0.0
        self.model.eq_data[eq, 3:6] = rel
        self.model.eq_data[eq, 6:10] = yaw_quaternions(-yaw)
        self.data.eq_active[eq] = 1
        self.data.qvel[self.object_dof[objects].ravel()] = 0.0

    def _update_grabs(self, grab: np.ndarray, in_reach: np.ndarray, usable: np.ndarray, distance: np.ndarray,
                      agent_pose: np.ndarray, object_pose: np.ndarray) -> None:
        unlocked = self.lock_team == NO_TEAM
        holding = self.grabbed >= 0
        still = holding & grab
        if still.any():  # a held object stays held while grab is pressed and it is not locked
            keep_ok = unlocked[self.grabbed[still]]
            lost = np.flatnonzero(still)[~keep_ok]
            if lost.size:
                self._release(lost)
        drop = np.flatnonzero(holding & ~grab)
        if drop.size:
            self._release(drop)
        candidates = grab & (self.grabbed < 0)
        if not candidates.any():
            return
        allowed = in_reach & usable & unlocked[None, :] & candidates[:, None]
        masked = np.where(allowed, distance, np.inf)
        target = np.argmin(masked, axis=1)
        new = np.flatnonzero(np.isfinite(masked[self._agents, target]))
        if new.size == 0:
            return
        objects = target[new]
        a_pose, o_pose = agent_pose[new], object_pose[objects]
        yaw = a_pose[:, 3]
        c, s = np.cos(yaw), np.sin(yaw)
        dx, dy, dz = (o_pose[:, :3] - a_pose[:, :3]).T
        rel = np.stack([c * dx + s * dy, -s * dx + c * dy, dz], axis=1)
        eq = self.grab_eq[new, objects]
        self.model.eq_data[eq, 0:3] = 0.0
        self.model.eq_data[eq, 3:6] = rel
        self.model.eq_data[eq, 6:10] = yaw_quaternions(o_pose[:, 3] - yaw)
        self.data.eq_active[eq] = 1
        self.grabbed[new] = objects

    def _release(self, agents: np.ndarray) -> None:
        eq = self.grab_eq[agents, self.grabbed[agents]]
        self.data.eq_active[eq] = 0
        self.grabbed[agents] = -1


def outside(points: np.ndarray, center: float, half_side: float) -> np.ndarray:
    """Which points ``[N, >=2]`` lie outside the square of half side ``half_side``."""
    return (np.abs(points[:, :2] - center) > half_side).any(axis=1)
