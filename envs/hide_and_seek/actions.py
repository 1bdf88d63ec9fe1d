"""The arena's action space and the decoding of a step's actions into controls and buttons.

Per agent a Dict ``{"movement": MultiDiscrete([11, 11, 11]), "grab": Discrete(2), "lock":
Discrete(2)}`` (``flat_actions``: ``MultiDiscrete([11, 11, 11, 2, 2])``); movement bins map
linearly onto x force, y force and torque in [-0.9, 0.9], world frame
(``mae_envs/wrappers/util.py: DiscretizeActionWrapper``, ``nbuckets=11``). With
``continuous_actions`` movement is a ``Box(-0.9, 0.9, (3,))`` of those controls (flat: a
button is pressed above 0.5).
"""

from __future__ import annotations

import operator

import numpy as np
from gymnasium import spaces

from . import world as W
from .presets import ArenaConfig

MOVE_BINS = 11


def _within(values: np.ndarray, low: float, high: float) -> bool:
    """Whether every value lies in [low, high] (NaN never does)."""
    return bool(((values >= low) & (values <= high)).all())


class ActionDecoder:
    """The action space of one configuration and the per-step decoding of actions."""

    def __init__(self, config: ArenaConfig, n_agent_slots: int) -> None:
        self.flat, self.continuous = config.flat_actions, config.continuous_actions
        self.n_agent_slots = n_agent_slots
        limit = W.CONTROL_LIMIT
        if self.flat and self.continuous:
            self.space: spaces.Space = spaces.Box(
                np.array([-limit] * 3 + [0.0, 0.0], dtype=np.float32),
                np.array([limit] * 3 + [1.0, 1.0], dtype=np.float32),
                dtype=np.float32,
            )
        elif self.flat:
            self.space = spaces.MultiDiscrete([MOVE_BINS, MOVE_BINS, MOVE_BINS, 2, 2])
        else:
            movement = (
                spaces.Box(-limit, limit, shape=(3,), dtype=np.float32)
                if self.continuous
                else spaces.MultiDiscrete([MOVE_BINS] * 3)
            )
            self.space = spaces.Dict({"movement": movement, "grab": spaces.Discrete(2), "lock": spaces.Discrete(2)})
        self._control_levels = (np.arange(MOVE_BINS) - MOVE_BINS // 2) * (limit / (MOVE_BINS // 2))
        self._all_slots = list(range(n_agent_slots))
        self._kinds = "iuf" if self.continuous else "iu"
        # the slots of the last actions' agents, for the episode (``live_slot_of``) they were found in
        self._agents: tuple[str, ...] = ()
        self._live_slot_of: dict[str, int] = {}
        self._rows: list[int] = []
        self._row_index = np.zeros(0, dtype=np.intp)

    def decode(
        self, actions: dict, live_slot_of: dict[str, int], still: np.ndarray | None = None
    ) -> tuple[np.ndarray, list[bool], list[bool]]:
        """Controls ``[A, 3]`` (world-frame x force, y force, torque in [-0.9, 0.9]) and the grab
        and lock buttons (lists of ``A`` bools) of every agent slot; silent agents, and the slots
        in ``still``, stand still.

        The common case (every action well formed) costs a few array operations for all agents
        together; only when something is wrong are the actions checked one by one, so that the
        error names the agent. The slots of the agents acting are found once for each episode
        (``live_slot_of``) and order of the agents in ``actions``.
        """
        A = self.n_agent_slots
        if not actions:
            return np.zeros((A, 3)), [False] * A, [False] * A
        flat, continuous = self.flat, self.continuous
        try:
            rows = self._rows_of(actions, live_slot_of)
            values = list(actions.values())
            if flat:
                table = np.asarray(values)
                well_formed = table.shape == (len(rows), 5) and table.dtype.kind in self._kinds
                movement = table[:, :3]
                grab, lock = table[:, 3].tolist(), table[:, 4].tolist()
                if continuous:  # a button is pressed above one half
                    well_formed = well_formed and all(0.0 <= v <= 1.0 for v in grab + lock)  # NaN fails too
                    grab, lock = [press > 0.5 for press in grab], [press > 0.5 for press in lock]
            else:
                movement = np.asarray([action["movement"] for action in values])
                index = operator.index
                grab = [index(action["grab"]) for action in values]
                lock = [index(action["lock"]) for action in values]
                well_formed = movement.shape == (len(rows), 3) and movement.dtype.kind in self._kinds
            if not (flat and continuous):  # integer buttons, both 0 or 1
                buttons = grab + lock
                well_formed = well_formed and min(buttons) >= 0 and max(buttons) <= 1
            if well_formed:  # a few Python comparisons cost less than numpy's for a dozen numbers
                moves = movement.ravel().tolist()
                if continuous:  # NaN fails the comparison too
                    well_formed = all(-W.CONTROL_LIMIT <= v <= W.CONTROL_LIMIT for v in moves)
                else:
                    well_formed = min(moves) >= 0 and max(moves) < MOVE_BINS
        except (KeyError, TypeError, IndexError, ValueError):
            well_formed = False
        if not well_formed:
            self._raise_for_bad_action(actions, live_slot_of)
        controls = np.array(movement, dtype=np.float64) if continuous else self._control_levels.take(movement)
        grab = [bool(press) for press in grab]
        lock = [bool(press) for press in lock]
        if rows is not self._all_slots:  # some agents are silent or absent
            controls, live_controls = np.zeros((A, 3)), controls
            controls[self._row_index] = live_controls
            live_grab, live_lock = grab, lock
            grab, lock = [False] * A, [False] * A
            for row, pressed_grab, pressed_lock in zip(rows, live_grab, live_lock):
                grab[row], lock[row] = pressed_grab, pressed_lock
        if still is not None and still.size:
            controls[still] = 0.0
            for slot in still.tolist():
                grab[slot] = lock[slot] = False
        return controls, grab, lock

    def _rows_of(self, actions: dict, live_slot_of: dict[str, int]) -> list[int]:
        """The agent slot of each action, in order (``_all_slots`` itself when every slot acts in
        order); remembered for the episode's ``live_slot_of`` and the order of the agents."""
        agents = tuple(actions)
        if agents != self._agents or live_slot_of is not self._live_slot_of:
            rows = [live_slot_of[agent] for agent in agents]  # KeyError: not a live agent
            self._rows = self._all_slots if rows == self._all_slots else rows
            self._row_index = np.array(rows, dtype=np.intp)
            self._agents, self._live_slot_of = agents, live_slot_of
        return self._rows

    def _raise_for_bad_action(self, actions: dict, live_slot_of: dict[str, int]) -> None:
        """Find the first malformed action and raise a ValueError naming its agent."""
        continuous, flat = self.continuous, self.flat
        kinds, kind = ("iuf", "numbers") if continuous else ("iu", "integers")
        if continuous:
            low, high = -W.CONTROL_LIMIT, W.CONTROL_LIMIT
            rule = f"movement must lie in [{low}, {high}]"
        else:
            low, high, rule = 0, MOVE_BINS - 1, f"movement bins must lie in [0, {MOVE_BINS - 1}]"
        for agent, action in actions.items():
            if agent not in live_slot_of:
                raise ValueError(
                    f"action for {agent!r}, which is not a live agent; live agents: {', '.join(live_slot_of)}"
                )
            try:
                if flat:
                    values = np.asarray(action)
                    if values.shape != (5,) or values.dtype.kind not in kinds:
                        raise ValueError(f"expected 5 {kind}, got {values!r}")
                    movement, buttons = values[:3], values[3:]
                else:
                    movement = np.asarray(action["movement"])
                    if movement.shape != (3,) or movement.dtype.kind not in kinds:
                        raise ValueError(f"movement must be 3 {kind}, got {movement!r}")
                    buttons = np.array([operator.index(action["grab"]), operator.index(action["lock"])])
            except (KeyError, TypeError, IndexError, ValueError) as error:
                raise ValueError(f"action of {agent!r} does not fit the action space {self.space}: {error}") from None
            if not (
                _within(movement, low, high)
                and _within(buttons, 0, 1)
                and (continuous and flat or not (buttons % 1).any())
            ):
                raise ValueError(
                    f"action of {agent!r} is out of the action space {self.space}: {rule}, grab and lock in "
                    f"{{0, 1}}; got {action!r}"
                )
        raise ValueError(f"actions do not fit the action space {self.space}: {actions!r}")
