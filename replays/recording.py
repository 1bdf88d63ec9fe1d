"""Record episodes of a Replayable PettingZoo ParallelEnv to episode files."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from replays.actions import flat_action_dim, flatten_action
from replays.environment import NotReplayableError, find_replayable, infer_env_id
from replays.episode import Episode
from replays.file_format import QUANTIZED_KEYS, save_episode


class ActingPolicy(Protocol):
    """Anything with ``act(observations) -> actions`` (dict agent -> observation in, dict out)."""

    def act(self, observations: dict[str, Any]) -> dict[str, Any]: ...


class RandomPolicy:
    """Uniformly random actions from each agent's action space, seeded for reproducibility."""

    def __init__(self, env: Any, seed: int = 0) -> None:
        self._env = env
        self._seed = seed
        self._seeded: set[str] = set()

    def act(self, observations: dict[str, Any]) -> dict[str, Any]:
        """One random action for every agent that has an observation."""
        actions = {}
        for agent in observations:
            space = self._env.action_space(agent)
            if agent not in self._seeded:
                space.seed(self._seed + len(self._seeded))
                self._seeded.add(agent)
            actions[agent] = space.sample()
        return actions


def _agent_row(values: dict[str, Any], column: dict[str, int], dtype: Any) -> np.ndarray:
    """Per-agent values of one step as a row in the episode's agent order (0 for absent agents)."""
    row = np.zeros(len(column), dtype=dtype)
    for agent, value in values.items():
        row[column[agent]] = value
    return row


def _stack(frames: list[dict[str, np.ndarray]], source: str) -> dict[str, np.ndarray]:
    keys = frames[0].keys()
    stacked = {}
    for key in keys:
        try:
            stacked[key] = np.stack([np.asarray(frame[key]) for frame in frames])
        except (KeyError, ValueError) as error:
            raise ValueError(
                f"{source}: frame key {key!r} changed shape or went missing during the episode ({error}); "
                "replay_frame must return the same keys and shapes at every step"
            ) from error
    return stacked


def record_episode(
    policy: ActingPolicy | None,
    env: Any,
    seed: int,
    env_id: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
    max_steps: int | None = None,
) -> Episode:
    """Play one episode of ``env`` (a ParallelEnv) with ``policy`` and return it in memory.

    A policy with a ``reset()`` method (a recurrent one) is reset first, so every episode
    starts from a fresh memory and a recorded episode does not depend on the ones before it.
    """
    replayable = find_replayable(env)
    acting = policy if policy is not None else RandomPolicy(env, seed)
    if callable(getattr(acting, "reset", None)):
        acting.reset()
    reset_result = env.reset(seed=seed)
    if not (isinstance(reset_result, tuple) and len(reset_result) == 2 and isinstance(reset_result[0], dict)):
        raise NotReplayableError(
            f"{type(env).__name__}.reset did not return (observations, infos) dicts: record_episodes needs a "
            "PettingZoo ParallelEnv (convert an AEC env with pettingzoo.utils.conversions.aec_to_parallel)"
        )
    observations = reset_result[0]
    agents = list(getattr(env, "possible_agents", None) or env.agents)
    column = {agent: index for index, agent in enumerate(agents)}
    action_spaces = {agent: env.action_space(agent) for agent in agents}
    action_dims = np.array([flat_action_dim(action_spaces[agent]) for agent in agents], dtype=np.int16)
    width = int(action_dims.max()) if len(agents) else 0
    static = {key: np.asarray(value) for key, value in replayable.replay_static().items()}
    frames = [{key: np.array(value) for key, value in replayable.replay_frame().items()}]
    actions, rewards, terminations, truncations, active = [], [], [], [], []
    episode_stats: dict[str, float] = {}
    steps = 0
    while env.agents and (max_steps is None or steps < max_steps):
        chosen = acting.act(observations)
        step_actions = np.full((len(agents), width), np.nan, dtype=np.float32)
        step_active = np.zeros(len(agents), dtype=bool)
        unknown = [agent for agent in chosen if agent not in column]
        if unknown:
            raise ValueError(f"policy returned actions for unknown agents {unknown}; the agents are {agents}")
        for agent, action in chosen.items():
            step_actions[column[agent], : action_dims[column[agent]]] = flatten_action(action_spaces[agent], action)
            step_active[column[agent]] = True
        observations, step_rewards, step_terminations, step_truncations, infos = env.step(chosen)
        for info in infos.values():
            if isinstance(info, dict) and isinstance(info.get("episode_stats"), dict):
                episode_stats = {k: float(v) for k, v in info["episode_stats"].items()}
        frames.append({key: np.array(value) for key, value in replayable.replay_frame().items()})
        actions.append(step_actions)
        rewards.append(_agent_row(step_rewards, column, np.float32))
        terminations.append(_agent_row(step_terminations, column, bool))
        truncations.append(_agent_row(step_truncations, column, bool))
        active.append(step_active)
        steps += 1
    metadata = getattr(env, "metadata", None) or {}
    shape = (0, len(agents))
    return Episode(
        env_id=env_id,
        env_kwargs=dict(env_kwargs or {}),
        seed=seed,
        agents=agents,
        static=static,
        frames=_stack(frames, env_id or type(env).__name__),
        actions=np.stack(actions) if actions else np.zeros((0, len(agents), width), np.float32),
        action_dims=action_dims,
        rewards=np.stack(rewards) if rewards else np.zeros(shape, np.float32),
        terminations=np.stack(terminations) if terminations else np.zeros(shape, bool),
        truncations=np.stack(truncations) if truncations else np.zeros(shape, bool),
        active=np.stack(active) if active else np.zeros(shape, bool),
        episode_stats=episode_stats,
        fps=float(metadata.get("render_fps", 15.0)),
    )


def _validate_record_arguments(n_episodes: int, seed: int, max_steps: int | None) -> None:
    if not isinstance(n_episodes, int) or n_episodes < 1:
        raise ValueError(f"n_episodes must be an integer >= 1, got {n_episodes!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if max_steps is not None and (not isinstance(max_steps, int) or max_steps < 1):
        raise ValueError(f"max_steps must be None or an integer >= 1, got {max_steps!r}")


def episode_paths(path: str | os.PathLike, n_episodes: int, prefix: str = "episode_") -> list[Path]:
    """Where :func:`record_episodes` writes: ``path`` itself for one ``.npz``, else new files in a folder.

    In a folder, numbering continues after the highest ``<prefix>NNNN.npz`` already there, so
    recording again (e.g. every K updates of training) never overwrites earlier episodes.
    """
    path = Path(path)
    if path.suffix == ".npz":
        if n_episodes != 1:
            raise ValueError(f"path {str(path)!r} names one file but n_episodes is {n_episodes}; give a folder")
        return [path]
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.npz$")
    taken = [
        int(match.group(1))
        for entry in (path.iterdir() if path.is_dir() else ())
        if (match := pattern.match(entry.name))
    ]
    start = max(taken) + 1 if taken else 0
    return [path / f"{prefix}{index:04d}.npz" for index in range(start, start + n_episodes)]


def record_episodes(
    policy: ActingPolicy | None,
    env_fn: Callable[[], Any],
    n_episodes: int,
    path: str | os.PathLike,
    seed: int = 0,
    env_id: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
    max_steps: int | None = None,
    prefix: str = "episode_",
    float_dtype: str = "float32",
    quantized_keys: tuple[str, ...] = QUANTIZED_KEYS,
) -> list[Path]:
    """Record ``n_episodes`` episodes (seeds ``seed``, ``seed + 1``, ...) and return their files.

    ``policy.act(observations) -> actions`` picks actions (``None``: uniformly random, seeded).
    ``path`` is a folder (files ``<prefix>0000.npz``, ... numbered after those already there) or,
    for one episode, a ``.npz`` file. ``max_steps`` cuts episodes short; ``float_dtype`` and
    ``quantized_keys`` choose the stored precision (see :mod:`replays.file_format`).
    ``env_id``/``env_kwargs`` let a renderer rebuild the environment later; when omitted they are
    what the environment reports through ``replay_settings()`` (every environment of the suite
    does, however it was made: a lambda, a class, ``envs.make``), else taken from ``env_fn``
    (``env_id``/``env_kwargs`` attributes or ``partial(envs.make, id, ...)``), else the
    environment's ``metadata["name"]``.
    """
    _validate_record_arguments(n_episodes, seed, max_steps)
    if policy is not None and not callable(getattr(policy, "act", None)):
        raise ValueError(f"policy must have an act(observations) method or be None, got {type(policy).__name__}")
    paths = episode_paths(path, n_episodes, prefix)
    env = env_fn()
    try:
        find_replayable(env)
        inferred_id, inferred_kwargs = infer_env_id(env_fn, env)
        env_id = env_id if env_id is not None else inferred_id
        env_kwargs = env_kwargs if env_kwargs is not None else (inferred_kwargs or {})
        written = []
        for index, target in enumerate(paths):
            episode = record_episode(policy, env, int(seed) + index, env_id, env_kwargs, max_steps)
            written.append(save_episode(episode, target, float_dtype, quantized_keys))
        return written
    finally:
        close = getattr(env, "close", None)
        if callable(close):
            close()
