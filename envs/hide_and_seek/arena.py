"""The arena: the MuJoCo world of agents, boxes, ramps and walls, its physics, sensing, grab and lock.

One :class:`Arena` per environment holds the compiled model (built once per configuration,
``world.py``), its data, what the agents perceive (``sensing.py``) and the grab and lock rules
(``mechanics.py``). Per episode it draws the entity counts and box shapes, asks its scenario
for walls and spawn regions and writes them into the model; per step it applies grabs and
locks, steps the physics, parks absent entities, catches a diverging simulation and senses.
It knows no game: who is rewarded for what is the game's (``game.py``, ``tasks.py``).
"""

from __future__ import annotations

import hashlib
from typing import Protocol

import mujoco
import numpy as np

from . import world as W
from .layouts import Layout, PlacementError, place, spot_in_metres
from .mechanics import NO_TEAM, ObjectRules
from .presets import ArenaConfig
from .scenarios import Scenario, SpawnRequest
from .sensing_fast import ConeSenses

PLACEMENT_ATTEMPTS = 50
_PHYSICS_WARNINGS = (
    int(mujoco.mjtWarning.mjWARN_BADQACC),
    int(mujoco.mjtWarning.mjWARN_BADQVEL),
    int(mujoco.mjtWarning.mjWARN_BADQPOS),
)
_POSITION_LIMIT = 1e4


class Placer(Protocol):
    """What a game puts on the placement grid around the arena's entities."""

    def place_before_entities(self, occupied: np.ndarray, rng: np.random.Generator) -> None: ...

    def place_after_entities(self, occupied: np.ndarray, rng: np.random.Generator) -> None: ...


class Arena:
    """World, physics, sensing, grab and lock for one configuration (see the module doc).

    Agent slots are hiders then seekers (``team`` 0 and 1); object slots are boxes then ramps.
    Arrays are allocated once and rewritten in place, so views of them stay valid.
    """

    #: the sensing in use: ``sensing.Senses`` gives the same results, casting more rays
    senses_class = ConeSenses

    def __init__(self, config: ArenaConfig, scenario: Scenario, world_key: W.WorldKey) -> None:
        c = self.config = config
        self.scenario = scenario
        self.world_key = world_key
        self.model = W.private_model(world_key)
        self.data = mujoco.MjData(self.model)
        self.index = W.index_world(self.model, world_key)
        A = self.n_agent_slots = c.max_agents
        B = self.n_box_slots = c.max_boxes
        self.n_ramp_slots = c.max_ramps
        O = self.n_objects = c.max_boxes + c.max_ramps  # noqa: E741
        self.n_entities = A + O
        self.team = np.array([0] * c.max_hiders + [1] * c.max_seekers, dtype=np.int64)
        self.is_hider = self.team == 0
        self.agent_present = np.zeros(A, dtype=bool)
        self.object_present = np.zeros(O, dtype=bool)
        self.object_half = np.zeros((O, 3))  # half extents; boxes' set per episode
        self.object_half[B:] = W.RAMP_HALF
        # views of the simulation state (MjData never reallocates): x, y, z, yaw per entity
        self._qpos, self._qvel = self.data.qpos, self.data.qvel  # read without MjData's accessors
        self.pose = self._qpos.reshape(self.n_entities, 4)
        self.velocity = self._qvel.reshape(self.n_entities, 4)
        self.agent_pose = self.pose[:A]
        self.object_pose = self.pose[A:]
        self.controls = self.data.ctrl.reshape(A, 3)
        target_body = np.concatenate([self.index.agent_body, self.index.object_body])
        sight_range = float(np.hypot(c.play_area, c.play_area) + c.floor_size)
        self.senses = self.senses_class(
            self.model,
            self.data,
            self.index.agent_body,
            target_body,
            self.index.geom_body,
            c.lidar_rays,
            c.lidar_range,
            c.vision_cone_degrees,
            sight_range,
        )
        self.in_sight = self.senses.in_sight  # [A, A + O], rewritten by every sensing
        self._objects_in_sight = self.in_sight[:, A:]  # [A, O]: what grab and lock may reach
        self.lidar = self.senses.lidar
        sites = self.index.entity_site
        # where rays aim: the entities' aim sites, a view of MuJoCo's site positions
        self._targets = self.data.site_xpos[sites[0] : sites[0] + sites.size] if sites.size else np.zeros((0, 3))
        lockable = np.ones(O, dtype=bool)
        lockable[B:] = c.lock_ramps
        object_dof = np.arange(4 * self.n_entities).reshape(self.n_entities, 4)[A:]
        self.rules = ObjectRules(
            self.model,
            self.data,
            self.index.grab_eq,
            self.index.lock_eq,
            object_dof,
            self.agent_pose,
            self.object_pose,
            self.object_half,
            lockable,
            self.team,
            c.grab_radius,
            c.lock_radius,
        )
        # object geoms and their colours unlocked and locked (by team), for painting locks
        self._object_geoms = np.concatenate([self.index.box_geom, self.index.ramp_geom])
        self._object_rgba = np.concatenate([np.tile(W.BOX_RGBA, (B, 1)), np.tile(W.RAMP_RGBA, (self.n_ramp_slots, 1))])
        self._lock_rgba = np.asarray(W.LOCK_RGBA, dtype=np.float64)
        self._warning_stats = [self.data.warning[i] for i in _PHYSICS_WARNINGS]
        self._warning_count = 0
        self._object_start = np.zeros((O, 3))  # where the objects stood when the episode began
        self._parked_qpos = np.zeros(0, dtype=np.int64)
        self._parked_values = np.zeros(0)
        self._last_good = (self.data.qpos.copy(), self.data.qvel.copy())
        self.layout: Layout | None = None
        self._restored_layout: bytes | None = None  # digest of the walls and box sizes a restore wrote

    # ----------------------------------------------------------------------------------------
    # episodes
    def new_episode(self, rng: np.random.Generator, placer: Placer) -> None:
        """Draw the entity counts, box shapes, walls and placements, and write them into the world."""
        c = self.config
        n_hiders = int(rng.integers(c.n_hiders[0], c.n_hiders[1] + 1))
        n_seekers = int(rng.integers(c.n_seekers[0], c.n_seekers[1] + 1))
        n_boxes = int(rng.integers(c.n_boxes[0], c.n_boxes[1] + 1))
        # modules/objects.py: Boxes draws the elongated count up to the box count, then how
        # many of them lie along x (the rest lie along y)
        n_long = int(rng.integers(c.n_elongated_boxes[0], min(c.n_elongated_boxes[1], n_boxes) + 1))
        n_along_x = int(rng.integers(n_long + 1))
        n_ramps = int(rng.integers(c.n_ramps[0], c.n_ramps[1] + 1))
        self.agent_present[:] = False
        self.agent_present[:n_hiders] = True
        self.agent_present[c.max_hiders : c.max_hiders + n_seekers] = True
        self.object_present[:] = False
        self.object_present[:n_boxes] = True
        self.object_present[self.n_box_slots : self.n_box_slots + n_ramps] = True
        box_half = np.tile(W.CUBE_HALF, (self.n_box_slots, 1))
        box_half[:n_along_x] = W.ELONGATED_HALF
        box_half[n_along_x:n_long] = W.ELONGATED_HALF[[1, 0, 2]]
        poses = self._sample_poses(box_half, rng, placer)
        self._apply_episode(poses, box_half)
        self.sense()
        self.mark_start()

    def _sample_poses(self, box_half: np.ndarray, rng: np.random.Generator, placer: Placer) -> np.ndarray:
        """x, y, z, yaw of every entity slot, placed as the original places them.

        Agents first (hiders, then seekers), then boxes, then ramps, each on a free block of
        the placement grid in the spawn region its scenario gives; absent slots are parked
        below the floor. A layout where something finds no room is drawn again, as the
        original rebuilds the world when a placement fails (``envs/base.py``).
        """
        c = self.config
        cell = c.cell_size
        A, B = self.n_agent_slots, self.n_box_slots
        agent_extent = (2 * W.AGENT_RADIUS, 2 * W.AGENT_RADIUS)
        ramp_extent = (2 * W.RAMP_HALF, 2 * W.RAMP_HALF)
        for _ in range(PLACEMENT_ATTEMPTS):
            try:
                layout = self.scenario.layout(c, rng)
                occupied = layout.blocked.copy()
                placer.place_before_entities(occupied, rng)
                poses = np.zeros((self.n_entities, 4))
                poses[:, 0] = -100.0 - 2.0 * np.arange(self.n_entities)
                poses[:, 1] = -100.0
                poses[:, 2] = W.PARK_DEPTH
                anchors: dict[int, tuple[int, int]] = {}
                for slot in np.flatnonzero(self.agent_present).tolist():
                    size = (c.footprint_cells(agent_extent[0]),) * 2
                    first = 0 if self.is_hider[slot] else c.max_hiders
                    request = SpawnRequest("agent", slot, size, bool(self.is_hider[slot]), first, anchors)
                    anchors[slot] = place(occupied, self.scenario.spawn_region(c, layout, request), size, rng)
                    x, y = spot_in_metres(anchors[slot], size, agent_extent, cell, rng)
                    poses[slot] = (x, y, W.AGENT_RADIUS, W.SPAWN_YAW)
                for b in np.flatnonzero(self.object_present[:B]).tolist():
                    extent = (2 * box_half[b, 0], 2 * box_half[b, 1])
                    size = (c.footprint_cells(extent[0]), c.footprint_cells(extent[1]))
                    region = self.scenario.spawn_region(c, layout, SpawnRequest("box", b, size))
                    x, y = spot_in_metres(place(occupied, region, size, rng), size, extent, cell, rng)
                    poses[A + b] = (x, y, W.BOX_HALF, 0.0)
                for r in np.flatnonzero(self.object_present[B:]).tolist():
                    size = (c.footprint_cells(ramp_extent[0]),) * 2
                    region = self.scenario.spawn_region(c, layout, SpawnRequest("ramp", r, size))
                    x, y = spot_in_metres(place(occupied, region, size, rng), size, ramp_extent, cell, rng)
                    poses[A + B + r] = (x, y, W.RAMP_HALF, W.SPAWN_YAW)
                placer.place_after_entities(occupied, rng)
            except PlacementError:
                continue
            self.layout = layout
            return poses
        raise RuntimeError(
            f"could not place all entities in {PLACEMENT_ATTEMPTS} layouts; lower n_boxes, n_ramps or the agent counts"
        )

    def _apply_episode(self, poses: np.ndarray, box_half: np.ndarray) -> None:
        """Write this episode's layout, sizes and presence into the private model and data."""
        m, d, idx = self.model, self.data, self.index
        self._restored_layout = None  # the model no longer holds a restored frame's layout
        W.set_walls(m, idx.wall_geom, self.layout.walls, self.scenario.wall_friction)
        if self.n_box_slots:
            W.set_box_geometry(m, idx.box_geom, box_half)
            W.set_box_inertia(m, idx.box_body, box_half)
        self.object_half[: self.n_box_slots] = box_half
        self.rules.set_sizes()
        self._show_present()
        m.geom_rgba[idx.box_geom] = W.BOX_RGBA
        m.geom_rgba[idx.ramp_geom] = W.RAMP_RGBA
        mujoco.mj_resetData(m, d)
        self.rules.reset()
        d.qpos[:] = poses.reshape(-1)
        parked = np.flatnonzero(~np.concatenate([self.agent_present, self.object_present]))
        self._parked_qpos = (parked[:, None] * 4 + np.arange(4)).reshape(-1)
        self._parked_values = d.qpos[self._parked_qpos].copy()
        mujoco.mj_forward(m, d)
        self._warning_count = self._count_warnings()
        self._set_observers()

    def _set_observers(self) -> None:
        """Which agents cast rays: the present ones."""
        self.senses.set_observers(self.agent_present)

    def _show_present(self) -> None:
        """Contacts and ray visibility of every entity's geoms by presence this episode."""
        m, idx, B = self.model, self.index, self.n_box_slots
        W.set_present(m, idx.agent_geom, self.agent_present, W.GROUP_AGENT)
        arms = idx.agent_arm_geom
        W.set_present(m, arms.ravel(), np.repeat(self.agent_present, arms.shape[1]), W.GROUP_AGENT)
        W.set_present(m, idx.box_geom, self.object_present[:B], W.GROUP_OBJECT)
        W.set_present(m, idx.ramp_geom, self.object_present[B:], W.GROUP_OBJECT)

    def mark_start(self) -> None:
        """The present state is the episode's start: objects' moves count from here, and a
        diverging simulation falls back to it."""
        self._object_start[:] = self.object_pose[:, :3]
        self._last_good = (self.data.qpos.copy(), self.data.qvel.copy())

    def arrange(
        self,
        agents: dict[int, tuple[float, float, float]],
        boxes: dict[int, tuple[float, float, float]],
        ramps: dict[int, tuple[float, float, float]],
        walls: np.ndarray | None,
    ) -> None:
        """Move agent slots and present box and ramp slots to ``(x, y, yaw)``, optionally replace the
        walls (``[W, 5]``); velocities zeroed, grabs and locks released, the scene sensed."""
        pose, A, B = self.pose, self.n_agent_slots, self.n_box_slots
        present = np.concatenate([self.agent_present, self.object_present])
        for slot, (x, y, yaw) in agents.items():
            pose[slot] = (x, y, W.AGENT_RADIUS, yaw)
        for offset, count, entries, height, kind in (
            (A, B, boxes, W.BOX_HALF, "boxes"),
            (A + B, self.n_ramp_slots, ramps, W.RAMP_HALF, "ramps"),
        ):
            for slot, (x, y, yaw) in entries.items():
                if not (0 <= slot < count) or not present[offset + slot]:
                    raise ValueError(f"{kind}: slot {slot} is not present this episode")
                pose[offset + slot] = (x, y, height, yaw)
        if walls is not None:
            walls = np.asarray(walls, dtype=np.float64).reshape(-1, 5)
            self.layout = Layout(walls, self.layout.blocked, self.layout.outer_walls, self.layout.rooms)
            W.set_walls(self.model, self.index.wall_geom, walls, self.scenario.wall_friction)
            self._restored_layout = None
        self.data.qvel[:] = 0.0
        self.rules.reset()
        self.color_locks()
        mujoco.mj_forward(self.model, self.data)
        self.mark_start()
        self.sense()

    # ----------------------------------------------------------------------------------------
    # steps
    def step(self, controls: np.ndarray, grab: list[bool], lock: list[bool], rng: np.random.Generator) -> bool:
        """Apply grab and lock, then ``substeps`` physics steps with ``controls [A, 3]``; park the
        absent entities and sense. Returns whether the simulation diverged, in which case the
        world went back to the last good state with every grab and lock released."""
        self.controls[:] = controls
        rules = self.rules
        rules.apply(grab, lock, self._objects_in_sight, rng)
        if rules.changed:
            self.color_locks()
        m, d = self.model, self.data
        mujoco.mj_step(m, d, self.config.substeps)
        qpos, qvel = self._qpos, self._qvel
        if self._parked_qpos.size:
            qpos[self._parked_qpos] = self._parked_values
            qvel[self._parked_qpos] = 0.0
        diverged = self._diverged()
        if diverged:
            qpos[:], qvel[:] = self._last_good
            rules.reset()
            self.color_locks()
            d.ctrl[:] = 0.0
            mujoco.mj_forward(m, d)
            self._warning_count = self._count_warnings()
        else:
            mujoco.mj_kinematics(m, d)  # sensing reads the geoms' and sites' poses after the last substep
            last_qpos, last_qvel = self._last_good
            last_qpos[:] = qpos
            last_qvel[:] = qvel
        self.sense()
        return diverged

    def sense(self) -> None:
        """Lidar, cone and line of sight from the current poses (``senses``)."""
        self.senses.sense(self._targets)

    def _count_warnings(self) -> int:
        bad_acceleration, bad_velocity, bad_position = self._warning_stats
        return bad_acceleration.number + bad_velocity.number + bad_position.number

    def _diverged(self) -> bool:
        if self._count_warnings() != self._warning_count:
            return True
        qpos, qvel = self._qpos, self._qvel
        return not qpos.dot(qpos) + qvel.dot(qvel) < _POSITION_LIMIT**2

    def color_locks(self) -> None:
        """Paint locked objects in their locking team's colour."""
        lock_team = self.rules.lock_team
        glow = self._lock_rgba.take(np.maximum(lock_team, 0), axis=0)
        self.model.geom_rgba[self._object_geoms] = np.where((lock_team >= 0)[:, None], glow, self._object_rgba)

    def object_statistics(self, suffix: str = "") -> dict[str, float]:
        """The arena's behaviour statistics now: how far the objects are from their start, and how
        many are locked, with ``suffix`` appended to each key.

        As ``envs/hide_and_seek.py: TrackStatWrapper``: the largest distance of any box (ramp)
        from where it began, and the number locked; games take them at the instants they name
        (hide and seek: the end of preparation, "_prep", and of the episode, ""), not the
        largest over time.
        """
        B = self.n_box_slots
        moved = np.linalg.norm(self.object_pose[:, :3] - self._object_start, axis=1)  # parked objects stay put
        locked = self.rules.lock_team != NO_TEAM
        return {
            "max_box_move" + suffix: float(moved[:B].max()) if B else 0.0,
            "num_box_lock" + suffix: float(locked[:B].sum()),
            "max_ramp_move" + suffix: float(moved[B:].max()) if self.n_ramp_slots else 0.0,
            "num_ramp_lock" + suffix: float(locked[B:].sum()),
        }

    # ----------------------------------------------------------------------------------------
    # saved states (starting an episode from the middle of another)
    def save_state(self) -> dict[str, np.ndarray]:
        """Everything the next physics step, grab, lock and sensing depend on, as plain arrays.

        Besides poses and velocities: MuJoCo's warm start of the constraint solver (the next
        step's result depends on it), the weld constraints of grabs and locks (active flags and
        the relative poses written when they began), who holds and who locked what, and where
        the objects began (their statistics count from there). Presence, box sizes and walls
        come along so that a restore can check it rebuilt the same layout.
        """
        d, rules = self.data, self.rules
        walls = self.layout.walls if self.layout is not None else np.zeros((0, 5))
        return {
            "qpos": d.qpos.copy(),
            "qvel": d.qvel.copy(),
            "qacc_warmstart": d.qacc_warmstart.copy(),
            "time": np.array(d.time),
            "eq_active": d.eq_active.copy(),
            "eq_data": self.model.eq_data.copy(),
            "grabbed": rules.grabbed.copy(),
            "lock_team": rules.lock_team.copy(),
            "locker": rules.locker.copy(),
            "last_locker": rules.last_locker.copy(),
            "object_start": self._object_start.copy(),
            "agent_present": self.agent_present.copy(),
            "object_present": self.object_present.copy(),
            "object_half": self.object_half.copy(),
            "walls": walls.copy(),
        }

    def state_shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape of each array of :meth:`save_state` (walls: any number of ``[W, 5]`` rows)."""
        d, A, O = self.data, self.n_agent_slots, self.n_objects  # noqa: E741
        return {
            "qpos": d.qpos.shape,
            "qvel": d.qvel.shape,
            "qacc_warmstart": d.qacc_warmstart.shape,
            "time": (),
            "eq_active": d.eq_active.shape,
            "eq_data": self.model.eq_data.shape,
            "grabbed": (A,),
            "lock_team": (O,),
            "locker": (O,),
            "last_locker": (O,),
            "object_start": (O, 3),
            "agent_present": (A,),
            "object_present": (O,),
            "object_half": (O, 3),
            "walls": (-1, 5),
        }

    def restore_state(self, saved: dict[str, np.ndarray]) -> None:
        """Continue from ``saved`` (:meth:`save_state`) after :meth:`new_episode` rebuilt its layout.

        Raises ``ValueError`` when the rebuilt layout (presence, box sizes, walls) is not the
        saved one: the state was saved by an arena of another configuration.
        """
        walls = self.layout.walls if self.layout is not None else np.zeros((0, 5))
        for name, rebuilt in (
            ("agent_present", self.agent_present),
            ("object_present", self.object_present),
            ("object_half", self.object_half),
            ("walls", walls),
        ):
            if np.shape(saved[name]) != rebuilt.shape or not np.array_equal(saved[name], rebuilt):
                raise ValueError(
                    f"saved state: its layout seed rebuilt another layout ({name} differ): the state was "
                    "saved by an arena of another configuration; restore it into one built alike"
                )
        m, d, rules = self.model, self.data, self.rules
        d.qpos[:] = saved["qpos"]
        d.qvel[:] = saved["qvel"]
        d.time = float(saved["time"])
        d.eq_active[:] = saved["eq_active"]
        m.eq_data[:] = saved["eq_data"]
        rules.grabbed[:] = saved["grabbed"]
        rules.lock_team[:] = saved["lock_team"]
        rules.locker[:] = saved["locker"]
        rules.last_locker[:] = saved["last_locker"]
        rules.count()
        rules.changed = True
        self.color_locks()
        mujoco.mj_forward(m, d)
        d.qacc_warmstart[:] = saved["qacc_warmstart"]  # after the forward pass, which may write it
        self._warning_count = self._count_warnings()
        self.mark_start()
        self._object_start[:] = saved["object_start"]
        self.sense()

    # ----------------------------------------------------------------------------------------
    # replays
    def replay_static(self) -> dict[str, np.ndarray]:
        """Teams, presence, sizes and the wall segments of this episode."""
        walls = self.layout.walls if self.layout is not None else np.zeros((0, 5))
        B = self.n_box_slots
        return {
            "team": self.team.copy(),
            "agent_exists": self.agent_present.copy(),
            "box_exists": self.object_present[:B].copy(),
            "ramp_exists": self.object_present[B:].copy(),
            "box_size": 2.0 * self.object_half[:B].copy(),
            "ramp_size": 2.0 * self.object_half[B:].copy(),
            "walls": walls[:, :4].copy(),
            "wall_height": walls[:, 4].copy(),
        }

    def replay_frame(self) -> dict[str, np.ndarray]:
        """Poses, locks, grabs, sight and lidar now."""
        pose = self.pose
        A, B = self.n_agent_slots, self.n_box_slots
        lock_team = self.rules.lock_team
        return {
            "qpos": self.data.qpos.copy(),
            "agent_pos": pose[:A, :3].copy(),
            "agent_yaw": pose[:A, 3].copy(),
            "box_pos": pose[A : A + B, :3].copy(),
            "box_yaw": pose[A : A + B, 3].copy(),
            "box_lock_team": lock_team[:B].copy(),
            "ramp_pos": pose[A + B :, :3].copy(),
            "ramp_yaw": pose[A + B :, 3].copy(),
            "ramp_lock_team": lock_team[B:].copy(),
            "grabbed": self.rules.grabbed.copy(),
            "seen": self.in_sight[:, :A].copy(),
            "lidar": self.lidar.copy(),
        }

    def restore_replay_frame(self, static: dict[str, np.ndarray], frame: dict[str, np.ndarray]) -> None:
        """Put the world into a recorded state for drawing or 3D rendering (not for stepping)."""
        B = self.n_box_slots
        walls = np.concatenate(
            [
                np.asarray(static["walls"], float).reshape(-1, 4),
                np.asarray(static["wall_height"], float).reshape(-1, 1),
            ],
            axis=1,
        )
        self.layout = Layout(walls, np.zeros((1, 1), bool), bool(walls.shape[0]))
        self.agent_present[:] = np.asarray(static["agent_exists"], bool)
        self.object_present[:B] = np.asarray(static["box_exists"], bool)
        self.object_present[B:] = np.asarray(static["ramp_exists"], bool)
        box_half = np.asarray(static["box_size"], float).reshape(B, 3) / 2.0
        self.object_half[:B] = box_half
        m, idx = self.model, self.index
        # walls and box sizes (which refresh bounding volumes) are written only when they change:
        # the frames of one episode share them
        layout_key = hashlib.blake2b(walls.tobytes() + box_half.tobytes(), digest_size=16).digest()
        if layout_key != self._restored_layout:
            W.set_walls(m, idx.wall_geom, walls)
            if B:
                W.set_box_geometry(m, idx.box_geom, box_half)
            self._restored_layout = layout_key
        self._show_present()
        self.data.qpos[:] = frame["qpos"]
        self.data.qvel[:] = 0.0
        self.rules.lock_team[:B] = frame["box_lock_team"]
        self.rules.lock_team[B:] = frame["ramp_lock_team"]
        self.rules.grabbed[:] = frame["grabbed"]
        self.rules.set_sizes()
        self.rules.count()
        self.in_sight[:] = False
        self.in_sight[:, : self.n_agent_slots] = frame["seen"]
        if "lidar" in frame:
            self.lidar[:] = np.asarray(frame["lidar"], float)
        self._set_observers()
        self.color_locks()
        mujoco.mj_kinematics(m, self.data)
