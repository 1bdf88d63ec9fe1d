"""The game that scores the arena: hide and seek, and what every game provides.

A game is composed into :class:`envs.hide_and_seek.environment.HideAndSeekEnv`; the arena
(world, physics, sensing, grab and lock) stays the same and the game decides who plays, how
long the preparation phase lasts, the rewards, the extra observations and the statistics.
Each transfer task (:mod:`envs.hide_and_seek.tasks`) is a game of its own beside this one.
:class:`Game` lists what the environment asks of a game.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from gymnasium import spaces

from . import world as W
from .mechanics import outside
from .presets import ArenaConfig
from .scenarios import Scenario, scenario_of

if TYPE_CHECKING:
    from .environment import HideAndSeekEnv


#: The arena statistics a game takes at the end of the preparation phase, in a saved state's order.
_PREP_STATISTICS = ("max_box_move_prep", "num_box_lock_prep", "max_ramp_move_prep", "num_ramp_lock_prep")
#: What ``wrappers/prep_phase.py: PreparationPhase.observation`` adds to the preparation time
#: before dividing by it: the observed fraction is ``min(1, step / (prep_time + 1e-5))``.
PREP_TIME_EPSILON = 1e-5


class Game(Protocol):
    """What the environment asks of the game it wires to the arena."""

    #: the environment id, the two teams' agent name prefixes and the fewest seekers it accepts
    name: str
    team_names: tuple[str, str]
    min_seekers: int
    #: steps of the preparation phase (0: none); seekers stand still and nobody is rewarded
    prep_steps: int

    def scenario(self) -> Scenario:
        """How the episode's walls are laid out and where entities spawn."""
        ...

    def world_key(self, key: W.WorldKey) -> W.WorldKey:
        """The world to compile: the arena's ``key`` with the game's own bodies added."""
        ...

    def observation_spaces(self) -> dict[str, spaces.Space]:
        """Observation keys the game adds to every agent's observation."""
        ...

    def attach(self, env: HideAndSeekEnv) -> None:
        """Called once the environment is built: the arena the game reads from now on."""
        ...

    def place_before_entities(self, occupied: np.ndarray, rng: np.random.Generator) -> None:
        """Put what the game owns on the placement grid before the agents and objects."""
        ...

    def place_after_entities(self, occupied: np.ndarray, rng: np.random.Generator) -> None:
        """Put what the game owns on the grid after them (``PlacementError`` when full)."""
        ...

    def reset(self) -> None:
        """Start an episode: the world is placed and sensed."""
        ...

    def restart(self) -> None:
        """Start over from a scene ``arrange`` has just set up."""
        ...

    def sensed(self) -> None:
        """Read what the agents perceive now (after each sensing)."""
        ...

    def idle_slots(self, in_prep: bool) -> np.ndarray | None:
        """Agent slots whose actions this step ignores (None: none)."""
        ...

    def prep_observation(self, step: int) -> float:
        """The preparation fraction every agent observes at ``step`` (steps taken so far)."""
        ...

    def rewards(self, in_prep: bool) -> tuple[np.ndarray, bool]:
        """Reward of every agent slot for the step just taken, and whether the game ended it."""
        ...

    def observations(self) -> dict[str, np.ndarray]:
        """This step's values of the keys of ``observation_spaces``, shared by every agent."""
        ...

    def episode_stats(self) -> dict[str, float]:
        """Statistics of the episode so far, reported at its last step."""
        ...

    def replay_static(self) -> dict[str, np.ndarray]:
        """The game's entries of a replay's static data (the statistics it declares)."""
        ...

    def replay_settings(self) -> dict[str, Any] | None:
        """Keyword arguments that build the environment again (None: the environment's own
        constructor arguments say it)."""
        ...

    def replay_frame(self) -> dict[str, np.ndarray]:
        """The game's entries of a replay frame."""
        ...

    def restore_replay_frame(self, frame: dict[str, np.ndarray]) -> int:
        """Take the game's state from a recorded frame; returns the frame's step number."""
        ...


class HideAndSeekGame:
    """Hiders against seekers (``envs/hide_and_seek.py``).

    Preparation: the first ``prep_fraction`` of the episode, during which seekers stand still
    and nobody is rewarded (``HideAndSeekRewardWrapper``, ``MaskPrepPhaseAction``). As
    ``wrappers/prep_phase.py: PreparationPhase``, the preparation time is ``prep_fraction *
    horizon`` unrounded, a step is in preparation while fewer steps than that were taken before
    it, and every agent observes ``min(1, step / (prep_time + 1e-5))``. Afterwards
    hiders get +1 when no hider is seen by any seeker, else -1, seekers the opposite
    (``joint_zero_sum``). An agent outside the play area gets ``-out_of_bounds_penalty``
    instead, and with ``objects_out_penalty`` every agent gets it while any box or ramp is
    outside (``wrappers/limit_mvmnt.py: RestrictAgentsRect``). Statistics as
    ``TrackStatWrapper``: the arena's object statistics after the first step whose observed
    preparation fraction is 1 (the wrapper's ``prep_obs == 1.0``: one step after the last
    preparation step when the preparation time is a whole number of steps) and at the end of the
    episode, and ``hidden_fraction``.
    """

    name = "hide_and_seek_v0"
    team_names = ("hider", "seeker")
    min_seekers = 1

    def __init__(self, config: ArenaConfig) -> None:
        self.config = config
        # wrappers/prep_phase.py: prep_time = prep_fraction * horizon; steps 0, 1, ... are in
        # preparation while step_counter < prep_time, so there are ceil(prep_time) of them
        self.prep_time = config.prep_fraction * config.horizon
        self.prep_steps = math.ceil(self.prep_time)
        self.hidden = False  # no hider seen by any seeker, as sensed last
        self._hidden_steps = 0
        self._prep_stats: dict[str, float] = {}

    @property
    def prep_statistics_taken(self) -> bool:
        """Whether this episode's ``_prep`` statistics have been taken (see :meth:`prep_statistics_step`)."""
        return bool(self._prep_stats)

    def scenario(self) -> Scenario:
        """The scenario the configuration names."""
        return scenario_of(self.config)

    def world_key(self, key: W.WorldKey) -> W.WorldKey:
        """The arena's world unchanged."""
        return key

    def observation_spaces(self) -> dict[str, spaces.Space]:
        """No keys beyond the arena's."""
        return {}

    def attach(self, env: HideAndSeekEnv) -> None:
        """Precompute the per-slot rewards and the sight pairs that decide ``hidden``."""
        self.env = env
        team_sign = np.where(env.is_hider, 1.0, -1.0)
        self._reward_if_hidden = team_sign
        self._reward_if_seen = -team_sign
        hiders, seekers = np.flatnonzero(env.is_hider), np.flatnonzero(~env.is_hider)
        self._seekers = seekers
        # seekers' rows and hiders' columns of ``in_sight``, as flat indices
        self._seeker_sees_hider = (seekers[:, None] * (env.n_entities) + hiders[None, :]).ravel().tolist()
        centre, half = self.config.floor_size / 2.0, self.config.play_area / 2.0
        self._play_low, self._play_high = centre - half, centre + half

    def place_before_entities(self, occupied: np.ndarray, rng: np.random.Generator) -> None:
        """Nothing of its own to place."""

    def place_after_entities(self, occupied: np.ndarray, rng: np.random.Generator) -> None:
        """Nothing of its own to place."""

    def reset(self) -> None:
        """Clear the statistics."""
        self._prep_stats = {}
        self._hidden_steps = 0

    def restart(self) -> None:
        """The statistics keep counting from the arranged scene."""

    def sensed(self) -> None:
        """``hidden``: whether no seeker sees any hider now."""
        seen = self.env.in_sight.tobytes()
        self.hidden = not any(seen[k] for k in self._seeker_sees_hider)

    def idle_slots(self, in_prep: bool) -> np.ndarray | None:
        """Seekers during preparation (``wrappers/prep_phase.py: MaskPrepPhaseAction``)."""
        return self._seekers if in_prep else None

    def prep_observation(self, step: int) -> float:
        """``min(1, step / (prep_time + 1e-5))`` (``wrappers/prep_phase.py: PreparationPhase.observation``):
        below 1 at the last preparation step when ``prep_time`` is a whole number."""
        return min(1.0, step / (self.prep_time + PREP_TIME_EPSILON))

    def rewards(self, in_prep: bool) -> tuple[np.ndarray, bool]:
        """Zero in preparation, else +-1 by team, ``-out_of_bounds_penalty`` where out; never ends the game."""
        env = self.env
        if in_prep:
            reward = np.zeros(env.n_agent_slots)
        else:
            reward = self._reward_if_hidden if self.hidden else self._reward_if_seen
            # one test of every live agent's (and, where penalised, present object's) x and y
            xy = env.data.qpos.take(env.bounded_xy).tolist()
            if xy and (min(xy) < self._play_low or max(xy) > self._play_high):  # rare: find what is out
                # wrappers/limit_mvmnt.py: RestrictAgentsRect sets the reward to -10 instead of the
                # game's: every agent's while an object is out, an agent's own while it is out
                centre, half = self.config.floor_size / 2.0, self.config.play_area / 2.0
                penalty = -self.config.out_of_bounds_penalty
                reward = reward.copy()
                if (
                    self.config.objects_out_penalty
                    and (outside(env.object_pose, centre, half) & env.object_present).any()
                ):
                    reward[:] = penalty
                reward[outside(env.agent_pose, centre, half) & env.agent_present] = penalty
        self._count(in_prep)
        return reward, False

    def _count(self, in_prep: bool) -> None:
        # envs/hide_and_seek.py: TrackStatWrapper.step takes the "_prep" statistics once, at the
        # first step whose observation has prep_obs == 1.0
        if not self._prep_stats and self.prep_observation(self.env.step_count) == 1.0:
            self._prep_stats = self.env.arena.object_statistics("_prep")
        if not in_prep and self.hidden:
            self._hidden_steps += 1

    def observations(self) -> dict[str, np.ndarray]:
        """No keys beyond the arena's."""
        return {}

    def episode_stats(self) -> dict[str, float]:
        """``TrackStatWrapper``'s statistics and ``hidden_fraction`` (steps after preparation with
        no hider seen). Before the preparation statistics are taken (an episode that ends that
        early, where the original fails), the present state stands for both instants."""
        env = self.env
        prep = self._prep_stats or env.arena.object_statistics("_prep")
        stats = {**prep, **env.arena.object_statistics("")}
        after_prep = max(env.step_count - self.prep_steps, 0)
        stats["hidden_fraction"] = self._hidden_steps / after_prep if after_prep else 0.0
        return stats

    def save_state(self) -> dict[str, np.ndarray]:
        """What the statistics carry between steps: the steps counted hidden and the preparation
        phase's statistics once taken (``prep_stats_taken`` 0 before)."""
        prep = [self._prep_stats.get(key, 0.0) for key in _PREP_STATISTICS]
        return {
            "hidden_steps": np.array(self._hidden_steps),
            "prep_stats": np.array(prep, dtype=np.float64),
            "prep_stats_taken": np.array(bool(self._prep_stats)),
        }

    def state_shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape of each array of :meth:`save_state`."""
        return {"hidden_steps": (), "prep_stats": (len(_PREP_STATISTICS),), "prep_stats_taken": ()}

    def restore_state(self, saved: dict[str, np.ndarray]) -> None:
        """Continue the statistics of :meth:`save_state` (after :meth:`reset` and sensing)."""
        self._hidden_steps = int(saved["hidden_steps"])
        taken = bool(saved["prep_stats_taken"])
        self._prep_stats = dict(zip(_PREP_STATISTICS, np.asarray(saved["prep_stats"]).tolist())) if taken else {}

    def replay_settings(self) -> dict[str, Any] | None:
        """The environment's constructor arguments say how to build it again."""
        return None

    def prep_statistics_step(self) -> int:
        """The step count at which the ``_prep`` statistics are taken: the first whose observed
        preparation fraction is 1 (``TrackStatWrapper``), ``prep_steps`` or one more."""
        step = self.prep_steps
        while self.prep_observation(step) < 1.0:
            step += 1
        return step

    def replay_static(self) -> dict[str, np.ndarray]:
        """Statistics of a replay: the preparation phase (``prep``) and the frames after its end at
        which the game takes its ``_prep`` statistics, the fraction ``hidden`` and the distance of
        hiders to seekers."""
        return {
            "statistics_phase": np.array("prep"),
            "statistics_phase_lag": np.array(self.prep_statistics_step() - self.prep_steps),
            "statistics_flags": np.array(["hidden"]),
            "statistics_teams": np.array(list(self.team_names)),
        }

    def replay_frame(self) -> dict[str, np.ndarray]:
        """``hidden`` and ``prep`` (1 in the preparation phase)."""
        return {"hidden": np.array(float(self.hidden)), "prep": np.array(float(self.env.step_count < self.prep_steps))}

    def restore_replay_frame(self, frame: dict[str, np.ndarray]) -> int:
        """``hidden`` as recorded; the step number, or (frames without one) any step of the right phase."""
        self.hidden = bool(frame["hidden"])
        if "step" in frame:
            return int(frame["step"])
        return 0 if float(frame["prep"]) else self.prep_steps
