"""Behaviour statistics of a recorded episode: what the objects and agents did, and when.

Every episode gets the generic statistics: ``episode_length``, ``preparation_steps``,
``return/<agent>``, ``env/<key>`` (the environment's own end-of-episode statistics as
recorded) and, where frames hold ``grabbed`` (per agent the object held, -1 none),
``grabs`` and ``grabs/team_<k>``. The rest measures what the environment declared in its
static data (``replay_static``), so nothing here knows an environment's field names:

- ``statistics_phase`` (text): a frame flag set during the first phase of the episode (the
  arena's ``prep``). A step belongs to that phase when the frame it starts from has the flag
  set, so the phase ends at frame ``p`` = (last flagged frame + 1). "During" compares frame
  ``p`` with frame 0, "after" compares the last frame with frame ``p``; per-step quantities
  after the phase use frames ``p + 1 ...`` (no phase declared or flagged: ``p = 0``).
  Suffixes below name the flag (``<phase>``). An environment that takes its own phase
  statistics some frames after the phase ends declares how many in static
  ``statistics_phase_lag`` (the arena: one frame when the preparation time is a whole number of
  steps, as ``TrackStatWrapper`` does); the object statistics of the phase are then read at frame
  ``p + lag`` (at most the last frame), so they equal the environment's.
- ``statistics_objects`` (texts): groups of objects (the arena's ``box``, ``ramp``); for a group
  ``<g>`` frames hold ``<g>_pos [N, 3]`` and, where lockable, ``<g>_lock_team [N]`` (-1
  unlocked), static ``<g>_exists [N]``; ``grabbed`` indexes the groups' objects in this
  order. Keys: ``<g>_max_displacement_<phase>`` (largest horizontal move of one object from
  the start to the end of the phase), ``<g>_max_displacement_after`` (from the end of the
  phase to the end), ``<g>_max_displacement_end`` (start to end, the paper's "max box
  move"), the same three as ``<g>_mean_displacement_...``, ``<g>_locked_<phase>``,
  ``<g>_locked_end``, ``<g>_lock_events``, and ``first_lock_step`` (-1 when nothing locked).
- ``statistics_flags`` (texts): frame flags reported as the fraction of steps they hold, after
  the phase (``<flag>_fraction``, the arena's ``hidden_fraction``) and during it
  (``<flag>_fraction_<phase>``).
- ``statistics_teams`` (two texts): with frames ``agent_pos`` and static ``team``, the distance
  from each agent of team 0 to the nearest of team 1: ``<team0>_<team1>_distance_mean``
  (over frames after the phase and agents), ``..._distance_min``, ``..._distance_final``.

``events`` lists who grabbed or released what and which objects were locked or unlocked, step
by step. Displacements are horizontal (x, y) distances in metres.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from replays.episode import Episode
from replays.file_format import load_episode


def _declared(episode: Episode, key: str) -> list[str]:
    """The texts the environment declared under static ``key`` (none when it declared nothing)."""
    if key not in episode.static:
        return []
    return [str(name) for name in np.asarray(episode.static[key]).reshape(-1)]


def preparation_end(episode: Episode) -> int:
    """Frame left by the last step of the declared first phase (0 without one)."""
    phase = _declared(episode, "statistics_phase")
    if not phase or phase[0] not in episode.frames:
        return 0
    flags = np.asarray(episode.frames[phase[0]]).reshape(episode.num_frames, -1).any(axis=1)
    indices = np.nonzero(flags)[0]
    return min(int(indices[-1]) + 1, episode.num_steps) if indices.size else 0


def _exists(episode: Episode, key: str, count: int) -> np.ndarray:
    if key in episode.static:
        return np.asarray(episode.static[key]).astype(bool).reshape(-1)[:count]
    return np.ones(count, dtype=bool)


def phase_statistics_frame(episode: Episode, prep_end: int) -> int:
    """Frame at which the phase's object statistics are read: ``prep_end`` plus the lag the
    environment declared (``statistics_phase_lag``, 0 when it declared none), at most the last."""
    lag = int(np.asarray(episode.static["statistics_phase_lag"])) if "statistics_phase_lag" in episode.static else 0
    return min(prep_end + max(lag, 0), episode.num_frames - 1)


def _object_statistics(episode: Episode, name: str, phase: str, prep_end: int) -> dict[str, float]:
    positions = np.asarray(episode.frames[f"{name}_pos"], dtype=np.float64)[..., :2]
    exists = _exists(episode, f"{name}_exists", positions.shape[1])
    positions = positions[:, exists]
    stats: dict[str, float] = {}
    during = np.linalg.norm(positions[prep_end] - positions[0], axis=-1)
    after = np.linalg.norm(positions[-1] - positions[prep_end], axis=-1)
    whole = np.linalg.norm(positions[-1] - positions[0], axis=-1)
    for suffix, values in ((phase, during), ("after", after), ("end", whole)):
        stats[f"{name}_max_displacement_{suffix}"] = float(values.max()) if values.size else 0.0
        stats[f"{name}_mean_displacement_{suffix}"] = float(values.mean()) if values.size else 0.0
    lock_key = f"{name}_lock_team"
    if lock_key in episode.frames:
        locks = np.asarray(episode.frames[lock_key])[:, exists] >= 0
        stats[f"{name}_locked_{phase}"] = float(locks[prep_end].sum())
        stats[f"{name}_locked_end"] = float(locks[-1].sum())
        stats[f"{name}_lock_events"] = float((locks[1:] & ~locks[:-1]).sum())
    return stats


def _teams(episode: Episode, count: int) -> np.ndarray | None:
    if "team" in episode.static:
        return np.asarray(episode.static["team"]).reshape(-1)[:count].astype(int)
    return None


def _distance_statistics(episode: Episode, names: list[str], prep_end: int) -> dict[str, float]:
    positions = np.asarray(episode.frames["agent_pos"], dtype=np.float64)[..., :2]
    team = _teams(episode, positions.shape[1])
    if team is None:
        return {}
    exists = _exists(episode, "agent_exists", positions.shape[1])
    first = positions[:, (team == 0) & exists]
    second = positions[:, (team == 1) & exists]
    if not first.shape[1] or not second.shape[1]:
        return {}
    nearest = np.linalg.norm(first[:, :, None] - second[:, None], axis=-1).min(axis=2)  # [frames, team 0]
    window = nearest[prep_end + 1 :] if prep_end + 1 < len(nearest) else nearest[-1:]
    prefix = f"{names[0]}_{names[1]}_distance"
    return {
        f"{prefix}_mean": float(window.mean()),
        f"{prefix}_min": float(window.min()),
        f"{prefix}_final": float(nearest[-1].mean()),
    }


def _flag_statistics(episode: Episode, flag: str, phase: str, prep_end: int) -> dict[str, float]:
    held = np.asarray(episode.frames[flag]).reshape(episode.num_frames, -1).all(axis=1)
    after = held[prep_end + 1 :]
    during = held[1 : prep_end + 1]
    return {
        f"{flag}_fraction": float(after.mean()) if after.size else 0.0,
        f"{flag}_fraction_{phase}": float(during.mean()) if during.size else 0.0,
    }


def _object_names(episode: Episode) -> list[str]:
    """``"<group> <index>"`` of every object the declared groups hold, in ``grabbed``'s order."""
    names = []
    for group in _declared(episode, "statistics_objects"):
        count = np.asarray(episode.frames[f"{group}_pos"]).shape[1] if f"{group}_pos" in episode.frames else 0
        names += [f"{group} {index}" for index in range(count)]
    return names


def grab_events(episode: Episode) -> list[dict[str, Any]]:
    """Grab and release events: ``{"step", "kind", "agent", "team", "object"}`` in step order."""
    if "grabbed" not in episode.frames:
        return []
    grabbed = np.asarray(episode.frames["grabbed"]).astype(int)
    objects = _object_names(episode)
    team = _teams(episode, grabbed.shape[1])
    events = []
    for step in range(1, grabbed.shape[0]):
        for agent in np.nonzero(grabbed[step] != grabbed[step - 1])[0]:
            before, now = grabbed[step - 1, agent], grabbed[step, agent]
            name = episode.agents[agent] if agent < len(episode.agents) else f"agent {agent}"
            for kind, target in (("release", before), ("grab", now)):
                if target >= 0:
                    events.append(
                        {
                            "step": step,
                            "kind": kind,
                            "agent": name,
                            "team": int(team[agent]) if team is not None else -1,
                            "object": objects[target] if target < len(objects) else f"object {target}",
                        }
                    )
    return events


def lock_events(episode: Episode) -> list[dict[str, Any]]:
    """Lock and unlock events of the declared objects: ``{"step", "kind", "team", "object"}``."""
    events = []
    for name in _declared(episode, "statistics_objects"):
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
    phase = (_declared(episode, "statistics_phase") or ["prep"])[0]
    stats: dict[str, Any] = {"episode_length": float(episode.num_steps), "preparation_steps": float(prep_end)}
    took_part = episode.active.any(axis=0) if episode.num_steps else np.zeros(len(episode.agents), bool)
    for (agent, total), present in zip(episode.returns().items(), took_part):
        if present:  # agent slots unused in this episode have no return
            stats[f"return/{agent}"] = total
    groups = [name for name in _declared(episode, "statistics_objects") if f"{name}_pos" in episode.frames]
    snapshot = phase_statistics_frame(episode, prep_end)
    for name in groups:
        stats.update(_object_statistics(episode, name, phase, snapshot))
    for flag in _declared(episode, "statistics_flags"):
        if flag in episode.frames:
            stats.update(_flag_statistics(episode, flag, phase, prep_end))
    teams = _declared(episode, "statistics_teams")
    if len(teams) == 2 and "agent_pos" in episode.frames:
        stats.update(_distance_statistics(episode, teams, prep_end))
    grabs = grab_events(episode)
    locks = lock_events(episode)
    if "grabbed" in episode.frames:
        grab_only = [event for event in grabs if event["kind"] == "grab"]
        stats["grabs"] = float(len(grab_only))
        for team in sorted({event["team"] for event in grab_only}):
            stats[f"grabs/team_{team}"] = float(sum(event["team"] == team for event in grab_only))
    if any(f"{name}_lock_team" in episode.frames for name in groups):
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
