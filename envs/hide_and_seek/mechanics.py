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

import math

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


class ObjectRules:
    """Grab and lock state of one episode, applied through the model's weld constraints.

    Most steps nobody is near an object, which one bounding-circle test over all (agent,
    object) pairs finds; the few pairs within reach are then handled one by one.
    """

    def __init__(self, model: mujoco.MjModel, data: mujoco.MjData, grab_eq: np.ndarray, lock_eq: np.ndarray,
                 object_dof: np.ndarray, agent_pose: np.ndarray, object_pose: np.ndarray,
                 object_half: np.ndarray, lockable: np.ndarray, team: np.ndarray, grab_radius: float,
                 lock_radius: float) -> None:
        self.model = model
        self.data = data
        self.grab_eq = grab_eq
        self.lock_eq = lock_eq
        self.object_dof = object_dof  # [O, 4] dof addresses
        # views and arrays owned by the environment, read at every step
        self.agent_pose = agent_pose  # [A, 4] x, y, z, yaw
        self.object_pose = object_pose  # [O, 4]
        self.object_half = object_half  # [O, 3] half extents, set per episode
        self.lockable = lockable  # [O] which objects may be locked (tasks change it)
        self.team = [int(t) for t in team]
        self.grab_radius = float(grab_radius)
        self.lock_radius = float(lock_radius)
        n_agents, n_objects = grab_eq.shape
        self.n_objects = n_objects
        self.grabbed = -np.ones(n_agents, dtype=np.int64)
        self.lock_team = np.full(n_objects, NO_TEAM, dtype=np.int64)
        self.locker = -np.ones(n_objects, dtype=np.int64)
        self.n_held = 0
        self.n_locked = 0
        self.changed = True  # lock state changed since the flag was last cleared
        # planar positions as complex numbers x + iy: views of the poses' first two columns
        self._agent_xy = agent_pose.view(np.complex128)[:, 0]
        self._object_xy = object_pose.view(np.complex128)[:, 0]
        self._offset = np.zeros((n_agents, n_objects), dtype=np.complex128)
        self._distance = np.zeros((n_agents, n_objects))
        self._near = np.zeros((n_agents, n_objects), dtype=bool)
        self._bound = np.zeros(n_objects)
        self.set_sizes()

    def set_sizes(self) -> None:
        """Recompute the reach bound of every object after ``object_half`` changed."""
        half = self.object_half
        self._bound[:] = max(self.grab_radius, self.lock_radius) + np.hypot(half[:, 0], half[:, 1])

    def reset(self) -> None:
        """Release every grab and lock."""
        self.grabbed[:] = -1
        self.lock_team[:] = NO_TEAM
        self.locker[:] = -1
        self.data.eq_active[self.grab_eq.ravel()] = 0
        self.data.eq_active[self.lock_eq] = 0
        self.n_held = self.n_locked = 0
        self.changed = True

    def count(self) -> None:
        """Recount grabs and locks after ``grabbed`` or ``lock_team`` were written directly."""
        self.n_held = int((self.grabbed >= 0).sum())
        self.n_locked = int((self.lock_team != NO_TEAM).sum())

    def apply(self, grab: list[bool], lock: list[bool], visible: np.ndarray) -> None:
        """Update grabs and locks from this step's buttons (one bool per agent slot).

        ``visible [A, O]`` comes from the observation the agents acted on; it is False for
        absent agents and objects.
        """
        self.changed = False
        if self.n_objects == 0:
            return
        any_grab, any_lock = True in grab, True in lock
        if not (any_grab or any_lock or self.n_held or self.n_locked):
            return
        # bounding circles: the planar distance between centres against reach plus half-diagonal
        offset, distance, near = self._offset, self._distance, self._near
        np.subtract(self._agent_xy[:, None], self._object_xy, out=offset)
        np.abs(offset, out=distance)
        np.less_equal(distance, self._bound, out=near)
        near &= visible
        if 1 not in near.tobytes():  # only releases can happen out of reach
            if self.n_held:
                self._release([i for i, held in enumerate(self.grabbed.tolist()) if held >= 0 and not grab[i]])
            return
        agents, objects = near.nonzero()
        pairs = self._pairs_in_reach(agents.tolist(), objects.tolist())
        if any_lock or self.n_locked:
            self._update_locks(pairs, lock)
        if any_grab or self.n_held:
            self._update_grabs(pairs, grab)

    def _pairs_in_reach(self, agents: list[int], objects: list[int]) -> list[tuple[int, int, float]]:
        """(agent, object, distance from the agent's centre to the object's cuboid) of close pairs."""
        agent_pose, object_pose, half = self.agent_pose, self.object_pose, self.object_half
        reach = max(self.grab_radius, self.lock_radius)
        pairs = []
        for i, o in zip(agents, objects):
            ax, ay, az, _ = agent_pose[i].tolist()
            ox, oy, oz, yaw = object_pose[o].tolist()
            hx, hy, hz = half[o].tolist()
            c, s = math.cos(yaw), math.sin(yaw)
            dx, dy, dz = ax - ox, ay - oy, az - oz
            ex = max(abs(c * dx + s * dy) - hx, 0.0)
            ey = max(abs(-s * dx + c * dy) - hy, 0.0)
            ez = max(abs(dz) - hz, 0.0)
            distance = math.sqrt(ex * ex + ey * ey + ez * ez)
            if distance <= reach:
                pairs.append((i, o, distance))
        return pairs

    def _update_locks(self, pairs: list[tuple[int, int, float]], lock: list[bool]) -> None:
        """Lock by a pressing agent in reach; release by an idle member of the locking team in reach."""
        pressing: dict[int, list[int]] = {}
        idle: dict[int, list[int]] = {}
        for i, o, distance in pairs:
            if distance <= self.lock_radius:
                (pressing if lock[i] else idle).setdefault(o, []).append(i)
        lock_team, team = self.lock_team.tolist(), self.team
        release, wants, lockers = [], [], []
        for o in sorted(set(pressing) | set(idle)):
            owner = lock_team[o]
            if owner != NO_TEAM:
                kept = any(team[i] == owner for i in pressing.get(o, ()))
                if not kept and any(team[i] == owner for i in idle.get(o, ())):
                    release.append(o)
            elif o in pressing and self.lockable[o]:
                wants.append(o)
                lockers.append(min(pressing[o]))  # the lowest-index agent pressing decides the team
        if release:
            self.changed = True
            self.lock_team[release] = NO_TEAM
            self.locker[release] = -1
            self.data.eq_active[self.lock_eq[release]] = 0
        if wants:
            self.changed = True
            objects = np.array(wants)
            self.lock_team[objects] = [team[i] for i in lockers]
            self.locker[objects] = lockers
            self._weld_to_world(objects, self.object_pose)
            self._release([i for i, held in enumerate(self.grabbed.tolist()) if held in wants])
        if self.changed:
            self.n_locked = int((self.lock_team != NO_TEAM).sum())

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

    def _update_grabs(self, pairs: list[tuple[int, int, float]], grab: list[bool]) -> None:
        """Keep a grab while pressed and unlocked; otherwise weld the closest unlocked object in reach."""
        lock_team = self.lock_team.tolist()
        held = self.grabbed.tolist()
        self._release([i for i, o in enumerate(held) if o >= 0 and (not grab[i] or lock_team[o] != NO_TEAM)])
        held = self.grabbed.tolist()
        best: dict[int, tuple[float, int]] = {}
        for i, o, distance in pairs:  # agents, then objects, in increasing order: ties keep the lowest object
            if (distance <= self.grab_radius and grab[i] and held[i] < 0 and lock_team[o] == NO_TEAM
                    and (i not in best or distance < best[i][0])):
                best[i] = (distance, o)
        if not best:
            return
        new = np.array(list(best))
        objects = np.array([o for _, o in best.values()])
        a_pose, o_pose = self.agent_pose[new], self.object_pose[objects]
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
        self.n_held += new.size

    def _release(self, agents: list[int]) -> None:
        if not agents:
            return
        eq = self.grab_eq[agents, self.grabbed[agents]]
        self.data.eq_active[eq] = 0
        self.grabbed[agents] = -1
        self.n_held -= len(agents)


def outside(points: np.ndarray, center: float, half_side: float) -> np.ndarray:
    """Which points ``[N, >=2]`` lie outside the square of half side ``half_side``."""
    return (np.abs(points[:, :2] - center) > half_side).any(axis=1)
