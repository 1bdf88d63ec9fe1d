"""The stages of the hide-and-seek game as flags computed from evaluation statistics.

Baker et al. (2020) describe the stages that emerge in the quadrant game: running and chasing,
shelter building, ramp use, ramp defence. Each flag here is a test on the episode statistics of
the arena (``infos[agent]["episode_stats"]``, means over the evaluation episodes) and on two
evaluations against random play, with thresholds written below and explained in
docs/emergence.md. A flag reads a flat metrics row, as training logs it and ``metrics.csv``
holds it, so the same function decides during training and from a finished run's file:

- ``eval/env/<statistic>``: trained hiders against trained seekers (the usual evaluation);
- ``eval/random_hiders/env/<statistic>``: random hiders against the trained seekers;
- ``eval/random/env/<statistic>``: random hiders against random seekers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

HIDER_TEAM = "hider"
SEEKER_TEAM = "seeker"

TRAINED = "eval/env/"
RANDOM_HIDERS = "eval/random_hiders/env/"
RANDOM_BOTH = "eval/random/env/"

#: Running and chasing: trained seekers must cut the time random hiders stay hidden by this much
#: below random play, and trained hiders must stay hidden this much longer than random hiders do
#: against the same seekers.
CHASE_MARGIN = 0.10
#: Shelter building: boxes locked by the end of the preparation phase, per episode.
SHELTER_LOCKED_BOXES = 1.0
#: Shelter building and ramp defence: the shelter holds when the hiders stay hidden this share of
#: the scored steps against the current seekers.
SHELTER_HIDDEN = 0.7
#: Ramp use: metres the ramp travels after the preparation phase (end-of-episode distance from
#: its start less the end-of-preparation distance).
RAMP_USE_MOVE = 1.0
#: Ramp defence: metres the ramp travels during the preparation phase, when only hiders move.
RAMP_DEFENCE_MOVE = 1.0
#: Ramp defence also counts a ramp locked during preparation (ramps that can be locked).
RAMP_DEFENCE_LOCKS = 1.0

STAGES = ("running_and_chasing", "shelter_building", "ramp_use", "ramp_defence")
STAGE_LABELS = {
    "running_and_chasing": "running and chasing",
    "shelter_building": "shelter building",
    "ramp_use": "ramp use",
    "ramp_defence": "ramp defence",
}
STAGE_PREFIX = "stage/"


def _value(row: Mapping[str, float], key: str) -> float | None:
    value = row.get(key)
    if value is None or not math.isfinite(float(value)):
        return None
    return float(value)


def running_and_chasing(row: Mapping[str, float]) -> bool | None:
    """Seekers find random hiders clearly more often than random seekers do, and trained hiders
    escape the trained seekers clearly more often than random hiders do (None: not measured)."""
    trained = _value(row, TRAINED + "hidden_fraction")
    random_hiders = _value(row, RANDOM_HIDERS + "hidden_fraction")
    random_both = _value(row, RANDOM_BOTH + "hidden_fraction")
    if trained is None or random_hiders is None or random_both is None:
        return None
    return random_hiders <= random_both - CHASE_MARGIN and trained >= random_hiders + CHASE_MARGIN


def shelter_holds(row: Mapping[str, float]) -> bool | None:
    """The trained hiders stay hidden from the trained seekers at least :data:`SHELTER_HIDDEN`."""
    hidden = _value(row, TRAINED + "hidden_fraction")
    return None if hidden is None else hidden >= SHELTER_HIDDEN


def shelter_building(row: Mapping[str, float]) -> bool | None:
    """Boxes locked during preparation (at least :data:`SHELTER_LOCKED_BOXES` per episode) and a
    shelter that holds."""
    locked = _value(row, TRAINED + "num_box_lock_prep")
    holds = shelter_holds(row)
    if locked is None or holds is None:
        return None
    return locked >= SHELTER_LOCKED_BOXES and holds


def ramp_use(row: Mapping[str, float]) -> bool | None:
    """The hiders still lock boxes during preparation, but the ramp travels after it and the
    shelter no longer holds: the seekers climb in."""
    locked = _value(row, TRAINED + "num_box_lock_prep")
    moved = _value(row, TRAINED + "max_ramp_move")
    moved_prep = _value(row, TRAINED + "max_ramp_move_prep")
    holds = shelter_holds(row)
    if locked is None or moved is None or moved_prep is None or holds is None:
        return None
    return locked >= SHELTER_LOCKED_BOXES and moved - moved_prep >= RAMP_USE_MOVE and not holds


def ramp_defence(row: Mapping[str, float]) -> bool | None:
    """A shelter that holds, and the hiders deal with the ramp during preparation: they move it
    at least :data:`RAMP_DEFENCE_MOVE` (into the shelter) or lock it."""
    building = shelter_building(row)
    moved_prep = _value(row, TRAINED + "max_ramp_move_prep")
    locked_prep = _value(row, TRAINED + "num_ramp_lock_prep")
    if building is None or moved_prep is None:
        return None
    ramp_locked = locked_prep is not None and locked_prep >= RAMP_DEFENCE_LOCKS
    return building and (moved_prep >= RAMP_DEFENCE_MOVE or ramp_locked)


CHECKS = {
    "running_and_chasing": running_and_chasing,
    "shelter_building": shelter_building,
    "ramp_use": ramp_use,
    "ramp_defence": ramp_defence,
}


def stage_flags(row: Mapping[str, float]) -> dict[str, bool]:
    """Every stage that the row's statistics can decide, by name."""
    flags = {}
    for name in STAGES:
        decided = CHECKS[name](row)
        if decided is not None:
            flags[name] = decided
    return flags


def stage_metrics(row: Mapping[str, float]) -> dict[str, float]:
    """The flags as metrics: ``stage/<name>`` 1.0 or 0.0."""
    return {STAGE_PREFIX + name: float(flag) for name, flag in stage_flags(row).items()}


def is_hide_and_seek(teams: list[str]) -> bool:
    """Whether the teams are those whose stages this module describes (hiders and seekers)."""
    return HIDER_TEAM in teams and SEEKER_TEAM in teams
