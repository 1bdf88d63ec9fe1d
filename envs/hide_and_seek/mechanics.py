"""The arena's rules of play, vectorised over agents and objects.

Grab (``mae_envs/wrappers/manipulation.py: GrabObjWrapper``, with ``GrabClosestWrapper`` and
the grab masked by sight, ``MaskActionWrapper``): every step, an agent pressing grab welds the
closest box or ramp it saw at the last observation whose cuboid lies within ``grab_radius`` of
its centre; the choice is made afresh each step, so a grab drops as soon as the object leaves
sight or reach, and moves to another object that has become closer. Locked objects can be
grabbed (the original never checks).

Lock (``LockObjWrapper`` with ``lock_type="all_lock_team_specific"`` and
``lock_out_of_vision=False``; ``LockAllWrapper``): among the agents within ``lock_radius`` that
saw an object, an idle member (not pressing lock) of the team of its last locker unlocks it
and blocks any lock; otherwise a press locks it for a locker drawn at random among those
pressing. Before anyone has locked it, the "last locker" is agent 0 (a hider), as the
original's ``which_locked`` starts at zeros. Locking does not release grabs.

Preparation: seekers' actions are ignored. Boundary: agents (and, where configured, objects)
outside the play area are penalised.
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

    def __init__(
        self,
        model: mujoco.MjModel,
        data: mujoco.MjData,
        grab_eq: np.ndarray,
        lock_eq: np.ndarray,
        object_dof: np.ndarray,
        agent_pose: np.ndarray,
        object_pose: np.ndarray,
        object_half: np.ndarray,
        lockable: np.ndarray,
        team: np.ndarray,
        grab_radius: float,
        lock_radius: float,
    ) -> None:
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
        self.locker = -np.ones(n_objects, dtype=np.int64)  # the agent holding each lock, -1 when unlocked
        self.last_locker = np.zeros(n_objects, dtype=np.int64)  # LockObjWrapper.which_locked
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
        self.last_locker[:] = 0
        self.data.eq_active[self.grab_eq.ravel()] = 0
        self.data.eq_active[self.lock_eq] = 0
        self.n_held = self.n_locked = 0
        self.changed = True

    def count(self) -> None:
        """Recount grabs and locks after ``grabbed`` or ``lock_team`` were written directly."""
        self.n_held = int((self.grabbed >= 0).sum())
        self.n_locked = int((self.lock_team != NO_TEAM).sum())

    def apply(self, grab: list[bool], lock: list[bool], visible: np.ndarray, rng: np.random.Generator) -> None:
        """Update grabs and locks from this step's buttons (one bool per agent slot).

        ``visible [A, O]`` comes from the observation the agents acted on; it is False for
        absent agents and objects. ``rng`` draws the locker among several agents pressing.
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
        if 1 not in near.tobytes():  # nobody sees anything in reach: every grab drops
            if self.n_held:
                self._release([i for i, held in enumerate(self.grabbed.tolist()) if held >= 0])
            return
        agents, objects = near.nonzero()
        pairs = self._pairs_in_reach(agents.tolist(), objects.tolist())
        if any_lock or self.n_locked:
            self._update_locks(pairs, lock, rng)
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

    def _update_locks(self, pairs: list[tuple[int, int, float]], lock: list[bool], rng: np.random.Generator) -> None:
        """``all_lock_team_specific``: an idle member of the last locker's team unlocks and blocks;
        otherwise a press locks, for a locker drawn among those pressing.

        An unlocked object that may not be locked now (``lockable``) ignores presses, as the
        original masks the lock action of boxes out of turn (``box_locking.py: LockObjectsTask``)
        or has no lock on them (ramps in the quadrant game).
        """
        near: dict[int, list[int]] = {}
        for i, o, distance in pairs:
            if distance <= self.lock_radius:
                near.setdefault(o, []).append(i)
        lock_team, team = self.lock_team.tolist(), self.team
        release, wants, lockers = [], [], []
        for o in sorted(near):
            locked = lock_team[o] != NO_TEAM
            if not locked and not self.lockable[o]:
                continue
            owner = team[int(self.last_locker[o])]
            if any(not lock[i] and team[i] == owner for i in near[o]):
                if locked:
                    release.append(o)
            elif not locked:
                pressing = [i for i in near[o] if lock[i]]
                if pressing:
                    wants.append(o)
                    lockers.append(pressing[int(rng.integers(len(pressing)))] if len(pressing) > 1 else pressing[0])
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
            self.last_locker[objects] = lockers
            self._weld_to_world(objects, self.object_pose)
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
        """Each agent pressing grab holds the closest object it saw within reach, chosen afresh."""
        closest: dict[int, tuple[float, int]] = {}
        for i, o, distance in pairs:  # agents, then objects, in increasing order: ties keep the lowest object
            if distance <= self.grab_radius and grab[i] and (i not in closest or distance < closest[i][0]):
                closest[i] = (distance, o)
        held = self.grabbed.tolist()
        wanted = {i: o for i, (_, o) in closest.items()}
        self._release([i for i, o in enumerate(held) if o >= 0 and wanted.get(i) != o])
        new = [i for i, o in wanted.items() if held[i] != o]
        if not new:
            return
        new_agents = np.array(new)
        objects = np.array([wanted[i] for i in new])
        a_pose, o_pose = self.agent_pose[new_agents], self.object_pose[objects]
        yaw = a_pose[:, 3]
        c, s = np.cos(yaw), np.sin(yaw)
        dx, dy, dz = (o_pose[:, :3] - a_pose[:, :3]).T
        rel = np.stack([c * dx + s * dy, -s * dx + c * dy, dz], axis=1)
        eq = self.grab_eq[new_agents, objects]
        self.model.eq_data[eq, 0:3] = 0.0
        self.model.eq_data[eq, 3:6] = rel
        self.model.eq_data[eq, 6:10] = yaw_quaternions(o_pose[:, 3] - yaw)
        self.data.eq_active[eq] = 1
        self.grabbed[new_agents] = objects
        self.n_held += new_agents.size

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
