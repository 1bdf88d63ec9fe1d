"""Recording episodes of a policy into a run's ``replays/`` folder through the replays package."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from marl.environments import EnvFactory
from marl.errors import UsageError
from marl.evaluation import Policy


class PolicyActor:
    """Wraps a dict-in, dict-out policy function as an object with ``act`` (what replays expects)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def reset(self) -> None:
        """Start a new episode: forget the recurrent state of the wrapped policy, if any."""
        reset = getattr(self.policy, "reset", None)
        if callable(reset):
            reset()

    def act(self, observations: dict[str, Any]) -> dict[str, Any]:
        """Actions for the given observations."""
        return self.policy(observations)


def episode_recorder() -> Callable[..., list[Path]] | None:
    """``replays.record_episodes`` when the replays package provides it, else None."""
    try:
        import replays
    except ImportError:
        return None
    recorder = getattr(replays, "record_episodes", None)
    if recorder is None:
        try:
            from replays.recording import record_episodes as recorder
        except ImportError:
            return None
    return recorder


def record_policy(
    policy: Policy | None,
    env_factory: EnvFactory,
    episodes: int,
    folder: str | Path,
    seed: int,
    env_id: str,
    env_kwargs: dict[str, Any],
    prefix: str = "episode_",
) -> list[Path]:
    """Record ``episodes`` episodes into ``folder`` as ``<prefix>0000.npz``, ...

    Raises ``RuntimeError`` if the replays package is missing.
    A ``TypeError`` from replays means the environment cannot be recorded (it does not
    implement ``envs.scene.Replayable``).
    """
    recorder = episode_recorder()
    if recorder is None:
        raise RuntimeError("the replays package does not provide record_episodes")
    Path(folder).mkdir(parents=True, exist_ok=True)
    actor = PolicyActor(policy) if policy is not None else None
    accepted = inspect.signature(recorder).parameters
    optional = (("env_id", env_id), ("env_kwargs", dict(env_kwargs)), ("prefix", prefix))
    extra = {key: value for key, value in optional if key in accepted}
    return list(recorder(actor, env_factory, episodes, folder, seed=seed, **extra))


def check_recordable(env_factory: EnvFactory, env_id: str) -> None:
    """Refuse, before any episode is played, an environment whose episodes cannot be recorded."""
    try:
        from replays.environment import NotReplayableError, find_replayable
    except ImportError as error:
        raise UsageError(f"--record needs the replays package: {error}") from None
    env = env_factory()
    try:
        find_replayable(env)
    except NotReplayableError as error:
        raise UsageError(f"cannot record {env_id}: {str(error).splitlines()[0]}") from None
    finally:
        close = getattr(env, "close", None)
        if callable(close):
            close()


def render_video(episode_file: str | Path, out: str | Path) -> Path:
    """Render an episode this run just recorded to a top-down video with the replays package.

    The file was written by this process from the run's own environment, so the environment
    id it names was already accepted when the run started.
    """
    try:
        from replays import load_episode, render_episode
    except ImportError as error:
        raise RuntimeError(f"the replays package cannot render videos: {error}") from None
    return Path(render_episode(load_episode(episode_file, trust_code=True), out, renderer="2d"))


def behaviour_statistics(episode_files: list[Path]) -> dict[str, float]:
    """Mean behaviour statistics (box moves, locks, time hidden, ...) over recorded episodes.

    Keys are prefixed ``behaviour/`` so that training curves show the stages of emergent
    behaviour next to the returns. Returns per agent are left out (the learner logs them).
    """
    from replays import episode_statistics, numeric_statistics

    totals: dict[str, list[float]] = {}
    for path in episode_files:
        for key, value in numeric_statistics(episode_statistics(path)).items():
            if not key.startswith("return/"):
                totals.setdefault(key, []).append(value)
    return {f"behaviour/{key}": sum(values) / len(values) for key, values in totals.items()}
