"""Every agent's observation, and the global state, in three array operations.

Each step writes what the agents may observe once into one float32 *source* vector: the
simulation's positions and velocities as they are (``qpos``, ``qvel``), the agents' wrapped
headings, cosine and sine of the objects' yaw, the lock flags of every (agent, object) pair,
who sees what, the lidar and the task's extra fields; sizes, teams and existence flags are
written once per episode.
Every observation entry is then one source entry times another: a value times the "seen"
flag that masks it (or times a constant 1). Two index tables, built once per environment,
say which entries; a step gathers the values and the masks of all live agents at once and
multiplies them, giving one ``[live agents, width]`` block whose rows are the flat
observations, in the field order of ``observation_keys``. The global state (``state()``) is
one more row of the same kind: every slot's fields, unmasked, times its existence flag.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from gymnasium import spaces

from .mechanics import NO_TEAM

if TYPE_CHECKING:
    from .arena import Arena

AGENT_FEATURES = 10
OBJECT_FEATURES = 15
OBJECT_STATE = 12  # position 3, cos/sin yaw, velocities 4, size 3; the lock flags follow
LOCK_FLAGS = 3


class ObservationAssembler:
    """Source vector, index tables and the per-step gather for one environment."""

    def __init__(
        self,
        others: np.ndarray,
        n_boxes: int,
        n_ramps: int,
        lidar_rays: int,
        extra_sizes: dict[str, int],
        field_order: list[str],
    ) -> None:
        A = others.shape[0]
        B, R, L = n_boxes, n_ramps, lidar_rays
        O = B + R  # noqa: E741
        T = A + O
        self.n_agents, self.n_objects, self.n_targets = A, O, T
        E = A + O
        sizes = {
            "one": 1,
            "pose": E * 4,
            "velocity": E * 4,
            "heading": A,
            "is_hider": A,
            "prep": 1,
            "cos": O,
            "sin": O,
            "size": O * 3,
            "locks": A * O * LOCK_FLAGS,
            "seen": A * T,
            "agent_exist": A,
            "object_exist": O,
            "lidar": A * L,
            "team_locks": O * 2,
            "time": 1,
        }
        sizes.update({f"extra:{key}": size for key, size in extra_sizes.items()})
        start = {}
        offset = 0
        for name, size in sizes.items():
            start[name] = offset
            offset += size
        self.source = np.zeros(offset, dtype=np.float32)
        self.source[start["one"]] = 1.0

        def segment(name: str, shape: tuple[int, ...]) -> np.ndarray:
            return self.source[start[name] : start[name] + sizes[name]].reshape(shape)

        # views the environment writes every step (or episode)
        self.pose = segment("pose", (E * 4,))  # qpos: x, y, z, yaw of every entity
        self.velocity = segment("velocity", (E * 4,))  # qvel
        self.heading = segment("heading", (A,))  # agents' yaw wrapped to [-pi, pi)
        self.is_hider = segment("is_hider", (A,))
        self.prep = segment("prep", (1,))
        self.cos = segment("cos", (O,))  # of the objects' yaw
        self.sin = segment("sin", (O,))
        self.size = segment("size", (O, 3))
        self.lock_flags = segment("locks", (A, O, LOCK_FLAGS))
        self.seen = segment("seen", (A, T))
        self.agent_exist = segment("agent_exist", (A,))
        self.object_exist = segment("object_exist", (O,))
        self.lidar = segment("lidar", (A, L))
        self.team_locks = segment("team_locks", (O, 2))  # locked by hiders, locked by seekers (the state's)
        self.time = segment("time", (1,))  # the fraction of the horizon gone (the state's)
        self.extras = {key: segment(f"extra:{key}", (extra_sizes[key],)) for key in extra_sizes}

        one = start["one"]
        # source entries of the ten fields of every agent and the twelve state fields of every object
        agents = np.arange(A)[:, None]
        agent_fields = np.concatenate(
            [
                start["pose"] + agents * 4 + np.arange(3),
                start["heading"] + agents,
                start["velocity"] + agents * 4 + np.arange(4),
                start["is_hider"] + agents,
                np.full((A, 1), start["prep"]),
            ],
            axis=1,
        )
        entity = A + np.arange(O)[:, None]
        object_fields = np.concatenate(
            [
                start["pose"] + entity * 4 + np.arange(3),
                start["cos"] + entity - A,
                start["sin"] + entity - A,
                start["velocity"] + entity * 4 + np.arange(4),
                start["size"] + (entity - A) * 3 + np.arange(3),
            ],
            axis=1,
        )
        lock_field = np.arange(LOCK_FLAGS)

        def seen_entry(i: int, target: np.ndarray | int) -> np.ndarray:
            return start["seen"] + i * T + np.asarray(target)

        def objects(i: int, first: int, count: int) -> tuple[np.ndarray, np.ndarray]:
            slots = first + np.arange(count)
            value = np.concatenate(
                [
                    object_fields[slots].reshape(count, OBJECT_STATE),
                    start["locks"] + (i * O + slots[:, None]) * LOCK_FLAGS + lock_field,
                ],
                axis=1,
            )
            mask = np.repeat(seen_entry(i, A + slots)[:, None], OBJECT_FEATURES, axis=1)
            return value.ravel(), mask.ravel()

        def plain(value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            value = np.asarray(value).ravel()
            return value, np.full(value.size, one)

        rows_value, rows_mask = [], []
        for i in range(A):
            fields = {
                "self": plain(agent_fields[i]),
                "agents": (agent_fields[others[i]].ravel(), np.repeat(seen_entry(i, others[i]), AGENT_FEATURES)),
                "agents_mask": plain(seen_entry(i, others[i])),
                "agents_exist": plain(start["agent_exist"] + others[i]),
                "boxes": objects(i, 0, B),
                "boxes_mask": plain(seen_entry(i, A + np.arange(B))),
                "boxes_exist": plain(start["object_exist"] + np.arange(B)),
                "ramps": objects(i, B, R),
                "ramps_mask": plain(seen_entry(i, A + B + np.arange(R))),
                "ramps_exist": plain(start["object_exist"] + B + np.arange(R)),
                "lidar": plain(start["lidar"] + i * L + np.arange(L)),
            }
            fields.update({key: plain(start[f"extra:{key}"] + np.arange(extra_sizes[key])) for key in extra_sizes})
            rows_value.append(np.concatenate([fields[key][0] for key in field_order]))
            rows_mask.append(np.concatenate([fields[key][1] for key in field_order]))
        self.value_index = np.array(rows_value, dtype=np.intp).reshape(A, -1)
        self.mask_index = np.array(rows_mask, dtype=np.intp).reshape(A, -1)
        self.width = self.value_index.shape[1]
        self.select_rows(np.arange(A))
        # the state: per agent slot its fields and existence, per object slot its state fields, the
        # two team lock flags and existence, then the preparation and time fractions
        agent_exist = (start["agent_exist"] + np.arange(A))[:, None]
        object_exist = (start["object_exist"] + np.arange(O))[:, None]
        team_locks = start["team_locks"] + np.arange(O)[:, None] * 2 + np.arange(2)
        state = [
            (
                np.concatenate([agent_fields, agent_exist], axis=1),
                np.concatenate([np.repeat(agent_exist, AGENT_FEATURES, axis=1), np.full((A, 1), one)], axis=1),
            ),
            (
                np.concatenate([object_fields, team_locks, object_exist], axis=1),
                np.concatenate([np.repeat(object_exist, OBJECT_STATE, axis=1), np.full((O, 3), one)], axis=1),
            ),
            (np.array([start["prep"], start["time"]]), np.full(2, one)),
        ]
        self.state_value_index = np.concatenate([value.ravel() for value, _ in state]).astype(np.intp)
        self.state_mask_index = np.concatenate([mask.ravel() for _, mask in state]).astype(np.intp)

    def select_rows(self, rows: np.ndarray) -> None:
        """Agent slots whose observations ``gather`` returns (the live agents), in order."""
        self._value_rows = np.ascontiguousarray(self.value_index[rows])
        self._mask_rows = np.ascontiguousarray(self.mask_index[rows])
        self._masks = np.zeros(self._mask_rows.shape, dtype=np.float32)

    def state(self) -> np.ndarray:
        """A new flat float32 state vector from the current source (absent slots' entries are 0)."""
        state = self.source.take(self.state_value_index)
        state[self.source.take(self.state_mask_index) == 0.0] = 0.0
        return state

    def gather(self) -> np.ndarray:
        """A new ``[rows, width]`` float32 block of observations from the current source."""
        block = self.source.take(self._value_rows)
        self.source.take(self._mask_rows, out=self._masks)
        block *= self._masks
        return block


#: field order of flat observations (a game's fields follow, sorted by name)
FLAT_ORDER = (
    "self",
    "agents",
    "agents_mask",
    "agents_exist",
    "boxes",
    "boxes_mask",
    "boxes_exist",
    "ramps",
    "ramps_mask",
    "ramps_exist",
    "lidar",
)


class ArenaObservations:
    """The observation space of an arena and its game, and each step's observations and state.

    Reads the arena's state (poses, velocities, locks, sight, lidar, presence) and the game's
    extra fields into one :class:`ObservationAssembler`; Dict observations are views into the
    rows of its block (see the environment's module docstring for the fields).
    """

    def __init__(self, arena: Arena, extra_spaces: dict[str, spaces.Space], flat: bool) -> None:
        self.arena = arena
        self.flat = flat
        c = arena.config
        A = arena.n_agent_slots
        n_others = A - 1

        def features(rows: int, width: int) -> spaces.Box:
            return spaces.Box(-np.inf, np.inf, shape=(rows, width), dtype=np.float32)

        def mask(rows: int) -> spaces.Box:
            return spaces.Box(0.0, 1.0, shape=(rows,), dtype=np.float32)

        self.dict_space = spaces.Dict(
            {
                **extra_spaces,
                "self": spaces.Box(-np.inf, np.inf, shape=(AGENT_FEATURES,), dtype=np.float32),
                "agents": features(n_others, AGENT_FEATURES),
                "agents_mask": mask(n_others),
                "agents_exist": mask(n_others),
                "boxes": features(c.max_boxes, OBJECT_FEATURES),
                "boxes_mask": mask(c.max_boxes),
                "boxes_exist": mask(c.max_boxes),
                "ramps": features(c.max_ramps, OBJECT_FEATURES),
                "ramps_mask": mask(c.max_ramps),
                "ramps_exist": mask(c.max_ramps),
                "lidar": spaces.Box(0.0, c.lidar_range, shape=(c.lidar_rays,), dtype=np.float32),
            }
        )
        self.keys = list(FLAT_ORDER) + sorted(extra_spaces)
        self.space: spaces.Space = self.dict_space
        if flat:
            parts = [self.dict_space[key] for key in self.keys]
            self.space = spaces.Box(
                np.concatenate([np.broadcast_to(p.low, p.shape).ravel() for p in parts]).astype(np.float32),
                np.concatenate([np.broadcast_to(p.high, p.shape).ravel() for p in parts]).astype(np.float32),
                dtype=np.float32,
            )
        state_dim = A * (AGENT_FEATURES + 1) + arena.n_objects * OBJECT_FEATURES + 2
        self.state_space = spaces.Box(-np.inf, np.inf, shape=(state_dim,), dtype=np.float32)
        # where each field sits in a flat observation row
        self._field_slices: list[tuple[str, slice, tuple[int, ...]]] = []
        start = 0
        for key in self.keys:
            shape = self.dict_space[key].shape
            size = int(np.prod(shape))
            self._field_slices.append((key, slice(start, start + size), shape))
            start += size
        others = np.array([[j for j in range(A) if j != i] for i in range(A)], dtype=np.int64).reshape(A, A - 1)
        extras = {key: int(np.prod(box.shape)) for key, box in extra_spaces.items()}
        self.assembler = ObservationAssembler(
            others, arena.n_box_slots, arena.n_ramp_slots, c.lidar_rays, extras, self.keys
        )
        if self.assembler.width != start:
            raise RuntimeError(f"observation rows hold {self.assembler.width} numbers, the space {start}")
        self._field_views: list[tuple[slice, tuple[int, ...] | None]] = []
        self._agent_column = np.arange(A)[:, None]
        self._team_column = arena.team[:, None]
        self._heading = np.zeros(A)
        self._qpos = arena.pose.reshape(-1)  # views of the simulation state, read without MjData's accessors
        self._qvel = arena.velocity.reshape(-1)
        self._physics_error = False  # whether the last observation read a diverged simulation
        self._agent_yaw = arena.agent_pose[:, 3]
        self._object_yaw = arena.object_pose[:, 3]
        self._lock_flags_stale = True

    def new_episode(self, live_slots: np.ndarray) -> None:
        """Write what is fixed for the episode (presence, teams, sizes); observe ``live_slots``."""
        arena, assembler = self.arena, self.assembler
        assembler.agent_exist[:] = arena.agent_present
        assembler.object_exist[:] = arena.object_present
        assembler.is_hider[:] = arena.is_hider
        assembler.size[:] = 2.0 * arena.object_half
        assembler.select_rows(live_slots)
        n = live_slots.size  # fields of two or more dimensions are reshaped from the block's columns
        self._field_views = [
            (where, (n,) + shape if len(shape) > 1 else None) for _, where, shape in self._field_slices
        ]
        self._lock_flags_stale = True

    def observe(
        self,
        agents: list[str],
        step: int,
        prep: float,
        horizon: int,
        extras: dict[str, np.ndarray],
        physics_error: bool,
    ) -> dict:
        """Every live agent's observation now (``agents`` in the order of ``new_episode``'s slots),
        at ``step`` of ``horizon`` with the preparation fraction ``prep`` the game gives."""
        arena, assembler = self.arena, self.assembler
        rules = arena.rules
        np.copyto(assembler.pose, self._qpos)
        np.copyto(assembler.velocity, self._qvel)
        heading = self._heading  # wrapped to [-pi, pi)
        np.add(self._agent_yaw, np.pi, out=heading)
        np.remainder(heading, 2.0 * np.pi, out=heading)
        np.subtract(heading, np.pi, out=assembler.heading)
        assembler.prep[0] = prep
        if arena.n_objects:
            np.cos(self._object_yaw, out=assembler.cos)
            np.sin(self._object_yaw, out=assembler.sin)
            if self._lock_flags_stale or rules.changed:
                flags = assembler.lock_flags
                flags[:, :, 0] = rules.locker == self._agent_column
                flags[:, :, 1] = rules.lock_team == self._team_column
                flags[:, :, 2] = rules.lock_team != NO_TEAM
                assembler.team_locks[:, 0] = rules.lock_team == 0
                assembler.team_locks[:, 1] = rules.lock_team == 1
                self._lock_flags_stale = False
        assembler.time[0] = step / horizon
        assembler.seen[:] = arena.in_sight
        assembler.lidar[:] = arena.lidar
        for key, value in extras.items():
            assembler.extras[key][:] = value.ravel()
        block = assembler.gather()
        self._physics_error = physics_error
        if physics_error:
            np.nan_to_num(block, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        if self.flat:
            return dict(zip(agents, block))
        fields = [
            block[:, where] if shape is None else block[:, where].reshape(shape) for where, shape in self._field_views
        ]
        keys = self.keys
        return {agent: dict(zip(keys, row)) for agent, row in zip(agents, zip(*fields))}

    def state(self) -> np.ndarray:
        """The whole world, unmasked, as one flat float32 vector, as the last observation read it.

        Only a diverged simulation leaves non-finite numbers to clear: a NaN or huge position or
        velocity is what the arena calls divergence, and every other entry derives from them or
        is fixed for the episode.
        """
        state = self.assembler.state()
        if self._physics_error:
            np.nan_to_num(state, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        return state
