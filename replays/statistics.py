"""Behaviour statistics of a recorded episode: what the objects and agents did, and when.

Phases: a step belongs to the preparation phase when the frame it starts from has the ``prep``
flag set, so preparation ends at frame ``p`` = (last flagged frame + 1), the state left by the
last preparation step (as the arena counts it). "During preparation" compares frame ``p`` with
frame 0, "after" compares the last frame with frame ``p``; per-step quantities after preparation
use frames ``p + 1 ...`` (an episode without ``prep`` has no preparation: ``p = 0``).
Displacements are horizontal (x, y) distances in metres. Statistics whose frame keys the
environment does not record are left out, so any Replayable environment can be measured.

Keys (floats): ``episode_length``, ``return/<agent>``; for boxes and ramps (``<object>`` is
``box`` or ``ramp``): ``<object>_max_displacement_prep`` (largest move of one object from the
start to the end of preparation), ``<object>_max_displacement_after`` (from the end of
preparation to the end), ``<object>_max_displacement_end`` (from the start to the end, the
paper's "max box move"), the same three as ``<object>_mean_displacement_<phase>``,
``<object>_locked_prep`` (locked at the end of preparation), ``<object>_locked_end``,
``<object>_lock_events``; ``hidden_fraction`` (steps after preparation with no hider seen),
``hidden_fraction_prep``; ``hider_seeker_distance_mean`` (each hider to its nearest seeker,
averaged over frames after preparation and hiders), ``hider_seeker_distance_min``,
``hider_seeker_distance_final``; ``grabs`` and ``grabs/team_<k>``; ``first_lock_step``
(-1 when nothing was locked); ``env/<key>``: the environment's own end-of-episode statistics as
recorded. ``events`` lists who grabbed or released what and which
objects were locked or unlocked, step by step.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from replays.episode import Episode
from replays.file_format import load_episode


def preparation_end(episode: Episode) -> int:
    """Frame left by the last preparation step (0 when the episode has no preparation phase)."""
    if "prep" not in episode.frames:
        return 0
    flags = np.asarray(episode.frames["prep"]).reshape(episode.num_frames, -1).any(axis=1)
    indices = np.nonzero(flags)[0]
    return min(int(indices[-1]) + 1, episode.num_steps) if indices.size else 0


def _exists(episode: Episode, key: str, count: int) -> np.ndarray:
    if key in episode.static:
        return np.asarray(episode.static[key]).astype(bool).reshape(-1)[:count]
    return np.ones(count, dtype=bool)


def _object_statistics(episode: Episode, name: str, prep_end: int) -> dict[str, float]:
    positions = np.asarray(episode.frames[f"{name}_pos"], dtype=np.float64)[..., :2]
    exists = _exists(episode, f"{name}_exists", positions.shape[1])
    positions = positions[:, exists]
    stats: dict[str, float] = {}
    during = np.linalg.norm(positions[prep_end] - positions[0], axis=-1)
    after = np.linalg.norm(positions[-1] - positions[prep_end], axis=-1)
    whole = np.linalg.norm(positions[-1] - positions[0], axis=-1)
    for phase, values in (("prep", during), ("after", after), ("end", whole)):
        stats[f"{name}_max_displacement_{phase}"] = float(values.max()) if values.size else 0.0
        stats[f"{name}_mean_displacement_{phase}"] = float(values.mean()) if values.size else 0.0
    lock_key = f"{name}_lock_team"
    if lock_key in episode.frames:
        locks = np.asarray(episode.frames[lock_key])[:, exists] >= 0
        stats[f"{name}_locked_prep"] = float(locks[prep_end].sum())
        stats[f"{name}_locked_end"] = float(locks[-1].sum())
        stats[f"{name}_lock_events"] = float((locks[1:] & ~locks[:-1]).sum())
    return stats


def _teams(episode: Episode, count: int) -> np.ndarray | None:
    if "team" in episode.static:
        return np.asarray(episode.static["team"]).reshape(-1)[:count].astype(int)
    return None


def _distance_statistics(episode: Episode, prep_end: int) -> dict[str, float]:
    positions = np.asarray(episode.frames["agent_pos"], dtype=np.float64)[..., :2]
    team = _teams(episode, positions.shape[1])
    if team is None:
        return {}
    exists = _exists(episode, "agent_exists", positions.shape[1])
    hiders = positions[:, (team == 0) & exists]
    seekers = positions[:, (team == 1) & exists]
    if not hiders.shape[1] or not seekers.shape[1]:
        return {}
    nearest = np.linalg.norm(hiders[:, :, None] - seekers[:, None], axis=-1).min(axis=2)  # [frames, hiders]
    window = nearest[prep_end + 1:] if prep_end + 1 < len(nearest) else nearest[-1:]
    return {
        "hider_seeker_distance_mean": float(window.mean()),
        "hider_seeker_distance_min": float(window.min()),
        "hider_seeker_distance_final": float(nearest[-1].mean()),
    }


def _hidden_statistics(episode: Episode, prep_end: int) -> dict[str, float]:
    hidden = np.asarray(episode.frames["hidden"]).reshape(episode.num_frames, -1).all(axis=1)
    after = hidden[prep_end + 1:]
    during = hidden[1: prep_end + 1]
    return {
        "hidden_fraction": float(after.mean()) if after.size else 0.0,
        "hidden_fraction_prep": float(during.mean()) if during.size else 0.0,
    }


def _object_name(index: int, box_count: int) -> str:
    return f"box {index}" if index < box_count else f"ramp {index - box_count}"


def grab_events(episode: Episode) -> list[dict[str, Any]]:
    """Grab and release events: ``{"step", "kind", "agent", "team", "object"}`` in step order."""
    if "grabbed" not in episode.frames:
        return []
    grabbed = np.asarray(episode.frames["grabbed"]).astype(int)
    box_count = np.asarray(episode.frames["box_pos"]).shape[1] if "box_pos" in episode.frames else 0
    team = _teams(episode, grabbed.shape[1])
    events = []
    for step in range(1, grabbed.shape[0]):
        for agent in np.nonzero(grabbed[step] != grabbed[step - 1])[0]:
            before, now = grabbed[step - 1, agent], grabbed[step, agent]
            name = episode.agents[agent] if agent < len(episode.agents) else f"agent {agent}"
            for kind, target in (("release", before), ("grab", now)):
                if target >= 0:
                    events.append({"step": step, "kind": kind, "agent": name,
                                   "team": int(team[agent]) if team is not None else -1,
                                   "object": _object_name(int(target), box_count)})
    return events


def lock_events(episode: Episode) -> list[dict[str, Any]]:
    """Lock and unlock events of boxes and ramps: ``{"step", "kind", "team", "object"}``."""
    events = []
    for name in ("box", "ramp"):
        key = f"{name}_lock_team"
        if key not in episode.frames:
            continue
        teams = np.asarray(episode.frames[key]).astype(int)
        exists = _exists(episode, f"{name}_exists", teams.shape[1])
        for step in range(1, teams.shape[0]):
            for index in np.nonzero((teams[step] != teams[step - 1]) & exists)[0]:
                before, now = teams[step - 1, index], teams[step, index]
                if before >= 0:
                    events.append({"step": step, "kind": "unlock", "team": int(before), "object": f"{name} {index}"})
                if now >= 0:
                    events.append({"step": step, "kind": "lock", "team": int(now), "object": f"{name} {index}"})
    return events


def episode_statistics(path_or_episode: Episode | str | os.PathLike) -> dict[str, Any]:
    """Statistics of one episode (file or :class:`Episode`): floats, plus ``events`` (a list)."""
    episode = path_or_episode if isinstance(path_or_episode, Episode) else load_episode(path_or_episode)
    prep_end = preparation_end(episode)
    stats: dict[str, Any] = {"episode_length": float(episode.num_steps),
                             "preparation_steps": float(prep_end)}
    took_part = episode.active.any(axis=0) if episode.num_steps else np.zeros(len(episode.agents), bool)
    for (agent, total), present in zip(episode.returns().items(), took_part):
        if present:  # agent slots unused in this episode have no return
            stats[f"return/{agent}"] = total
    for name in ("box", "ramp"):
        if f"{name}_pos" in episode.frames:
            stats.update(_object_statistics(episode, name, prep_end))
    if "hidden" in episode.frames:
        stats.update(_hidden_statistics(episode, prep_end))
    if "agent_pos" in episode.frames:
        stats.update(_distance_statistics(episode, prep_end))
    grabs = grab_events(episode)
    locks = lock_events(episode)
    if "grabbed" in episode.frames:
        grab_only = [event for event in grabs if event["kind"] == "grab"]
        stats["grabs"] = float(len(grab_only))
        for team in sorted({event["team"] for event in grab_only}):
            stats[f"grabs/team_{team}"] = float(sum(event["team"] == team for event in grab_only))
    if any(f"{name}_lock_team" in episode.frames for name in ("box", "ramp")):
        lock_steps = [event["step"] for event in locks if event["kind"] == "lock"]
        stats["first_lock_step"] = float(min(lock_steps)) if lock_steps else -1.0
    for key, value in episode.episode_stats.items():
        stats[f"env/{key}"] = float(value)
    stats["events"] = sorted(grabs + locks, key=lambda event: (event["step"], event["kind"]))
    return stats


def numeric_statistics(stats: dict[str, Any]) -> dict[str, float]:
    """Only the float entries of ``stats`` (for metric loggers)."""
    return {key: value for key, value in stats.items() if isinstance(value, float)}


def format_statistics(stats: dict[str, Any]) -> str:
    """Human-readable text: one ``key: value`` line per statistic, then the events."""
    lines = [f"  {key:<34} {value:.4g}" for key, value in stats.items() if isinstance(value, float)]
    events = stats.get("events", [])
    if events:
        lines.append("  events:")
        for event in events:
            who = event.get("agent") or f"team {event['team']}"
            lines.append(f"    step {event['step']:>4}  {event['kind']:<7} {event['object']:<8} by {who}")
    return "\n".join(lines)
